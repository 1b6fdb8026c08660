"""The drawing app: draw a digit or a whole number with the mouse, press Enter, read the answer.

    digits-player [FILE.json] [--model PATH] [--threshold P] [--brush PX] [--size WxH] [--events]

The main loop is the usual three steps, once per frame:

    handle_events()  mouse and keys -> changes to the Board (the drawing and what was read)
    update()         the model arriving from its loading thread, queued and live recognition
    draw()           the Board -> pixels

All state lives in plain objects (Board, ModelLoader) so the tests drive them without a
window, and App.step() runs one frame so the tests can feed it synthetic pygame events.

Exit status: 0; 2 when the model cannot be loaded (the window says why, and stays open until
the user has read it and quits; --events also gets an "error" event at once), FILE.json is
unusable, or there is no display; 1 on an internal error. Each failure is one line on stderr.

Start-up is kept short: only pygame is imported before the first frame; onnxruntime is
imported by the model loader in a background thread, and Enter before the model is there
is queued, not refused.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# Before pygame is imported: its greeting would corrupt the --events stream on stdout, and
# a window class of our own lets window managers and test drivers (xdotool) find us.
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
os.environ.setdefault("SDL_VIDEO_X11_WMCLASS", "digits-player")


def _import_pygame_lean() -> None:
    """Import pygame without the optional extras it pulls in on import: numpy (for surfarray,
    unused here) and pkg_resources (a slow fallback for its data files). Together they are
    most of pygame's import time, and so of the time to the first frame. numpy still comes,
    with the model, in the loading thread. A None in sys.modules makes an import fail, which
    pygame handles (both are optional to it); the entries are removed right after."""
    skipped = [name for name in ("numpy", "pkg_resources") if name not in sys.modules]
    if "pygame" in sys.modules:
        return
    for name in skipped:
        sys.modules[name] = None
    try:
        import pygame  # noqa: F401
    finally:
        for name in skipped:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


_import_pygame_lean()

import pygame  # noqa: E402

from player import DEFAULT_THRESHOLD, __version__, probability  # noqa: E402
from player.drawing import Drawing, DrawingError, load_drawing, save_new  # noqa: E402
from player.icon import icon  # noqa: E402

BRUSH = 14  # brush width in window pixels; recognition does not depend on it (preprocess re-draws the pen)
DEFAULT_SIZE = (1000, 640)
MIN_CANVAS = 64
LIVE_INTERVAL = 0.25  # seconds between live recognitions while the pen moves: enough to feel live, cheap on CPU
FPS = 60
WINDOW_TITLE = "digits"
NO_DISPLAY = "no display available (set DISPLAY or SDL_VIDEODRIVER=dummy)"

Point = tuple[float, float]
Box = tuple[float, float, float, float]

# A dark theme: white ink on near-black, as the model saw MNIST, and as easy on the eyes.
BG = (22, 24, 29)
PANEL = (31, 34, 41)
CANVAS = (12, 13, 16)
BORDER = (52, 56, 66)
INK = (242, 244, 247)
TEXT = (232, 234, 238)
MUTED = (130, 137, 150)
FAINT = (70, 75, 86)
ACCENT = (96, 165, 250)
WARN = (251, 191, 36)
ERROR = (248, 113, 113)
BAR = (44, 48, 58)


# ---------------------------------------------------------------------------------------------
# State: no window needed


@dataclass
class Board:
    """The drawing, what the model read in it, and what the user is doing with it."""

    size: tuple[int, int] = (640, 560)  # canvas size in pixels; strokes are in canvas pixels, y down
    brush: float = BRUSH
    strokes: list[list[Point]] = field(default_factory=list)
    current: list[Point] | None = None  # the stroke being drawn, None while the pen is up
    result: object | None = None  # player.model.Result of the last recognition
    groups: list[Box] = field(default_factory=list)  # the digits split_digits found, for outlines
    stale: bool = False  # the drawing changed since `result` was read
    focus: int = 0  # which digit of the answer the probability bars show
    live: bool = False  # recognise while drawing
    message: str = ""  # the status line
    error: bool = False  # ... and whether it reports a failure
    label: str = ""  # digits typed so far for "this was N"
    version: int = 0  # bumped on every change of the ink (live recognition reads each version once)
    ink_version: int = 0  # bumped when the finished strokes change (the window caches their rendering)

    # -- drawing

    @property
    def empty(self) -> bool:
        return not self.strokes and not self.current

    def all_strokes(self) -> list[list[Point]]:
        """Finished strokes plus the one being drawn (live recognition reads it too)."""
        return self.strokes + ([self.current] if self.current else [])

    def pen_down(self, x: float, y: float) -> None:
        self.current = [(float(x), float(y))]
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
        self.current.extend((lx + (x - lx) * i / n, ly + (y - ly) * i / n) for i in range(1, n))
        self.current.append((x, y))
        self._changed()

    def pen_up(self) -> None:
        if self.current:
            self.strokes.append(self.current)
        self.current = None
        self._changed(finished=True)

    def undo(self) -> None:
        if self.current:
            self.current = None
        elif self.strokes:
            self.strokes.pop()
        else:
            self.say("nothing to undo")
            return
        self._changed(finished=True)
        if self.empty:
            self.result, self.groups = None, []
        self.say("undone")

    def clear(self) -> None:
        self.strokes, self.current = [], None
        self.result, self.groups, self.focus, self.label = None, [], 0, ""
        self._changed(finished=True)
        self.say("cleared")

    def _changed(self, finished: bool = False) -> None:
        self.version += 1
        self.ink_version += finished
        self.label = ""
        if self.result is not None:
            self.stale = True

    # -- answers

    @property
    def outdated(self) -> bool:
        """The answer shown is for an older drawing and nothing will update it: shown dimmed.
        (In live mode it is updated as the pen moves: dimming it would make it blink.)"""
        return self.stale and not self.live

    def set_result(self, result, groups: list[Box]) -> None:
        self.result, self.groups, self.stale, self.label = result, groups, False, ""
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
        self._changed(finished=True)
        self.stale = False

    def resize(self, size: tuple[int, int]) -> None:
        """The canvas changed size: scale the drawing with it (evenly, so digits keep their
        shape), so that shrinking the window never pushes ink out of sight."""
        size = (max(int(size[0]), 1), max(int(size[1]), 1))
        if size == tuple(self.size):
            return
        s = min(size[0] / self.size[0], size[1] / self.size[1])
        self.strokes = [[(x * s, y * s) for x, y in stroke] for stroke in self.strokes]
        if self.current:
            self.current = [(x * s, y * s) for x, y in self.current]
        self.groups = [(x0 * s, y0 * s, x1 * s, y1 * s) for x0, y0, x1, y1 in self.groups]
        self.size = size
        self.ink_version += 1


def recognise(board: Board, model, threshold: float) -> object | None:
    """Read the drawing with one batched model call; None (and a message) if there is nothing.
    The digits found are outlined on the canvas, so the user sees how a number was split."""
    from player.preprocess import bounding_box, digits_to_images, split_digits

    strokes = board.all_strokes()
    if not strokes:
        board.say("draw a digit first")
        return None
    digits = split_digits(strokes)  # once: the model reads these and the outlines show them
    result = model.read(digits_to_images(digits), threshold)
    board.set_result(result, [bounding_box(digit) for digit in digits])
    return result


def render_ink(board: Board, supersample: int = 2) -> pygame.Surface:
    """The finished strokes on a canvas-sized surface. Drawn at `supersample` times the size
    and scaled down smoothly: pygame's thick lines and circles have no anti-aliasing."""
    w, h = board.size
    big = pygame.Surface((w * supersample, h * supersample))
    big.fill(CANVAS)
    for stroke in board.strokes:
        draw_stroke(big, stroke, board.brush, scale=supersample)
    return pygame.transform.smoothscale(big, (w, h)) if supersample > 1 else big


