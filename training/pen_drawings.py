"""Pen digits -> player drawings, made the way people draw: the one home of this idea.

Benchmarks, tests and the 'not a digit' training examples all place real pen trajectories on
a canvas through these functions: single digits anywhere on canvases of 280-640 px, 35-75 %
of the canvas tall, with a brush of 2.5-6 % of its height; numbers of one writer's digits
side by side at one height, with a chosen range of gaps between their boxes (negative: the
boxes overlap, as in a "17" whose bar reaches over the 1).
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


def number_drawing(digits, rng, gap=GAP) -> dict:
    """Digits of one writer side by side at one height; the canvas is made wide enough."""
    height = canvas_height(rng)
    brush = rng.uniform(*BRUSH) * height
    margin = brush / 2 + 1
    h = rng.uniform(*HEIGHT) * height
    scales = [digit_scale(d.strokes, h) for d in digits]
    sizes = [(hi - lo) * s for (lo, hi), s in zip((box(d.strokes) for d in digits), scales, strict=True)]
    widths = [float(w) for w, _ in sizes]
    gaps = rng.uniform(*gap, size=len(digits) - 1) * h
    total = sum(widths) + gaps.sum()
    width = max(canvas_height(rng), math.ceil((total + 2 * margin) * rng.uniform(1.0, 1.3)))
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
