"""Strokes (or a picture) -> 28x28 MNIST-style images: the only copy of this logic.

The player, `digits-predict`, training and the benchmarks all call these functions, so the
model always sees drawings prepared exactly the way it was trained on them.

Why it looks like this: MNIST digits were size-normalised to fit a 20x20 box (aspect ratio
kept), anti-aliased, then placed in 28x28 so that their centre of mass sits in the middle.
A mouse drawing is nothing like that: any size, anywhere, any brush. So we work from the
stroke *trajectories*, not from screen pixels: scale the trajectory to the 20 px box, draw
it again with a pen whose width is fixed relative to the digit (so a thin or a fat brush
gives the same image), anti-alias analytically (distance to the polyline), and centre by
mass with sub-pixel precision by simply re-drawing at the shifted position.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

# Bump whenever the output of this module changes for the same input: the model records
# the version it was trained with and the player refuses a model made for another one.
PREPROCESS_VERSION = "1"

IMAGE_SIZE = 28  # model input, MNIST's
BOX = 20.0  # MNIST fits each digit into a 20x20 box inside the 28x28 image
PEN_WIDTH = 2.6  # pen width in output pixels, about MNIST's stroke width at 28x28
EDGE = 1.0  # width of the anti-aliased edge, in output pixels
MIN_STEP = 0.25  # trajectory points closer than this (output pixels) add nothing
# strokes closer than this (fraction of the drawing's height) are one digit. Measured on 3,000
# pen digits and 400 numbers of the training writers: 0.12 kept 99.93% of digits whole but
# merged every number written with gaps under 12% of its height; 0.05 keeps 99.80% whole (a
# few "4"s with a detached stroke split) and splits 99% of numbers with gaps of 5-25%.
MERGE_GAP = 0.05
SPECK = 0.12  # strokes smaller than this (fraction of the drawing's height) are not a digit
_CHUNK = 256  # segments per distance computation, bounds memory for very long strokes

Point = Sequence[float]
Stroke = Sequence[Point]

_GRID = np.stack(
    np.meshgrid(np.arange(IMAGE_SIZE) + 0.5, np.arange(IMAGE_SIZE) + 0.5, indexing="xy"),
    axis=-1,
).reshape(-1, 2)  # pixel centres (x, y), row-major


def as_arrays(strokes: Sequence[Stroke]) -> list[np.ndarray]:
    """Strokes as float64 (n, 2) arrays; empty strokes and non-finite points dropped."""
    arrays = []
    for stroke in strokes:
        a = np.asarray(stroke, dtype=np.float64).reshape(-1, 2)
        a = a[np.isfinite(a).all(axis=1)]
        if len(a):
            arrays.append(a)
    return arrays


def bounding_box(strokes: Sequence[np.ndarray]) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) of all points."""
    allpts = np.concatenate(strokes)
    x0, y0 = allpts.min(axis=0)
    x1, y1 = allpts.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def _segments(strokes: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Start and end points of every segment; a one-point stroke becomes a dot (a == b)."""
    starts, ends = [], []
    for s in strokes:
        # Drop points that barely moved: mouse and tablet trajectories are dense, and
        # the cost of drawing is linear in the number of segments.
        keep = [0]
        for i in range(1, len(s)):
            if np.abs(s[i] - s[keep[-1]]).max() >= MIN_STEP:
                keep.append(i)
        if keep[-1] != len(s) - 1:
            keep.append(len(s) - 1)
        s = s[keep]
        if len(s) == 1:
            starts.append(s)
            ends.append(s)
        else:
            starts.append(s[:-1])
            ends.append(s[1:])
    return np.concatenate(starts), np.concatenate(ends)


def _draw(a: np.ndarray, b: np.ndarray, pen_width: float) -> np.ndarray:
    """Ink of a round pen along segments a->b, analytically anti-aliased, 28x28 float32."""
    gx, gy = _GRID[:, 0:1], _GRID[:, 1:2]
    d2 = np.full((len(_GRID), 1), np.inf)
    for i in range(0, len(a), _CHUNK):
        ax, ay = a[i : i + _CHUNK, 0], a[i : i + _CHUNK, 1]
        abx, aby = b[i : i + _CHUNK, 0] - ax, b[i : i + _CHUNK, 1] - ay
        len2 = np.maximum(abx * abx + aby * aby, 1e-12)
        apx, apy = gx - ax, gy - ay
        t = np.clip((apx * abx + apy * aby) / len2, 0.0, 1.0)
        dx, dy = apx - t * abx, apy - t * aby
        d2 = np.minimum(d2, (dx * dx + dy * dy).min(axis=1, keepdims=True))
    ink = np.clip((pen_width / 2 - np.sqrt(d2)) / EDGE + 0.5, 0.0, 1.0)
    return ink.reshape(IMAGE_SIZE, IMAGE_SIZE).astype(np.float32)


def center_of_mass(image: np.ndarray) -> tuple[float, float] | None:
    """(x, y) centre of mass in pixel coordinates (pixel centres at i + 0.5); None if blank."""
    total = float(image.sum())
    if total <= 0:
        return None
    ys, xs = np.indices(image.shape)
    return float((image * (xs + 0.5)).sum() / total), float((image * (ys + 0.5)).sum() / total)


def strokes_to_image(strokes: Sequence[Stroke], pen_width: float = PEN_WIDTH) -> np.ndarray:
    """One digit's strokes (any units, y down) -> 28x28 float32 image, 0-1, white on black.

    The trajectory is scaled so that the ink (pen included) fills 20 px on its longer side,
    then re-drawn so that its centre of mass lands on the image centre. Blank if no points.
    """
    arrays = as_arrays(strokes)
    if not arrays:
        return np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32)
    x0, y0, x1, y1 = bounding_box(arrays)
    size = max(x1 - x0, y1 - y0)
    # a drawing smaller than this is a dot; guards the scale against overflow (and NaN ink)
    scale = (BOX - pen_width) / size if 1e-9 < size < math.inf else 0.0
    centre = np.array([x0 / 2 + x1 / 2, y0 / 2 + y1 / 2])  # halves first: no overflow near 1e308
    a, b = _segments([(s - centre) * scale for s in arrays])
    mid = np.array([IMAGE_SIZE / 2, IMAGE_SIZE / 2])
    image = _draw(a + mid, b + mid, pen_width)
    com = center_of_mass(image)
    if com is None:
        return image
    shift = mid - np.array(com)
    return _draw(a + mid + shift, b + mid + shift, pen_width)


def split_digits(strokes: Sequence[Stroke]) -> list[list[np.ndarray]]:
    """Group strokes into digits, left to right.

    Strokes whose horizontal extents overlap, or nearly touch, belong to one digit (the two
    strokes of a "5" overlap; those of a "4" sometimes do not quite, so a gap under MERGE_GAP
    of the drawing's height still joins). Digits written side by side leave wider gaps, even
    written close. Specks much smaller than the drawing (a stray click) join the nearest digit
    instead of becoming one.
    """
    arrays = as_arrays(strokes)
    if not arrays:
        return []
    _, y0, _, y1 = bounding_box(arrays)
    height = max(y1 - y0, 1e-9)
    speck, gap = SPECK * height, MERGE_GAP * height
    boxes = [bounding_box([s]) for s in arrays]
    big = [i for i, (bx0, by0, bx1, by1) in enumerate(boxes) if max(bx1 - bx0, by1 - by0) >= speck]
    if not big:
        big = list(range(len(arrays)))
    groups: list[list[int]] = []
    right = -math.inf
    for i in sorted(big, key=lambda i: boxes[i][0]):
        if groups and boxes[i][0] <= right + gap:
            groups[-1].append(i)
            right = max(right, boxes[i][2])
        else:
            groups.append([i])
            right = boxes[i][2]
    spans = [(min(boxes[i][0] for i in g), max(boxes[i][2] for i in g)) for g in groups]
    for i in set(range(len(arrays))) - set(big):
        cx = (boxes[i][0] + boxes[i][2]) / 2
        nearest = min(range(len(spans)), key=lambda g: max(spans[g][0] - cx, cx - spans[g][1], 0))
        groups[nearest].append(i)
    return [[arrays[i] for i in sorted(g)] for g in groups]


def strokes_to_digits(strokes: Sequence[Stroke]) -> np.ndarray:
    """A drawing -> (n, 28, 28) float32, one image per digit, left to right."""
    return digits_to_images(split_digits(strokes))


def digits_to_images(digits: Sequence[Sequence[Stroke]]) -> np.ndarray:
    """The strokes of each digit (split_digits) -> (n, 28, 28) float32."""
    images = np.zeros((len(digits), IMAGE_SIZE, IMAGE_SIZE), np.float32)
    for i, digit in enumerate(digits):
        images[i] = strokes_to_image(digit)
    return images


def image_to_digits(gray: np.ndarray) -> np.ndarray:
    """A picture of digits (2-D array, any range, either polarity) -> (n, 28, 28) float32.

    Polarity is read from the border (the background touches it), ink is split into digits
    at empty columns, and each digit is fitted into the 20 px box and centred by mass like
    the strokes path. Pen width cannot be normalised here: there is no trajectory.
    """
    from PIL import Image

    g = np.asarray(gray, dtype=np.float64)
    if g.ndim != 2 or g.size == 0:
        raise ValueError(f"expected a 2-D image, got shape {g.shape}")
    lo, hi = float(g.min()), float(g.max())
    if hi - lo < 1e-9:
        return np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.float32)
    g = (g - lo) / (hi - lo)
    border = np.concatenate([g[0], g[-1], g[:, 0], g[:, -1]])
    if np.median(border) > 0.5:  # dark ink on a light background
        g, border = 1.0 - g, 1.0 - border
    background = float(np.median(border))
    g = np.clip((g - background) / max(1.0 - background, 1e-9), 0.0, 1.0)
    ink = g > 0.25
    cols = np.flatnonzero(ink.any(axis=0))
    if not len(cols):
        return np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.float32)
    # runs of ink columns; a gap narrower than 2% of the ink height is not a digit break
    rows = np.flatnonzero(ink.any(axis=1))
    min_gap = max(1, int(0.02 * (rows[-1] - rows[0] + 1)))
    runs, start = [], cols[0]
    for prev, c in zip(cols[:-1], cols[1:], strict=True):
        if c - prev > min_gap:
            runs.append((start, prev))
            start = c
    runs.append((start, cols[-1]))
    images = []
    for c0, c1 in runs:
        piece = g[:, c0 : c1 + 1]
        r = np.flatnonzero((piece > 0.25).any(axis=1))
        piece = piece[r[0] : r[-1] + 1]
        h, w = piece.shape
        scale = BOX / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        small = Image.fromarray((piece * 255).astype(np.uint8)).resize(size, Image.LANCZOS)
        images.append(center_by_mass(np.asarray(small, np.float32) / 255.0))
    return np.stack(images)


def center_by_mass(digit: np.ndarray) -> np.ndarray:
    """Place a digit image (at most 28x28) in a 28x28 frame with its centre of mass centred."""
    out = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32)
    com = center_of_mass(digit)
    h, w = digit.shape
    if com is None:
        return out
    top = int(round(IMAGE_SIZE / 2 - com[1]))
    left = int(round(IMAGE_SIZE / 2 - com[0]))
    ys, xs = slice(max(0, top), min(IMAGE_SIZE, top + h)), slice(max(0, left), min(IMAGE_SIZE, left + w))
    out[ys, xs] = digit[ys.start - top : ys.stop - top, xs.start - left : xs.stop - left]
    return np.clip(out, 0.0, 1.0)
