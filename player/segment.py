"""Which strokes make one digit: decided by asking the model, not by one gap threshold.

A fixed gap cannot be right both for a "4" drawn in two strokes that do not quite touch and
for a tight "41", nor for a "17" whose bar reaches over the 1. So we let the model judge:

1. Strokes are ordered left to right by the middle of their box (people write a number digit
   by digit; a late stroke, such as the bar of a 4 or the cap of a 5, still sits beside the
   rest of its digit). Specks, strokes much smaller than the drawing, ride along with the
   stroke nearest to them.
2. Every run of up to MAX_STROKES consecutive strokes that hang together (each within
   JOIN_GAP of the drawing's height of the ones before it) is a candidate digit. All
   candidates are drawn and go through the model in one batch.
3. A candidate's score is how sure the model is that it is one digit: its top digit
   probability times (1 - its 'not a digit' probability). The reading is the split into
   consecutive candidates with the highest product of scores (dynamic programming over the
   stroke order), so a part that is no digit on its own (a lone bar, a cap) makes a split
   unlikely, and two digits merged into one box (which the model learned to call not a
   digit) make a merge unlikely.
4. Neighbouring parts that are not digits are answered together, with one "?", and score
   as one: a run of "?" parts pays NOT_DIGIT_COST once, so shading cut into several runs
   of strokes is not read as a digit found among them.

`best_split` is the one copy of this scoring: pictures of touching digits (player/picture.py)
are split by it too, their candidates cut from ink instead of strokes.

The model is any `predict(images) -> (probabilities (n, 10), not_digit (n,))`; a model without
a not-digit output passes zeros, and the segmenter still prefers the most confident split.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import accumulate

import numpy as np

from player.preprocess import SPECK, Stroke, as_arrays, bounding_box, digits_to_images

MAX_STROKES = 4  # no digit needs more strokes than this (a "4", "5" or "7" takes 2-3)
# strokes further apart than this (fraction of the drawing's height) are never one digit: far
# apart two-stroke "4"s of UNIPEN writers leave gaps of up to ~30 %
JOIN_GAP = 0.4
SPLIT_PENALTY = 0.0  # log-score added per part: > 0 favours splitting, < 0 merging
# a part read as "not a digit" scores its probability times this: a reading with a "?" must
# beat every reading in digits by this factor (a tight "41" is rather two digits than one
# merged blob the model also calls no digit), yet a scribble stays one "?" rather than many
# unlikely digits
NOT_DIGIT_COST = 0.1
LOG_NOT_DIGIT_COST = math.log(NOT_DIGIT_COST)
# Two things the model cannot see, because each candidate is drawn alone at the same size:
# - neighbours that overlap side to side by more than OVERLAP of the wider one's width were
#   not written one after the other (a slashed zero's slash, the flag of a "1"), though a
#   "17" whose bar reaches over the 1 (overlap: the 1's width, a fifth to a third of the 7's)
#   still is. 0.35 was chosen on the validation writers only (UNIPEN numbers with gaps of
#   -5..10 %: 133/150 exact at 0.6, 136/150 at 0.35; pendigits unchanged);
# - a part shorter than SMALL of the drawing's height is rather a piece of a digit (the bar of
#   a "4", the flag of a "1") than a digit of a number written at one height.
# Each scores OVERLAP_COST / SMALL_COST (a factor on the reading's probability).
OVERLAP, OVERLAP_COST = 0.35, 0.1
SMALL, SMALL_COST = 0.45, 0.1
LOG_OVERLAP_COST, LOG_SMALL_COST = math.log(OVERLAP_COST), math.log(SMALL_COST)
NOT_DIGIT = 0.5  # a part whose not-digit probability is above this is answered "?"

Predict = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass
class Part:
    """One digit (or one run of non-digit ink) of a drawing, as the model read it."""

    strokes: list[np.ndarray]
    image: np.ndarray  # (28, 28), what the model saw; for merged non-digits, of the first part
    probabilities: np.ndarray  # (10,)
    not_digit: float  # probability that this is not one digit


def _boxes(arrays: list[np.ndarray]) -> list[tuple[float, float, float, float]]:
    """bounding_box of each stroke, all in one go: planning asks for every stroke's, unit's and
    candidate's box, and two numpy calls per drawing cost less than one per box."""
    points = np.concatenate(arrays) if len(arrays) > 1 else arrays[0]
    starts = list(accumulate((len(a) for a in arrays[:-1]), initial=0))  # not np.cumsum: a list costs it more
    lo, hi = np.minimum.reduceat(points, starts), np.maximum.reduceat(points, starts)
    return [(x0, y0, x1, y1) for (x0, y0), (x1, y1) in zip(lo.tolist(), hi.tolist(), strict=True)]


