import numpy as np

from player.preprocess import (
    BOX,
    IMAGE_SIZE,
    center_of_mass,
    strokes_to_image,
)

VERTICAL = [[[200, 80], [200, 320]]]
ZERO = [[[100 + 60 * np.cos(t), 200 + 90 * np.sin(t)] for t in np.linspace(0, 2 * np.pi, 60)]]


def test_image_is_28x28_unit_range_and_centred_by_mass():
    img = strokes_to_image(ZERO)
    assert img.shape == (IMAGE_SIZE, IMAGE_SIZE) and img.dtype == np.float32
    assert 0.0 <= img.min() and img.max() <= 1.0 and img.max() > 0.99
    cx, cy = center_of_mass(img)
    assert abs(cx - 14) < 0.05 and abs(cy - 14) < 0.05


def test_longer_side_fills_the_20px_box():
    img = strokes_to_image(VERTICAL)
    rows = np.flatnonzero(img.max(axis=1) > 0.5)
    cols = np.flatnonzero(img.max(axis=0) > 0.5)
    assert abs((rows[-1] - rows[0] + 1) - BOX) <= 1
    assert cols[-1] - cols[0] + 1 <= 4  # a vertical line stays thin: aspect ratio kept


def test_position_size_and_units_do_not_matter():
    a = strokes_to_image(ZERO)
    moved = [[[3 * x + 700, 3 * y - 50] for x, y in s] for s in ZERO]
    np.testing.assert_allclose(strokes_to_image(moved), a, atol=1e-4)


def test_pen_width_changes_ink():
    thin, fat = strokes_to_image(ZERO, pen_width=1.5), strokes_to_image(ZERO, pen_width=3.5)
    assert fat.sum() > 1.8 * thin.sum()


def test_blank_and_single_point():
    assert strokes_to_image([]).sum() == 0
    dot = strokes_to_image([[[5, 5]]])
    assert dot.sum() > 0 and dot.shape == (28, 28)


