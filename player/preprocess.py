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
SPECK = 0.12  # strokes smaller than this (fraction of the drawing's height) are not a digit
PIECE = 1.0  # segments are cut into pieces at least this long (output pixels), each inked in a small window
_PIECES = 1024  # pieces per distance computation: fits the CPU cache, bounds memory for long strokes
_DIGITS = 256  # digits drawn together: bounds memory, big enough to spread numpy's per-call cost

Point = Sequence[float]
Stroke = Sequence[Point]


def as_arrays(strokes: Sequence[Stroke]) -> list[np.ndarray]:
    """Strokes as float64 (n, 2) arrays; empty strokes and non-finite points dropped."""
    arrays = []
    for stroke in strokes:
        a = np.asarray(stroke, dtype=np.float64).reshape(-1, 2)
        if not np.isfinite(a).all():
            a = a[np.isfinite(a).all(axis=1)]
        if len(a):
            arrays.append(a)
    return arrays


def bounding_box(strokes: Sequence[np.ndarray]) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) of all points."""
    allpts = strokes[0] if len(strokes) == 1 else np.concatenate(strokes)
    # the ufuncs' own reduce and tolist: the segmenter asks for thousands of boxes per call
    (x0, y0), (x1, y1) = np.minimum.reduce(allpts, axis=0).tolist(), np.maximum.reduce(allpts, axis=0).tolist()
    return x0, y0, x1, y1


def _segments(points: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Strokes (their points one after another, `lengths` points each, none empty) -> start
    and end points of every segment and the stroke it belongs to; a one-point stroke is a
    dot (a == b).

    Points that barely moved are dropped first (mouse and tablet trajectories are dense, and
    drawing costs a little per segment): walking along a stroke, a point is kept when it is
    at least MIN_STEP away (in x or y) from the last kept one, and the stroke's last point is
    always kept. The model was trained on exactly that thinning, so it is computed exactly,
    for all strokes at once: _next_far gives each point the one the walk would keep after it,
    and _walk follows those links from the first point.
    """
    stroke_ends = np.cumsum(lengths)
    keep = np.zeros(len(points), bool)
    keep[_walk(_next_far(points, np.repeat(stroke_ends, lengths), MIN_STEP))] = True
    keep[stroke_ends - 1] = True
    kept = np.flatnonzero(keep)
    stroke = np.repeat(np.arange(len(lengths)), lengths)[kept]
    joined = stroke[1:] == stroke[:-1]  # consecutive kept points of one stroke: a segment
    dot = np.bincount(stroke, minlength=len(lengths))[stroke] == 1
    a = np.concatenate([points[kept[:-1][joined]], points[kept[dot]]])
    b = np.concatenate([points[kept[1:][joined]], points[kept[dot]]])
    return a, b, np.concatenate([stroke[:-1][joined], stroke[dot]])


def _next_far(points: np.ndarray, ends: np.ndarray, step: float) -> np.ndarray:
    """For each point k: the first later point of its stroke at least `step` away from it in
    x or y, or its stroke's end (ends[k], one past its last point) if there is none.

    Binary lifting: a table of the largest x, y, -x and -y over blocks of 2**l points lets
    every point skip a whole block of near points with one comparison, largest blocks first,
    so all points are answered in log2(stroke length) vectorised steps (a resting pen,
    thousands of points within `step`, costs no more than a moving one).
    """
    n = len(points)
    # The points skipped from k are all within `step` of it, so no two consecutive ones are
    # 2 * step apart: the longest stretch without such a jump bounds how far any point
    # skips, and the number of levels needed (3 * step: a margin for rounding).
    jumps = np.flatnonzero(np.abs(np.diff(points, axis=0)).max(axis=1, initial=0.0) >= 3 * step)
    longest = int(np.diff(jumps, prepend=-1, append=n - 1).max())
    signed = np.concatenate([points, -points], axis=1)
    tables = [signed]  # tables[l][i] = signed.max over points i .. i + 2**l - 1 (fewer at the end)
    while 2 ** len(tables) <= longest:
        half, top = 2 ** (len(tables) - 1), tables[-1].copy()
        np.maximum(top[:-half], tables[-1][half:], out=top[:-half])
        tables.append(top)
    pos = np.arange(1, n + 1)  # every point from k + 1 to pos - 1 is near point k
    for level in range(len(tables) - 1, -1, -1):
        size = 2**level
        block = tables[level][np.minimum(pos, n - 1)]
        # |p - points[k]| < step for every p of the block, from its largest x, y, -x, -y: the
        # walk's own test (floating-point subtraction is monotonic, so the shortcut is exact)
        near = (block - signed < step).all(axis=1)
        pos += size * (near & (pos + size <= ends))
    return pos


