"""The vectorised renderer draws what the model was trained on: the same images as the
per-segment, per-point implementation it replaced (frozen below, as it was at preprocessing
version 1), within 0.02 per pixel, on thousands of real pen digits of two datasets; and its
point thinning keeps exactly the points the old walk kept, whatever the trajectory."""

import gzip
import json
import math
from pathlib import Path

import numpy as np
import pytest

from player.preprocess import (
    BOX,
    EDGE,
    IMAGE_SIZE,
    MIN_STEP,
    PEN_WIDTH,
    _segments,
    digits_to_images,
    strokes_to_image,
)

UNIPEN_1A = Path(__file__).resolve().parents[3] / "shared" / "data" / "unipen-1a.jsonl.gz"
TOLERANCE = 0.02  # per pixel: far below what the model can see

# ---- frozen: player/preprocess.py before vectorisation (preprocessing version 1) ----------

_GRID = np.stack(np.meshgrid(np.arange(IMAGE_SIZE) + 0.5, np.arange(IMAGE_SIZE) + 0.5, indexing="xy"),
                 axis=-1).reshape(-1, 2)


def old_as_arrays(strokes):
    arrays = []
    for stroke in strokes:
        a = np.asarray(stroke, dtype=np.float64).reshape(-1, 2)
        a = a[np.isfinite(a).all(axis=1)]
        if len(a):
            arrays.append(a)
    return arrays


def old_kept(s):
    keep = [0]
    for i in range(1, len(s)):
        if np.abs(s[i] - s[keep[-1]]).max() >= MIN_STEP:
            keep.append(i)
    if keep[-1] != len(s) - 1:
        keep.append(len(s) - 1)
    return keep


def old_segments(strokes):
    starts, ends = [], []
    for s in strokes:
        s = s[old_kept(s)]
        if len(s) == 1:
            starts.append(s)
            ends.append(s)
        else:
            starts.append(s[:-1])
            ends.append(s[1:])
    return np.concatenate(starts), np.concatenate(ends)


def old_draw(a, b, pen_width):
    gx, gy = _GRID[:, 0:1], _GRID[:, 1:2]
    d2 = np.full((len(_GRID), 1), np.inf)
    for i in range(0, len(a), 256):
        ax, ay = a[i : i + 256, 0], a[i : i + 256, 1]
        abx, aby = b[i : i + 256, 0] - ax, b[i : i + 256, 1] - ay
        len2 = np.maximum(abx * abx + aby * aby, 1e-12)
        apx, apy = gx - ax, gy - ay
        t = np.clip((apx * abx + apy * aby) / len2, 0.0, 1.0)
        dx, dy = apx - t * abx, apy - t * aby
        d2 = np.minimum(d2, (dx * dx + dy * dy).min(axis=1, keepdims=True))
    ink = np.clip((pen_width / 2 - np.sqrt(d2)) / EDGE + 0.5, 0.0, 1.0)
    return ink.reshape(IMAGE_SIZE, IMAGE_SIZE).astype(np.float32)


def old_center_of_mass(image):
    total = float(image.sum())
    if total <= 0:
        return None
    ys, xs = np.indices(image.shape)
    return float((image * (xs + 0.5)).sum() / total), float((image * (ys + 0.5)).sum() / total)


def old_strokes_to_image(strokes, pen_width=PEN_WIDTH):
    arrays = old_as_arrays(strokes)
    if not arrays:
        return np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32)
    allpts = np.concatenate(arrays)
    x0, y0 = (float(v) for v in allpts.min(axis=0))
    x1, y1 = (float(v) for v in allpts.max(axis=0))
    size = max(x1 - x0, y1 - y0)
    scale = (BOX - pen_width) / size if 1e-9 < size < math.inf else 0.0
    centre = np.array([x0 / 2 + x1 / 2, y0 / 2 + y1 / 2])
    a, b = old_segments([(s - centre) * scale for s in arrays])
    mid = np.array([IMAGE_SIZE / 2, IMAGE_SIZE / 2])
    image = old_draw(a + mid, b + mid, pen_width)
    com = old_center_of_mass(image)
    if com is None:
        return image
    shift = mid - np.array(com)
    return old_draw(a + mid + shift, b + mid + shift, pen_width)


# ---- the digits --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pen_digits(pen_path):
    """1,500 UCI pen digits of all 30 writers (every 5th)."""
    from training.pendigits import load_unipen

    return [d.strokes for d in load_unipen(pen_path)[::5]]


@pytest.fixture(scope="module")
def unipen_digits():
    """600 digits of the UNIPEN 1a set: 99 other writers, 12 tablets (Apple's stepped
    screen-resolution data among them), strokes with repeated points."""
    if not UNIPEN_1A.exists():
        pytest.skip(f"{UNIPEN_1A} not found")
    with gzip.open(UNIPEN_1A, "rt") as f:
        lines = [line for i, line in enumerate(f) if i % 19 == 0][:600]
    return [json.loads(line)["strokes"] for line in lines]