def draw_stroke(surface: pygame.Surface, stroke: Sequence[Point], brush: float,
                offset: tuple[float, float] = (0, 0), scale: float = 1, color=INK) -> None:
    """A round pen: a disc at every point, joined by a quad as wide as the pen. (pygame's own
    thick lines are thinner on diagonals and have square ends: bumpy strokes.)"""
    r = max(brush * scale / 2, 0.5)
    pts = [((x + offset[0]) * scale, (y + offset[1]) * scale) for x, y in stroke]
    for (ax, ay), (bx, by) in zip(pts, pts[1:], strict=False):
        length = math.hypot(bx - ax, by - ay)
        if length > 1:
            nx, ny = -(by - ay) / length * r, (bx - ax) / length * r  # the normal, pen-radius long
            pygame.draw.polygon(surface, color, [(ax + nx, ay + ny), (bx + nx, by + ny),
                                                 (bx - nx, by - ny), (ax - nx, ay - ny)])
    for p in pts:
        pygame.draw.circle(surface, color, p, r)


def png_bytes(surface: pygame.Surface) -> bytes:
    buffer = io.BytesIO()
    pygame.image.save(surface, buffer, "drawing.png")
    return buffer.getvalue()


def save_board(board: Board, folder: Path, label: str | None = None) -> Path:
    """The drawing as stroke JSON (+ a PNG of the canvas) in `folder`; never overwrites.
    Returns the JSON path; OSError if the folder is not writable."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    stem = f"label-{label}-{stamp}" if label is not None else f"drawing-{stamp}"
    data = json.dumps(board.to_drawing(label).to_json()).encode()
    paths = save_new(Path(folder), stem, {".json": data, ".png": png_bytes(render_ink(board))})
    return paths[".json"]


def default_dir(kind: str) -> Path:
    import platformdirs  # only needed when saving

    return Path(platformdirs.user_data_dir("digits")) / kind


class ModelLoader:
    """Loads the model in a background thread, so the window is up before onnxruntime is."""

    def __init__(self, load: Callable[[], object]):
        self._load = load
        self.model = None
        self.error: str | None = None
        self.done = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def of(cls, model) -> ModelLoader:
        """An already loaded model (tests pass stand-ins this way)."""
        loader = cls(lambda: model)
        loader.model = model
        loader.done.set()
        return loader

    @classmethod
    def from_path(cls, path: str | Path | None) -> ModelLoader:
        def load():
            from player.model import Model  # imports onnxruntime: here, off the main thread

            return Model(path)

        return cls(load)

    def start(self) -> None:
        if not self.done.is_set() and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="model-loader", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:
            self.model = self._load()
        except Exception as e:  # any failure is shown to the user, as one line
            from player.model import ModelError

            self.error = str(e) if isinstance(e, ModelError) else f"cannot load the model: {type(e).__name__}: {e}"
        finally:
            self.done.set()

    def join(self, timeout: float | None = None) -> None:
        """Wait for a load in progress, if any (without starting one)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is None:
            self.start()
        return self.done.wait(timeout)


