"""The drawing's pixels: strokes drawn as a round pen, anti-aliased, kept from frame to frame.

pygame's thick lines and circles have no anti-aliasing, so ink is drawn at SUPERSAMPLE times
the size and scaled down smoothly. In the window (Ink) each new piece of a stroke is drawn
once and only the area it touched is scaled down: a frame costs the same with 100 points on
the canvas as with 10,000 (benchmarks/frames.py).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import pygame

from player.board import Board, Point

# white ink on near-black, as the model saw MNIST
CANVAS = (12, 13, 16)
INK = (242, 244, 247)

SUPERSAMPLE = 2  # ink is drawn at twice the size and scaled down: pygame's thick shapes have no anti-aliasing


def render_ink(board: Board) -> pygame.Surface:
    """The finished strokes on a canvas-sized surface, drawn all at once (a saved PNG)."""
    w, h = board.size
    big = pygame.Surface((w * SUPERSAMPLE, h * SUPERSAMPLE))
    big.fill(CANVAS)
    for stroke in board.strokes:
        draw_stroke(big, stroke, board.brush, scale=SUPERSAMPLE)
    return pygame.transform.smoothscale(big, (w, h))


class Ink:
    """The canvas's ink as pixels, kept from frame to frame.

    Each new piece of a stroke is drawn once, at SUPERSAMPLE times the size, and only the area
    it touched is scaled down again (a 2:1 smoothscale averages 2x2 blocks, so a piece scaled
    alone looks exactly as if the whole canvas had been). Everything is drawn again only when
    ink already there changes (undo, clear, load, resize), which bumps Board.rewrites. So a
    frame costs the same with 100 points on the canvas as with 10,000."""

    def __init__(self):
        self.big: pygame.Surface | None = None  # SUPERSAMPLE times the canvas
        self.surface: pygame.Surface | None = None  # canvas-sized: what is shown
        self.drawn_for: tuple | None = None  # (rewrites, canvas size, brush) the surfaces hold
        self.finished = 0  # how many of board.strokes are all on the surface
        self.open_stroke: list | None = None  # the stroke being drawn ...
        self.open_points = 0  # ... and how many of its points are on the surface

    def update(self, board: Board) -> pygame.Surface:
        """The surface with all of the board's ink, the stroke being drawn included."""
        drawn_for = (board.rewrites, tuple(board.size), board.brush)
        if drawn_for != self.drawn_for:  # draw everything again, and scale it down in one go
            w, h = board.size
            if self.big is None or self.big.get_size() != (w * SUPERSAMPLE, h * SUPERSAMPLE):
                self.big = pygame.Surface((w * SUPERSAMPLE, h * SUPERSAMPLE))
            self.big.fill(CANVAS)
            for stroke in board.all_strokes():
                draw_stroke(self.big, stroke, board.brush, scale=SUPERSAMPLE)
            self.surface = pygame.transform.smoothscale(self.big, (w, h))
            self.drawn_for, self.finished = drawn_for, len(board.strokes)
            self.open_stroke, self.open_points = board.current, len(board.current or ())
            return self.surface
        new = board.strokes[self.finished :] + ([board.current] if board.current else [])
        for stroke in new:
            self.add(stroke, self.open_points if stroke is self.open_stroke else 0, board.brush)
        self.finished = len(board.strokes)
        self.open_stroke, self.open_points = board.current, len(board.current or ())
        return self.surface

    def add(self, stroke: Sequence[Point], start: int, brush: float) -> None:
        """Draw a stroke from point `start` on (joined to the point before), then scale down the
        area it touched."""
        piece = stroke[max(start - 1, 0) :]
        if not piece or start >= len(stroke):
            return
        draw_stroke(self.big, piece, brush, scale=SUPERSAMPLE)
        r = brush / 2 + 1
        x0, y0 = math.floor(min(p[0] for p in piece) - r), math.floor(min(p[1] for p in piece) - r)
        x1, y1 = math.ceil(max(p[0] for p in piece) + r), math.ceil(max(p[1] for p in piece) + r)
        area = pygame.Rect(x0, y0, x1 - x0, y1 - y0).clip(self.surface.get_rect())
        if area.w > 0 and area.h > 0:
            big_area = pygame.Rect(area.x * SUPERSAMPLE, area.y * SUPERSAMPLE, area.w * SUPERSAMPLE,
                                   area.h * SUPERSAMPLE)
            self.surface.blit(pygame.transform.smoothscale(self.big.subsurface(big_area), area.size), area)


def draw_stroke(surface: pygame.Surface, stroke: Sequence[Point], brush: float,
                offset: tuple[float, float] = (0, 0), scale: float = 1, color=INK) -> None:
    """A round pen: a disc at every point, joined by a quad as wide as the pen where the points
    are more than half a radius apart (closer discs cover the stroke by themselves: the edge
    between them sags by under 4% of the radius). pygame's own thick lines are thinner on
    diagonals and have square ends: bumpy strokes."""
    r = max(brush * scale / 2, 0.5)
    pts = [((x + offset[0]) * scale, (y + offset[1]) * scale) for x, y in stroke]
    for (ax, ay), (bx, by) in zip(pts, pts[1:], strict=False):
        length = math.hypot(bx - ax, by - ay)
        if length > max(r / 2, 1):
            nx, ny = -(by - ay) / length * r, (bx - ax) / length * r  # the normal, pen-radius long
            pygame.draw.polygon(surface, color, [(ax + nx, ay + ny), (bx + nx, by + ny),
                                                 (bx - nx, by - ny), (ax - nx, ay - ny)])
    for p in pts:
        pygame.draw.circle(surface, color, p, r)


def png_bytes(surface: pygame.Surface) -> bytes:
    buffer = io.BytesIO()
    pygame.image.save(surface, buffer, "drawing.png")
    return buffer.getvalue()
