"""Pixels: the theme, fonts, layout, the ink, and one draw function per part of the window.

Each draw_* function paints one box of the window from plain values and returns what it
drew (`Drawn`): the rectangles of its texts, which the tests check stay inside the box, and
the ones a click can pick (the answer's digits), which the app hit-tests.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

import pygame

from player.board import Board
from player.errors import first_line
from player.icon import icon
from player.ink import Ink

MIN_CANVAS = 64

# A dark theme around the ink (player/ink.py: white on near-black, as the model saw MNIST).
BG = (22, 24, 29)
PANEL = (31, 34, 41)
BORDER = (52, 56, 66)
TEXT = (232, 234, 238)
MUTED = (130, 137, 150)
FAINT = (70, 75, 86)
ACCENT = (96, 165, 250)
WARN = (251, 191, 36)
ERROR = (248, 113, 113)
BAR = (44, 48, 58)


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


NO_DISPLAY = "no display available (set DISPLAY or SDL_VIDEODRIVER=dummy)"


class NoDisplay(Exception):
    """No window can be opened; the message says why, in one line for the user."""


def open_display(size: tuple[int, int], title: str) -> pygame.Surface:
    """The resizable window's surface; NoDisplay if there is no display to open it on."""
    explicit = os.environ.get("SDL_VIDEODRIVER")
    x_only = False
    if not explicit and sys.platform.startswith("linux"):
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            raise NoDisplay(NO_DISPLAY)  # SDL would try Wayland (a stray error line), then go offscreen
        # Only X: should X11 fail (no server at DISPLAY), SDL would try Wayland next, and
        # libwayland prints a stray "XDG_RUNTIME_DIR is invalid" line before our message.
        x_only = not os.environ.get("WAYLAND_DISPLAY")
    if x_only:
        os.environ["SDL_VIDEODRIVER"] = "x11"
    try:
        # display and font only: pygame.init() would also start audio and joystick subsystems
        pygame.display.init()
    except pygame.error:
        if x_only:
            raise NoDisplay(f"cannot open the X display {os.environ.get('DISPLAY')} (is an X server running "
                            "there?); set DISPLAY to one, or SDL_VIDEODRIVER=dummy to run without") from None
        raise NoDisplay(NO_DISPLAY) from None
    finally:
        if x_only:
            del os.environ["SDL_VIDEODRIVER"]  # it was for this call: our own setting, not the user's
    if not explicit and pygame.display.get_driver() in ("offscreen", "dummy"):
        raise NoDisplay(NO_DISPLAY)  # an invisible window nobody can draw in: say so instead
    pygame.font.init()
    if pygame.display.get_driver() == "x11":
        # SDL would put the window surface in an OpenGL texture: loading GL (Mesa, shader
        # caches) costs 0.1-0.5 s before the first frame, for nothing a 2-D app needs.
        # Plain X11 (shared memory) blits are fast. Only on X11: elsewhere (Wayland, macOS)
        # the texture path is the only one there is.
        os.environ.setdefault("SDL_FRAMEBUFFER_ACCELERATION", "0")
    pygame.display.set_caption(title)
    pygame.display.set_icon(icon())  # before the window exists, as SDL wants it
    try:
        return pygame.display.set_mode(size, pygame.RESIZABLE)
    except pygame.error as e:  # there is a display: it would not give a window of this size
        raise NoDisplay(f"cannot open a {size[0]}x{size[1]} window ({first_line(e)})") from None


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
        panel_w = max(150, min(340, int(w * 0.32)))  # 150: a 320 px window keeps a canvas to draw on
        canvas = pygame.Rect(margin, margin, max(w - panel_w - 3 * margin, MIN_CANVAS),
                             max(h - status_h - 2 * margin, MIN_CANVAS))
        panel = pygame.Rect(canvas.right + margin, margin, panel_w, canvas.height)
        return cls(canvas, panel, pygame.Rect(0, h - status_h, w, status_h))