def _union(boxes: list[tuple[float, float, float, float]]) -> tuple[float, float, float, float]:
    """The box around boxes: bounding_box of all their points, exactly."""
    if len(boxes) == 1:
        return boxes[0]
    x0s, y0s, x1s, y1s = zip(*boxes, strict=True)
    return min(x0s), min(y0s), max(x1s), max(y1s)


def _units(boxes: list[tuple[float, float, float, float]], height: float) -> list[list[int]]:
    """Strokes (their boxes) left to right, each with the specks nearest to it: stroke indices."""
    speck = SPECK * height
    big = [i for i, (x0, by0, x1, by1) in enumerate(boxes) if max(x1 - x0, by1 - by0) >= speck]
    if not big:  # only specks (clicks): each is a unit of its own
        big = list(range(len(boxes)))
    units = {i: [i] for i in big}
    for i in set(range(len(boxes))) - set(big):
        cx = (boxes[i][0] + boxes[i][2]) / 2
        nearest = min(big, key=lambda j: max(boxes[j][0] - cx, cx - boxes[j][2], 0.0))
        units[nearest].append(i)
    order = sorted(big, key=lambda i: (boxes[i][0] + boxes[i][2]) / 2)
    return [sorted(units[i]) for i in order]


def _candidates(spans: list[tuple[float, float, float, float]], height: float) -> list[tuple[int, int]]:
    """(start, end) runs of units (their boxes) that may be one digit: at most MAX_STROKES
    strokes, each unit within JOIN_GAP * height of the ink before it."""
    runs = []
    for i in range(len(spans)):
        right = spans[i][2]
        for j in range(i + 1, min(len(spans), i + MAX_STROKES) + 1):
            if j > i + 1:
                if spans[j - 1][0] - right > JOIN_GAP * height:
                    break
                right = max(right, spans[j - 1][2])
            runs.append((i, j))
    return runs


@dataclass
class Plan:
    """The candidate digits of one drawing, before the model has read them."""

    units: int  # strokes (with their specks), left to right
    height: float  # of the whole drawing
    runs: list[tuple[int, int]]  # candidate digits: units[start:end]
    groups: list[list[np.ndarray]]  # the strokes of each candidate


def plan(strokes: Sequence[Stroke]) -> Plan:
    """The candidates of a drawing: draw `groups` (preprocess.digits_to_images) and read them in
    one batch, possibly together with other drawings' candidates, then `choose`."""
    arrays = as_arrays(strokes)
    if not arrays:
        return Plan(0, 1.0, [], [])
    boxes = _boxes(arrays)
    _, y0, _, y1 = _union(boxes)
    height = max(y1 - y0, 1e-9)
    units = _units(boxes, height)
    spans = [_union([boxes[k] for k in unit]) for unit in units]
    runs = [(0, 2)] if len(units) == 2 and _never_split(spans, height) else _candidates(spans, height)
    return Plan(len(units), height, runs, [[arrays[k] for unit in units[i:j] for k in unit] for i, j in runs])