def _walk(following: np.ndarray) -> np.ndarray:
    """Indices visited from 0 by going to following[i] (always > i) until len(following):
    pointer doubling, log2(steps) vectorised rounds instead of a step at a time."""
    n = len(following)
    jump = np.append(following, n)  # n is the end: it stays there
    visited = np.zeros(1, dtype=np.intp)
    while visited[-1] < n:
        visited = np.concatenate([visited, jump[visited]])  # the first 2**r visits -> 2**(r + 1)
        jump = jump[jump]
    return visited[visited < n]


def _window(widths: np.ndarray) -> tuple[int, float]:
    """(side, longest): a piece whose extent in x and y is under `longest` px inks pixels
    whose centres lie in a side x side window around it, and nowhere else (a pixel's ink is
    zero beyond pen_width / 2 + EDGE / 2 of the nearest piece)."""
    reach = float(widths.max()) / 2 + EDGE / 2
    side = int(2 * reach + PIECE) + 1
    return side, side - 2 * reach


def _cut(a: np.ndarray, b: np.ndarray, digit: np.ndarray, longest: float):
    """Segments cut into equal pieces shorter than `longest` in x and y (the union is the same
    polyline, so the distance to it is too): (starts, ends, digit of each piece)."""
    cuts = (np.abs(b - a).max(axis=1, initial=0.0) // longest).astype(np.intp) + 1
    if cuts.max(initial=1) == 1:
        return a, b, digit
    seg = np.repeat(np.arange(len(a)), cuts)
    k = (np.arange(len(seg)) - np.repeat(np.cumsum(cuts) - cuts, cuts))[:, None]  # which piece of its segment
    step = (b - a)[seg] / cuts[seg, None]
    last = k + 1 == cuts[seg, None]
    return a[seg] + step * k, np.where(last, b[seg], a[seg] + step * (k + 1)), digit[seg]


def _draw(a: np.ndarray, b: np.ndarray, digit: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """Ink of a round pen along pieces a->b (from _cut) of each digit, analytically anti-aliased:
    (len(widths), 28, 28) float32, digit[i] the image piece i is drawn in.

    A pixel's ink follows its distance to the nearest piece, so each piece is measured
    against the pixels of its window only, all pieces of all digits at once, and each pixel
    keeps the nearest distance. Arrays are (window pixel, piece): numpy's inner loops run
    along the pieces, not along a window row of five pixels.
    """
    side, _ = _window(widths)
    reach = float(widths.max()) / 2 + EDGE / 2
    frame = IMAGE_SIZE + 2 * side  # the image with a margin for windows that stick out
    nearest = np.full(len(widths) * frame * frame, np.inf)  # squared distance to the nearest piece
    oy, ox = np.divmod(np.arange(side * side), side)  # the window's pixels, row by row
    for i in range(0, len(a), _PIECES):  # a cache-sized share at a time; bounds memory too
        pa, pb = a[i : i + _PIECES], b[i : i + _PIECES]
        corner = np.clip(np.ceil(np.minimum(pa, pb) - reach - 0.5), -side, IMAGE_SIZE)
        first = (corner + 0.5 - pa).T  # the window's first pixel centre, from a
        abx, aby = (pb - pa).T
        apx, apy = ox[:, None] + first[0], oy[:, None] + first[1]  # (window pixel, piece)
        t = (apx * abx + apy * aby) / np.maximum(abx * abx + aby * aby, 1e-12)
        np.clip(t, 0.0, 1.0, out=t)  # the nearest point of the piece, as a fraction of it
        dx, dy = apx - t * abx, apy - t * aby
        left, top = corner.astype(np.intp).T + side
        where = (digit[i : i + _PIECES] * frame + top) * frame + left + (oy * frame + ox)[:, None]
        np.minimum.at(nearest, where.ravel(), (dx * dx + dy * dy).ravel())
    nearest = nearest.reshape(-1, frame, frame)[:, side:-side, side:-side]
    ink = (widths[:, None, None] / 2 - np.sqrt(nearest)) / EDGE + 0.5
    return np.clip(ink, 0.0, 1.0).astype(np.float32)


_CENTRES = np.arange(IMAGE_SIZE) + 0.5  # pixel centres, along x or y


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
    return digits_to_images([strokes], pen_width)[0]


def digits_to_images(digits: Sequence[Sequence[Stroke]], pen_width: float | Sequence[float] = PEN_WIDTH) -> np.ndarray:
    """The strokes of each digit (any units, y down; as player.segment groups them) -> (n, 28, 28)
    float32 images, 0-1, white on black; blank for a digit without points.

    Each trajectory is scaled so that its ink (pen included) fills 20 px on its longer side,
    then re-drawn so that its centre of mass lands on the image centre. All digits are drawn
    together, in groups: a thousand digits cost a few dozen array operations, not thousands.
    pen_width is one width for all digits or one per digit (training draws random pens).
    """
    widths = np.broadcast_to(np.asarray(pen_width, np.float64), (len(digits),))
    images = np.zeros((len(digits), IMAGE_SIZE, IMAGE_SIZE), np.float32)
    for i in range(0, len(digits), _DIGITS):
        images[i : i + _DIGITS] = _render(digits[i : i + _DIGITS], widths[i : i + _DIGITS])
    return images


def _render(digits: Sequence[Sequence[Stroke]], widths: np.ndarray) -> np.ndarray:
    """digits_to_images for at most _DIGITS digits, all drawn together."""
    strokes = [np.asarray(s, dtype=np.float64).reshape(-1, 2) for d in digits for s in d]
    lengths = np.array([len(s) for s in strokes], dtype=np.intp)  # points per stroke
    stroke_digit = np.repeat(np.arange(len(digits)), [len(d) for d in digits])
    points = np.concatenate(strokes) if strokes else np.zeros((0, 2))
    finite = np.isfinite(points).all(axis=1)
    if not finite.all():  # non-finite points are dropped, and strokes left empty with them
        lengths = np.bincount(np.repeat(np.arange(len(strokes)), lengths)[finite], minlength=len(strokes))
        points = points[finite]
    stroke_digit, lengths = stroke_digit[lengths > 0], lengths[lengths > 0]
    if not len(points):
        return np.zeros((len(digits), IMAGE_SIZE, IMAGE_SIZE), np.float32)
    point_digit = np.repeat(stroke_digit, lengths)
    counts = np.bincount(point_digit, minlength=len(digits))
    inked = np.flatnonzero(counts)
    starts = (np.cumsum(counts) - counts)[inked]
    lo, hi = np.full((len(digits), 2), np.nan), np.full((len(digits), 2), np.nan)
    lo[inked], hi[inked] = np.minimum.reduceat(points, starts), np.maximum.reduceat(points, starts)
    with np.errstate(over="ignore", invalid="ignore"):
        size = (hi - lo).max(axis=1)
        # a digit smaller than this is a dot; guards the scale against overflow (and NaN ink)
        usable = (size > 1e-9) & (size < math.inf)
        scale = np.where(usable, (BOX - widths) / np.where(usable, size, 1.0), 0.0)
        centre = lo / 2 + hi / 2  # halves first: no overflow near 1e308
    points = (points - centre[point_digit]) * scale[point_digit, None]
    a, b, segment_stroke = _segments(points, lengths)
    digit = stroke_digit[segment_stroke]
    mid = np.array([IMAGE_SIZE / 2, IMAGE_SIZE / 2])
    a, b, digit = _cut(a + mid, b + mid, digit, _window(widths)[1])
    first = _draw(a, b, digit, widths).astype(np.float64)
    total = first.sum(axis=(1, 2))
    # centre of mass of each drawing, then the shift that puts it on the image centre
    com = np.stack([first.sum(axis=1) @ _CENTRES, first.sum(axis=2) @ _CENTRES], axis=1)
    shift = np.where(total[:, None] > 0, mid - com / np.where(total > 0, total, 1.0)[:, None], 0.0)
    return _draw(a + shift[digit], b + shift[digit], digit, widths)
