"""Pen digits -> player drawings, made the way people draw: the one home of this idea.

Benchmarks, tests and the 'not a digit' training examples all place real pen trajectories on
a canvas through these functions: single digits anywhere on canvases of 280-640 px, 35-75 %
of the canvas tall, with a brush of 2.5-6 % of its height; numbers of one writer's digits
side by side at one height, with a chosen range of gaps between their boxes (negative: the
boxes overlap, as in a "17" whose bar reaches over the 1), on a canvas made for them or on a
given one (a real window); and, kind to a tutorial's preprocessing, one digit centred on a
fixed canvas (centred_drawing).
"""

from __future__ import annotations

import math

import numpy as np

CANVAS = (280, 640)  # canvas width (and height) range, px
HEIGHT = (0.35, 0.75)  # digit height, fraction of the canvas height
BRUSH = (0.025, 0.06)  # brush, fraction of the canvas height
GAP = (0.25, 0.5)  # gap between the digits of a number, fraction of the digit height


def box(strokes: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    points = np.concatenate(strokes)
    return points.min(axis=0), points.max(axis=0)


def digit_scale(strokes: list[np.ndarray], height: float) -> float:
    """Scale that makes the digit `height` px tall; a digit much wider than tall (a flat
    stroke) is limited to twice `height` in width instead."""
    lo, hi = box(strokes)
    w, h = hi - lo
    return height / max(h, w / 2, 1e-9)


def place(strokes: list[np.ndarray], scale: float, x: float, y: float) -> list:
    """Strokes scaled, their box's top-left corner at (x, y), rounded like the player's files."""
    lo, _ = box(strokes)
    return [np.round((s - lo) * scale + (x, y), 2).tolist() for s in strokes]


def between(rng, lo: float, hi: float) -> float:
    """Uniform in [lo, hi]; lo when rounding made hi a hair smaller (a digit that just fits)."""
    return float(rng.uniform(lo, max(lo, hi)))


def canvas_height(rng) -> int:
    return int(rng.integers(CANVAS[0], CANVAS[1] + 1))


def single_drawing(digit, rng) -> dict:
    """One digit anywhere on a canvas of 280-640 px, fully inside it."""
    width = canvas_height(rng)
    height = int(np.clip(width * rng.uniform(0.8, 1.25), *CANVAS))
    brush = rng.uniform(*BRUSH) * height
    margin = brush / 2 + 1
    scale = digit_scale(digit.strokes, rng.uniform(*HEIGHT) * height)
    lo, hi = box(digit.strokes)
    w, h = (hi - lo) * scale
    if w > width - 2 * margin:  # a very wide digit: shrink it to the canvas
        scale *= (width - 2 * margin) / w
        w, h = (hi - lo) * scale
    x, y = between(rng, margin, width - margin - w), between(rng, margin, height - margin - h)
    return {"canvas": [width, height], "brush": round(brush, 2), "strokes": place(digit.strokes, scale, x, y),
            "label": str(digit.label)}


def number_drawing(digits, rng, gap=GAP, canvas: tuple[int, int] | None = None) -> dict:
    """Digits of one writer side by side at one height. The canvas is made wide enough; or,
    given as (width, height) (a real window), a number too wide for it is shrunk to fit."""
    height = canvas[1] if canvas else canvas_height(rng)
    brush = rng.uniform(*BRUSH) * height
    margin = brush / 2 + 1
    h = rng.uniform(*HEIGHT) * height
    gap_fractions = rng.uniform(*gap, size=len(digits) - 1)

    def layout(h):  # every length is proportional to the digit height h
        scales = [digit_scale(d.strokes, h) for d in digits]
        sizes = [(hi - lo) * s for (lo, hi), s in zip((box(d.strokes) for d in digits), scales, strict=True)]
        widths = [float(w) for w, _ in sizes]
        gaps = gap_fractions * h
        return scales, sizes, widths, gaps, sum(widths) + gaps.sum()

    scales, sizes, widths, gaps, total = layout(h)
    if canvas is None:
        width = max(canvas_height(rng), math.ceil((total + 2 * margin) * rng.uniform(1.0, 1.3)))
    else:
        width = canvas[0]
        if total > width - 2 * margin:
            h *= (width - 2 * margin) / total
            scales, sizes, widths, gaps, total = layout(h)
    x = between(rng, margin, width - margin - total)
    top = between(rng, margin, height - margin - h)
    strokes = []
    for i, (d, s) in enumerate(zip(digits, scales, strict=True)):
        digit_h = float(sizes[i][1])
        y = float(np.clip(top + rng.uniform(-0.04, 0.04) * h, margin, height - margin - digit_h))  # a hand's baseline
        strokes += place(d.strokes, s, x, y)
        x += widths[i] + (gaps[i] if i < len(gaps) else 0)
    return {"canvas": [width, height], "brush": round(brush, 2), "strokes": strokes,
            "label": "".join(str(d.label) for d in digits)}


def number_drawings(digits, count: int, rng, lengths=(2, 3, 4, 5), gap=GAP, canvas=None):
    """`count` numbers, each of distinct digits by one writer (picked at random), of the given
    lengths in turn: number_drawing for each."""
    by_writer: dict = {}
    for digit in digits:
        by_writer.setdefault((digit.group, digit.writer), []).append(digit)
    writers = sorted(by_writer)
    for i in range(count):
        pool = by_writer[writers[rng.integers(len(writers))]]
        n = min(lengths[i % len(lengths)], len(pool))
        yield number_drawing([pool[j] for j in rng.choice(len(pool), size=n, replace=False)], rng, gap, canvas)


def centred_drawing(strokes: list[np.ndarray], canvas=(480, 480), height=0.6, brush=0.04, at=(0.5, 0.5)) -> dict:
    """One digit scaled to `height` of the canvas height, its box centred at `at` (fractions of
    the canvas), brush as a fraction of the canvas height: a drawing as a tutorial demo makes it."""
    lo, hi = box(strokes)
    scale = height * canvas[1] / max(hi[1] - lo[1], 1e-9)
    centre = (lo + hi) / 2
    target = np.array([at[0] * canvas[0], at[1] * canvas[1]])
    return {
        "canvas": list(canvas),
        "brush": round(brush * canvas[1], 2),
        "strokes": [np.round((s - centre) * scale + target, 2).tolist() for s in strokes],
    }
