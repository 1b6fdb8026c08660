"""player.model.Model: the interface checks at load, batched prediction, thresholds, find_model.

Tiny ONNX graphs built with `onnx.helper` stand in for the real model (skipped where the
`onnx` package is missing); the shipped model is checked too once it exists.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from player.model import MODEL_FILE, Model, ModelError, find_model, in_batches, reading
from player.preprocess import PREPROCESS_VERSION

ROOT = Path(__file__).resolve().parents[2]
HOT = 3  # the tiny model's answer for an all-ink image; a blank image gets 0.1 everywhere


def tiny_model(path: Path, *, input_name="image", output_name="probabilities", shape=("N", 28, 28, 1),
               elem_type=None, metadata=None, extra_input=False) -> Path:
    """A linear softmax model: an all-ones image -> class HOT with p ~ 1, blank -> uniform."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    elem_type = TensorProto.FLOAT if elem_type is None else elem_type
    weights = np.zeros((28 * 28, 10), np.float32)
    weights[:, HOT] = 20.0 / (28 * 28)
    nodes = [
        helper.make_node("Cast", [input_name], ["x"], to=TensorProto.FLOAT),
        helper.make_node("Reshape", ["x", "flat_shape"], ["flat"]),
        helper.make_node("MatMul", ["flat", "weights"], ["logits"]),
        helper.make_node("Softmax", ["logits"], [output_name], axis=-1),
    ]
    inputs = [helper.make_tensor_value_info(input_name, elem_type, list(shape))]
    if extra_input:
        inputs.append(helper.make_tensor_value_info("extra", TensorProto.FLOAT, [1]))
    graph = helper.make_graph(
        nodes, "tiny", inputs,
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, [shape[0], 10])],
        initializer=[numpy_helper.from_array(np.array([-1, 28 * 28], np.int64), "flat_shape"),
                     numpy_helper.from_array(weights, "weights")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    meta = {"preprocess_version": PREPROCESS_VERSION} if metadata is None else metadata
    helper.set_model_props(model, meta)
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Model:
    return Model(tiny_model(tmp_path_factory.mktemp("model") / "tiny.onnx"))


def shipped_model_path() -> Path:
    path = find_model()
    if not path.is_file():
        pytest.skip(f"no trained model yet at {path} (train and export one, or set DIGITS_MODEL)")
    return path


def test_predict_shape_and_probabilities(tiny):
    for n in (1, 64):
        probs = tiny.predict(np.random.default_rng(n).random((n, 28, 28), np.float32))
        assert probs.shape == (n, 10) and probs.dtype == np.float32
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_predict_accepts_channel_axis_and_empty_batch(tiny):
    images = np.random.default_rng(0).random((5, 28, 28))
    np.testing.assert_allclose(tiny.predict(images[..., None]), tiny.predict(images), atol=1e-6)
    assert tiny.predict(np.zeros((0, 28, 28))).shape == (0, 10)


def test_batch_does_not_change_answers(tiny):
    images = np.random.default_rng(1).random((64, 28, 28), np.float32)
    one_by_one = np.concatenate([tiny.predict(images[i : i + 1]) for i in range(len(images))])
    np.testing.assert_allclose(tiny.predict(images), one_by_one, atol=1e-6)


def test_in_batches_calls_at_most_batch_size_and_keeps_the_order(tiny):
    images = np.random.default_rng(2).random((11, 28, 28), np.float32)
    sizes = []

    def run(batch):
        sizes.append(len(batch))
        return tiny.predict(batch)

    np.testing.assert_allclose(in_batches(run, images, 4), tiny.predict(images), atol=1e-6)
    assert sizes == [4, 4, 3]
    assert in_batches(run, images[:0], 4).shape == (0, 10)  # run's own answer for no images


def test_in_batches_joins_each_output_of_a_several_output_run(tiny):
    images = np.random.default_rng(3).random((7, 28, 28), np.float32)
    probs, not_digit = in_batches(tiny.predict_parts, images, 3)
    whole = tiny.predict_parts(images)
    np.testing.assert_allclose(probs, whole[0], atol=1e-6)
    assert not_digit.shape == (7,) and np.array_equal(not_digit, whole[1])
    assert [a.shape for a in in_batches(tiny.predict_parts, images[:0], 3)] == [(0, 10), (0,)]


def test_read_threshold_gives_question_mark(tiny):
    ink, blank = np.ones((1, 28, 28), np.float32), np.zeros((1, 28, 28), np.float32)
    sure = tiny.read(ink, threshold=0.9)
    assert sure.digits == str(HOT) and sure.confidence > 0.99
    assert tiny.read(blank, threshold=0.5).digits == "?"  # uniform: top probability 0.1
    assert tiny.read(blank, threshold=0.1).digits == "0"  # at the threshold: shown (ties -> 0)
    both = tiny.read(np.concatenate([ink, blank]), threshold=0.5)
    assert both.digits == f"{HOT}?" and both.probabilities.shape == (2, 10)
    assert both.confidence == pytest.approx(float(both.probabilities.max(axis=1).prod()), rel=1e-6)
    empty = tiny.read(np.zeros((0, 28, 28), np.float32))
    assert empty.digits == "" and empty.confidence == 0.0


def test_threads_set_onnxruntimes_threads(tiny):
    """digits-predict leaves a core to reading files: the model gets the others."""
    assert Model(tiny.path, threads=1).session.get_session_options().intra_op_num_threads == 1
    assert Model(tiny.path).session.get_session_options().intra_op_num_threads == 0  # onnxruntime's own choice


def test_reading_shows_each_digit_or_a_question_mark():
    """Per row: "?" where the top probability is below the threshold or the part is no digit,
    else the most likely digit; nothing read from no rows."""
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.full(10, 0.3), size=200).astype(np.float32)
    not_digit = rng.uniform(size=200)
    for threshold in (0.0, 0.5, 0.9):
        expected = "".join("?" if p.max() < threshold or r > 0.5 else str(p.argmax())
                           for p, r in zip(probs, not_digit, strict=True))
        assert reading(probs, threshold, not_digit).digits == expected
    assert reading(probs, 0.0).digits == "".join(map(str, probs.argmax(axis=1)))
    assert reading(np.zeros((0, 10), np.float32), 0.5, np.zeros(0)).digits == ""


