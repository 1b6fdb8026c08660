"""The drawing and what the model read in it: plain state, no window, no pygame.

The app changes a Board in response to mouse and keys, has it read in the background
(player/session.py's Reader) and draws it; the tests drive a Board directly, without a display.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from player.drawing import MAX_POINTS, MAX_STROKES, Drawing

BRUSH = 14  # brush width in window pixels; recognition does not depend on it (preprocess re-draws the pen)

# what a drawing file may hold (player/drawing.py): the board takes no more ink than that, so
# every drawing the user sees can be saved, loaded again and learned from
FULL = f"the drawing is full ({MAX_STROKES} strokes, {MAX_POINTS:,} points): undo or clear to draw on"

Point = tuple[float, float]
Box = tuple[float, float, float, float]


@dataclass
class Board:
    """The drawing, what the model read in it, and what the user is doing with it."""

    size: tuple[int, int] = (640, 560)  # canvas size in pixels; strokes are in canvas pixels, y down
    brush: float = BRUSH
    strokes: list[list[Point]] = field(default_factory=list)
    current: list[Point] | None = None  # the stroke being drawn, None while the pen is up
    result: object | None = None  # player.model.Result of the last recognition
    groups: list[Box] = field(default_factory=list)  # the parts the segmenter chose, for outlines
    stale: bool = False  # the drawing changed since `result` was read
    focus: int = 0  # which digit of the answer the probability bars show
    live: bool = False  # recognise while drawing
    message: str = ""  # the status line
    error: bool = False  # ... and whether it reports a failure
    label: str = ""  # digits typed so far for "this was N"
    correction: str | None = None  # the correction saved for this drawing: typing again replaces it
    version: int = 0  # bumped on every change of the ink (live recognition reads each version once)
    # bumped when ink already there changes (undo, clear, load, resize): the window then draws
    # all of it again, where otherwise it only adds what is new; an answer for the drawing as it
    # was before is dropped
    rewrites: int = 0
    # the part of the canvas the drawing must stay inside when the window is resized: the whole
    # canvas as it was when ink was last added, scaled with the drawing since (None: the canvas
    # as it is). Scaling by it rather than by the last canvas makes a resize undoable: a window
    # made narrower and then as wide again shows the drawing as it was, not shrunk for good.
    frame: tuple[float, float] | None = None

    # -- drawing

    @property
    def empty(self) -> bool:
        return not self.strokes and not self.current

    def all_strokes(self) -> list[list[Point]]:
        """Finished strokes plus the one being drawn (live recognition reads it too)."""
        return self.strokes + ([self.current] if self.current else [])

    def points(self) -> int:
        """Points of ink on the board, the stroke being drawn included."""
        return sum(map(len, self.strokes)) + len(self.current or ())

    def pen_down(self, x: float, y: float) -> None:
        if self.current:  # the button came up unseen (outside the window): keep the ink the user saw
            self.strokes.append(self.current)
            self.current = None
        if len(self.strokes) >= MAX_STROKES or self.points() >= MAX_POINTS:
            self.say(FULL, error=True)
            return
        self.current = [(float(x), float(y))]
        self.frame = None  # new ink, anywhere on the canvas as it is now
        self._changed()

    def pen_move(self, x: float, y: float) -> None:
        """Add a point; a fast mouse reports points far apart, so fill the gap with points at
        most half a brush apart: the stroke stays a smooth chain of round dabs."""
        if self.current is None:
            return
        x, y = float(x), float(y)
        lx, ly = self.current[-1]
        distance = math.hypot(x - lx, y - ly)
        if distance < 0.5:  # sub-pixel jitter adds points but no ink
            return
        step = max(self.brush / 2, 1.0)
        n = math.ceil(distance / step)
        points = [(lx + (x - lx) * i / n, ly + (y - ly) * i / n) for i in range(1, n)] + [(x, y)]
        room = MAX_POINTS - self.points()
        if len(points) > room:  # the drawing is full: the stroke ends where the ink runs out
            points = points[: max(room, 0)]
            self.say(FULL, error=True)
        if points:
            self.current.extend(points)
            self._changed()

    def pen_up(self) -> None:
        if self.current:
            self.strokes.append(self.current)
        self.current = None
        self._changed()

    def undo(self) -> None:
        if self.current:
            self.current = None
        elif self.strokes:
            self.strokes.pop()
        else:
            self.say("nothing to undo")
            return
        self._changed(rewrite=True)
        if self.empty:
            self.result, self.groups = None, []
        self.say("undone")

    def clear(self) -> None:
        self.strokes, self.current, self.frame = [], None, None
        self.result, self.groups, self.focus, self.label = None, [], 0, ""
        self._changed(rewrite=True)
        self.say("cleared")

    def _changed(self, rewrite: bool = False) -> None:
        self.version += 1
        self.rewrites += rewrite
        self.label, self.correction = "", None
        if self.result is not None:
            self.stale = True

    # -- answers

    @property
    def outdated(self) -> bool:
        """The answer shown is for an older drawing and nothing will update it: shown dimmed.
        (In live mode it is updated as the pen moves: dimming it would make it blink.)"""
        return self.stale and not self.live

    def set_result(self, result, groups: list[Box], stale: bool = False) -> None:
        """An answer, and the digits' boxes; `stale` if the drawing has changed since it was read."""
        self.result, self.groups, self.stale, self.label = result, groups, stale, ""
        if self.focus >= len(result.digits):
            self.focus = 0

    def move_focus(self, delta: int) -> None:
        if self.result is not None and self.result.digits:
            self.focus = (self.focus + delta) % len(self.result.digits)

    def type_digit(self, digit: str) -> str | None:
        """The user says "this was ...": returns the full label once it has as many digits as
        the drawing (one key for a single digit, "4", "2" for a 42), else None."""
        if self.result is None or self.stale or not self.result.digits:
            self.say("press Enter first, then type the digits it shows", error=True)
            return None
        self.label += digit
        n = len(self.result.digits)
        if len(self.label) < n:
            self.say(f"this was {self.label}{'_' * (n - len(self.label))}  (type {n - len(self.label)} more digit"
                     f"{'s' if n - len(self.label) > 1 else ''}, Backspace to fix)")
            return None
        label, self.label = self.label, ""
        return label

    def say(self, message: str, error: bool = False) -> None:
        self.message, self.error = message, error

    # -- conversions

    def to_drawing(self, label: str | None = None) -> Drawing:
        return Drawing(canvas=tuple(self.size), brush=float(self.brush),
                       strokes=[list(s) for s in self.strokes], label=label)

    def load(self, drawing: Drawing) -> None:
        """Show a saved drawing, its canvas scaled to fit ours and centred."""
        (w, h), (cw, ch) = drawing.canvas, self.size
        s = min(cw / w, ch / h)
        ox, oy = (cw - w * s) / 2, (ch - h * s) / 2
        self.clear()
        self.strokes = [[(ox + x * s, oy + y * s) for x, y in stroke] for stroke in drawing.strokes if stroke]
        self._changed(rewrite=True)
        self.stale = False

    def resize(self, size: tuple[int, int]) -> None:
        """The canvas changed size: scale the drawing with it (evenly, so digits keep their
        shape), so that shrinking the window never pushes ink out of sight. The scale fits the
        drawing's frame into the new canvas, so sizes visited on the way do not add up: back at
        a size, the drawing is as it was there."""
        size = (max(int(size[0]), 1), max(int(size[1]), 1))
        if size == tuple(self.size):
            return
        fw, fh = self.frame or self.size
        s = min(size[0] / fw, size[1] / fh)
        self.frame = None if self.empty else (fw * s, fh * s)
        self.strokes = [[(x * s, y * s) for x, y in stroke] for stroke in self.strokes]
        if self.current:
            self.current = [(x * s, y * s) for x, y in self.current]
        self.groups = [(x0 * s, y0 * s, x1 * s, y1 * s) for x0, y0, x1, y1 in self.groups]
        self.size = size
        self.rewrites += 1


@dataclass
class Reading:
    """When the board is read next: asked for (Enter, a drawing opened, the pen lifted in live
    mode) and waiting for the model, or due again while the pen moves in live mode."""

    pending: bool = False  # a reading asked for; handed to the reader as soon as the model is there
    live_due: float = 0.0  # earliest time (time.monotonic) for the next live reading while drawing
    live_version: int = -1  # the board version the last reading was asked for
    count: int = 0  # answers shown so far (the window redraws when it changes)
