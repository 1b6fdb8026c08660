"""digits-predict: answers, batching across files, one-line errors and exit codes, --json.

The mechanics run on a tiny linear ONNX model built here (needs the `onnx` package); the
answers that need a trained model use the shipped one and are skipped until it exists.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from player import predict
from player.drawing import MAX_POINTS
from player.model import Model, find_model
from player.predict import main
from player.preprocess import PREPROCESS_VERSION

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
ONE = DATA / "one.json"
SEVEN = [[60, 50], [150, 50], [90, 170]]  # a "7" as one polyline, in a 200x200 picture


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """A linear softmax model with the player's interface: any answer, but deterministic."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    weights = np.random.default_rng(0).normal(0, 0.05, (28 * 28, 10)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["image", "flat_shape"], ["flat"]),
         helper.make_node("MatMul", ["flat", "weights"], ["logits"]),
         helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1)],
        "tiny",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 28, 28, 1])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 10])],
        initializer=[numpy_helper.from_array(np.array([-1, 28 * 28], np.int64), "flat_shape"),
                     numpy_helper.from_array(weights, "weights")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    helper.set_model_props(model, {"preprocess_version": PREPROCESS_VERSION})
    path = tmp_path_factory.mktemp("model") / "tiny.onnx"
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module")
def trained() -> Path:
    """The shipped model, once there is a trained one."""
    path = find_model()
    if not path.is_file():
        pytest.skip(f"no trained model yet at {path} (train and export one, or set DIGITS_MODEL)")
    accuracy = Model(path).metadata.get("mnist_test_accuracy")
    if accuracy is not None and float(accuracy) < 0.9:
        pytest.skip(f"{path} is not a trained model (MNIST test accuracy {accuracy})")
    return path


def picture(path: Path, polyline, ink=0, paper=255, mode="L", width=14) -> Path:
    from PIL import Image, ImageDraw

    image = Image.new(mode, (200, 200), paper)
    ImageDraw.Draw(image).line([tuple(p) for p in polyline], fill=ink, width=width)
    image.save(path)
    return path


def drawing(path: Path, strokes, canvas=(400, 400)) -> Path:
    path.write_text(json.dumps({"canvas": list(canvas), "brush": 12, "strokes": strokes}))
    return path


def run(capsys, *args) -> tuple[int, list[str], list[str]]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def test_one_is_read_as_1(trained, capsys):
    assert run(capsys, "--model", trained, ONE) == (0, [f"{ONE}: 1"], [])


def test_pictures_of_a_1_in_both_polarities(trained, tmp_path, capsys):
    dark = picture(tmp_path / "dark.png", [[100, 30], [100, 170]])
    light = picture(tmp_path / "light.png", [[100, 30], [100, 170]], ink=255, paper=0)
    assert run(capsys, "--model", trained, dark, light) == (0, [f"{dark}: 1", f"{light}: 1"], [])


def test_pictures_of_touching_digits_read_as_their_digits(trained, mnist_small, tmp_path, capsys):
    """Issue 11: two MNIST test digits whose ink touches or overlaps side to side (no empty
    column between them) were one piece of ink, read as one digit; the model now chooses the
    split, as for drawings, and the JSON has one probability row per digit."""
    from PIL import Image

    _, _, x_test, y_test = mnist_small
    files, labels = [], []
    for i in range(0, 24, 2):
        big = [np.asarray(Image.fromarray(x_test[k]).resize((84, 84), Image.BICUBIC)) for k in (i, i + 1)]
        big = [d[:, np.flatnonzero(d.max(axis=0) > 25)[0] : np.flatnonzero(d.max(axis=0) > 25)[-1] + 1] for d in big]
        ink = np.zeros((144, 60 + big[0].shape[1] + big[1].shape[1] - 4), np.uint8)
        ink[30:114, 30 : 30 + big[0].shape[1]] = big[0]
        right = ink[30:114, 26 + big[0].shape[1] : 26 + big[0].shape[1] + big[1].shape[1]]
        np.maximum(right, big[1], out=right)  # the second digit's ink 4 px (5% of its height) into the first's
        Image.fromarray(255 - ink).save(tmp_path / f"{i}.png")
        files.append(tmp_path / f"{i}.png")
        labels.append(f"{y_test[i]}{y_test[i + 1]}")
    code, out, err = run(capsys, "--model", trained, "--json", "--threshold", "0", *files)
    results = [json.loads(line) for line in out]
    assert (code, err) == (0, [])
    assert [len(r["probabilities"]) for r in results] == [len(r["digits"]) for r in results]
    assert sum(r["digits"] == label for r, label in zip(results, labels, strict=True)) >= 0.8 * len(labels)


PEN = sorted(DATA.glob("pen-*.json"))  # real pen digits of unseen writers, the label in the file


def test_pen_drawings_in_one_call(trained, capsys):
    assert len(PEN) >= 5
    code, out, err = run(capsys, "--model", trained, *PEN)
    assert (code, err) == (0, [])
    assert out == [f"{p}: {json.loads(p.read_text())['label']}" for p in PEN]


def test_pen_drawings_are_split_into_their_digits(trained, capsys):
    """How a drawing is split is the model's decision (player/segment.py): with the shipped
    model each pen number splits into as many parts as it has digits, each with probabilities."""
    code, out, _ = run(capsys, "--model", trained, "--json", *PEN)
    assert code == 0
    results = [json.loads(line) for line in out]
    assert [len(r["digits"]) for r in results] == [len(json.loads(p.read_text())["label"]) for p in PEN]
    assert [len(r["probabilities"]) for r in results] == [len(r["digits"]) for r in results]


def test_default_model_is_found(trained, capsys, monkeypatch):
    monkeypatch.setenv("DIGITS_MODEL", str(trained))
    assert run(capsys, ONE) == (0, [f"{ONE}: 1"], [])


def test_several_files_in_one_call_keep_their_order(tiny, tmp_path, capsys):
    two = drawing(tmp_path / "two-digits.json", [[[50, 100], [50, 300]], [[200, 100], [300, 100], [220, 300]]])
    seven = picture(tmp_path / "seven.png", SEVEN)
    code, out, err = run(capsys, "--model", tiny, ONE, two, seven, ONE)
    assert code == 0 and err == []
    assert [line.rsplit(": ", 1)[0] for line in out] == [str(ONE), str(two), str(seven), str(ONE)]
    digits = [line.rsplit(": ", 1)[1] for line in out]
    assert [len(d) for d in digits] == [1, 2, 1, 1] and digits[0] == digits[3]


@pytest.mark.parametrize("batch_size, expected_calls", [(256, [5]), (2, [2, 2, 1]), (1, [1] * 5)])
def test_files_are_batched_together(tiny, tmp_path, capsys, monkeypatch, batch_size, expected_calls):
    calls = []
    real_predict = Model.predict_parts

    def counting(self, images):
        calls.append(len(images))
        return real_predict(self, images)

    monkeypatch.setattr(Model, "predict_parts", counting)
    two = drawing(tmp_path / "two.json", [[[50, 100], [50, 300]], [[200, 100], [300, 100], [220, 300]]])
    code, out, _ = run(capsys, "--model", tiny, "--batch-size", batch_size, "--json", ONE, two, ONE, ONE)
    assert code == 0 and len(out) == 4
    assert calls == expected_calls
    # the answers do not depend on how the files were batched
    probs = [json.loads(line)["probabilities"] for line in out]
    assert probs[0] == probs[2] == probs[3] and len(probs[1]) == 2


def test_batched_answers_equal_single_answers(tiny, tmp_path, capsys):
    files = [drawing(tmp_path / f"d{i}.json", [[[10 * i, 0], [30, 40 + 7 * i], [60, 5 * i]]]) for i in range(7)]
    code, together, _ = run(capsys, "--model", tiny, "--json", "--batch-size", 3, *files)
    alone = [run(capsys, "--model", tiny, "--json", f)[1][0] for f in files]
    assert code == 0 and together == alone


def test_files_are_read_chunk_by_chunk_with_the_same_answers(tiny, tmp_path, capsys, monkeypatch):
    """The model reads CHUNK files' images at a time, while the next chunk is read; lines come
    out in the files' order, bad files in their place, answers as when all go together."""
    files = [drawing(tmp_path / f"d{i}.json", [[[10 * i, 0], [30, 40 + 7 * i], [60, 5 * i]]]) for i in range(7)]
    (tmp_path / "bad.json").write_text("{")
    files.insert(3, tmp_path / "bad.json")
    code, together, _ = run(capsys, "--model", tiny, "--json", *files)
    calls = []
    real = predict.predict_batches

    def counting(model, images, batch_size, memory=None):
        calls.append(len(images))
        return real(model, images, batch_size, memory)

    monkeypatch.setattr(predict, "CHUNK", 3)
    monkeypatch.setattr(predict, "predict_batches", counting)
    assert run(capsys, "--model", tiny, "--json", *files) == (code, together, [])
    assert code == 1 and calls == [3, 2, 2]  # files 0-2, 3-5 (3 is bad), 6-7: one image each
    assert [json.loads(line)["file"] for line in together] == [str(f) for f in files]


def test_a_model_failing_in_a_later_chunk_is_exit_2(tiny, tmp_path, capsys, monkeypatch):
    files = [drawing(tmp_path / f"d{i}.json", [[[10 * i, 0], [30, 40], [60, 5]]]) for i in range(5)]
    real, calls = Model.predict_parts, []

    def failing_later(self, images):
        calls.append(len(images))
        if len(calls) > 1:
            raise predict.ModelError("tiny.onnx: the model failed to run (out of memory)")
        return real(self, images)

    monkeypatch.setattr(predict, "CHUNK", 2)
    monkeypatch.setattr(Model, "predict_parts", failing_later)
    code, out, err = run(capsys, "--model", tiny, *files)
    assert code == 2 and len(out) <= 2 and err == ["digits-predict: tiny.onnx: the model failed to run (out of memory)"]


def test_both_polarities_and_transparency_give_the_same_answer(tiny, tmp_path, capsys):
    dark = picture(tmp_path / "dark.png", SEVEN)
    light = picture(tmp_path / "light.png", SEVEN, ink=255, paper=0)
    clear = picture(tmp_path / "clear.png", SEVEN, ink=(0, 0, 0, 255), paper=(0, 0, 0, 0), mode="RGBA")
    colour = picture(tmp_path / "colour.jpg", SEVEN, ink=(20, 30, 140), paper=(250, 245, 230), mode="RGB")
    code, out, err = run(capsys, "--model", tiny, "--json", dark, light, clear, colour)
    assert code == 0 and err == []
    results = [json.loads(line) for line in out]
    assert len({r["digits"] for r in results}) == 1 and len(results[0]["digits"]) == 1
    for r in results[1:]:
        np.testing.assert_allclose(r["probabilities"], results[0]["probabilities"], atol=0.02)


def bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, part of the expected message)"""
    (tmp_path / "bad.json").write_text('{"canvas": [400, 400], "strokes": [[[1, 2]]')
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00garbage\x80")
    (tmp_path / "list.json").write_text("[[1, 2], [3, 4]]")
    (tmp_path / "nostrokes.json").write_text('{"canvas": [400, 400]}')
    (tmp_path / "nan.json").write_text('{"canvas": [400, 400], "strokes": [[[NaN, 2]]]}')
    (tmp_path / "huge.json").write_text('{"canvas": [' + "9" * 400 + ', 400], "strokes": []}')
    (tmp_path / "deep.json").write_text("[" * 100_000)
    (tmp_path / "text.png").write_text("this is not a picture\n")
    (tmp_path / "empty.png").write_bytes(b"")
    drawing(tmp_path / "empty.json", [])
    drawing(tmp_path / "emptystrokes.json", [[], []])
    picture(tmp_path / "blank.png", [[10, 10], [10, 10]], ink=255, paper=255)
    truncated = picture(tmp_path / "truncated.png", SEVEN).read_bytes()
    (tmp_path / "truncated.png").write_bytes(truncated[: len(truncated) // 2])
    (tmp_path / "folder.json").mkdir()
    return {
        "missing": (tmp_path / "missing.json", "cannot read"),
        "missing-image": (tmp_path / "missing.png", "cannot read"),
        "folder": (tmp_path / "folder.json", "cannot read"),
        "bad-json": (tmp_path / "bad.json", "not JSON"),
        "binary-json": (tmp_path / "binary.json", "not JSON"),
        "deep-json": (tmp_path / "deep.json", "not JSON"),
        "not-a-drawing": (tmp_path / "list.json", "not a stroke drawing"),
        "no-strokes": (tmp_path / "nostrokes.json", 'missing "strokes"'),
        "nan": (tmp_path / "nan.json", "finite number"),
        "huge-number": (tmp_path / "huge.json", "not a stroke drawing"),
        "text-as-png": (tmp_path / "text.png", "not an image"),
        "empty-file": (tmp_path / "empty.png", "not an image"),
        "truncated-png": (tmp_path / "truncated.png", "image"),
        "empty-drawing": (tmp_path / "empty.json", "no ink"),
        "empty-strokes": (tmp_path / "emptystrokes.json", "no ink"),
        "blank-picture": (tmp_path / "blank.png", "no ink"),
    }


BAD = ["missing", "missing-image", "folder", "bad-json", "binary-json", "deep-json", "not-a-drawing", "no-strokes",
       "nan", "huge-number", "text-as-png", "empty-file", "truncated-png", "empty-drawing", "empty-strokes",
       "blank-picture"]


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_line_naming_the_file(tiny, tmp_path, capsys, case):
    path, reason = bad_inputs(tmp_path)[case]
    code, out, err = run(capsys, "--model", tiny, path)
    assert code == 1 and out == []
    assert len(err) == 1 and err[0].startswith(f"{path}: ") and reason in err[0], err


def test_bad_files_do_not_stop_the_good_ones(tiny, tmp_path, capsys):
    cases = bad_inputs(tmp_path)
    bad = [cases[c][0] for c in BAD]
    code, out, err = run(capsys, "--model", tiny, ONE, *bad, ONE)
    assert code == 1
    assert [line.rsplit(": ", 1)[0] for line in out] == [str(ONE), str(ONE)]
    assert [line.split(": ")[0] for line in err] == [str(p) for p in bad]


def test_json_output_parses_line_by_line(tiny, tmp_path, capsys):
    two = drawing(tmp_path / "two.json", [[[50, 100], [50, 300]], [[200, 100], [300, 100], [220, 300]]])
    empty = drawing(tmp_path / "empty.json", [])
    code, out, err = run(capsys, "--model", tiny, "--json", "--threshold", "0", ONE, empty, two)
    assert code == 1 and err == []
    one, bad, pair = (json.loads(line) for line in out)
    assert bad == {"file": str(empty), "error": "no ink"}
    for result, n in ((one, 1), (pair, 2)):
        # a drawing's parts also say how sure the model is that each is no digit (0: it cannot tell)
        assert set(result) == {"file", "digits", "probabilities", "confidence", "not_digit"}
        assert result["not_digit"] == [0.0] * n
        assert len(result["digits"]) == n and len(result["probabilities"]) == n
        probs = np.array(result["probabilities"])
        assert probs.shape == (n, 10) and np.allclose(probs.sum(axis=1), 1, atol=1e-3)
        assert result["digits"] == "".join(str(int(p.argmax())) for p in probs)
        assert result["confidence"] == pytest.approx(np.prod(probs.max(axis=1)), abs=1e-3)
    assert one["file"] == str(ONE) and pair["file"] == str(two)


def test_threshold_shows_unsure_digits_as_question_marks(tiny, capsys):
    code, out, _ = run(capsys, "--model", tiny, "--json", ONE)
    top = max(json.loads(out[0])["probabilities"][0])
    assert run(capsys, "--model", tiny, "--threshold", min(1.0, top + 0.01), ONE)[1] == [f"{ONE}: ?"]
    assert run(capsys, "--model", tiny, "--threshold", 0, ONE)[1][0] != f"{ONE}: ?"


def test_missing_model(capsys):
    code, out, err = run(capsys, "--model", "/nonexistent/digits.onnx", ONE)
    assert code == 2 and out == [] and len(err) == 1 and "/nonexistent/digits.onnx" in err[0]


def test_missing_default_model(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("DIGITS_MODEL", str(tmp_path / "nothing.onnx"))
    code, out, err = run(capsys, ONE)
    assert code == 2 and out == [] and len(err) == 1 and "nothing.onnx" in err[0]


@pytest.mark.parametrize("content", [b"", b"garbage, not protobuf\n" * 10])
def test_corrupt_model(tmp_path, capsys, content):
    path = tmp_path / "corrupt.onnx"
    path.write_bytes(content)
    code, out, err = run(capsys, "--model", path, ONE)
    assert code == 2 and out == [] and len(err) == 1 and str(path) in err[0]


def test_model_for_another_preprocessing_version(tiny, tmp_path, capsys):
    onnx = pytest.importorskip("onnx")
    model = onnx.load(str(tiny))
    for prop in model.metadata_props:
        if prop.key == "preprocess_version":
            prop.value = PREPROCESS_VERSION + ".old"
    path = tmp_path / "old.onnx"
    onnx.save(model, str(path))
    code, out, err = run(capsys, "--model", path, ONE)
    assert code == 2 and out == [] and len(err) == 1
    assert str(path) in err[0] and "preprocessing version" in err[0]


@pytest.mark.parametrize("args", [[], ["--threshold", "2", "x"], ["--threshold", "abc", "x"],
                                  ["--batch-size", "0", "x"], ["--no-such-option", "x"]])
def test_usage_errors_exit_2(capsys, args):
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 2 and "usage:" in capsys.readouterr().err


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    out = capsys.readouterr().out
    assert e.value.code == 0 and out.startswith("digits-predict ") and PREPROCESS_VERSION in out


def test_the_version_is_looked_up_only_when_asked(monkeypatch):
    """importlib.metadata costs every run tens of milliseconds: only --version pays it."""
    monkeypatch.setattr(predict, "_version", lambda: pytest.fail("version looked up without --version"))
    assert predict.parse_args(["a.json"]).files == ["a.json"]


def test_startup_imports_only_what_reading_needs():
    """Each module below costs every run milliseconds (importlib.resources brings tempfile, shutil,
    random...), and a run with --model needs none of them."""
    code = ("import sys; before = set(sys.modules); import player.predict; player.predict.parse_args(['a.json']); "
            "new = {'importlib.metadata', 'importlib.resources', 'tempfile'} & (set(sys.modules) - before); "
            "sys.exit(' '.join(new) or None)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=60, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_no_tensorflow_imported():
    code = "import sys, player.predict; sys.exit('tensorflow' in sys.modules or 'keras' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=60).returncode == 0


@pytest.mark.parametrize("how", ["module", "script"])
def test_command_line(tiny, tmp_path, how):
    script = shutil.which("digits-predict", path=str(Path(sys.executable).parent)) or shutil.which("digits-predict")
    if how == "script" and not script:
        pytest.skip("digits-predict is not installed (pip install -e .)")
    command = [sys.executable, "-m", "player.predict"] if how == "module" else [script]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DIGITS_MODEL": str(tiny)}
    (tmp_path / "bad.json").write_text("{")
    done = subprocess.run([*command, "--json", str(ONE), str(tmp_path / "bad.json")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert first["file"] == str(ONE) and len(first["digits"]) == 1
    assert second["file"] == str(tmp_path / "bad.json") and second["error"].startswith("not JSON")


def test_read_file_gives_digit_images(tmp_path):
    images = predict.read_file(str(picture(tmp_path / "seven.png", SEVEN))).images
    assert images.shape == (1, 28, 28) and images.dtype == np.float32
    assert predict.read_file(str(ONE)).images.shape == (1, 28, 28)  # one stroke: one candidate


def test_read_file_keeps_what_choosing_needs(tmp_path):
    """A drawing keeps its candidates and click size (two brush widths), a picture its candidates."""
    drawn = predict.read_file(str(drawing(tmp_path / "one.json", [[[100, 50], [100, 350]]])))
    assert drawn.plan is not None and drawn.min_size == 24 and drawn.candidates is None
    seen = predict.read_file(str(picture(tmp_path / "seven.png", SEVEN)))
    assert seen.plan is None and seen.candidates is not None and len(seen.candidates.runs) == len(seen.images)


def test_what_is_no_digit_is_answered_with_a_question_mark(trained, tmp_path, capsys):
    """A click, a scribble over the canvas and a flat line across it are no digits: '?', and
    the JSON says how sure the model is that each part is no digit."""
    import numpy as np

    rng = np.random.default_rng(0)
    zigzag = [[float(x), float(y)] for y in range(40, 440, 25) for x in ((40, 440) if y % 50 else (440, 40))]
    wobbly = [[40.0 + i * 4, 240.0 + 6 * np.sin(i / 7) + rng.normal(0, 1)] for i in range(100)]
    drawings = {"click": [[[240.0, 240.0]]], "scribble": [zigzag], "line": [wobbly]}
    paths = []
    for name, strokes in drawings.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({"canvas": [480, 480], "brush": 16, "strokes": strokes}))
        paths.append(path)
    code, out, err = run(capsys, "--model", trained, "--json", *paths)
    assert (code, err) == (0, [])
    for line in out:
        result = json.loads(line)
        assert result["digits"] == "?", result
        assert min(result["not_digit"]) > 0.5, result


# limits (README, "digits-predict"): one plain line each, no Pillow warning, nothing decoded first


def png(path: Path, width: int, height: int, dark_columns: tuple[int, int] | None = None, rows=True) -> Path:
    """An 8-bit greyscale PNG written row by row (white, with a dark band of columns), without
    ever holding the picture in memory: pictures far beyond what Pillow calls a bomb. Without
    rows, only the header (all it takes to know the size)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = bytearray(b"\xff" * width)
    if dark_columns:
        row[dark_columns[0] : dark_columns[1]] = b"\x00" * (dark_columns[1] - dark_columns[0])
    blank, inked = b"\0" + b"\xff" * width, b"\0" + bytes(row)
    squeeze = zlib.compressobj(1)
    body = [squeeze.compress(inked if height // 5 <= y < 4 * height // 5 else blank) for y in range(height * rows)]
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(body) + squeeze.flush())
                     + chunk(b"IEND", b""))
    return path


