"""What is *not* one digit: the examples behind the model's 'not a digit' answer.

Two uses, one generator. Training: the model learns an extra class from these, rendered
through the player's own preprocessing, so that (1) the segmenter can ask it whether a group
of strokes is one digit (a lone bar of a "4", the cap of a "5", two digits merged into one
box are not), and (2) a drawing that is no digit at all reads "?". Benchmarks: the same
kinds of marks, placed on a canvas as a user would make them, test (2).

Everything here is strokes (float arrays, y down), like the pen data; no TensorFlow.

What is deliberately *not* here: steep straight lines (that is what a "1" is), and fragments
that are nearly a whole digit (a "7" without its crossbar is still a 7).
"""

from __future__ import annotations

import math

import numpy as np

from player.preprocess import digits_to_images
from training.pen_drawings import BRUSH, CANVAS, between, box, place
from training.pendigits import PenDigit

NOT_A_DIGIT = 10  # the label these get in training (training.model.NOT_A_DIGIT: no TensorFlow import here)
KINDS = ("dots", "scribble", "hatching", "line")  # marks that are no digit, drawn on their own
LINE_ANGLE = 35  # degrees from horizontal: flatter lines are no digit; steeper ones may be a "1"
MERGE_GAP = (-0.15, 0.15)  # two digits whose boxes are this close (fraction of height) merged in one image
PART = 0.65  # a fragment this tall (fraction of its digit's height) or taller may still read as a digit


def _polyline(points: np.ndarray, step: float = 0.01) -> np.ndarray:
    """Corner points -> a dense trajectory, like a mouse or pen samples it."""
    out = [points[:1]]
    for a, b in zip(points[:-1], points[1:], strict=True):
        n = max(1, int(np.linalg.norm(b - a) / step))
        out.append(a + (b - a) * (np.arange(1, n + 1)[:, None] / n))
    return np.concatenate(out)


def _wobble(stroke: np.ndarray, rng: np.random.Generator, amount: float = 0.01) -> np.ndarray:
    t = np.linspace(0, 1, len(stroke))[:, None]
    return stroke + amount * np.sin(2 * math.pi * rng.uniform(0.5, 2) * t + rng.uniform(0, 2 * math.pi, (1, 2)))


def dots(rng: np.random.Generator) -> list[np.ndarray]:
    """One to four clicks (a point, or a tiny jitter of the mouse)."""
    marks = []
    for _ in range(int(rng.integers(1, 5))):
        at = rng.uniform(0, 1, 2)
        marks.append(at + rng.normal(0, 0.003, (int(rng.integers(1, 4)), 2)))
    return marks


def scribble(rng: np.random.Generator) -> list[np.ndarray]:
    """One long stroke going back and forth over an area: far more ink than any digit."""
    turns = int(rng.integers(12, 30))
    w, h = rng.uniform(0.4, 1.0), rng.uniform(0.4, 1.0)
    if rng.random() < 0.5:  # zig-zag fill, as one crosses something out
        x = np.where(np.arange(turns) % 2 == 0, 0.0, w) + rng.normal(0, 0.05 * w, turns)
        y = np.linspace(0, h, turns) + rng.normal(0, 0.02, turns)
        corners = np.stack([x, y], axis=1)
    else:  # random loops
        corners = rng.uniform(0, 1, (turns, 2)) * (w, h)
    return [_wobble(_polyline(corners), rng)]


def hatching(rng: np.random.Generator) -> list[np.ndarray]:
    """Two to twelve parallel strokes, as one shades an area."""
    n = int(rng.integers(2, 13))
    angle = math.radians(rng.uniform(-LINE_ANGLE, LINE_ANGLE))  # steep parallel strokes are "1"s: "111"
    direction = np.array([math.cos(angle), math.sin(angle)])
    normal = np.array([-direction[1], direction[0]])
    length, spacing = rng.uniform(0.3, 1.0), rng.uniform(0.03, 0.12)
    strokes = []
    for i in range(n):
        start = normal * spacing * i + direction * rng.normal(0, 0.03)
        strokes.append(_wobble(_polyline(np.stack([start, start + direction * length * rng.uniform(0.85, 1.1)])),
                               rng, 0.004))
    return strokes


def line(rng: np.random.Generator) -> list[np.ndarray]:
    """One straight stroke, flatter than LINE_ANGLE: a dash, an underline, a line across."""
    angle = math.radians(rng.uniform(-LINE_ANGLE, LINE_ANGLE))
    end = np.array([math.cos(angle), math.sin(angle)])
    return [_wobble(_polyline(np.stack([np.zeros(2), end])), rng, 0.006)]


MARKS = {"dots": dots, "scribble": scribble, "hatching": hatching, "line": line}


