"""The stroke JSON format: valid drawings load, every kind of broken file is one DrawingError
line naming the file, and save_new never overwrites anything."""

import json
import math
from pathlib import Path

import pytest

from player.drawing import Drawing, DrawingError, load_drawing, parse_drawing, save_new

DATA = Path(__file__).resolve().parents[1] / "data"
GOOD = {"canvas": [400, 300], "brush": 12, "strokes": [[[10, 20], [30.5, 40.25]], [[5, 5]]]}


def test_parse_valid_drawing():
    d = parse_drawing(GOOD)
    assert d == Drawing((400, 300), 12.0, [[(10.0, 20.0), (30.5, 40.25)], [(5.0, 5.0)]], None)
    assert all(isinstance(v, float) for s in d.strokes for p in s for v in p)


def test_parse_as_arrays_gives_the_same_points():
    """digits-predict's reading: each stroke an (n, 2) float64 array of the very same values,
    on the fast path (whole strokes at once) and on the point-by-point one (huge numbers)."""
    import numpy as np

    for data in (GOOD, {**GOOD, "strokes": [[[1e20, 1], [3, 4.5]], []]}):
        listed, arrays = parse_drawing(data), parse_drawing(data, arrays=True)
        assert len(arrays.strokes) == len(listed.strokes)
        for a, s in zip(arrays.strokes, listed.strokes, strict=True):
            assert a.dtype == np.float64 and a.shape == (len(s), 2) and a.tolist() == [list(p) for p in s]


@pytest.mark.parametrize("case", ["point-string", "point-bool", "point-nan", "stroke-point"])
def test_parse_as_arrays_rejects_alike(case):
    with pytest.raises(ValueError) as lists:
        parse_drawing(INVALID[case])
    with pytest.raises(ValueError) as arrays:
        parse_drawing(INVALID[case], arrays=True)
    assert str(arrays.value) == str(lists.value)


def test_defaults_and_label():
    d = parse_drawing({"canvas": [480.0, 480], "strokes": [], "label": "0042"})
    assert d.brush == 16.0 and d.strokes == [] and d.label == "0042" and d.canvas == (480, 480)


def test_json_round_trip():
    d = parse_drawing({**GOOD, "label": "7"})
    assert parse_drawing(json.loads(json.dumps(d.to_json()))) == d
    assert "label" not in parse_drawing(GOOD).to_json()


def test_load_the_test_drawing():
    d = load_drawing(DATA / "one.json")
    assert d.canvas == (400, 400) and len(d.strokes) == 1 and len(d.strokes[0]) == 4


def test_load_accepts_str_path(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps(GOOD))
    assert load_drawing(str(path)) == parse_drawing(GOOD)


def with_(**changes):
    data = {k: v for k, v in GOOD.items() if k not in changes}
    data.update({k: v for k, v in changes.items() if v is not DROP})
    return data


DROP = object()
NAN, INF = math.nan, math.inf