@pytest.mark.slow
def test_a_12000_by_12000_picture_is_read_without_a_warning(tiny, tmp_path, capsys):
    import warnings

    from PIL import Image

    path = png(tmp_path / "big.png", 12_000, 12_000, dark_columns=(5_800, 6_400))  # a "1", 144 megapixels
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, out, err = run(capsys, "--model", tiny, "--json", path)
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]
    assert (code, err) == (0, []) and len(json.loads(out[0])["digits"]) == 1


def test_a_20000_by_20000_picture_is_refused_in_one_plain_line(tiny, tmp_path, capsys):
    path = png(tmp_path / "huge.png", 20_000, 20_000, rows=False)  # refused from the header: nothing decoded
    code, out, err = run(capsys, "--model", tiny, path)
    assert (code, out) == (1, [])
    assert err == [f"{path}: picture too large: 20000x20000 pixels, 400 megapixels (at most 150): scale it down"]


@pytest.mark.parametrize("case, reason", [
    ("points", f"too many points: {MAX_POINTS + 1:,} (a drawing has at most {MAX_POINTS:,})"),
    ("digits", "not a stroke drawing: a number in it has 5000 digits (coordinates are pixels)"),
])
def test_a_drawing_over_a_limit_is_one_line(tiny, tmp_path, capsys, case, reason):
    path = tmp_path / f"{case}.json"
    if case == "points":
        drawing(path, [[[i % 400, i % 300] for i in range(MAX_POINTS + 1)]])
    else:
        path.write_text('{"canvas": [400, 400], "strokes": [[[' + "9" * 5000 + ", 2]]]}")
    code, out, err = run(capsys, "--model", tiny, path)
    assert (code, out) == (1, []) and len(err) == 1 and err[0].startswith(f"{path}: ") and err[0].endswith(reason)


def test_a_file_over_the_picture_size_limit_is_refused_unread(tiny, tmp_path, capsys):
    path = tmp_path / "huge.png"
    with path.open("wb") as f:
        f.truncate(200_000_000)  # sparse: 200 MB that take no disk, and are never read
    code, out, err = run(capsys, "--model", tiny, path)
    assert (code, out, err) == (1, [], [f"{path}: too large: 200.0 MB (a picture is at most 150 MB)"])