def test_read_strokes(tiny, one_drawing):
    result = tiny.read_strokes(one_drawing["strokes"])
    assert len(result.digits) == 1 and result.probabilities.shape == (1, 10)
    assert tiny.read_strokes([]).digits == ""


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"input_name": "input_1"}, "expected input 'image'"),
        ({"output_name": "dense_2"}, "output 'probabilities'"),
        ({"extra_input": True}, "expected input 'image'"),
        ({"shape": ("N", 28, 28)}, "input must be float [N, 28, 28, 1]"),
        ({"shape": ("N", 1, 28, 28)}, "input must be float [N, 28, 28, 1]"),
        ({"elem_type": 11}, "input must be float"),  # TensorProto.DOUBLE
        ({"metadata": {}}, "preprocessing version None"),
        ({"metadata": {"preprocess_version": PREPROCESS_VERSION + "x"}}, "re-export the model"),
    ],
    ids=["input-name", "output-name", "two-inputs", "3-d", "channels-first", "double", "no-version",
         "other-version"],
)
def test_interface_checked_at_load(tmp_path, kwargs, expected):
    path = tiny_model(tmp_path / "bad.onnx", **kwargs)
    with pytest.raises(ModelError) as e:
        Model(path)
    message = str(e.value)
    assert expected in message and str(path) in message and "\n" not in message


@pytest.mark.parametrize("content", [None, b"", b"not a model at all\n", bytes(range(256)) * 4])
def test_missing_or_corrupt_file(tmp_path, content):
    path = tmp_path / "model.onnx"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelError) as e:
        Model(path)
    assert str(path) in str(e.value) and "\n" not in str(e.value)


