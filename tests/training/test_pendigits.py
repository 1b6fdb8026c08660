import numpy as np
import pytest

from training.pendigits import VALIDATION_WRITERS, PenDataError, distort, load_unipen, render, split_writers

SAMPLE = """.SEGMENT DIGIT    0 ? "7"
.COMMENT 7 4  12
.PEN_DOWN
 100  400
 300  400
 150  100
.PEN_UP
.PEN_DOWN
 120  250
 250  250
.PEN_UP
"""


def test_parses_labels_writers_strokes_and_flips_y(tmp_path):
    path = tmp_path / "one.tra"
    path.write_text(SAMPLE)
    [d] = load_unipen(path)
    assert (d.label, d.writer, len(d.strokes)) == (7, 4, 2)
    # tablet y grows upwards: the top bar (y=400) must end up above the foot (y=100) on screen
    top, foot = d.strokes[0][0], d.strokes[0][2]
    assert top[1] < foot[1]


@pytest.mark.parametrize("text", ["", ".SEGMENT DIGIT 0 ? \"x\"\n.PEN_DOWN\n 1 2\n.PEN_UP\n",
                                  ".SEGMENT DIGIT 0 ? \"3\"\n.PEN_DOWN\n 1 oops\n.PEN_UP\n"])
def test_bad_files_raise_one_line_naming_the_file(tmp_path, text):
    path = tmp_path / "bad.tra"
    path.write_text(text)
    with pytest.raises(PenDataError, match="bad.tra") as e:
        load_unipen(path)
    assert "\n" not in str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(PenDataError, match="nope.tra"):
        load_unipen(tmp_path / "nope.tra")


def test_real_file_writer_split_is_disjoint(pen_path):
    digits = load_unipen(pen_path)
    assert len(digits) == 7494 and {d.label for d in digits} == set(range(10))
    train, val = split_writers(digits)
    assert {d.writer for d in val} == set(VALIDATION_WRITERS)
    assert not {d.writer for d in train} & set(VALIDATION_WRITERS)
    assert len(train) + len(val) == len(digits)


def test_render_and_distort(tmp_path):
    path = tmp_path / "one.tra"
    path.write_text(SAMPLE)
    digits = load_unipen(path)
    images, labels = render(digits, copies=3, seed=0)
    assert images.shape == (3, 28, 28) and list(labels) == [7, 7, 7]
    assert np.abs(images[1] - images[0]).max() > 0.2  # distorted copies differ
    moved = distort(digits[0].strokes, np.random.default_rng(1))
    assert [len(s) for s in moved] == [len(s) for s in digits[0].strokes]

