"""A picture of digits (a scan, a photo, a screenshot) -> 28x28 MNIST-style images.

Paper is not a screen: it is grey, noisy, unevenly lit, JPEG-compressed, and the ink may be
dark on light or light on dark. So the ink is found the way a careful scanner would:

1. **Paper level**: a smooth surface (a quadratic) fitted to the paper, which lies under most
   of the picture and all around its border, the ink left out; it is subtracted, so light
   falling across the sheet is not ink.
2. **Polarity**: the ink is what departs furthest from the paper, darker or lighter; it is
   turned bright on a dark ground.
3. **Threshold from the histogram** (Otsu) gives the ink's level; the ink is what is brighter
   than half that level, with the fainter strokes that touch it (hysteresis), and it must
   stand well above the paper's noise, or there is none.
4. **Specks** (dust, noise, JPEG blocks) are blobs much smaller than the largest ink blob,
   and stray marks are much shorter than the tallest digit: neither becomes a digit.

Then the ink is split into pieces at empty columns and each digit is fitted into the 20 px
box and centred by mass, like the stroke path (player/preprocess.py). The pen width cannot be
normalised here: there is no trajectory. Digits that touch or overlap side to side leave no
empty column between them, and a picture has no strokes to tell them apart, so a piece wider
than one digit normally is (WIDE) is cut into candidate digits and the model's readings pick
the split (`candidates`, `choose`), as a drawing's strokes are split (player/segment.py).
benchmarks/pictures.py measures it all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from player import segment
from player.preprocess import BOX, IMAGE_SIZE, center_of_mass
from player.segment import NOT_DIGIT

SPECK = 0.05  # ink blobs smaller than this fraction of the largest blob's area are not ink
FAINT = 0.15  # strokes this faint (fraction of the ink's level) count when they touch darker ink
STRAY = 0.4  # marks less tall than this fraction of the tallest digit are not digits
CONTRAST = 6.0  # ink must stand this many times the paper's noise above it, or there is none
DIGIT_GAP = 0.02  # runs of empty columns narrower than this fraction of the ink height do not split digits
# Touching digits (`candidates`), as fractions of a piece's height:
# WIDE: a piece (or blob) wider than this may hold several digits; a narrower one is one digit.
# MNIST digits: half are wider than 0.8 of their height, 9% wider than 1.0. Chosen on MNIST
# training digits (the benchmark's are test digits), 150 pictures per row on grey noisy paper:
# touching pairs with gaps of -15..-10 / -10..-5 / -5..0 / 0..+5% of the height and numbers of
# 3-4 digits read right 78.0 / 90.7 / 96.7 / 98.7 / 82.0% at 0.9, 81.3 / 91.3 / 97.3 / 98.7 /
# 85.3% at 0.75, 82.0 / 92.0 / 96.7 / 97.3 / 85.3% at 0.6; singles 99.3% at all three. A "1"
# touching another digit is often narrower still: it stays one digit.
WIDE = 0.75
MAX_UNITS = 16  # a wide piece cut into more units than this is no number of touching digits: read whole
MAX_WIDTH = 1.5  # no candidate digit is wider than this (but the whole piece is always a candidate)
PART = 0.3  # blobs smaller than this ride with the blob nearest to them (a dot, a detached bar)
CUT_SPACING = 0.1  # cuts are at least this far apart and from the blob's ends
MAX_CUTS = 3  # at most this many cuts per height of width, the lowest of the profile
# Each part of a piece after its first scores SPLIT_COST: a wide single digit that the model
# reads less surely whole than as two confident halves stays one. On MNIST training digits
# (3,000 singles, 900 pairs with gaps of -15..+5%, three sheets): 1.0 split 0.43% of singles
# (99.20% right) against 0.07% (99.50%) never splitting, with 91.8% of the pairs right; 0.5:
# 0.10% split, 99.47% right, pairs 90.9%; 0.2: the same singles, pairs 87.8%; 0.1: pairs 53%.
SPLIT_COST = 0.5
LOG_SPLIT_COST = math.log(SPLIT_COST)
_FIT_PIXELS = 5_000  # paper pixels sampled for the surface fit: plenty for six coefficients


@dataclass
class Candidates:
    """The candidate digits of one picture, before the model has read them: read `images` (in
    one batch with other pictures' if you like), then `choose`."""

    images: np.ndarray  # (n, 28, 28) float32, one per candidate
    runs: list[tuple[int, int]]  # candidate k is units runs[k][0]:runs[k][1] of the picture
    boxes: np.ndarray  # (n, 4) x0, y0, x1 + 1, y1 + 1 of each candidate's ink, in its piece
    heights: list[float]  # of the piece (run of ink columns) each candidate lies in
    pieces: list[int]  # which piece: boxes are the piece's own coordinates
    units: int  # left to right over the whole picture; a run never spans two pieces


def image_to_digits(gray: np.ndarray) -> np.ndarray:
    """A picture of digits (2-D array, any range, either polarity) -> (n, 28, 28) float32,
    one image per piece of ink (split at empty columns only), left to right; none for a
    picture without ink. Without a model, digits that touch stay one: see `candidates`."""
    return candidates(gray, split=False).images


def candidates(gray: np.ndarray, split: bool = True) -> Candidates:
    """The candidate digits of a picture (2-D array, any range, either polarity).

    The ink is cut into pieces at empty columns, as before. A piece no wider than WIDE times
    its height is one digit, one candidate: ordinary pictures cost nothing more. A wider one
    (with `split`) may hold digits that touch or overlap side to side, so it is cut into units
    (its blobs, and a blob wider than WIDE times the height at the low points of its column
    profile), and every run of consecutive units is a candidate; `choose` picks the reading."""
    g = np.asarray(gray, dtype=np.float64)
    if g.ndim != 2 or g.size == 0:
        raise ValueError(f"expected a 2-D image, got shape {g.shape}")
    ink, found = find_ink(g)
    images, runs, boxes, heights, pieces, units = [], [], [], [], [], 0
    for n, (crop, mask) in enumerate(_pieces(ink, found)):
        h, w = mask.shape
        parts = _units(crop, mask) if split and w > WIDE * h else [mask]
        for i in range(len(parts)):
            union = np.zeros_like(mask)
            for j in range(i + 1, len(parts) + 1):
                union |= parts[j - 1]
                cols, rows = np.flatnonzero(union.any(axis=0)), np.flatnonzero(union.any(axis=1))
                box = (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)
                if box[2] - box[0] > MAX_WIDTH * h and (i, j) != (0, len(parts)):
                    continue  # no digit is that wide; the whole piece stays one candidate all the same
                images.append(_render(crop * _grow(union) if len(parts) > 1 else crop, box))
                runs.append((units + i, units + j))
                boxes.append(box)
                heights.append(float(h))
                pieces.append(n)
        units += len(parts)
    if not images:
        return Candidates(np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.float32), [], np.zeros((0, 4)), [], [], 0)
    return Candidates(np.stack(images), runs, np.array(boxes, np.float64), heights, pieces, units)