@dataclass
class Drawn:
    """What a draw function put on the screen, in window pixels."""

    box: pygame.Rect  # the part of the window it had
    texts: list[pygame.Rect] = field(default_factory=list)  # every text it wrote
    hits: list[pygame.Rect] = field(default_factory=list)  # what a click can pick: the answer's digits


@dataclass
class Window:
    """The window's own state: its surface and layout, the fonts, the ink rendered so far,
    and what the frame on screen shows (to skip redrawing an unchanged picture)."""

    screen: pygame.Surface
    layout: Layout
    fonts: Fonts = field(default_factory=Fonts)
    ink: Ink = field(default_factory=lambda: Ink())  # the drawing's pixels, kept from frame to frame
    parts: dict[str, Drawn] = field(default_factory=dict)  # what the last frame drew, by part
    shown: tuple | None = None  # App.view_key() of the frame on screen

    @property
    def size(self) -> tuple[int, int]:
        return self.layout.status.right, self.layout.status.bottom


ELLIPSIS = "..."


def fit(font: pygame.font.Font, words: str, width: float) -> str:
    """`words` if they fit in `width` pixels; else their longest start that fits with "..."
    after it (the start says what a message is about); else "" (a window may be 1 px wide).
    A binary search over the length: a handful of measurements, and it ends for any width."""
    if font.size(words)[0] <= width:
        return words
    lo, hi = 0, len(words)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if font.size(words[:mid].rstrip() + ELLIPSIS)[0] <= width:
            lo = mid
        else:
            hi = mid - 1
    cut = words[:lo].rstrip() + ELLIPSIS
    return cut if font.size(cut)[0] <= width else ""


def text(surface: pygame.Surface, fonts: Fonts, drawn: Drawn, words: str, size: int, color, bold: bool = False,
         width: float | None = None, smallest: int | None = None, **anchor) -> pygame.Rect:
    """Write `words` at the anchor (pygame.Rect keywords: topleft=..., midright=...), inside the
    drawn box and at most `width` pixels wide (default: the box's width): in a smaller font,
    down to `smallest`, if one is given, then cut with "...". Returns where it went (an empty
    rectangle at the anchor if not even "..." fits)."""
    width = drawn.box.w if width is None else min(width, drawn.box.w)
    if smallest is not None:
        while size > smallest and fonts.get(size, bold).size(words)[0] > width:
            size -= 1
    words = fit(fonts.get(size, bold), words, width)
    if not words:
        empty = pygame.Rect(0, 0, 0, 0)
        for name, value in anchor.items():
            setattr(empty, name, value)
        return empty
    image = fonts.get(size, bold).render(words, True, color)
    rect = image.get_rect(**anchor).clamp(drawn.box)
    surface.blit(image, rect)
    drawn.texts.append(rect)
    return rect


# -- the parts of the window


def wording_that_fits(fonts: Fonts, wordings: Sequence[str], size: int, width: float) -> str:
    """The first of `wordings` (longest first) that fits `width` at `size`, else the last."""
    return next((words for words in wordings if fonts.get(size).size(words)[0] <= width), wordings[-1])


def draw_canvas(screen: pygame.Surface, rect: pygame.Rect, board: Board, ink: pygame.Surface,
                fonts: Fonts) -> Drawn:
    """The ink (Ink.update's surface), and once read, an outline per digit found with what
    was read there."""
    drawn = Drawn(rect)
    screen.blit(ink, rect)
    pygame.draw.rect(screen, BORDER, rect.inflate(2, 2), 1, border_radius=3)
    if board.empty:
        # the short wording where the long one would need type smaller than 12 px
        room = rect.w - 16
        draw = wording_that_fits(fonts, ["draw a digit or a number here", "draw here"], 12, room)
        then = wording_that_fits(fonts, ["then press Enter  \u00b7  H for help", "Enter  \u00b7  H help"], 12, room)
        top = text(screen, fonts, drawn, draw, 22, FAINT, width=room, smallest=12,
                   midbottom=(rect.centerx, rect.centery - 1))
        text(screen, fonts, drawn, then, 16, FAINT, width=room, smallest=12, midtop=(rect.centerx, top.bottom + 8))
    elif board.result is not None and not board.outdated and board.groups:
        # how the number was split: one outline per digit, with what was read there
        pad = board.brush / 2 + 6
        for i, (x0, y0, x1, y1) in enumerate(board.groups):
            box = pygame.Rect(rect.x + x0 - pad, rect.y + y0 - pad, x1 - x0 + 2 * pad, y1 - y0 + 2 * pad)
            box = box.clip(rect.inflate(-2, -2))
            color = ACCENT if i == board.focus else FAINT
            pygame.draw.rect(screen, color, box, 1, border_radius=6)
            if i < len(board.result.digits):
                text(screen, fonts, drawn, board.result.digits[i], 15, color, bold=True,
                     bottomleft=(box.x + 4, max(box.y - 2, rect.y + 18)))
    return drawn


