"""Property tests of player.preprocess: whatever a user draws, or whatever picture they pass,
the model gets well-formed images; where and how big a drawing is does not matter."""

import math
import os

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from player.picture import best_split, candidates, choose, image_to_digits  # noqa: E402
from player.preprocess import IMAGE_SIZE, digits_to_images, strokes_to_image  # noqa: E402
from player.segment import plan  # noqa: E402

# few examples by default so the file runs in seconds in CI; DIGITS_HYPOTHESIS_EXAMPLES=2000 to dig
EXAMPLES = int(os.environ.get("DIGITS_HYPOTHESIS_EXAMPLES", "60"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

unit = st.floats(-1.0, 1.0, allow_nan=False)


@st.composite
def wild_strokes(draw):
    """Any strokes a drawing file may hold: tiny to huge, anywhere, with one-point strokes,
    repeated points and empty strokes."""
    scale = draw(st.sampled_from([1e-6, 1e-3, 1.0, 30.0, 1e3, 1e6]))
    ox, oy = draw(st.floats(-1e6, 1e6)), draw(st.floats(-1e6, 1e6))
    strokes = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["line", "line", "one-point", "repeated", "empty", "raw"]))
        if kind == "line":
            points = draw(st.lists(st.tuples(unit, unit), min_size=2, max_size=12))
        elif kind == "one-point":
            points = [draw(st.tuples(unit, unit))]
        elif kind == "repeated":
            points = [draw(st.tuples(unit, unit))] * draw(st.integers(2, 30))
        elif kind == "empty":
            points = []
        else:  # coordinates straight from the file, unrelated to the rest
            raw = st.floats(-1e6, 1e6)
            strokes.append(draw(st.lists(st.tuples(raw, raw), min_size=1, max_size=5)))
            continue
        strokes.append([(ox + x * scale, oy + y * scale) for x, y in points])
    return strokes


@st.composite
def mouse_strokes(draw):
    """A non-degenerate drawing as a mouse makes it: screen pixels, 1-4 strokes of 2-15
    points, at least 20 px tall or wide."""
    coord = st.integers(0, 400)
    strokes = draw(st.lists(st.lists(st.tuples(coord, coord), min_size=2, max_size=15), min_size=1, max_size=4))
    pts = np.concatenate([np.array(s, float) for s in strokes])
    assume(np.ptp(pts, axis=0).max() >= 20)
    return strokes


def check_images(images: np.ndarray, n: int | None = None) -> None:
    assert images.dtype == np.float32
    assert images.shape[-2:] == (IMAGE_SIZE, IMAGE_SIZE)
    if n is not None:
        assert images.shape == (n, IMAGE_SIZE, IMAGE_SIZE)
    assert np.isfinite(images).all()
    assert images.min(initial=0.0) >= 0.0 and images.max(initial=0.0) <= 1.0


def has_points(strokes) -> bool:
    return any(len(s) for s in strokes)


@SETTINGS
@given(wild_strokes())
def test_strokes_to_image_is_always_a_28x28_unit_image(strokes):
    image = strokes_to_image(strokes)
    check_images(image)
    assert image.shape == (IMAGE_SIZE, IMAGE_SIZE)
    assert (image.max() > 0) == has_points(strokes)  # ink iff there is a point


@SETTINGS
@given(wild_strokes())
def test_every_candidate_digit_is_a_28x28_unit_image(strokes):
    """What the segmenter gives the model (player/segment.py plan: each candidate group of
    strokes, drawn) is well formed, and a drawing with a point has a candidate with ink."""
    with np.errstate(all="ignore"):  # absurd coordinates: dropped or scaled, never a warning
        digits = digits_to_images(plan(strokes).groups)
    check_images(digits)
    assert digits.ndim == 3
    assert (len(digits) > 0) == has_points(strokes)
    assert all(d.max() > 0 for d in digits)  # no blank digit


@SETTINGS
@given(mouse_strokes(), st.floats(0.02, 50.0), st.floats(-1e5, 1e5), st.floats(-1e5, 1e5))
def test_position_and_size_do_not_matter(strokes, k, dx, dy):
    moved = [[(x * k + dx, y * k + dy) for x, y in s] for s in strokes]
    a, b = strokes_to_image(strokes), strokes_to_image(moved)
    # points closer than MIN_STEP may be kept or dropped after rounding: a few pixels may
    # differ slightly, the picture as a whole may not
    assert np.abs(a - b).mean() < 2e-3
    assert np.abs(a - b).max() < 0.25
    assert len(plan(moved).groups) == len(plan(strokes).groups)  # the same candidates