class EventLog:
    """--events: one JSON object per line on stdout, flushed, for programs driving the app."""

    def __init__(self, enabled: bool, stream=None):
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stdout

    def emit(self, event: str, **fields) -> None:
        if not self.enabled:
            return
        try:
            self.stream.write(json.dumps({"event": event, **fields}) + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # the reader went away: keep drawing
            self.enabled = False


def warn(message: str) -> None:
    print(f"digits-player: {message}", file=sys.stderr, flush=True)


def seconds_since_process_start() -> float | None:
    """Wall time since the process started (Linux), to report start-up time honestly:
    interpreter start and imports included."""
    try:
        stat = Path("/proc/self/stat").read_text()
        start_ticks = int(stat[stat.rindex(")") + 2 :].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return round(uptime - start_ticks / os.sysconf("SC_CLK_TCK"), 3)
    except (OSError, ValueError, IndexError, AttributeError):
        return None


# ---------------------------------------------------------------------------------------------
# The window


@dataclass
class Options:
    model: str | None = None
    threshold: float = DEFAULT_THRESHOLD
    brush: float = BRUSH
    size: tuple[int, int] = DEFAULT_SIZE
    events: bool = False
    save_dir: Path | None = None
    corrections_dir: Path | None = None
    drawing: Drawing | None = None
    screenshot: Path | None = None


class Fonts:
    """Fonts by size, loaded on first use. A clean sans from the system where one is at a known
    place (no font-cache scan at start-up), else pygame's built-in font."""

    CANDIDATES = {
        False: ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf",
                "C:/Windows/Fonts/segoeui.ttf", "/System/Library/Fonts/Supplemental/Arial.ttf",
                "/Library/Fonts/Arial.ttf"],
        True: ["/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
               "C:/Windows/Fonts/segoeuib.ttf", "/System/Library/Fonts/Supplemental/Arial Bold.ttf",
               "/Library/Fonts/Arial Bold.ttf"],
    }

    def __init__(self):
        self._paths = {bold: next((p for p in paths if os.path.exists(p)), None)
                       for bold, paths in self.CANDIDATES.items()}
        self._fonts: dict[tuple[int, bool], pygame.font.Font] = {}

    def get(self, size: int, bold: bool = False) -> pygame.font.Font:
        key = (size, bold)
        if key not in self._fonts:
            path = self._paths[bold]
            try:
                self._fonts[key] = pygame.font.Font(path, size)
            except (OSError, pygame.error):
                self._fonts[key] = pygame.font.Font(None, int(size * 1.3))  # the built-in font runs small
        return self._fonts[key]


@dataclass
class Layout:
    canvas: pygame.Rect
    panel: pygame.Rect
    status: pygame.Rect

    @classmethod
    def of(cls, size: tuple[int, int]) -> Layout:
        """Canvas left and as large as possible; panel right; status line along the bottom."""
        w, h = size
        margin, status_h = 16, 34
        panel_w = max(190, min(340, int(w * 0.32)))
        canvas = pygame.Rect(margin, margin, max(w - panel_w - 3 * margin, MIN_CANVAS),
                             max(h - status_h - 2 * margin, MIN_CANVAS))
        panel = pygame.Rect(canvas.right + margin, margin, panel_w, canvas.height)
        return cls(canvas, panel, pygame.Rect(0, h - status_h, w, status_h))


# the number row and the keypad (whose codes are not in digit order: SDL puts KP_0 after KP_9)
DIGIT_KEYS = {getattr(pygame, f"K_{prefix}{d}"): str(d) for d in range(10) for prefix in ("", "KP")}

HELP = [
    ("draw", "with the mouse: one digit or a whole number"),
    ("Enter", "read the drawing"),
    ("L", "live: read while drawing"),
    ("Backspace, Ctrl+Z", "undo the last stroke"),
    ("Esc, Delete, C", "clear"),
    ("Left, Right", "digit shown in the bars (or click it)"),
    ("0-9", "after an answer: it was N (saves a correction)"),
    ("S", "save the drawing"),
    ("H, F1", "this help"),
    ("Q", "quit"),
]


class App:
    def __init__(self, options: Options, loader: ModelLoader | None = None, log: EventLog | None = None):
        self.options = options
        self.loader = loader or ModelLoader.from_path(options.model)
        self.log = log or EventLog(options.events)
        self.board = Board(brush=options.brush)
        self.live_due = 0.0  # earliest time for the next live recognition while drawing
        self.live_version = -1  # board version the last live recognition read
        self.model_reported = False
        self.show_help = False
        self.running = True
        self.exit_code = 0
        self.frames = 0
        self.screen: pygame.Surface | None = None
        self.layout: Layout | None = None
        self.window_size = (0, 0)
        self.answer_rects: list[pygame.Rect] = []
        self.ink_cache: tuple[tuple, pygame.Surface] | None = None
        self.recognitions = 0
        self.screenshot_due = False
        self.drawn_view: tuple | None = None
        # a recognition asked for, waiting for the model: a drawing given to open is read as soon as it is there
        self.pending = options.drawing is not None

    @property
    def model(self):
        return self.loader.model if self.loader.done.is_set() else None

    # -- window

    def open(self) -> None:
        """Open the window; pygame.error if there is no display."""
        explicit = os.environ.get("SDL_VIDEODRIVER")
        if not explicit and sys.platform.startswith("linux") and not (
                os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            raise pygame.error(NO_DISPLAY)  # SDL would try Wayland (a stray error line), then go offscreen
        # display and font only: pygame.init() would also start audio and joystick subsystems
        pygame.display.init()
        if not explicit and pygame.display.get_driver() in ("offscreen", "dummy"):
            raise pygame.error(NO_DISPLAY)  # an invisible window nobody can draw in: say so instead
        pygame.font.init()
        if pygame.display.get_driver() == "x11":
            # SDL would put the window surface in an OpenGL texture: loading GL (Mesa, shader
            # caches) costs 0.1-0.5 s before the first frame, for nothing a 2-D app needs.
            # Plain X11 (shared memory) blits are fast. Only on X11: elsewhere (Wayland, macOS)
            # the texture path is the only one there is.
            os.environ.setdefault("SDL_FRAMEBUFFER_ACCELERATION", "0")
        pygame.display.set_caption(WINDOW_TITLE)
        pygame.display.set_icon(icon())  # before the window exists, as SDL wants it
        self.screen = pygame.display.set_mode(self.options.size, pygame.RESIZABLE)
        self.fonts = Fonts()
        self._relayout()
        if self.options.drawing is not None:
            self.board.load(self.options.drawing)  # fitted into the canvas as it is now
        self.board.say("loading the model..." if not self.loader.done.is_set() else "draw a digit or a number")

    def _relayout(self) -> None:
        self.window_size = self.screen.get_size()
        self.layout = Layout.of(self.window_size)
        self.board.resize(self.layout.canvas.size)

    def run(self, max_frames: int | None = None) -> int:
        clock = pygame.time.Clock()
        while self.running:
            self.step()
            if max_frames is not None and self.frames >= max_frames:
                # a smoke run: wait for the model, so the exit status says whether it loads
                self.loader.wait(30)
                self.update()
                break
            clock.tick(FPS)
        return self.exit_code

    def step(self) -> None:
        """One frame."""
        had_events = self.handle_events()
        self.update()
        view = self.view_key()
        if had_events or view != self.drawn_view:  # an idle window is not redrawn: no CPU burnt at rest
            self.draw()
            self.drawn_view = view
        self.frames += 1
        if self.frames == 1:
            # The window is on screen and takes input now; only then fetch the model, so its
            # import (which holds the GIL for a while) cannot delay the first frame.
            self.loader.start()
            r = self.layout.canvas
            self.log.emit("ready", canvas=[r.x, r.y, r.w, r.h], startup_s=seconds_since_process_start())

    # -- 1. events

    def handle_events(self) -> bool:
        """Returns whether there were any (an exposed or resized window needs a redraw too)."""
        events = pygame.event.get()
        for event in events:
            if event.type == pygame.QUIT:
                self.running = False
            elif event.type == pygame.KEYDOWN:
                self.handle_key(event.key, getattr(event, "mod", 0))
            elif event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
                self.handle_click(event.pos)
            elif event.type == pygame.MOUSEMOTION and self.board.current is not None:
                self.board.pen_move(*self.to_canvas(event.pos))
            elif event.type == pygame.MOUSEBUTTONUP and event.button == 1 and self.board.current is not None:
                self.board.pen_up()
                if self.board.live:
                    self.pending = True
            elif event.type == pygame.WINDOWFOCUSLOST and self.board.current is not None:
                self.board.pen_up()  # the button may come up elsewhere, unseen
        return bool(events)

    def handle_click(self, pos: tuple[int, int]) -> None:
        if self.show_help:
            self.show_help = False
        elif self.layout.canvas.collidepoint(pos):
            self.board.pen_down(*self.to_canvas(pos))
        else:
            for i, rect in enumerate(self.answer_rects):
                if rect.collidepoint(pos):
                    self.board.focus = i

    def to_canvas(self, pos: tuple[int, int]) -> Point:
        """Window pixels -> canvas pixels, kept inside the canvas (the pen may leave it)."""
        r = self.layout.canvas
        return (min(max(pos[0] - r.x, 0), r.w - 1), min(max(pos[1] - r.y, 0), r.h - 1))

    def handle_key(self, key: int, mod: int = 0) -> None:
        board = self.board
        ctrl = bool(mod & pygame.KMOD_CTRL)
        if self.show_help and key in (pygame.K_ESCAPE, pygame.K_h, pygame.K_F1):
            self.show_help = False  # Esc closes the help before it would clear the drawing
        elif key in (pygame.K_RETURN, pygame.K_KP_ENTER):
            self.pending = True
        elif key == pygame.K_BACKSPACE and board.label:
            board.label = board.label[:-1]  # fixing a label being typed, not the drawing
            board.say(f"this was {board.label}..." if board.label else "label cleared")
        elif key == pygame.K_BACKSPACE or (key == pygame.K_z and ctrl):
            board.undo()
        elif key in (pygame.K_ESCAPE, pygame.K_DELETE) or (key == pygame.K_c and not ctrl):
            board.clear()
            self.pending = False
        elif key == pygame.K_l:
            board.live = not board.live
            board.say(f"live recognition {'on' if board.live else 'off'}")
            if board.live and not board.empty:
                self.pending = True
        elif key == pygame.K_s:
            self.save()
        elif key in (pygame.K_h, pygame.K_F1):
            self.show_help = not self.show_help
        elif key == pygame.K_q:
            self.running = False
        elif key == pygame.K_LEFT:
            board.move_focus(-1)
        elif key == pygame.K_RIGHT:
            board.move_focus(1)
        elif key in DIGIT_KEYS:
            label = board.type_digit(DIGIT_KEYS[key])
            if label is not None:
                self.save(label)

    def save(self, label: str | None = None) -> Path | None:
        """S saves the drawing; a label saves it as a correction. A failure loses nothing: the
        drawing stays on the canvas and the user can fix the folder and press S again."""
        board = self.board
        if not board.strokes:
            board.say("nothing to save: draw something first")
            return None
        if label is None:
            folder = self.options.save_dir or default_dir("drawings")
        else:
            folder = self.options.corrections_dir or default_dir("corrections")
        try:
            path = save_board(board, folder, label)
        except (OSError, pygame.error) as e:
            message = f"cannot save to {folder}: {getattr(e, 'strerror', None) or e}"
            board.say(message, error=True)
            warn(message)
            self.log.emit("error", message=message)
            return None
        board.say(f"saved {path.name} ({'correction: ' + label if label else 'drawing'})")
        fields = {"label": label} if label is not None else {}
        self.log.emit("saved", path=str(path), **fields)
        return path

    # -- 2. update

    def update(self) -> None:
        if self.screen is not None and self.screen.get_size() != self.window_size:
            self._relayout()  # the user resized the window: pygame already resized the surface
        if self.loader.done.is_set() and not self.model_reported:
            self.model_reported = True
            if self.loader.error:
                self.exit_code = 2  # shown until the user quits, then reported by the exit status
                self.board.say(self.loader.error, error=True)
                warn(self.loader.error)
                self.log.emit("error", message=self.loader.error)
            elif not self.pending and self.board.message.startswith("loading"):
                self.board.say("model ready: draw a digit or a number")
        board = self.board
        if self.frames == 0:
            return  # nothing slow before the first frame is on screen (and "ready" comes first)
        if self.pending:
            if self.model is not None:
                self.pending = False
                self.recognise()
            elif self.loader.error:
                self.pending = False
                board.say(self.loader.error, error=True)
            elif board.empty:
                self.pending = False
                board.say("draw a digit first")
            else:
                board.say("loading the model... it reads the drawing as soon as it is ready")
        elif (board.live and board.current and self.model is not None and board.version != self.live_version
              and time.monotonic() >= self.live_due):
            self.recognise(live=True)  # throttled: at most every LIVE_INTERVAL while the pen moves

    def recognise(self, live: bool = False) -> None:
        board = self.board
        self.live_version, self.live_due = board.version, time.monotonic() + LIVE_INTERVAL
        try:
            result = recognise(board, self.model, self.options.threshold)
        except Exception as e:  # a model failing at run time: say so, keep the drawing
            message = f"recognition failed: {type(e).__name__}: {e}"
            board.say(message, error=True)
            warn(message)
            self.log.emit("error", message=message)
            return
        if result is None:
            return
        self.recognitions += 1
        hint = "" if live else ": wrong? type the right digits"
        board.say(f"read {result.digits} ({result.confidence:.0%} sure){hint}")
        self.log.emit("recognised", digits=result.digits, confidence=round(float(result.confidence), 4),
                      live=live)
        if self.options.screenshot is not None and not live:
            self.screenshot_due = True

    # -- 3. draw

    def view_key(self) -> tuple:
        """Everything the picture depends on: when it has not changed, the frame is not redrawn."""
        b = self.board
        return (b.version, b.ink_version, b.message, b.error, b.focus, b.live, self.recognitions, b.stale, b.label,
                self.show_help, self.window_size, self.loader.done.is_set(), self.screenshot_due)

    def draw(self) -> None:
        screen, layout = self.screen, self.layout
        screen.fill(BG)
        self.draw_canvas(screen, layout.canvas)
        self.draw_panel(screen, layout.panel)
        self.draw_status(screen, layout.status)
        if self.show_help:
            self.draw_help(screen)
        pygame.display.flip()
        if self.screenshot_due:
            self.screenshot_due = False
            path = self.options.screenshot
            try:
                pygame.image.save(screen, str(path))
                self.log.emit("screenshot", path=str(path))
            except (OSError, pygame.error) as e:
                warn(f"cannot write {path}: {e}")
                self.log.emit("error", message=f"cannot write {path}: {e}")

    def text(self, surface, text: str, size: int, color, bold: bool = False, **anchor) -> pygame.Rect:
        image = self.fonts.get(size, bold).render(text, True, color)
        rect = image.get_rect(**anchor)
        surface.blit(image, rect)
        return rect

    def draw_canvas(self, screen: pygame.Surface, rect: pygame.Rect) -> None:
        board = self.board
        # finished strokes are rendered once (anti-aliased) and cached; the live stroke is drawn
        # directly on top each frame
        key = (board.ink_version, rect.size)
        if self.ink_cache is None or self.ink_cache[0] != key:
            self.ink_cache = (key, render_ink(board))
        screen.blit(self.ink_cache[1], rect)
        if board.current:
            draw_stroke(screen, board.current, board.brush, offset=rect.topleft)
        pygame.draw.rect(screen, BORDER, rect.inflate(2, 2), 1, border_radius=3)
        if board.empty:
            self.text(screen, "draw a digit or a number here", 22, FAINT, center=(rect.centerx, rect.centery - 14))
            self.text(screen, "then press Enter  \u00b7  H for help", 16, FAINT,
                      center=(rect.centerx, rect.centery + 16))
        elif board.result is not None and not board.outdated and board.groups:
            # how the number was split: one outline per digit, with what was read there
            pad = board.brush / 2 + 6
            for i, (x0, y0, x1, y1) in enumerate(board.groups):
                box = pygame.Rect(rect.x + x0 - pad, rect.y + y0 - pad, x1 - x0 + 2 * pad, y1 - y0 + 2 * pad)
                box = box.clip(rect.inflate(-2, -2))
                color = ACCENT if i == board.focus else FAINT
                pygame.draw.rect(screen, color, box, 1, border_radius=6)
                if i < len(board.result.digits):
                    self.text(screen, board.result.digits[i], 15, color, bold=True,
                              bottomleft=(box.x + 4, max(box.y - 2, rect.y + 18)))

    def draw_panel(self, screen: pygame.Surface, rect: pygame.Rect) -> None:
        board, result = self.board, self.board.result
        pygame.draw.rect(screen, PANEL, rect, border_radius=10)
        k = min(max(rect.h / 570, 0.5), 1.0)  # a short window gets a smaller answer, not overlapping rows
        x, y, w = rect.x + 20, rect.y + int(16 * k), rect.w - 40
        self.text(screen, "ANSWER", 13, MUTED, bold=True, topleft=(x, y))
        y += int(24 * k)
        self.answer_rects = []
        digits = result.digits if result is not None else ""
        size = int(96 * k)
        while digits and size > 24 and self.fonts.get(size, True).size(digits)[0] + 6 * len(digits) > w:
            size -= 4
        if not digits:
            self.text(screen, "\u2013", size, FAINT, bold=True, topleft=(x, y))
        # each digit on its own, so that a click picks the digit shown in the bars
        cx = x
        for i, ch in enumerate(digits):
            color = MUTED if board.outdated else WARN if ch == "?" else TEXT
            r = self.text(screen, ch, size, color, bold=True, topleft=(cx, y))
            if len(digits) > 1 and i == board.focus:
                pygame.draw.line(screen, ACCENT, (r.x + 2, r.bottom + 2), (r.right - 2, r.bottom + 2), 3)
            self.answer_rects.append(r.inflate(4, 8))
            cx = r.right + 6
        y += self.fonts.get(int(96 * k), True).get_linesize() + int(10 * k)
        if digits:
            conf = float(result.confidence)
            self.text(screen, f"confidence {conf:.0%}", 15, MUTED, topleft=(x, y))
            if board.outdated:
                self.text(screen, "drawing changed: Enter", 13, WARN, topright=(x + w, y + 2))
            y += 24
            pygame.draw.rect(screen, BAR, (x, y, w, 6), border_radius=3)
            pygame.draw.rect(screen, ACCENT if conf >= self.options.threshold else WARN,
                             (x, y, max(int(w * conf), 6), 6), border_radius=3)
        y += int(26 * k)
        n = len(digits)
        caption = f"DIGIT {board.focus + 1} OF {n}  \u2190 \u2192" if n > 1 else "PROBABILITIES"
        self.text(screen, caption, 13, MUTED, bold=True, topleft=(x, y))
        y += int(22 * k) + 2
        probs = result.probabilities[board.focus] if n else None
        row = max(9, min(26, (rect.bottom - int(12 * k) - y) // 10))
        font = max(10, min(15, row - 3))
        top = int(probs.argmax()) if probs is not None else -1
        for d in range(10):
            p = float(probs[d]) if probs is not None else 0.0
            mid = y + d * row + row // 2
            color = (ACCENT if p >= self.options.threshold else WARN) if d == top else (90, 97, 112)
            self.text(screen, str(d), font, TEXT if d == top else MUTED, bold=d == top, midleft=(x, mid))
            bar = pygame.Rect(x + 22, mid - min(5, row // 2 - 1), w - 22 - 46, min(10, row - 2))
            pygame.draw.rect(screen, BAR, bar, border_radius=5)
            if p > 0.005:
                pygame.draw.rect(screen, color, (bar.x, bar.y, max(int(bar.w * p), bar.h), bar.h), border_radius=5)
            if probs is not None:
                self.text(screen, f"{p:.0%}", min(font, 13), TEXT if d == top else MUTED, midright=(x + w, mid))

    def draw_status(self, screen: pygame.Surface, rect: pygame.Rect) -> None:
        board = self.board
        right = f"live {'on' if board.live else 'off'} (L)   \u00b7   Enter read   \u00b7   H help"
        hint = self.text(screen, right, 14, MUTED, midright=(rect.right - 16, rect.centery))
        if board.live:
            pygame.draw.circle(screen, ACCENT, (hint.x - 10, rect.centery), 4)
        message = board.message
        font = self.fonts.get(15)
        room = hint.x - 48
        while message and font.size(message)[0] > room:  # a long path: keep the start, which says what
            message = message[:-4] + "..."
        self.text(screen, message, 15, ERROR if board.error else TEXT, midleft=(16, rect.centery))

    def draw_help(self, screen: pygame.Surface) -> None:
        shade = pygame.Surface(screen.get_size(), pygame.SRCALPHA)
        shade.fill((0, 0, 0, 170))
        screen.blit(shade, (0, 0))
        lines = self.model_lines()
        card = pygame.Rect(0, 0, min(640, screen.get_width() - 40),
                           min(96 + 26 * len(HELP) + 22 * len(lines), screen.get_height() - 40))
        card.center = screen.get_rect().center
        pygame.draw.rect(screen, PANEL, card, border_radius=12)
        pygame.draw.rect(screen, BORDER, card, 1, border_radius=12)
        x, y = card.x + 28, card.y + 22
        self.text(screen, f"digits {__version__}", 22, TEXT, bold=True, topleft=(x, y))
        y += 44
        for keys, what in HELP:
            self.text(screen, keys, 15, ACCENT, bold=True, topleft=(x, y))
            self.text(screen, what, 15, TEXT, topleft=(x + 190, y))
            y += 26
        y += 10
        for line in lines:
            self.text(screen, line, 14, MUTED, topleft=(x, y))
            y += 22

    def model_lines(self) -> list[str]:
        if self.loader.error:
            return [self.loader.error]
        if self.model is None:
            return ["model: loading..."]
        meta = getattr(self.model, "metadata", {}) or {}

        def percent(key: str) -> str:
            try:
                v = float(meta[key])
                return f"{v:.1%}" if v <= 1 else f"{v:.1f}%"
            except (KeyError, ValueError):
                return "n/a"

        return [f"model {meta.get('model_version', 'unknown')}: MNIST test accuracy {percent('mnist_test_accuracy')}, "
                f"pen digits {percent('pen_val_accuracy')}",
                f"threshold {self.options.threshold:.2f}: less sure digits read \"?\"",
                f"S saves to {self.options.save_dir or default_dir('drawings')}",
                f"corrections go to {self.options.corrections_dir or default_dir('corrections')}"]


# ---------------------------------------------------------------------------------------------
# Command line


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, like 1000x640, got {text!r}") from None
    if w < 320 or h < 240:
        raise argparse.ArgumentTypeError(f"window too small: {w}x{h} (at least 320x240)")
    return w, h



def _brush(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"expected a brush width in pixels between 1 and 100, got {text!r}")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="digits-player", description="Draw a digit or a number, press Enter, read it.")
    p.add_argument("drawing", nargs="?", metavar="FILE.json", help="open a saved stroke drawing and read it")
    p.add_argument("--model", metavar="PATH", help="ONNX model (default: the shipped one, or $DIGITS_MODEL)")
    p.add_argument("--threshold", type=probability, default=DEFAULT_THRESHOLD, metavar="P",
                   help=f"digits less sure than this read '?' (default {DEFAULT_THRESHOLD})")
    p.add_argument("--brush", type=_brush, default=BRUSH, metavar="PX", help=f"brush width in pixels (default {BRUSH})")
    p.add_argument("--size", type=_size, default=DEFAULT_SIZE, metavar="WxH",
                   help=f"window size (default {DEFAULT_SIZE[0]}x{DEFAULT_SIZE[1]})")
    p.add_argument("--save-dir", type=Path, metavar="DIR",
                   help="where S saves drawings (default: the user data folder)")
    p.add_argument("--corrections-dir", type=Path, metavar="DIR",
                   help="where labelled drawings go (default: the user data folder); digits-train --extra reads it")
    p.add_argument("--events", action="store_true", help="print JSON lines on stdout: ready, recognised, saved, error")
    p.add_argument("--max-frames", type=int, metavar="N", help="quit after N frames (smoke tests)")
    p.add_argument("--screenshot", type=Path, help=argparse.SUPPRESS)  # save the window after the next reading
    p.add_argument("--version", action="version", version=f"digits-player {__version__}")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    drawing = None
    if args.drawing:
        try:
            drawing = load_drawing(args.drawing)
        except DrawingError as e:
            warn(str(e))
            return 2
    options = Options(model=args.model, threshold=args.threshold, brush=args.brush, size=args.size,
                      events=args.events, save_dir=args.save_dir, corrections_dir=args.corrections_dir,
                      drawing=drawing, screenshot=args.screenshot)
    app = App(options)
    try:
        try:
            app.open()
        except pygame.error:
            warn(NO_DISPLAY)
            return 2
        return app.run(args.max_frames)
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # a user gets one line, never a traceback
        if os.environ.get("DIGITS_DEBUG"):
            raise
        warn(f"internal error: {type(e).__name__}: {e} (set DIGITS_DEBUG=1 for details)")
        return 1
    finally:
        pygame.quit()  # the window goes at once; then a model still loading is let finish, since
        app.loader.join(10)  # exiting under onnxruntime's starting threads can abort ("terminate called")


if __name__ == "__main__":
    sys.exit(main())