def answer_fit(fonts: Fonts, digits: str, width: int, largest: int) -> tuple[int, int, int]:
    """(font size, gap between digits, how many digits are shown) for the answer to fit in
    `width` pixels: the largest size up to `largest`; a number too long even at the smallest
    shows its first digits and "..."."""
    smallest = 10
    for size in range(largest, smallest - 1, -2):
        font, gap = fonts.get(size, True), max(2, size // 16)
        if sum(font.size(ch)[0] for ch in digits) + gap * (len(digits) - 1) <= width:
            return size, gap, len(digits)
    font, gap = fonts.get(smallest, True), 2
    room, shown = width - font.size(ELLIPSIS)[0] - gap, 0
    for ch in digits:
        room -= font.size(ch)[0] + gap
        if room < 0:
            break
        shown += 1
    return smallest, gap, shown


def draw_panel(screen: pygame.Surface, rect: pygame.Rect, board: Board, fonts: Fonts, threshold: float) -> Drawn:
    """The answer, its confidence, and a probability bar per class for the digit in focus (left
    out when the window is too short for them). Its hits are the answer's digits, left to
    right: a click on one focuses it."""
    drawn = Drawn(rect)
    result = board.result
    pygame.draw.rect(screen, PANEL, rect, border_radius=10)
    k = min(max(rect.h / 570, 0.5), 1.0)  # a short window gets a smaller answer, not overlapping rows
    x, y, w = rect.x + 20, rect.y + int(16 * k), rect.w - 40
    text(screen, fonts, drawn, "ANSWER", 13, MUTED, bold=True, width=w, topleft=(x, y))
    y += max(int(24 * k), fonts.get(13, True).get_height() + 2)
    digits = result.digits if result is not None else ""
    size, gap, shown = answer_fit(fonts, digits, w, int(96 * k))
    if not digits:
        text(screen, fonts, drawn, "\u2013", size, FAINT, bold=True, topleft=(x, y))
    # each digit on its own, so that a click picks the digit shown in the bars
    cx = x
    for i, ch in enumerate(digits[:shown]):
        color = MUTED if board.outdated else WARN if ch == "?" else TEXT
        r = text(screen, fonts, drawn, ch, size, color, bold=True, topleft=(cx, y))
        if len(digits) > 1 and i == board.focus:
            pygame.draw.line(screen, ACCENT, (r.x + 2, r.bottom + 2), (r.right - 2, r.bottom + 2), 3)
        drawn.hits.append(r.inflate(4, 8))
        cx = r.right + gap
    if shown < len(digits):
        text(screen, fonts, drawn, ELLIPSIS, size, MUTED, bold=True, width=x + w - cx, topleft=(cx, y))
    y += fonts.get(int(96 * k), True).get_linesize() + int(10 * k)
    if digits:
        conf = float(result.confidence)
        room = w
        if board.outdated:  # says so at the right; the confidence keeps the left if both fit
            room = text(screen, fonts, drawn, "drawing changed: Enter", 13, WARN, width=w,
                        topright=(x + w, y + 2)).x - x - 12
        if fonts.get(15).size(f"confidence {conf:.0%}")[0] <= room:
            text(screen, fonts, drawn, f"confidence {conf:.0%}", 15, MUTED, topleft=(x, y))
        y += 24
        pygame.draw.rect(screen, BAR, (x, y, w, 6), border_radius=3)
        pygame.draw.rect(screen, ACCENT if conf >= threshold else WARN,
                         (x, y, max(int(w * conf), 6), 6), border_radius=3)
    y += int(26 * k)
    # the bars: ten rows below a caption, in what height is left, or not at all
    caption_step = max(int(22 * k) + 2, fonts.get(13, True).get_height())
    row = min(26, (rect.bottom - int(12 * k) - y - caption_step) // 10)
    font = min(15, row - 3)
    while font > 9 and fonts.get(font).get_height() > row:
        font -= 1
    if font < 9 or fonts.get(font).get_height() > row:
        return drawn
    n = len(digits)
    caption = f"DIGIT {board.focus + 1} OF {n}  \u2190 \u2192" if n > 1 else "PROBABILITIES"
    text(screen, fonts, drawn, caption, 13, MUTED, bold=True, width=w, topleft=(x, y))
    y += caption_step
    probs = result.probabilities[board.focus] if n else None
    top = int(probs.argmax()) if probs is not None else -1
    for d in range(10):
        p = float(probs[d]) if probs is not None else 0.0
        mid = y + d * row + row // 2
        color = (ACCENT if p >= threshold else WARN) if d == top else (90, 97, 112)
        text(screen, fonts, drawn, str(d), font, TEXT if d == top else MUTED, bold=d == top, midleft=(x, mid))
        bar = pygame.Rect(x + 22, mid - min(5, row // 2 - 1), w - 22 - 46, min(10, row - 2))
        pygame.draw.rect(screen, BAR, bar, border_radius=5)
        if p > 0.005:
            pygame.draw.rect(screen, color, (bar.x, bar.y, max(int(bar.w * p), bar.h), bar.h), border_radius=5)
        if probs is not None:
            text(screen, fonts, drawn, f"{p:.0%}", min(font, 13), TEXT if d == top else MUTED, midright=(x + w, mid))
    return drawn


def draw_status(screen: pygame.Surface, rect: pygame.Rect, board: Board, fonts: Fonts, learning: str = "") -> Drawn:
    """The status line: the last message on the left, the live switch, how many corrections are
    learned and key hints right; shorter hints in a narrow window, so that the message keeps
    most of the line."""
    drawn = Drawn(rect)
    live = f"live {'on' if board.live else 'off'}"
    learned = f"{learning} (A)   \u00b7   " if learning else ""
    hints = [f"{learned}{live} (L)   \u00b7   Enter read   \u00b7   H help", f"{live} (L)  \u00b7  H help"]
    fitting = [h for h in hints if fonts.get(14).size(h)[0] <= 0.45 * rect.w - 32]
    # the longest hint beside which the message is whole (a question, "F: forget?", must be)
    message_w = fonts.get(15).size(board.message)[0]
    hint = next((h for h in fitting if message_w <= rect.w - 64 - fonts.get(14).size(h)[0]),
                fitting[-1] if fitting else "")
    room = rect.w - 32
    if hint:
        r = text(screen, fonts, drawn, hint, 14, MUTED, midright=(rect.right - 16, rect.centery))
        if board.live:
            pygame.draw.circle(screen, ACCENT, (r.x - 10, rect.centery), 4)
        room = r.x - 48
    text(screen, fonts, drawn, board.message, 15, ERROR if board.error else TEXT, width=room,
         midleft=(rect.x + 16, rect.centery))
    return drawn


def wrap(font: pygame.font.Font, words: str, width: float) -> list[str]:
    """`words` in lines of at most `width` pixels, broken at spaces, and a word longer than a
    line (a path) broken where it must; [] if not even one character fits."""
    lines: list[str] = []
    for word in words.split():
        if lines and font.size(f"{lines[-1]} {word}")[0] <= width:
            lines[-1] += f" {word}"
            continue
        while word:  # each pass takes at least one character, or gives up
            lo, hi = 0, len(word)  # the longest start of the word that fits: binary search
            while lo < hi:
                mid = (lo + hi + 1) // 2
                lo, hi = (mid, hi) if font.size(word[:mid])[0] <= width else (lo, mid - 1)
            if lo == 0:
                return lines
            lines.append(word[:lo])
            word = word[lo:]
    return lines


def card_height(fonts: Fonts, sections: list[list[tuple]], pad: int, gap: int) -> int:
    """How tall the help card is with these rows: each row's type, a gap after each row, twice
    that between sections, a pad around."""
    rows = [row for section in sections for row in section]
    type_height = sum(fonts.get(size, bold).get_height() for _, _, size, bold, _ in rows)
    return 2 * pad + type_height + gap * len(rows) + gap * (len(sections) - 1)


def draw_help(screen: pygame.Surface, fonts: Fonts, title: str, keys: Sequence[tuple[str, str]],
              notes: Sequence[str]) -> Drawn:
    """The help card over a shaded window: a title, what each key does, then notes (the model,
    or why it failed, wrapped to the card). The card is 640 px wide, wider where a key's line
    needs it and the window has room. A small window gets smaller type, down to where every
    line fits; if even the smallest is too big, fewer keys (the notes may say why nothing
    works, so they stay), and lines cut with "..."."""
    shade = pygame.Surface(screen.get_size(), pygame.SRCALPHA)
    shade.fill((0, 0, 0, 170))
    screen.blit(shade, (0, 0))
    margin = min(20, screen.get_height() // 20)
    room = pygame.Rect(0, 0, screen.get_width() - 2 * margin, screen.get_height() - 2 * margin)
    for scale in (1.0, 0.9, 0.8, 0.7, 0.6, 0.5):  # the largest type at which it all fits
        pad, gap = int(22 * scale), int(8 * scale)  # around the card; between rows (twice that between sections)
        title_size, key_size, note_size = (max(int(s * scale), 7) for s in (22, 15, 14))
        key_w = max(fonts.get(key_size, True).size(k)[0] for k, _ in keys) + int(24 * scale)
        rows_w = max([key_w + fonts.get(key_size).size(what)[0] for _, what in keys]
                     + [fonts.get(title_size, True).size(title)[0]])
        width = min(max(640, rows_w + 2 * pad), room.w)
        lines = [line for note in notes for line in wrap(fonts.get(note_size), note, width - 2 * pad)]
        # rows of (text, what it does, size, bold, colour), in sections
        sections = [[(title, "", title_size, True, TEXT)],
                    [(k, what, key_size, True, ACCENT) for k, what in keys],
                    [(line, "", note_size, False, MUTED) for line in lines]]
        if card_height(fonts, sections, pad, gap) <= room.h and rows_w <= width - 2 * pad:
            break
    while sections[1] and card_height(fonts, sections, pad, gap) > room.h:
        sections[1].pop()
    card = pygame.Rect(0, 0, width, min(card_height(fonts, sections, pad, gap), room.h))
    card.center = screen.get_rect().center
    drawn = Drawn(card)
    if card.w <= 0 or card.h <= 0:
        return drawn
    pygame.draw.rect(screen, PANEL, card, border_radius=12)
    pygame.draw.rect(screen, BORDER, card, 1, border_radius=12)
    x, y, inner = card.x + pad, card.y + pad, card.w - 2 * pad
    for section in sections:
        for words, what, size, bold, color in section:
            if y + fonts.get(size, bold).get_height() > card.bottom:
                return drawn  # not even the title and the notes fit: a window far below the minimum
            text(screen, fonts, drawn, words, size, color, bold=bold, width=key_w - gap if what else inner,
                 topleft=(x, y))
            if what:
                text(screen, fonts, drawn, what, size, TEXT, width=inner - key_w, topleft=(x + key_w, y))
            y += fonts.get(size, bold).get_height() + gap
        y += gap
    return drawn