# Two strokes that overlap side to side by more than OVERLAP, one of them SMALL (the cap of a
# "5", the bar of a "7"), are one digit whatever the model says of the parts, so the parts are
# neither drawn nor read: over half of the two-stroke single digits of the pen writers. Split
# with a digit in it, the reading pays OVERLAP_COST and SMALL_COST or NOT_DIGIT_COST, and each
# part scores at most 1; whole, it scores max(top * (1 - r), NOT_DIGIT_COST * r) for its top
# digit probability top >= 0.1 (one of ten) and not-digit probability r: at least
# 0.1 * NOT_DIGIT_COST / (0.1 + NOT_DIGIT_COST). Split into two "?" parts (a run of "?" pays
# NOT_DIGIT_COST once), it can win only over a whole scoring below NOT_DIGIT_COST as a digit,
# which the player shows as "?" as well (top < 0.2 or r > 0.5): the same answer. Only while
# the costs keep it so; tests/player/test_segment.py checks that choose() agrees.
_SPLIT_LOSES = OVERLAP_COST * SMALL_COST < 0.1 * NOT_DIGIT_COST / (0.1 + NOT_DIGIT_COST)


def _never_split(spans: list[tuple[float, float, float, float]], height: float) -> bool:
    """Whether choose() can never read the two units `spans` as two digits (see above)."""
    (a0, ay0, a1, ay1), (b0, by0, b1, by1) = spans
    overlap = min(a1, b1) - max(a0, b0) > OVERLAP * max(a1 - a0, b1 - b0, 1e-9)
    return _SPLIT_LOSES and overlap and min(ay1 - ay0, by1 - by0) < SMALL * height


def choose(candidates: Plan, images: np.ndarray, probs: np.ndarray, not_digit: np.ndarray,
           min_size: float = 0.0) -> list[Part]:
    """The best reading of a drawing from the model's answers on its candidates.

    `min_size`: a part whose box is smaller than this on both sides (screen pixels; the
    player passes twice its brush width) is a click or a dot, never a digit, however the
    model reads its blown-up image.
    """
    not_digit = np.asarray(not_digit, np.float64).reshape(-1).copy()
    boxes = [bounding_box(g) for g in candidates.groups]
    for k, (x0, y0, x1, y1) in enumerate(boxes):
        if max(x1 - x0, y1 - y0) < min_size:
            not_digit[k] = 1.0
    if len(candidates.runs) == 1:  # one candidate (most single digits): it is the reading, whatever it scores
        return [Part(candidates.groups[0], images[0], probs[0], float(not_digit[0]))]
    chosen = best_split(candidates.runs, candidates.units, probs, not_digit, boxes, candidates.height)
    return _merge_non_digits([Part(candidates.groups[k], images[k], probs[k], float(not_digit[k])) for k in chosen])