def test_truncated_model(tmp_path):
    good = tiny_model(tmp_path / "good.onnx").read_bytes()
    path = tmp_path / "truncated.onnx"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(ModelError, match="not a usable ONNX model"):
        Model(path)


def test_directory_is_not_a_model(tmp_path):
    with pytest.raises(ModelError, match="a folder, not an ONNX model file"):
        Model(tmp_path)


@pytest.mark.parametrize("where", ["file", "folder"])
def test_a_model_that_may_not_be_read_says_so(tmp_path, monkeypatch, where):
    # a file without read permission was "not a usable ONNX model (... failed:system error number
    # 13)"; one under a folder without it, a PermissionError traceback from Path.is_file
    import builtins

    import player.model

    path = tiny_model(tmp_path / "model.onnx")

    def denied(real):
        def check(p, *args, **kwargs):
            if Path(p) == path:
                raise PermissionError(13, "Permission denied", str(path))
            return real(p, *args, **kwargs)
        return check

    if where == "file":
        monkeypatch.setattr(player.model, "open", denied(builtins.open), raising=False)
    else:
        monkeypatch.setattr(Path, "is_file", denied(Path.is_file))
    with pytest.raises(ModelError) as e:
        Model(path)
    assert str(e.value) == f"{path}: cannot read (Permission denied)"


def test_find_model_honours_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DIGITS_MODEL", str(tmp_path / "mine.onnx"))
    assert find_model() == tmp_path / "mine.onnx"


def test_find_model_from_another_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("DIGITS_MODEL", raising=False)
    monkeypatch.chdir(tmp_path)
    path = find_model()
    assert path.is_absolute() and path.name == MODEL_FILE
    assert path.parent.name == "models" and tmp_path not in path.parents
    env = {k: v for k, v in os.environ.items() if k != "DIGITS_MODEL"}
    out = subprocess.run([sys.executable, "-c", "from player.model import find_model; print(find_model())"],
                         cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                         check=True, timeout=60)
    assert Path(out.stdout.strip()) == path


def test_shipped_model_interface():
    model = Model(shipped_model_path())
    assert model.metadata.get("preprocess_version") == PREPROCESS_VERSION
    images = np.random.default_rng(2).random((64, 28, 28), np.float32)
    probs = model.predict(images)
    assert probs.shape == (64, 10) and np.isfinite(probs).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(model.predict(images[:1]), probs[:1], atol=1e-5)


def test_fixed_batch_model_is_rejected_at_load(tmp_path):
    path = tiny_model(tmp_path / "fixed.onnx", shape=(1, 28, 28, 1))
    with pytest.raises(ModelError, match="free N"):
        Model(path)


class BrokenSession:
    """Stands in for an onnxruntime session that loads but fails at run time, or answers in a
    shape the player cannot use."""

    def __init__(self, error=None, output=None):
        self.error, self.output = error, output

    def run(self, names, feeds):
        if self.error is not None:
            raise self.error
        return [self.output]


@pytest.mark.parametrize("session,expected", [
    (BrokenSession(error=RuntimeError("[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION\nnode Reshape failed")),
     "the model failed to run ([ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION)"),
    (BrokenSession(error=RuntimeError("")), "the model failed to run (RuntimeError)"),
    (BrokenSession(output=np.zeros((2, 7), np.float32)), "expected (n, 10) probabilities, got shape (2, 7)"),
])
def test_predict_failures_are_one_line_model_errors(tmp_path, monkeypatch, session, expected):
    """The app and digits-predict both get this one line from Model.predict."""
    model = Model(tiny_model(tmp_path / "tiny.onnx"))
    monkeypatch.setattr(model, "session", session)
    with pytest.raises(ModelError) as e:
        model.predict(np.zeros((2, 28, 28), np.float32))
    assert str(e.value) == f"{model.path}: {expected}"