@SETTINGS
@given(mouse_strokes(), st.floats(0.02, 50.0), st.floats(-1e5, 1e5))
def test_digits_of_a_moved_drawing_are_the_same(strokes, k, dx):
    moved = [[(x * k + dx, y * k - dx) for x, y in s] for s in strokes]
    a, b = digits_to_images(plan(strokes).groups), digits_to_images(plan(moved).groups)
    assert a.shape == b.shape
    assert np.abs(a - b).mean() < 2e-3


@SETTINGS
@given(mouse_strokes(), st.integers(1, 5))
def test_denser_sampling_of_the_same_lines_changes_little(strokes, m):
    """A fast mouse gives few points, a slow one many on the same path: same image."""
    dense = []
    for s in strokes:
        pts = np.array(s, float)
        t = np.linspace(0, 1, m + 1)[:-1, None]
        out = [p + t * (q - p) for p, q in zip(pts[:-1], pts[1:], strict=True)]
        dense.append(np.concatenate([*out, pts[-1:]]).tolist())
    a, b = strokes_to_image(strokes), strokes_to_image(dense)
    assert np.abs(a - b).mean() < 0.01


images = st.one_of(
    hnp.arrays(np.uint8, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=60)),
    hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=60),
               elements=st.floats(-1e6, 1e6)),
    hnp.arrays(np.float32, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=60),
               elements=st.sampled_from([0.0, 1.0])),
)


@SETTINGS
@given(images)
def test_image_to_digits_never_fails_on_a_picture(picture):
    digits = image_to_digits(picture)
    check_images(digits)
    assert digits.ndim == 3 and len(digits) <= picture.shape[1]


@SETTINGS
@given(images, st.integers(0, 2**32 - 1))
def test_a_pictures_candidates_always_make_a_reading(picture, seed):
    """Whatever the picture and whatever the model answers, the best split's candidates are a
    split of all its units, left to right, each piece read at least once; the reading shown
    (choose) is some of them (a run of "?" parts is shown once)."""
    found = candidates(picture)
    check_images(found.images, len(found.runs))
    rng = np.random.default_rng(seed)
    probs, not_digit = rng.dirichlet(np.ones(10), len(found.runs)), rng.uniform(0, 1, len(found.runs))
    chosen = best_split(found, probs, not_digit)
    assert set(choose(found, probs, not_digit)) <= set(chosen)
    assert [found.runs[k] for k in chosen] == sorted(found.runs[k] for k in chosen)
    ends = [0] + [found.runs[k][1] for k in chosen]
    assert [found.runs[k][0] for k in chosen] == ends[:-1] and ends[-1] == found.units
    assert len(chosen) >= len(image_to_digits(picture))


@SETTINGS
@given(hnp.arrays(np.uint8, st.tuples(st.integers(20, 80), st.integers(20, 120)),
                  elements=st.sampled_from([0, 255])), st.booleans())
def test_image_polarity_does_not_matter(picture, invert):
    """Light ink on dark and dark ink on light: the same digits, as long as the border is
    background (otherwise the polarity cannot be told)."""
    picture[[0, -1], :] = 0
    picture[:, [0, -1]] = 0
    a, b = image_to_digits(picture), image_to_digits(255 - picture)
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("shape", [(0, 0), (5,), (2, 3, 4), (0, 10)])
def test_image_to_digits_rejects_non_pictures(shape):
    with pytest.raises(ValueError):
        image_to_digits(np.zeros(shape))


def test_blank_pictures_have_no_digits():
    for value in (0, 128, 255):
        assert image_to_digits(np.full((30, 40), value, np.uint8)).shape == (0, IMAGE_SIZE, IMAGE_SIZE)


def test_subnormal_extent_does_not_give_nan():
    """A drawing whose extent is tiny but positive (here 5e-324) must not overflow the scale."""
    strokes = [[(0.0, 0.0), (math.ulp(0.0), 0.0)]]
    with np.errstate(all="ignore"):
        image = strokes_to_image(strokes)
    check_images(image)


@pytest.mark.parametrize("big", [1e300, 1.7e308])
def test_coordinates_near_float_max_do_not_give_nan(big):
    with np.errstate(all="ignore"):
        check_images(strokes_to_image([[(-big, 0.0), (big, 1.0)]]))