def _pieces(ink: np.ndarray, found: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """(ink, found) of each run of ink columns (split at empty columns), cropped to its ink,
    left to right; marks much shorter than the tallest piece (STRAY) left out."""
    cols = np.flatnonzero(found.any(axis=0))
    if not len(cols):
        return []
    rows = np.flatnonzero(found.any(axis=1))
    min_gap = max(1, int(DIGIT_GAP * (rows[-1] - rows[0] + 1)))
    breaks = np.flatnonzero(np.diff(cols) > min_gap)
    pieces = []  # (rows, first column, last column) of each run of ink columns
    for c0, c1 in zip(cols[np.r_[0, breaks + 1]], cols[np.r_[breaks, len(cols) - 1]], strict=True):
        pieces.append((np.flatnonzero(found[:, c0 : c1 + 1].any(axis=1)), c0, c1))
    tallest = max(r[-1] - r[0] + 1 for r, _, _ in pieces)
    # no other piece's ink (nor its grown rim: an empty column lies between) is in a piece's box
    return [(ink[r[0] : r[-1] + 1, c0 : c1 + 1], found[r[0] : r[-1] + 1, c0 : c1 + 1])
            for r, c0, c1 in pieces if r[-1] - r[0] + 1 >= STRAY * tallest]


def _render(ink: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The ink in box (x0, y0, x1, y1), fitted into the 20 px box and centred by mass."""
    from PIL import Image

    piece = ink[box[1] : box[3], box[0] : box[2]]
    h, w = piece.shape
    scale = BOX / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = Image.fromarray((piece * 255).astype(np.uint8)).resize(size, Image.LANCZOS)
    return center_by_mass(np.asarray(small, np.float32) / 255.0)


def _units(ink: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
    """A wide piece of ink -> the masks of its units, left to right: its blobs (a blob much
    smaller than the piece rides with the blob nearest to it: the dot or bar of a digit), a
    blob wider than WIDE times the piece's height cut at the low points of its column profile.
    A piece of more than MAX_UNITS units is no row of touching digits (a page of several rows,
    a texture): it stays whole. Blobs are handled by their boxes and labels, never one mask
    each: a page holds thousands of them (a 2048 px grid of 1,600 took 6.5 GB and 22 s)."""
    h, w = mask.shape
    labels, _ = _components(mask)
    spans = _spans(labels)
    if not len(spans):
        return [mask]
    big = np.flatnonzero(np.maximum(spans[:, 2] - spans[:, 0], spans[:, 3] - spans[:, 1]) >= PART * h)
    if not len(big):
        big = np.array([0])
    if len(big) > MAX_UNITS:
        return [mask]
    owner = np.full(len(spans) + 1, -1, np.intp)  # label -> the big blob it rides with (label 0: no ink)
    owner[big + 1] = np.arange(len(big))
    bx0, bx1 = spans[big, 0], spans[big, 2]
    for k in np.flatnonzero(owner[1:] < 0):
        x0, _, x1, _ = spans[k]
        gap, off_centre = np.maximum(np.maximum(bx0 - x1, x0 - bx1), 0), np.abs(bx0 + bx1 - x0 - x1)
        owner[k + 1] = np.lexsort((off_centre, gap))[0]  # the nearest; of equally near ones, the best centred
    group_of = owner[labels]
    units = []
    for g in range(len(big)):
        group = group_of == g
        x0, _, x1, _ = _span(group)
        cuts = _cuts((ink * group).sum(axis=0)[x0:x1], h) + x0 if x1 - x0 > WIDE * h else np.zeros(0, int)
        for a, b in zip(np.r_[x0, cuts], np.r_[cuts, x1], strict=True):
            unit = group.copy()
            unit[:, :a], unit[:, b:] = False, False
            units.append(unit)
            if len(units) > MAX_UNITS:
                return [mask]
    return sorted([u for u in units if u.any()], key=lambda u: sum(_span(u)[::2]))


def _spans(labels: np.ndarray) -> np.ndarray:
    """(n, 4) (x0, y0, x1, y1) of the blobs labelled 1..n (_components), ends exclusive."""
    ys, xs = np.nonzero(labels)
    if not len(ys):
        return np.zeros((0, 4), np.intp)
    order = np.argsort(labels[ys, xs], kind="stable")
    ys, xs, ls = ys[order], xs[order], labels[ys, xs][order]
    starts = np.r_[0, np.flatnonzero(np.diff(ls)) + 1]  # every label 1..n has a pixel: one run each
    return np.stack([np.minimum.reduceat(xs, starts), np.minimum.reduceat(ys, starts),
                     np.maximum.reduceat(xs, starts) + 1, np.maximum.reduceat(ys, starts) + 1], axis=1)


def _cuts(profile: np.ndarray, height: int) -> np.ndarray:
    """Where a blob may be cut into digits: the columns where its ink is thinnest within
    CUT_SPACING of the height on either side (a digit is no narrower than that), not
    closer than that to its ends, the MAX_CUTS lowest per height of width."""
    w = len(profile)
    r = max(1, int(CUT_SPACING * height))
    if w <= 2 * r:
        return np.zeros(0, int)
    padded = np.pad(profile, r, constant_values=np.inf)
    lowest = np.min(np.lib.stride_tricks.sliding_window_view(padded, 2 * r + 1), axis=1)
    at = np.flatnonzero(profile <= lowest)
    at = at[(at >= r) & (at < w - r)]
    at = at[np.r_[True, np.diff(at) > r]] if len(at) else at  # a flat low run: its first column
    keep = max(1, int(MAX_CUTS * w / height))
    return np.sort(at[np.argsort(profile[at], kind="stable")[:keep]])


def _span(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of a mask's set pixels, ends exclusive."""
    cols, rows = np.flatnonzero(mask.any(axis=0)), np.flatnonzero(mask.any(axis=1))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def choose(found: Candidates, probs: np.ndarray, not_digit: np.ndarray) -> list[int]:
    """The candidates that make the best reading of a picture, one per part to show, left to
    right, from the model's answers on them (probabilities (n, 10), not-digit probabilities (n,)):
    `best_split`, with each run of neighbouring parts that are no digit answered as one "?",
    as a drawing's are (player/segment.py). The candidate of the run surest to be no digit
    stands for it."""
    not_digit = np.asarray(not_digit, np.float64).reshape(-1)
    shown: list[int] = []
    for k in best_split(found, probs, not_digit):
        if shown and not_digit[k] > NOT_DIGIT and not_digit[shown[-1]] > NOT_DIGIT:
            shown[-1] = max(shown[-1], k, key=lambda c: not_digit[c])
        else:
            shown.append(k)
    return shown


def best_split(found: Candidates, probs: np.ndarray, not_digit: np.ndarray) -> list[int]:
    """The candidates that split all the picture's units into the best reading, left to right.

    Scored as a drawing's split is, by the same code (player/segment.py, `best_split`): a
    candidate scores the model's top probability times (1 - its not-digit probability), or its
    not-digit probability times NOT_DIGIT_COST as a "?", with the same priors: a part much
    shorter than its piece is rather a piece of a digit (SMALL), and neighbours in one piece
    that overlap side to side by much were not written one after the other (OVERLAP). Here
    each part of a piece after its first also costs SPLIT_COST, and each "?" part pays
    NOT_DIGIT_COST, even one beside another "?": a wide piece the model calls no digit is
    mostly digits that touch, and once a "?" next to it cost nothing more, its digits were
    lost in the "?" (benchmarks/pictures.py: numbers such as "8099" read "?" instead of "?99",
    9 of 1,200; no picture read right more, and of 400 non-digit marks on paper one more).
    Neighbouring "?" parts are still shown as one (`choose`)."""
    first: dict[int, int] = {}  # piece -> its first unit
    for (i, _), n in zip(found.runs, found.pieces, strict=True):
        first.setdefault(n, i)
    part_cost = [0.0 if i == first[n] else LOG_SPLIT_COST for (i, _), n in zip(found.runs, found.pieces, strict=True)]
    return segment.best_split(found.runs, found.units, probs, not_digit, found.boxes, found.heights, part_cost,
                              found.pieces, marks_pay_once=False)


def find_ink(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ink, found): ink in 0-1 (paper 0, the ink's own level 1) and where the ink is, both
    the picture's shape; specks, and everything when there is no ink, are left out."""
    nothing = np.zeros(g.shape), np.zeros(g.shape, bool)
    smooth = _smooth(g)
    lo, hi = float(smooth.min()), float(smooth.max())
    if not hi - lo > 1e-9:
        return nothing
    # Polarity: the paper is what lies under most of the picture and around its border (fitted
    # leaving out what stands far from it, on either side); the ink is what departs furthest
    # from it. Unlike the border's grey level alone, this holds under uneven light. All of it
    # relative to the border's level, so that a picture and its negative give exactly opposite
    # numbers, and the very same arrays once turned over (no rounding differs on the way).
    border = np.median(np.concatenate([g[0], g[-1], g[:, 0], g[:, -1]]))
    raw, smooth = g - border, smooth - border
    paper, _ = _paper(smooth, either_side=True)
    dark, light = float((paper - smooth).max()), float((smooth - paper).max())
    sign = -1.0 if dark > light or (dark == light and border > (lo + hi) / 2) else 1.0
    raw, smooth = sign * raw, sign * smooth  # ink bright on a dark ground
    paper, noise = _paper(smooth)
    raw, smooth = raw - paper, smooth - paper
    cut = _otsu(smooth)
    level = float(np.percentile(smooth[smooth > cut], 90)) if (smooth > cut).any() else 0.0
    if not level > CONTRAST * noise:
        return nothing
    # Hysteresis: ink is what stands above half the ink's level, and the fainter strokes
    # (MNIST's light pen pressure, a 7's thin bar) touching it, down to FAINT of the level.
    strong = smooth > max(level / 2, 3 * noise)
    labels, areas = _components(smooth > max(FAINT * level, 4 * noise))
    touched = np.zeros(len(areas) + 1, bool)
    touched[labels[strong]] = True
    touched[0] = False
    found = _without_specks(touched[labels])
    ink = np.clip(raw / level, 0.0, 1.0) * _grow(found)  # the anti-aliased rim, not the paper beyond
    return ink, found


def _smooth(g: np.ndarray) -> np.ndarray:
    """3x3 binomial blur, edges repeated: single-pixel noise no longer decides anything."""
    p = np.pad(g, 1, mode="edge")
    rows = (p[:-2] + 2 * p[1:-1] + p[2:]) / 4
    return (rows[:, :-2] + 2 * rows[:, 1:-1] + rows[:, 2:]) / 4


def _paper(v: np.ndarray, either_side: bool = False) -> tuple[np.ndarray, float]:
    """(surface, noise): a quadratic fitted to the paper of v (ink bright, a minority; dark
    or bright when either_side) and the paper's noise (robust standard deviation of the rest)."""
    h, w = v.shape
    x = np.linspace(-1.0, 1.0, w)[None, :]  # -1..1 across the picture: well conditioned at any size
    y = np.linspace(-1.0, 1.0, h)[:, None]
    # a grid of at most _FIT_PIXELS pixels to fit on
    step = max(1, int(np.sqrt(v.size / _FIT_PIXELS)))
    ys, xs = np.meshgrid(y[::step, 0], x[0, ::step], indexing="ij")
    values = v[::step, ::step].ravel()
    basis = np.stack([np.ones(values.size), xs.ravel(), ys.ravel(), xs.ravel() ** 2, (xs * ys).ravel(),
                      ys.ravel() ** 2], axis=1)
    coef = np.array([np.median(values), 0, 0, 0, 0, 0])
    paper = np.ones(values.size, bool)
    if values.size >= 64:  # fewer pixels cannot tell light falling across the sheet from ink
        for _ in range(4):  # fit, leave out what stands well above the fit (ink), fit again
            fit = basis[paper]  # least squares by the normal equations: six unknowns
            coef = np.linalg.solve(fit.T @ fit + 1e-9 * np.eye(6), fit.T @ values[paper])
            residual = values - basis @ coef
            middle = np.median(residual)
            far = residual - middle if not either_side else np.abs(residual - middle)
            paper = far <= 2.5 * 1.4826 * np.median(np.abs(residual - middle))
    residual = (values - basis @ coef)[paper]
    noise = 1.4826 * float(np.median(np.abs(residual - np.median(residual))))
    surface = coef[0] + coef[1] * x + coef[2] * y + coef[3] * x * x + coef[4] * x * y + coef[5] * y * y
    return surface, noise


def _otsu(v: np.ndarray) -> float:
    """The threshold between the two classes of v that are most apart (Otsu, 256 bins)."""
    counts, edges = np.histogram(v, bins=256)
    centres = (edges[:-1] + edges[1:]) / 2
    low = np.cumsum(counts)[:-1]  # pixels at or below each bin but the last, and their mean
    high = counts.sum() - low
    low_mean = np.cumsum(counts * centres)[:-1] / np.maximum(low, 1)
    high_mean = ((counts * centres).sum() - np.cumsum(counts * centres)[:-1]) / np.maximum(high, 1)
    between = low * high * (low_mean - high_mean) ** 2
    return float(edges[int(np.argmax(between)) + 1])


def _without_specks(mask: np.ndarray) -> np.ndarray:
    """mask without its blobs (8-connected) smaller than SPECK of the largest one."""
    labels, areas = _components(mask)
    if not len(areas):
        return mask
    keep = np.concatenate([[False], areas >= SPECK * areas.max()])
    return keep[labels]


def _components(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(labels, areas): 8-connected blobs of mask, labelled 1..n in labels (0 elsewhere).

    Works on runs of set pixels along rows: runs of neighbouring rows that touch are joined
    (union-find over the touching pairs, found for all runs at once by binary search), so
    the Python loop is over runs, not pixels."""
    h, w = mask.shape
    padded = np.zeros((h, w + 2), np.int8)
    padded[:, 1:-1] = mask
    edges = np.diff(padded, axis=1)  # +1 where a run starts, -1 one past where it ends
    row, start = np.nonzero(edges == 1)
    end = np.nonzero(edges == -1)[1]  # same order: row-major, one end per start
    if not len(row):
        return np.zeros(mask.shape, np.intp), np.zeros(0, np.intp)
    stride = w + 2
    # run j (row r + 1) touches run i (row r) when start_i <= end_j and end_i >= start_j
    # (diagonals count: end is exclusive); those i form one block of row r's runs
    above = (row - 1) * stride
    first = np.searchsorted(row * stride + end, above + start, side="left")
    last = np.searchsorted(row * stride + start, above + end, side="right")
    touching = np.maximum(last - first, 0) * (row > 0)
    j = np.repeat(np.arange(len(row)), touching)
    i = np.repeat(first, touching) + np.arange(len(j)) - np.repeat(np.cumsum(touching) - touching, touching)
    parent = list(range(len(row)))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]  # path halving: trees stay shallow
            x = parent[x]
        return x

    for a, b in zip(i.tolist(), j.tolist(), strict=True):
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([root(x) for x in range(len(row))])
    ids, run_label = np.unique(roots, return_inverse=True)
    run_label += 1
    lengths = end - start
    labels = np.zeros(h * w, np.intp)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    labels[np.repeat(row * w + start, lengths) + offsets] = np.repeat(run_label, lengths)
    return labels.reshape(h, w), np.bincount(run_label, weights=lengths, minlength=len(ids) + 1)[1:]


def _grow(mask: np.ndarray) -> np.ndarray:
    """mask and its 8 neighbours (one pixel of dilation)."""
    p = np.pad(mask, 1)
    rows = p[:-2] | p[1:-1] | p[2:]
    return rows[:, :-2] | rows[:, 1:-1] | rows[:, 2:]


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
