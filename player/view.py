"""Pixels: the theme, fonts, layout, the ink, and one draw function per part of the window.

Each draw_* function paints one box of the window from plain values and returns what it
drew (`Drawn`): the rectangles of its texts, which the tests check stay inside the box, and
the ones a click can pick (the answer's digits), which the app hit-tests.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import pygame

from player.board import Board, Point

MIN_CANVAS = 64

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
    ink: tuple[tuple, pygame.Surface] | None = None  # (what it shows, the finished strokes rendered)
    parts: dict[str, Drawn] = field(default_factory=dict)  # what the last frame drew, by part
    shown: tuple | None = None  # App.view_key() of the frame on screen

    @property
    def size(self) -> tuple[int, int]:
        return self.layout.status.right, self.layout.status.bottom


def text(surface: pygame.Surface, fonts: Fonts, drawn: Drawn, words: str, size: int, color, bold: bool = False,
         **anchor) -> pygame.Rect:
    """Write `words` at the anchor (pygame.Rect keywords: topleft=..., midright=...)."""
    image = fonts.get(size, bold).render(words, True, color)
    rect = image.get_rect(**anchor)
    surface.blit(image, rect)
    drawn.texts.append(rect)
    return rect


# -- the ink


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


# -- the parts of the window


def draw_canvas(screen: pygame.Surface, rect: pygame.Rect, board: Board, ink: pygame.Surface,
                fonts: Fonts) -> Drawn:
    """The finished strokes (`ink`, rendered once per change), the stroke being drawn on top,
    and once read, an outline per digit found with what was read there."""
    drawn = Drawn(rect)
    screen.blit(ink, rect)
    if board.current:
        draw_stroke(screen, board.current, board.brush, offset=rect.topleft)
    pygame.draw.rect(screen, BORDER, rect.inflate(2, 2), 1, border_radius=3)
    if board.empty:
        text(screen, fonts, drawn, "draw a digit or a number here", 22, FAINT, center=(rect.centerx, rect.centery - 14))
        text(screen, fonts, drawn, "then press Enter  \u00b7  H for help", 16, FAINT,
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
                text(screen, fonts, drawn, board.result.digits[i], 15, color, bold=True,
                     bottomleft=(box.x + 4, max(box.y - 2, rect.y + 18)))
    return drawn


def draw_panel(screen: pygame.Surface, rect: pygame.Rect, board: Board, fonts: Fonts, threshold: float) -> Drawn:
    """The answer, its confidence, and a probability bar per class for the digit in focus.
    Its hits are the answer's digits, left to right: a click on one focuses it."""
    drawn = Drawn(rect)
    result = board.result
    pygame.draw.rect(screen, PANEL, rect, border_radius=10)
    k = min(max(rect.h / 570, 0.5), 1.0)  # a short window gets a smaller answer, not overlapping rows
    x, y, w = rect.x + 20, rect.y + int(16 * k), rect.w - 40
    text(screen, fonts, drawn, "ANSWER", 13, MUTED, bold=True, topleft=(x, y))
    y += int(24 * k)
    digits = result.digits if result is not None else ""
    size = int(96 * k)
    while digits and size > 24 and fonts.get(size, True).size(digits)[0] + 6 * len(digits) > w:
        size -= 4
    if not digits:
        text(screen, fonts, drawn, "\u2013", size, FAINT, bold=True, topleft=(x, y))
    # each digit on its own, so that a click picks the digit shown in the bars
    cx = x
    for i, ch in enumerate(digits):
        color = MUTED if board.outdated else WARN if ch == "?" else TEXT
        r = text(screen, fonts, drawn, ch, size, color, bold=True, topleft=(cx, y))
        if len(digits) > 1 and i == board.focus:
            pygame.draw.line(screen, ACCENT, (r.x + 2, r.bottom + 2), (r.right - 2, r.bottom + 2), 3)
        drawn.hits.append(r.inflate(4, 8))
        cx = r.right + 6
    y += fonts.get(int(96 * k), True).get_linesize() + int(10 * k)
    if digits:
        conf = float(result.confidence)
        text(screen, fonts, drawn, f"confidence {conf:.0%}", 15, MUTED, topleft=(x, y))
        if board.outdated:
            text(screen, fonts, drawn, "drawing changed: Enter", 13, WARN, topright=(x + w, y + 2))
        y += 24
        pygame.draw.rect(screen, BAR, (x, y, w, 6), border_radius=3)
        pygame.draw.rect(screen, ACCENT if conf >= threshold else WARN,
                         (x, y, max(int(w * conf), 6), 6), border_radius=3)
    y += int(26 * k)
    n = len(digits)
    caption = f"DIGIT {board.focus + 1} OF {n}  \u2190 \u2192" if n > 1 else "PROBABILITIES"
    text(screen, fonts, drawn, caption, 13, MUTED, bold=True, topleft=(x, y))
    y += int(22 * k) + 2
    probs = result.probabilities[board.focus] if n else None
    row = max(9, min(26, (rect.bottom - int(12 * k) - y) // 10))
    font = max(10, min(15, row - 3))
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


def draw_status(screen: pygame.Surface, rect: pygame.Rect, board: Board, fonts: Fonts) -> Drawn:
    """The status line: the last message on the left, the live switch and key hints right."""
    drawn = Drawn(rect)
    right = f"live {'on' if board.live else 'off'} (L)   \u00b7   Enter read   \u00b7   H help"
    hint = text(screen, fonts, drawn, right, 14, MUTED, midright=(rect.right - 16, rect.centery))
    if board.live:
        pygame.draw.circle(screen, ACCENT, (hint.x - 10, rect.centery), 4)
    message = board.message
    font = fonts.get(15)
    room = hint.x - 48
    while message and font.size(message)[0] > room:  # a long path: keep the start, which says what
        message = message[:-4] + "..."
    text(screen, fonts, drawn, message, 15, ERROR if board.error else TEXT, midleft=(16, rect.centery))
    return drawn


def draw_help(screen: pygame.Surface, fonts: Fonts, title: str, keys: Sequence[tuple[str, str]],
              notes: Sequence[str]) -> Drawn:
    """The help card over a shaded window: a title, what each key does, then notes (the model)."""
    shade = pygame.Surface(screen.get_size(), pygame.SRCALPHA)
    shade.fill((0, 0, 0, 170))
    screen.blit(shade, (0, 0))
    card = pygame.Rect(0, 0, min(640, screen.get_width() - 40),
                       min(96 + 26 * len(keys) + 22 * len(notes), screen.get_height() - 40))
    card.center = screen.get_rect().center
    drawn = Drawn(card)
    pygame.draw.rect(screen, PANEL, card, border_radius=12)
    pygame.draw.rect(screen, BORDER, card, 1, border_radius=12)
    x, y = card.x + 28, card.y + 22
    text(screen, fonts, drawn, title, 22, TEXT, bold=True, topleft=(x, y))
    y += 44
    for key, what in keys:
        text(screen, fonts, drawn, key, 15, ACCENT, bold=True, topleft=(x, y))
        text(screen, fonts, drawn, what, 15, TEXT, topleft=(x + 190, y))
        y += 26
    y += 10
    for line in notes:
        text(screen, fonts, drawn, line, 14, MUTED, topleft=(x, y))
        y += 22
    return drawn