def worst_difference(digits, pen_widths) -> float:
    new = digits_to_images(digits, pen_widths)
    old = np.stack([old_strokes_to_image(d, w) for d, w in zip(digits, pen_widths, strict=True)])
    return float(np.abs(new - old).max())


def test_same_images_as_before_on_pen_digits(pen_digits):
    assert worst_difference(pen_digits, [PEN_WIDTH] * len(pen_digits)) <= TOLERANCE


def test_same_images_as_before_with_training_distortions_and_pens(pen_digits):
    """How digits-train draws its extra copies: distorted, random pen widths 1.8-3.4."""
    from training.pendigits import distort

    rng = np.random.default_rng(0)
    digits = [distort([np.asarray(s, float) for s in d], rng) for d in pen_digits[:500]]
    assert worst_difference(digits, rng.uniform(1.8, 3.4, len(digits))) <= TOLERANCE


def test_same_images_as_before_on_other_tablets(unipen_digits):
    assert worst_difference(unipen_digits, [PEN_WIDTH] * len(unipen_digits)) <= TOLERANCE


def test_one_digit_at_a_time_is_the_same_as_all_together(pen_digits):
    together = digits_to_images(pen_digits[:300])
    alone = np.stack([strokes_to_image(d) for d in pen_digits[:300]])
    assert np.abs(together - alone).max() <= 1e-6


@pytest.mark.parametrize("strokes", [
    [[[5, 5]]],  # a dot
    [[[5, 5], [5, 5], [5, 5]]],  # a pen resting: one point, repeated
    [[[0, 0], [300, 0]]],  # a flat line: two points far apart
    [[[0, 0], [0, 300]], [[-40, 150]]],  # a stroke and a dot
    [[[0, 0], [1e-12, 0]]],  # a drawing smaller than the dot guard
    [[[-1e300, 0], [1e300, 1]]],  # huge coordinates
    [[[0, 0], [float("nan"), 3], [10, 10]], []],  # a non-finite point, an empty stroke
])
def test_same_images_as_before_on_odd_drawings(strokes):
    with np.errstate(all="ignore"):
        new, old = strokes_to_image(strokes), old_strokes_to_image(strokes)
    assert np.abs(new - old).max() <= TOLERANCE


def test_a_drawing_of_several_digits_draws_each_as_before(pen_digits):
    """digits_to_images: several digits of one drawing, all drawn in one call."""
    from training.pen_drawings import centred_drawing

    digits = [centred_drawing(d, canvas=(1000, 400), height=0.4, at=((i + 0.5) / 5, 0.5))["strokes"]
              for i, d in enumerate(pen_digits[:5])]
    expected = np.stack([old_strokes_to_image(d) for d in digits])
    assert np.abs(digits_to_images(digits) - expected).max() <= TOLERANCE


# ---- thinning: exactly the old walk --------------------------------------------------------


def random_strokes(rng):
    """Trajectories that make the walk work: slow stretches in steps far under MIN_STEP
    (a resting or creeping pen), fast ones, exact repeats, one-point strokes, and points on
    a grid of MIN_STEP / 2, where moves of exactly MIN_STEP are common (kept: >=, not >)."""
    strokes = []
    for _ in range(rng.integers(1, 5)):
        n = int(rng.integers(1, 400))
        speed = rng.choice([0.01, 0.05, 0.2, 1.0, 3.0], size=n)  # output pixels per point
        steps = rng.normal(size=(n, 2)) * speed[:, None]
        steps[rng.random(n) < 0.1] = 0.0  # repeated points
        stroke = np.cumsum(steps, axis=0) + rng.uniform(0, 28, 2)
        if rng.random() < 0.3:
            stroke = np.round(stroke / (MIN_STEP / 2)) * (MIN_STEP / 2)
        strokes.append(stroke)
    return strokes


@pytest.mark.parametrize("seed", range(40))
def test_thinning_keeps_exactly_the_points_the_old_walk_kept(seed):
    strokes = random_strokes(np.random.default_rng(seed))
    a, b, stroke = _segments(np.concatenate(strokes), np.array([len(s) for s in strokes]))
    old_a, old_b = old_segments(strokes)
    new = np.concatenate([a, b], axis=1)
    old = np.concatenate([old_a, old_b], axis=1)
    order = np.lexsort(new.T[::-1])
    np.testing.assert_array_equal(new[order], old[np.lexsort(old.T[::-1])])
    assert (np.bincount(stroke, minlength=len(strokes)) >= 1).all()  # every stroke drawn


def test_thinning_a_long_resting_pen_is_not_quadratic():
    """100,000 points jittering within MIN_STEP, then a move: two points kept, at once."""
    rng = np.random.default_rng(0)
    rest = rng.uniform(0, MIN_STEP / 3, (100_000, 2))
    points = np.concatenate([rest, [[20.0, 20.0]]])
    a, b, _ = _segments(points, np.array([len(points)]))
    assert len(a) == 1 and (a[0] == points[0]).all() and (b[0] == points[-1]).all()