INVALID = {
    "list": [GOOD],
    "string": "drawing",
    "number": 3,
    "null": None,
    "no-canvas": with_(canvas=DROP),
    "no-strokes": with_(strokes=DROP),
    "canvas-string": with_(canvas="400x300"),
    "canvas-one-number": with_(canvas=[400]),
    "canvas-three-numbers": with_(canvas=[400, 300, 1]),
    "canvas-zero": with_(canvas=[0, 300]),
    "canvas-negative": with_(canvas=[400, -3]),
    "canvas-string-number": with_(canvas=["400", 300]),
    "canvas-bool": with_(canvas=[True, 300]),
    "canvas-null": with_(canvas=[400, None]),
    "canvas-nan": with_(canvas=[NAN, 300]),
    "canvas-inf": with_(canvas=[400, INF]),
    "brush-string": with_(brush="thick"),
    "brush-bool": with_(brush=True),
    "brush-nan": with_(brush=NAN),
    "brush-inf": with_(brush=-INF),
    "brush-null": with_(brush=None),
    "brush-zero": with_(brush=0),
    "brush-negative": with_(brush=-3),
    "strokes-object": with_(strokes={"0": [[1, 2]]}),
    "stroke-string": with_(strokes=["abc"]),
    "stroke-point": with_(strokes=[[1, 2]]),
    "point-three-numbers": with_(strokes=[[[1, 2, 3]]]),
    "point-one-number": with_(strokes=[[[1]]]),
    "point-object": with_(strokes=[[{"x": 1, "y": 2}]]),
    "point-string": with_(strokes=[[["1", 2]]]),
    "point-bool": with_(strokes=[[[1, 2], [False, 3]]]),
    "point-null": with_(strokes=[[[1, None]]]),
    "point-nan": with_(strokes=[[[1, 2]], [[NAN, 3]]]),
    "point-inf": with_(strokes=[[[INF, 3]]]),
    "label-number": with_(label=42),
    "label-letters": with_(label="4a"),
    "label-empty": with_(label=""),
    "label-space": with_(label=" 4"),
    "label-negative": with_(label="-4"),
    "label-list": with_(label=["4"]),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_parse_rejects(case):
    with pytest.raises(ValueError) as e:
        parse_drawing(INVALID[case])
    assert str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("case", list(INVALID))
def test_load_rejects_with_one_line_naming_the_file(tmp_path, case):
    path = tmp_path / f"{case}.json"
    path.write_text(json.dumps(INVALID[case]))  # NaN and Infinity as Python's json writes them
    with pytest.raises(DrawingError) as e:
        load_drawing(path)
    message = str(e.value)
    assert message.startswith(f"{path}: not a stroke drawing: ") and "\n" not in message


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "not JSON (the file is empty)"),
        (b'{"canvas": [480, 480], "strokes": [], "label": "\xe9"}',
         "not JSON (not UTF-8 text: byte 0xe9 at offset 48)"),
        (b"\x80{}", "not JSON (not UTF-8 text: byte 0x80 at offset 0)"),
    ],
    ids=["empty", "latin-1", "stray-byte"],
)
def test_empty_and_non_utf8_files_say_so_in_plain_words(tmp_path, content, message):
    # were "not JSON (Expecting value: line 1 column 1 (char 0))" and "not JSON ('utf-8' codec
    # can't decode byte 0xe9 in position 48: invalid continuation byte)"
    path = tmp_path / "d.json"
    path.write_bytes(content)
    with pytest.raises(DrawingError) as e:
        load_drawing(path)
    assert str(e.value) == f"{path}: {message}"


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "not JSON"),
        (b"{", "not JSON"),
        (b'{"canvas": [400, 300], "strokes": []', "not JSON"),
        (b"canvas: [400, 300]\nstrokes: []\n", "not JSON"),
        (b"\xff\xfe\x00\x80 binary", "not JSON"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "a picture, not a stroke drawing (.json): digits-predict reads pictures"),
    ],
    ids=["empty", "brace", "truncated", "yaml", "binary", "png"],
)
def test_load_rejects_non_json(tmp_path, content, reason):
    path = tmp_path / "d.json"
    path.write_bytes(content)
    with pytest.raises(DrawingError) as e:
        load_drawing(path)
    assert str(e.value).startswith(f"{path}: {reason}") and "\n" not in str(e.value)


@pytest.mark.parametrize("make", ["missing", "directory"])
def test_load_unreadable(tmp_path, make):
    path = tmp_path / "d.json"
    if make == "directory":
        path.mkdir()
    with pytest.raises(DrawingError) as e:
        load_drawing(path)
    assert str(e.value).startswith(f"{path}: cannot read") and "\n" not in str(e.value)


# Once-known problems in player/drawing.py, now fixed.
@pytest.mark.parametrize("label", ["²", "٣", "4²"])
def test_label_must_be_ascii_digits(label):
    with pytest.raises(ValueError):
        parse_drawing(with_(label=label))


def test_huge_integer_is_a_drawing_error(tmp_path):
    path = tmp_path / "huge.json"
    path.write_text('{"canvas": [' + "9" * 400 + ", 300], \"strokes\": []}")
    with pytest.raises(DrawingError):
        load_drawing(path)


def test_deeply_nested_json_is_a_drawing_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000)
    with pytest.raises(DrawingError):
        load_drawing(path)


def test_fractional_canvas_stays_positive():
    with pytest.raises(ValueError, match="canvas"):
        parse_drawing(with_(canvas=[0.5, 0.5]))


# save_new


def payloads():
    return {".json": b'{"new": true}', ".png": b"new png"}


def test_save_new_writes_all_files(tmp_path):
    folder = tmp_path / "a" / "b"  # created
    paths = save_new(folder, "drawing", payloads())
    assert paths == {".json": folder / "drawing.json", ".png": folder / "drawing.png"}
    assert paths[".json"].read_bytes() == b'{"new": true}' and paths[".png"].read_bytes() == b"new png"