def fragment(digit: PenDigit, rng: np.random.Generator) -> list[np.ndarray] | None:
    """Some of a digit's strokes that are not a digit: the bar of a "4", the cap of a "5", the
    left half of a "4". None for one-stroke digits, and when the part could still read as a
    digit: a part nearly as tall as the digit (the body of a "5" without its cap is an "S", a
    "4" or "9" without its bar or stem can be a "7" or a "0"), a steep straight line (a "1"),
    a closed loop. Cutting strokes short was tried and dropped: the
    start of a "9" or a "7" still looks like a 0 or a 7."""
    strokes = digit.strokes
    if len(strokes) < 2:
        return None
    keep = rng.random(len(strokes)) < 0.5
    if keep.all() or not keep.any():
        keep[int(rng.integers(len(strokes)))] ^= True
    part = [s for s, k in zip(strokes, keep, strict=True) if k]
    (lo, hi), (plo, phi) = box(strokes), box(part)
    if phi[1] - plo[1] >= PART * max(hi[1] - lo[1], 1e-9) or _steep_straight(part) or _closed_loop(part):
        return None
    return part


def _closed_loop(strokes: list[np.ndarray]) -> bool:
    """A single stroke that ends near where it started, relative to its size."""
    if len(strokes) != 1:
        return False
    lo, hi = box(strokes)
    return bool(np.linalg.norm(strokes[0][-1] - strokes[0][0]) < 0.3 * max(float((hi - lo).max()), 1e-9))


def _steep_straight(strokes: list[np.ndarray]) -> bool:
    """A single near-straight stroke steeper than LINE_ANGLE: reads as a "1"."""
    if len(strokes) != 1 or len(strokes[0]) < 2:
        return False
    s = strokes[0]
    chord = s[-1] - s[0]
    length = np.linalg.norm(np.diff(s, axis=0), axis=1).sum()
    if length <= 0 or np.linalg.norm(chord) < 0.9 * length:
        return False
    return abs(math.degrees(math.atan2(abs(chord[1]), abs(chord[0])))) > LINE_ANGLE


def merged_pair(a: PenDigit, b: PenDigit, rng: np.random.Generator) -> list[np.ndarray]:
    """Two digits of one writer at one height, boxes MERGE_GAP apart: one image of two digits."""
    strokes = []
    x = 0.0
    for d in (a, b):
        lo, hi = box(d.strokes)
        scale = 1.0 / max(hi[1] - lo[1], (hi[0] - lo[0]) / 2, 1e-9)
        strokes += [np.asarray(s) for s in place(d.strokes, scale, x, rng.uniform(-0.05, 0.05))]
        x += (hi[0] - lo[0]) * scale + rng.uniform(*MERGE_GAP)
    return strokes


def training_strokes(digits: list[PenDigit], count: int, seed: int) -> list[list[np.ndarray]]:
    """`count` non-digits for training: a third fragments of multi-stroke digits, a third merged
    pairs of one writer's digits, a third marks (dots, scribbles, hatching, flat lines)."""
    rng = np.random.default_rng(seed)
    by_writer: dict = {}
    for d in digits:
        by_writer.setdefault((d.group, d.writer), []).append(d)
    writers = [w for w, ds in by_writer.items() if len(ds) >= 2]
    multi = [d for d in digits if len(d.strokes) > 1]
    out: list[list[np.ndarray]] = []
    while len(out) < count:
        kind = len(out) % 3
        if kind == 0 and multi:
            part = fragment(multi[int(rng.integers(len(multi)))], rng)
            if part is not None:
                out.append(part)
        elif kind == 1 and writers:
            pool = by_writer[writers[int(rng.integers(len(writers)))]]
            i, j = rng.choice(len(pool), size=2, replace=False)
            out.append(merged_pair(pool[i], pool[j], rng))
        else:
            out.append(MARKS[KINDS[int(rng.integers(len(KINDS)))]](rng))
    return out


def render(examples: list[list[np.ndarray]], seed: int, widths=(1.8, 3.4)) -> tuple[np.ndarray, np.ndarray]:
    """Images (n, 28, 28) through the player's preprocessing, random pen widths, label NOT_A_DIGIT."""
    rng = np.random.default_rng(seed)
    images = digits_to_images(examples, [rng.uniform(*widths) for _ in examples])  # all drawn in one call
    return images, np.full(len(images), NOT_A_DIGIT, np.uint8)


def mark_drawing(kind: str, rng: np.random.Generator) -> dict:
    """A mark of `kind` as a player drawing: on a canvas of 280-640 px, taking 30-95 % of it
    (a line goes across it, dots are clicks anywhere), with the player's brush."""
    width, height = (int(rng.integers(CANVAS[0], CANVAS[1] + 1)) for _ in range(2))
    brush = rng.uniform(*BRUSH) * height
    margin = brush / 2 + 1
    strokes = MARKS[kind](rng)
    lo, hi = box(strokes)
    w, h = np.maximum(hi - lo, 1e-9)
    fill = rng.uniform(0.7, 0.95) if kind in ("line", "dots") else rng.uniform(0.3, 0.95)
    scale = min(fill * (width - 2 * margin) / w, fill * (height - 2 * margin) / h)
    if kind == "dots":  # clicks stay clicks: spread them over the canvas, keep their jitter tiny
        scale = min((width - 2 * margin), (height - 2 * margin)) * fill
    x = between(rng, margin, width - margin - w * scale)
    y = between(rng, margin, height - margin - h * scale)
    # no "label": the player's format labels drawings with digits only (a correction's "42")
    return {"canvas": [width, height], "brush": round(brush, 2), "strokes": place(strokes, scale, x, y)}
