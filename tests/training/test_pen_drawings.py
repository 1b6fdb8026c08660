"""Pen digits placed on a canvas as people draw them: the one home every benchmark and test uses."""

import numpy as np
import pytest

from training.pen_drawings import (
    BRUSH,
    CANVAS,
    HEIGHT,
    centred_drawing,
    number_drawing,
    number_drawings,
    single_drawing,
)
from training.pendigits import PenDigit

# A "7" in tablet units (twice as tall as wide, two strokes), and a flat dash far wider than tall.
SEVEN = [np.array([[0.0, 0.0], [50.0, 0.0], [20.0, 100.0]]), np.array([[10.0, 50.0], [40.0, 50.0]])]
DASH = [np.array([[0.0, 0.0], [300.0, 5.0]])]


def digit(label=7, writer=1, strokes=SEVEN, group="pendigits"):
    return PenDigit(label=label, writer=writer, strokes=[s.copy() for s in strokes], group=group)


def points(drawing: dict) -> np.ndarray:
    return np.concatenate([np.asarray(s) for s in drawing["strokes"]])


def boxes(drawing: dict, digits) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each digit's box in the drawing: its strokes are the next len(d.strokes) ones."""
    out, i = [], 0
    for d in digits:
        pts = np.concatenate([np.asarray(s) for s in drawing["strokes"][i : i + len(d.strokes)]])
        out.append((pts.min(axis=0), pts.max(axis=0)))
        i += len(d.strokes)
    return out


def inside(drawing: dict) -> bool:
    """Every point, with half the brush around it, on the canvas."""
    pts, (w, h), r = points(drawing), drawing["canvas"], drawing["brush"] / 2
    return bool((pts - r >= 0).all() and (pts[:, 0] + r <= w).all() and (pts[:, 1] + r <= h).all())


def test_centred_drawing_places_the_digit_on_the_canvas():
    drawing = centred_drawing(SEVEN, canvas=(300, 200), height=0.5, brush=0.05, at=(0.25, 0.5))
    pts = points(drawing)
    assert np.isclose(np.ptp(pts[:, 1]), 100) and np.isclose((pts[:, 0].min() + pts[:, 0].max()) / 2, 75)
    assert drawing["canvas"] == [300, 200] and drawing["brush"] == 10


@pytest.mark.parametrize("strokes", [SEVEN, DASH], ids=["seven", "wide dash"])
def test_single_drawings_fit_the_canvas_at_a_person_s_size(strokes):
    rng = np.random.default_rng(0)
    for _ in range(200):
        drawing = single_drawing(digit(strokes=strokes), rng)
        w, h = drawing["canvas"]
        assert CANVAS[0] <= w <= CANVAS[1] and CANVAS[0] <= h <= CANVAS[1]
        assert BRUSH[0] * h - 0.01 <= drawing["brush"] <= BRUSH[1] * h + 0.01
        assert inside(drawing), drawing["canvas"]
        if strokes is SEVEN:  # a tall digit: its height is the one drawn
            assert HEIGHT[0] * h - 0.02 <= np.ptp(points(drawing)[:, 1]) <= HEIGHT[1] * h + 0.02
        assert drawing["label"] == "7"


@pytest.mark.parametrize("gap", [-0.05, 0.0, 0.1, 0.4])
def test_numbers_have_the_gap_asked_for_between_the_digit_boxes(gap):
    digits = [digit(label=i) for i in (1, 2, 3)]
    rng = np.random.default_rng(1)
    for _ in range(20):
        drawing = number_drawing(digits, rng, gap=(gap, gap))
        placed = boxes(drawing, digits)
        height = np.ptp(points(drawing)[:, 1])  # one height for all, within the baseline jitter
        gaps = [b[0][0] - a[1][0] for a, b in zip(placed[:-1], placed[1:], strict=True)]
        heights = [hi[1] - lo[1] for lo, hi in placed]
        assert np.allclose(heights, heights[0], atol=0.02) and height <= 1.1 * heights[0]
        assert np.allclose(gaps, gap * heights[0], atol=0.03)  # negative: the boxes overlap
        assert inside(drawing) and drawing["label"] == "123"


def test_a_number_too_wide_for_a_given_canvas_is_shrunk_to_fit_it():
    digits = [digit(label=i % 10, strokes=DASH) for i in range(6)]  # six flat dashes: very wide
    rng = np.random.default_rng(2)
    for _ in range(20):
        drawing = number_drawing(digits, rng, gap=(0.3, 0.5), canvas=(400, 300))
        assert drawing["canvas"] == [400, 300] and inside(drawing)


def test_number_drawings_take_each_number_from_one_writer():
    pool = [digit(label=1, writer=1) for _ in range(8)] + [digit(label=7, writer=2) for _ in range(8)]
    pool += [digit(label=4, writer=1, group="other institution") for _ in range(8)]  # same id, another source
    drawings = list(number_drawings(pool, 30, np.random.default_rng(3), lengths=(2, 3)))
    assert [len(d["label"]) for d in drawings] == [2, 3] * 15
    assert all(set(d["label"]) in ({"1"}, {"7"}, {"4"}) for d in drawings)
    assert {d["label"][0] for d in drawings} == {"1", "7", "4"}