def best_split(runs: Sequence[tuple[int, int]], units: int, probs: np.ndarray, not_digit: np.ndarray,
               boxes: Sequence[Sequence[float]] | np.ndarray, heights: float | Sequence[float],
               part_cost: Sequence[float] | None = None, pieces: Sequence[int] | None = None,
               marks_pay_once: bool = True) -> list[int]:
    """The candidates (indices into runs: units runs[k][0]:runs[k][1]) that split all the
    units 0..units, left to right, into the reading the model is surest of. The one scoring
    of drawings (choose) and pictures (player/picture.py):

    - a candidate read as a digit scores its top probability times (1 - its not-digit
      probability), times SMALL_COST if its box (x0, y0, x1, y1) is shorter than SMALL of
      `heights` (the drawing's, or per candidate), times OVERLAP_COST if it overlaps the digit
      or "?" before it side to side by more than OVERLAP;
    - read as no digit ("?"), it scores its not-digit probability times NOT_DIGIT_COST, and
      the overlap cost likewise; but with `marks_pay_once`, a "?" right after a "?" pays
      neither: they are shown as one "?" (_merge_non_digits), so a run of them pays
      NOT_DIGIT_COST once;
    - `part_cost` (log, per candidate; pictures: the odds of one more digit in a piece of ink)
      is paid by each candidate that begins a part, digit or "?" (and by every "?" without
      `marks_pay_once`), not by a "?" that goes on one;
    - `pieces` (per candidate): candidates of different pieces never overlap (a picture's
      pieces of ink each have their own box coordinates).

    A reading's score is the product of its parts' (a dynamic programme over (candidate, mode):
    digit or "?"). No runs: no reading."""
    if not len(runs):
        return []
    not_digit = np.asarray(not_digit, np.float64).reshape(-1)
    box = np.asarray(boxes, np.float64).reshape(-1, 4)
    digit = np.asarray(probs, np.float64).max(axis=1) * (1.0 - not_digit)  # how sure the model is of one digit
    small = box[:, 3] - box[:, 1] < SMALL * np.asarray(heights, np.float64)
    # log-score of each candidate read as a digit, as a "?" that begins a part, as one that goes on one
    as_mark = np.log(np.maximum(not_digit, 1e-9))
    new_digit = np.log(np.maximum(digit, 1e-9)) + np.where(small, LOG_SMALL_COST, 0.0) + SPLIT_PENALTY
    new_mark, more_mark = (as_mark + LOG_NOT_DIGIT_COST) + SPLIT_PENALTY, as_mark + SPLIT_PENALTY
    if part_cost is not None:
        new_digit, new_mark = new_digit + part_cost, new_mark + part_cost
    new_digit, new_mark, more_mark = new_digit.tolist(), new_mark.tolist(), more_mark.tolist()
    spans = box[:, [0, 2]].tolist()
    piece = list(pieces) if pieces is not None else None

    def overlap_cost(a: int, b: int) -> float:
        """Log-cost of candidate b following candidate a as the next part."""
        if piece is not None and piece[a] != piece[b]:
            return 0.0
        (a0, a1), (b0, b1) = spans[a], spans[b]
        overlap = min(a1, b1) - max(a0, b0)
        return LOG_OVERLAP_COST if overlap > OVERLAP * max(a1 - a0, b1 - b0, 1e-9) else 0.0

    def step(prev: int, prev_mark: bool, k: int, mark: bool) -> float:
        """Log-score of reading candidate k in mode `mark` after candidate prev (-1: none).
        A run of "?" parts is shown as one "?" (_merge_non_digits), so with marks_pay_once it
        pays NOT_DIGIT_COST once and its parts no overlap cost: hatching cut into three runs of
        strokes is one mark, not three, and a stray "5" among them no longer beats the third
        NOT_DIGIT_COST."""
        if mark and prev_mark and marks_pay_once:
            return more_mark[k]
        score = new_mark[k] if mark else new_digit[k]
        return score + (overlap_cost(prev, k) if prev >= 0 else 0.0)

    # best[k][m]: the best reading of the units up to the end of candidate k with k its last
    # part, read as a digit (m = 0) or as a mark (m = 1)
    ending: dict[int, list[int]] = {}
    best = [[-math.inf, -math.inf] for _ in runs]
    back: list[list[tuple[int, int]]] = [[(-1, 0), (-1, 0)] for _ in runs]
    for k, (i, j) in enumerate(runs):  # runs come ordered by start: those ending at i are final
        for m in (0, 1):
            if i == 0:
                best[k][m] = step(-1, False, k, bool(m))
            for prev in ending.get(i, []):
                for pm in (0, 1):
                    total = best[prev][pm] + step(prev, bool(pm), k, bool(m))
                    if total > best[k][m]:
                        best[k][m], back[k][m] = total, (prev, pm)
        ending.setdefault(j, []).append(k)
    last = [(k, m) for k in ending.get(units, []) for m in (0, 1)]
    if not last:
        return []
    k, m = max(last, key=lambda km: best[km[0]][km[1]])
    chosen = []
    while k >= 0:
        chosen.append(k)
        k, m = back[k][m]
    return chosen[::-1]


def segment(strokes: Sequence[Stroke], predict: Predict, min_size: float = 0.0) -> list[Part]:
    """The digits of a drawing, left to right, each with the model's reading of it."""
    candidates = plan(strokes)
    if not candidates.groups:
        return []
    images = digits_to_images(candidates.groups)
    probs, not_digit = predict(images)
    return choose(candidates, images, probs, not_digit, min_size)


def _merge_non_digits(parts: list[Part]) -> list[Part]:
    """Neighbouring parts that are no digit become one, answered with one "?"."""
    merged: list[Part] = []
    for part in parts:
        if merged and part.not_digit > NOT_DIGIT and merged[-1].not_digit > NOT_DIGIT:
            last = merged[-1]
            merged[-1] = Part(last.strokes + part.strokes, last.image, last.probabilities,
                              max(last.not_digit, part.not_digit))
        else:
            merged.append(part)
    return merged