@pytest.mark.parametrize(
    "existing, expected",
    [
        (["d.json", "d.png"], "d-1"),
        (["d.json"], "d-1"),  # one name taken is enough to skip the whole set
        (["d.png"], "d-1"),
        (["d.json", "d-1.png", "d-2.json", "d-2.png"], "d-3"),
        (["d-1.json"], "d"),  # a gap is used
        (["d.txt"], "d"),  # other extensions do not matter
    ],
)
def test_save_new_never_overwrites(tmp_path, existing, expected):
    for name in existing:
        (tmp_path / name).write_bytes(b"old " + name.encode())
    paths = save_new(tmp_path, "d", payloads())
    assert paths == {".json": tmp_path / f"{expected}.json", ".png": tmp_path / f"{expected}.png"}
    for name in existing:
        assert (tmp_path / name).read_bytes() == b"old " + name.encode()
    assert paths[".png"].read_bytes() == b"new png"
    assert len(list(tmp_path.iterdir())) == len(existing) + 2


def test_save_new_twice_gives_two_sets(tmp_path):
    first, second = save_new(tmp_path, "d", payloads()), save_new(tmp_path, "d", payloads())
    assert first[".json"].name == "d.json" and second[".json"].name == "d-1.json"


def test_save_new_file_appearing_meanwhile_is_not_clobbered(tmp_path, monkeypatch):
    """The existence check can be outrun: O_EXCL still refuses, the half-written set is
    removed and the next name is used."""
    (tmp_path / "d.png").write_bytes(b"someone else's")
    monkeypatch.setattr(Path, "exists", lambda self: False)
    paths = save_new(tmp_path, "d", payloads())
    monkeypatch.undo()
    assert paths[".json"].name == "d-1.json" and paths[".png"].name == "d-1.png"
    assert (tmp_path / "d.png").read_bytes() == b"someone else's"
    assert not (tmp_path / "d.json").exists()  # the half-written set was removed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d-1.json", "d-1.png", "d.png"]


# limits (README, "The drawing format"): each refused with one line naming the file


def test_a_drawing_with_too_many_points_is_refused(tmp_path):
    from player.drawing import MAX_POINTS

    path = tmp_path / "long.json"
    stroke = [[i % 400, i % 300] for i in range(MAX_POINTS + 1)]
    path.write_text(json.dumps({"canvas": [400, 400], "strokes": [stroke]}))
    with pytest.raises(DrawingError) as e:
        load_drawing(path)
    assert str(e.value) == f"{path}: not a stroke drawing: too many points: {MAX_POINTS + 1:,} (a drawing has at " \
                           f"most {MAX_POINTS:,})"


def test_a_drawing_with_too_many_strokes_is_refused(tmp_path):
    from player.drawing import MAX_STROKES

    path = tmp_path / "dots.json"
    path.write_text(json.dumps({"canvas": [400, 400], "strokes": [[[i % 400, 5]] for i in range(MAX_STROKES + 1)]}))
    with pytest.raises(DrawingError, match=f"too many strokes: {MAX_STROKES + 1:,}"):
        load_drawing(path)


def test_a_drawing_file_too_large_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    from player import drawing

    path = tmp_path / "padded.json"
    path.write_bytes(b'{"canvas": [400, 400], "strokes": []}' + b" " * drawing.MAX_BYTES)
    monkeypatch.setattr(drawing.json, "loads", lambda data: pytest.fail("parsed a file over the limit"))
    with pytest.raises(DrawingError) as e:
        load_drawing(path)
    # just over the limit: in bytes, where "4.0 MB (a drawing is at most 4 MB)" looked within it
    assert str(e.value) == f"{path}: too large: {path.stat().st_size:,} bytes (a drawing is at most 4,000,000)"
    path.write_bytes(b" " * 5_000_000)
    with pytest.raises(DrawingError) as e:
        load_drawing(path)
    assert str(e.value) == f"{path}: too large: 5.0 MB (a drawing is at most 4 MB)"


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_a_device_that_never_ends_is_not_read_forever():
    with pytest.raises(DrawingError, match="too large"):
        load_drawing("/dev/zero")


def test_a_number_with_5000_digits_says_what_is_wrong_with_the_drawing(tmp_path):
    """Python refuses to convert it (sys.set_int_max_str_digits): not the user's business."""
    path = tmp_path / "digits.json"
    path.write_text('{"canvas": [400, 400], "strokes": [[[' + "9" * 5000 + ", 2]]]}")
    with pytest.raises(DrawingError) as e:
        load_drawing(path)
    assert str(e.value) == f"{path}: not a stroke drawing: a number in it has 5000 digits (coordinates are pixels)"
