"""The app's icon, drawn in code: a white "7" written with a round pen on the canvas colour.

The window gets it from `icon()`; the standalone app's .desktop entry needs it as a file:

    python -m player.icon digits.png [SIZE]
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # `python -m player.icon` prints nothing else
import pygame  # noqa: E402

# the stroke of the "7", in fractions of the icon, as one drawn with the mouse would be
SEVEN = [(0.27, 0.26), (0.73, 0.24), (0.66, 0.40), (0.52, 0.60), (0.44, 0.78)]
BAR = [(0.38, 0.50), (0.66, 0.50)]  # the continental cross bar, so it reads as written by hand
CANVAS = (12, 13, 16)
BORDER = (96, 165, 250)
INK = (242, 244, 247)


def icon(size: int = 64) -> pygame.Surface:
    """The icon as a surface with transparent corners. Needs no display."""
    big = size * 4  # drawn 4x larger and scaled down: pygame's own lines are not anti-aliased
    surface = pygame.Surface((big, big), pygame.SRCALPHA)
    rect = surface.get_rect().inflate(-big // 16, -big // 16)
    pygame.draw.rect(surface, CANVAS, rect, border_radius=big // 5)
    pygame.draw.rect(surface, BORDER, rect, width=max(1, big // 28), border_radius=big // 5)
    pen = max(2, big // 11)
    for stroke in (SEVEN, BAR):
        points = [(x * big, y * big) for x, y in stroke]
        for a, b in zip(points, points[1:], strict=False):
            pygame.draw.line(surface, INK, a, b, pen)
        for p in points:  # round joints and ends
            pygame.draw.circle(surface, INK, p, pen / 2)
    return pygame.transform.smoothscale(surface, (size, size))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) not in (1, 2) or (len(argv) == 2 and not argv[1].isdigit()):
        print("usage: python -m player.icon FILE.png [SIZE]", file=sys.stderr)
        return 2
    pygame.image.save(icon(int(argv[1]) if len(argv) == 2 else 64), argv[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
