"""training.prepare: what a run learns from the user's corrections."""

import json
import shutil

import numpy as np
import pytest

from tests.conftest import TEST_DATA
from training.data import DataError
from training.prepare import load_extra


def test_corrections_are_split_as_the_player_splits_them(tmp_path, one_drawing, capsys):
    # pen-41.json: a "4" in two strokes and a "1", labelled "41". The old fixed-gap splitter
    # and the player's segmenter may disagree on such a drawing; training must pair the label
    # with the player's digits, the ones the user saw read.
    shutil.copy(TEST_DATA / "pen-41.json", tmp_path / "pen-41.json")
    (tmp_path / "one.json").write_text(json.dumps(one_drawing | {"label": "1"}))
    (tmp_path / "wrong-count.json").write_text(json.dumps(one_drawing | {"label": "12"}))
    (tmp_path / "unlabelled.json").write_text(json.dumps(one_drawing))
    images, labels, files = load_extra([tmp_path])
    assert sorted(labels.tolist()) == [1, 1, 4]
    assert images.shape == (3, 28, 28) and images.max() > 0.5
    assert sorted(f.name for f in files) == ["one.json", "pen-41.json"]
    err = capsys.readouterr().err
    assert "wrong-count.json" in err and "unlabelled.json" in err


def test_a_number_needs_the_players_model_to_be_split(tmp_path):
    shutil.copy(TEST_DATA / "pen-41.json", tmp_path / "pen-41.json")
    with pytest.raises(DataError, match="split by the player's model"):
        load_extra([tmp_path], model_path=tmp_path / "missing.onnx")


def test_a_one_digit_correction_needs_no_model(tmp_path, one_drawing):
    (tmp_path / "one.json").write_text(json.dumps(one_drawing | {"label": "1"}))
    images, labels, _ = load_extra([tmp_path], model_path=tmp_path / "missing.onnx")
    assert labels.tolist() == [1] and np.isfinite(images).all()
