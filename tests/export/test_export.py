"""digits-export: a small Keras model through the real export, then everything the player relies on.

One session fixture trains the shipped architecture, both heads, for two epochs on the
2,000-image MNIST subset (seconds), saves it with its three outputs as digits-train does
(probabilities, not_digit, features) and exports it once with --quantize, checked on the first
1,000 test images (the fewest on which the int8 gate can tell 0.1 points); most tests read those
files. A second fixture keeps only its probabilities, the one-output format of earlier models,
and exports that. The checks that must fail the export (parity, size, int8 accuracy)
are driven by tightening the module's limits or by spoiling the int8 model's answers, and bad
inputs run the real command line, so stderr is what a user sees.
"""

import contextlib
import hashlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("tf2onnx")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pytestmark = pytest.mark.slow  # trains or exports real models: `pytest -m "not slow"` leaves it out

from export import convert, onnx_export  # noqa: E402
from export.quantize import cpu_features  # noqa: E402
from player.model import Model  # noqa: E402
from player.preprocess import PREPROCESS_VERSION  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TRAINING_METRICS = {"command": "digits-train --test", "created": "2026-01-02T03:04:05+00:00",
                    "mnist_test_accuracy": 0.5, "pen_val_accuracy": 0.25, "preprocess_version": PREPROCESS_VERSION,
                    "history": {"loss": [1.0]}}
TEST_IMAGES = 1000  # what the export checks here: the fewest --quantize accepts
# What the two-epoch mini model reaches on those images, measured once (fp32 94.2%, int8 94.4%),
# less a few points: a training or export that breaks the model falls far below.
MIN_MINI_ACCURACY = 0.91


def run_main(argv, **limits):
    """onnx_export.main in this process (TensorFlow is imported once per session); returns rc, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        for name, value in limits.items():
            mp.setattr(onnx_export, name, value)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = onnx_export.main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


def run_cli(*args, **kwargs):
    """`python -m export ...` in a fresh process: exit status and stderr exactly as a user gets them."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "export", *map(str, args)], capture_output=True, text=True,
                          cwd=kwargs.get("cwd", ROOT), env=env, timeout=120)


def onnx_files(folder: Path) -> list[str]:
    """Anything an export could leave behind: .onnx files and temporary .part files."""
    return sorted(p.name for p in folder.iterdir() if p.suffix in (".onnx", ".part", ".probe"))


@pytest.fixture(scope="session")
def keras_model(mnist_small, tmp_path_factory) -> Path:
    """models/digits.keras in miniature: the real architecture compiled by digits-train's own code,
    2 epochs on 2,000 MNIST images and 400 specks (not a digit), saved with the shipped outputs;
    a metrics.json beside."""
    import keras

    from training.model import NOT_A_DIGIT, shipped_model
    from training.train import new_model, targets

    x_train, y_train, _, _ = mnist_small
    specks = (np.random.default_rng(0).random((400, 28, 28)) < 0.1).astype(np.uint8) * 255
    x = np.concatenate([x_train, specks]).astype(np.float32)[..., None] / 255
    y = np.concatenate([y_train, np.full(len(specks), NOT_A_DIGIT)]).astype(np.int32)
    keras.utils.set_random_seed(0)
    model = new_model("digits", None, 3e-3, epochs=2, steps_per_epoch=-(-len(x) // 64))
    model.fit(x, targets(y, "digits"), batch_size=64, epochs=2, shuffle=True, verbose=0)
    folder = tmp_path_factory.mktemp("model")
    shipped_model(model).save(folder / "digits.keras")
    (folder / "metrics.json").write_text(json.dumps(TRAINING_METRICS))
    return folder / "digits.keras"


@pytest.fixture(scope="session")
def export_npz(mnist_path, mnist_small, tmp_path_factory) -> Path:
    """The mini model's training images and the first TEST_IMAGES test images, as an .npz."""
    x_train, y_train, _, _ = mnist_small
    with np.load(mnist_path, allow_pickle=False) as f:
        x_test, y_test = f["x_test"][:TEST_IMAGES], f["y_test"][:TEST_IMAGES]
    path = tmp_path_factory.mktemp("mnist") / "mnist-export.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


def export_files(out: Path, stdout: str = "", stderr: str = "") -> dict:
    return {"fp32": out, "int8": out.with_name("digits.int8.onnx"), "stdout": stdout, "stderr": stderr,
            "metrics": json.loads((out.parent / "metrics.json").read_text())}


@pytest.fixture(scope="session")
def exported(keras_model, export_npz):
    """One real export with --quantize, next to the model as in models/, through the real gates."""
    out = keras_model.parent / "digits.onnx"
    rc, stdout, stderr = run_main(["--model", keras_model, "--out", out, "--data", export_npz, "--quantize"])
    assert rc == 0, stderr
    return export_files(out, stdout, stderr)


@pytest.fixture(scope="session")
def one_output_model(keras_model, tmp_path_factory) -> Path:
    """The mini model with its probabilities only: the format of the models before not_digit."""
    import keras

    model = keras.models.load_model(keras_model, compile=False)
    path = tmp_path_factory.mktemp("one-output") / "digits.keras"
    keras.Model(model.input, model.outputs[0]).save(path)
    return path


@pytest.fixture(scope="session")
def exported_one_output(one_output_model, export_npz):
    out = one_output_model.parent / "digits.onnx"
    rc, stdout, stderr = run_main(["--model", one_output_model, "--out", out, "--data", export_npz, "--quantize"])
    assert rc == 0, stderr
    return export_files(out, stdout, stderr)


@pytest.fixture(scope="session")
def test_images(export_npz):
    with np.load(export_npz) as f:
        return f["x_test"].astype(np.float32)[..., None] / 255, f["y_test"]


def session(path: Path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def outputs_of(path: Path, x: np.ndarray) -> dict[str, np.ndarray]:
    s = session(path)
    names = [o.name for o in s.get_outputs()]
    return dict(zip(names, s.run(names, {"image": x}), strict=True))


def accuracy(path: Path, images) -> float:
    x, y = images
    return float((outputs_of(path, x)["probabilities"].argmax(1) == y).mean())


# ---------------------------------------------------------------- the exported model


def test_onnx_checker_passes_and_opset_is_the_chosen_one(exported):
    for path in (exported["fp32"], exported["int8"]):
        proto = onnx.load(path)
        onnx.checker.check_model(proto, full_check=True)
        assert {(o.domain, o.version) for o in proto.opset_import} == {("", convert.OPSET)}
        assert proto.ir_version <= 9, "onnxruntime 1.17, the player's minimum, reads IR <= 9"


def test_interface_is_image_in_three_outputs_out_in_the_players_order(exported):
    for path in (exported["fp32"], exported["int8"]):
        s = session(path)
        (inp,), outs = s.get_inputs(), s.get_outputs()
        assert (inp.name, inp.type, inp.shape[1:]) == ("image", "tensor(float)", [28, 28, 1])
        assert isinstance(inp.shape[0], str), "the batch dimension must be dynamic"
        assert [(o.name, o.type, o.shape[1:]) for o in outs] == [
            ("probabilities", "tensor(float)", [10]), ("not_digit", "tensor(float)", [1]),
            ("features", "tensor(float)", [128])], path
        assert all(isinstance(o.shape[0], str) for o in outs)


@pytest.mark.parametrize("kind", ["fp32", "int8"])
@pytest.mark.parametrize("batch", [1, 64])
def test_batches_give_probabilities(exported, test_images, kind, batch):
    x, _ = test_images
    (p,) = session(exported[kind]).run(["probabilities"], {"image": x[:batch]})
    assert p.shape == (batch, 10) and p.dtype == np.float32
    assert (p >= 0).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)


def test_graph_has_no_runtime_shape_arithmetic_or_layout_shuffles(exported, keras_model):
    """export.simplify ran: Flatten is a constant reshape, the dense batch norm is in the weights."""
    import keras

    layers = [type(layer).__name__ for layer in keras.models.load_model(keras_model, compile=False).layers]
    ops = [node.op_type for node in onnx.load(exported["fp32"]).graph.node]
    assert not {"Shape", "Gather", "Concat", "Slice", "Cast", "Transpose", "Mul"} & set(ops), ops
    assert ops.count("Conv") == layers.count("Conv2D") and ops.count("MatMul") == layers.count("Dense")


def test_parity_with_keras_on_every_output(exported, keras_model, test_images):
    """Independent of the export's own check: Keras and onnxruntime agree on all 1,000 images."""
    import keras

    x, _ = test_images
    probabilities, not_digit, features = keras.models.load_model(keras_model, compile=False).predict(x, verbose=0)
    got = outputs_of(exported["fp32"], x)
    assert np.abs(got["probabilities"] - probabilities).max() <= 1e-5
    assert (got["probabilities"].argmax(1) == probabilities.argmax(1)).all()
    assert np.abs(got["not_digit"] - not_digit).max() <= 1e-5
    assert np.ptp(not_digit) > 0.05, "not_digit varies from image to image: its parity means something"
    assert np.abs(features).max() > 1, "features reach beyond 0..1: the scaled tolerance is exercised"
    assert np.abs(got["features"] - features).max() <= 1e-5 * np.abs(features).max()
    for name in ("probabilities", "not_digit", "features"):
        assert f"max |{name} - keras|" in exported["stdout"]


def test_mini_model_reaches_its_accuracy(exported, test_images):
    """Measured, not only recorded: a conversion that scrambles the weights keeps the interface but not this."""
    fp32 = accuracy(exported["fp32"], test_images)
    assert fp32 >= MIN_MINI_ACCURACY
    assert exported["metrics"]["export"]["onnx_mnist_test_accuracy"] == pytest.approx(fp32, abs=1e-6)


def test_int8_model_is_within_the_gate_of_fp32_on_this_cpu(exported, test_images):
    fp32, int8 = accuracy(exported["fp32"], test_images), accuracy(exported["int8"], test_images)
    allowed = onnx_export.int8_allowed_loss(TEST_IMAGES) / TEST_IMAGES
    assert int8 >= fp32 - allowed - 1e-9, f"int8 {int8:.2%} vs fp32 {fp32:.2%} on {cpu_features()}"
    assert int8 >= MIN_MINI_ACCURACY


def test_metadata(exported, keras_model, test_images):
    meta = session(exported["fp32"]).get_modelmeta().custom_metadata_map
    assert len(meta) >= 4
    assert meta["preprocess_version"] == PREPROCESS_VERSION
    sha = hashlib.sha256(keras_model.read_bytes()).hexdigest()
    assert meta["source_sha256"] == sha
    assert re.fullmatch(rf"1\.\d{{8}}-{sha[:8]}", meta["model_version"])
    assert meta["opset"] == str(convert.OPSET)
    assert meta["training_command"] == TRAINING_METRICS["command"]
    assert float(meta["pen_val_accuracy"]) == TRAINING_METRICS["pen_val_accuracy"]
    assert meta["mnist_test_images"] == str(TEST_IMAGES)
    assert "tf2onnx" in meta["converter"] and meta["created"].endswith("+00:00")
    assert "threshold" not in meta
    # measured by the export on the .onnx, not copied from metrics.json (which says 0.5)
    assert float(meta["mnist_test_accuracy"]) == pytest.approx(accuracy(exported["fp32"], test_images), abs=1e-6)


def test_player_loads_both_models(exported, test_images):
    x, _ = test_images
    for path in (exported["fp32"], exported["int8"]):
        model = Model(path)
        assert model.metadata["preprocess_version"] == PREPROCESS_VERSION
        assert model.predict(x[:3, ..., 0]).shape == (3, 10)


def test_int8_model_is_smaller_keeps_metadata_and_is_reported(exported, test_images):
    fp32, int8 = exported["fp32"], exported["int8"]
    assert int8.stat().st_size < fp32.stat().st_size / 2
    meta32 = dict(session(fp32).get_modelmeta().custom_metadata_map)
    meta8 = dict(session(int8).get_modelmeta().custom_metadata_map)
    assert "reduce_range" in meta8["quantization"]
    differs = {k for k in meta32.keys() | meta8.keys() if meta32.get(k) != meta8.get(k)}
    assert differs <= {"mnist_test_accuracy", "quantization"}
    assert float(meta8["mnist_test_accuracy"]) == pytest.approx(accuracy(int8, test_images), abs=1e-6)
    section = exported["metrics"]["export"]["int8"]
    assert section["size_bytes"] == int8.stat().st_size
    assert section["mnist_test_accuracy"] == pytest.approx(float(meta8["mnist_test_accuracy"]), abs=1e-6)
    assert section["measured_on"] == cpu_features()
    assert "onnx int8" in exported["stdout"]
    assert f"int8 measured on: {cpu_features()}" in exported["stdout"]


def test_int8_weights_are_7_bit_so_no_cpu_saturates_their_sums(exported):
    """Without VNNI, onnxruntime adds pairs of uint8 x int8 products into a saturating int16
    (export/quantize.py): 2 x 255 x 64 fits, 2 x 255 x 127 does not."""
    weights = [onnx.numpy_helper.to_array(init) for init in onnx.load(exported["int8"]).graph.initializer
               if init.data_type == onnx.TensorProto.INT8]
    assert weights, "the weights are int8"
    assert max(int(np.abs(w.astype(np.int32)).max()) for w in weights) <= 64


def test_metrics_json_gets_an_export_section_and_keeps_training_keys(exported):
    metrics = exported["metrics"]
    for key, value in TRAINING_METRICS.items():
        assert metrics[key] == value
    section = metrics["export"]
    assert section["onnx"] == "digits.onnx"
    assert section["size_bytes"] == exported["fp32"].stat().st_size <= 1_000_000
    assert section["opset"] == convert.OPSET
    assert section["outputs"] == ["probabilities", "not_digit", "features"]
    assert section["parity"]["class_mismatches"] == 0
    assert 0 <= section["parity"]["max_abs_diff"]["probabilities"] <= 1e-5
    assert section["mnist_test_images"] == TEST_IMAGES


def test_summary_table_is_printed(exported):
    out = exported["stdout"]
    for label in (f"MNIST test images: {TEST_IMAGES}", "accuracy", "max |probabilities - keras|", "class mismatches",
                  "size", "onnx fp32"):
        assert label in out
    assert "wrote" in out


def test_files_are_readable_by_others(exported):
    """Written through a private temporary file, the result still has an ordinary file's mode."""
    umask = os.umask(0)
    os.umask(umask)
    assert exported["fp32"].stat().st_mode & 0o777 == 0o666 & ~umask


def test_h5_model_exported_into_another_folder(keras_model, mnist_small_npz, tmp_path):
    """The tutorial's .h5 format works too; a folder without metrics.json gets the training ones copied."""
    import keras

    h5 = tmp_path / "src" / "model.h5"
    h5.parent.mkdir()
    keras.models.load_model(keras_model).save(h5)
    (h5.parent / "metrics.json").write_text(json.dumps(TRAINING_METRICS))
    out_dir = tmp_path / "new" / "folder"  # created by the export
    rc, _, stderr = run_main(["--model", h5, "--out", out_dir / "digits.onnx", "--data", mnist_small_npz,
                              "--limit", 100])
    assert rc == 0, stderr
    assert "--limit" in stderr  # a model checked on a subset says so
    assert Model(out_dir / "digits.onnx").metadata["source_file"] == "model.h5"
    metrics = json.loads((out_dir / "metrics.json").read_text())
    assert metrics["command"] == TRAINING_METRICS["command"] and metrics["export"]["mnist_test_images"] == 100


# ---------------------------------------------------------------- a model with one output


def test_one_output_model_exports_its_probabilities(exported_one_output, exported, test_images):
    for path in (exported_one_output["fp32"], exported_one_output["int8"]):
        assert [(o.name, o.shape[1:]) for o in session(path).get_outputs()] == [("probabilities", [10])], path
    assert exported_one_output["metrics"]["export"]["outputs"] == ["probabilities"]
    x, _ = test_images
    np.testing.assert_allclose(outputs_of(exported_one_output["fp32"], x)["probabilities"],
                               outputs_of(exported["fp32"], x)["probabilities"], atol=1e-6)
    assert accuracy(exported_one_output["int8"], test_images) >= MIN_MINI_ACCURACY
    assert Model(exported_one_output["int8"]).predict(x[:2, ..., 0]).shape == (2, 10)


def test_outputs_named_outside_the_interface_are_refused(keras_model, export_npz, tmp_path):
    import keras

    base = keras.models.load_model(keras_model, compile=False)
    odd = keras.layers.Dense(3, name="logits")(base.get_layer("features").output)
    path = tmp_path / "odd.keras"
    keras.Model(base.input, [base.outputs[0], odd]).save(path)
    rc, _, stderr = run_main(["--model", path, "--out", tmp_path / "digits.onnx", "--data", export_npz])
    assert rc == 2 and "logits" in stderr and str(path) in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert onnx_files(tmp_path) == []


# ---------------------------------------------------------------- checks that fail the export


@pytest.mark.parametrize("limit, message", [
    ("PARITY_ATOL", "parity check failed"),
    ("MAX_ONNX_BYTES", "bytes, more than"),
    ("MAX_INT8_LOSS", "int8 MNIST test accuracy"),
])
def test_failed_check_exits_1_and_replaces_nothing(keras_model, export_npz, tmp_path, limit, message):
    out = tmp_path / "digits.onnx"
    out.write_bytes(b"the previous model")
    (tmp_path / "metrics.json").write_text('{"kept": true}')
    rc, stdout, stderr = run_main(["--model", keras_model, "--out", out, "--data", export_npz, "--quantize"],
                                  **{limit: -1})
    assert rc == 1
    assert len(stderr.strip().splitlines()) == 1 and message in stderr and str(tmp_path) in stderr
    assert "class mismatches" in stdout, "the numbers come with the failure"
    assert out.read_bytes() == b"the previous model"
    assert onnx_files(tmp_path) == ["digits.onnx"]
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"kept": True}


def int8_losing(images_lost: int, labels: np.ndarray):
    """run_onnx for an export whose int8 model answers exactly as fp32 does, except on `images_lost`
    images fp32 reads right, which it reads wrong: it loses exactly that many images."""
    real, fp32 = onnx_export.run_onnx, {}

    def run_onnx(model_bytes: bytes, x: np.ndarray) -> dict:
        outputs = real(model_bytes, x)
        if b"QuantizeLinear" not in model_bytes:
            fp32.update(outputs)
            return outputs
        probabilities = fp32["probabilities"].copy()
        right = np.flatnonzero(probabilities.argmax(1) == labels[: len(x)])[:images_lost]
        probabilities[right] = np.roll(probabilities[right], 1, axis=1)  # the next class becomes the top one
        return {**outputs, "probabilities": probabilities}

    return run_onnx


@pytest.mark.slow
@pytest.mark.parametrize("images_lost, max_loss, passes", [
    (1, 0.001, True),  # exactly at the gate: 0.1 points of 1,000 images (0.975 - 0.974 > 0.001 in floats)
    (2, 0.0021, True),  # 0.2 points lost, the gate just above
    (2, 0.0019, False),  # the gate just below
])
def test_int8_gate_at_its_edge(keras_model, export_npz, test_images, tmp_path, images_lost, max_loss, passes):
    out = tmp_path / "digits.onnx"
    rc, stdout, stderr = run_main(["--model", keras_model, "--out", out, "--data", export_npz, "--quantize"],
                                  MAX_INT8_LOSS=max_loss, run_onnx=int8_losing(images_lost, test_images[1]))
    if passes:
        assert rc == 0, stderr
        section = json.loads((tmp_path / "metrics.json").read_text())["export"]["int8"]
        assert section["images_lost_vs_fp32"] == images_lost
    else:
        assert rc == 1
        assert f"({images_lost} of {TEST_IMAGES} images" in stderr and cpu_features() in stderr
        assert onnx_files(tmp_path) == []


def test_nan_outputs_fail_the_parity_check(keras_model, mnist_small_npz, tmp_path):
    """A comparison with NaN is False: the check must be written so that NaN fails it."""
    real_run_onnx = onnx_export.run_onnx
    out = tmp_path / "digits.onnx"
    rc, _, stderr = run_main(["--model", keras_model, "--out", out, "--data", mnist_small_npz, "--limit", 50],
                             run_onnx=lambda model, x: {name: np.full_like(values, np.nan) for name, values
                                                        in real_run_onnx(model, x).items()})
    assert rc == 1 and "parity check failed" in stderr
    assert onnx_files(tmp_path) == []


# ---------------------------------------------------------------- bad input: exit 2, one line, nothing written


def test_quantize_with_a_limit_too_small_to_judge_int8_is_refused(keras_model, tmp_path):
    """--limit 500: one image is 0.2 points, over the 0.1-point gate; said at once, before any work."""
    result = run_cli("--model", keras_model, "--out", tmp_path / "digits.onnx", "--quantize", "--limit", 500)
    assert result.returncode == 2
    assert "--quantize needs at least 1000 test images" in result.stderr and "0.20 points" in result.stderr
    assert onnx_files(tmp_path) == []


def test_quantize_on_data_with_too_few_test_images_is_refused(keras_model, mnist_small_npz, tmp_path):
    rc, _, stderr = run_main(["--model", keras_model, "--out", tmp_path / "digits.onnx", "--data", mnist_small_npz,
                              "--quantize"])
    assert rc == 2 and len(stderr.strip().splitlines()) == 1
    assert f"{mnist_small_npz}: 500 test images" in stderr and "at least 1000" in stderr
    assert onnx_files(tmp_path) == []


def test_out_must_be_an_onnx_file(keras_model):
    result = run_cli("--model", keras_model, "--out", keras_model)
    assert result.returncode == 2 and "--out must name an .onnx file" in result.stderr


def _missing(tmp_path):
    return tmp_path / "nothing.keras", tmp_path / "digits.onnx"


def _corrupt(tmp_path):
    bad = tmp_path / "digits.keras"
    bad.write_bytes(np.random.default_rng(0).bytes(4096))
    return bad, tmp_path / "digits.onnx"


def _text(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("not a model\n")
    return bad, tmp_path / "digits.onnx"


def _npz(tmp_path):
    bad = tmp_path / "weights.npz"
    np.savez(bad, w=np.zeros(3))
    return bad, tmp_path / "digits.onnx"


def _npz_named_keras(tmp_path):
    bad = tmp_path / "digits.keras"  # a zip, as a .keras file is, but no Keras model inside
    np.savez(tmp_path / "w.npz", w=np.zeros(3))
    (tmp_path / "w.npz").rename(bad)
    return bad, tmp_path / "digits.onnx"


def _h5_garbage(tmp_path):
    bad = tmp_path / "model.h5"
    bad.write_bytes(b"<html>404</html>")
    return bad, tmp_path / "digits.onnx"


@pytest.mark.parametrize("make", [_missing, _corrupt, _text, _npz, _npz_named_keras, _h5_garbage])
def test_bad_model_file(make, mnist_small_npz, tmp_path):
    model, out = make(tmp_path)
    result = run_cli("--model", model, "--out", out, "--data", mnist_small_npz)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert str(model) in result.stderr
    assert onnx_files(tmp_path) == []


@pytest.mark.parametrize("where", ["parent is a file", "out is inside a file"])
def test_unwritable_output(where, keras_model, mnist_small_npz, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    out = blocker / "digits.onnx" if where == "parent is a file" else blocker / "sub" / "digits.onnx"
    result = run_cli("--model", keras_model, "--out", out, "--data", mnist_small_npz)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and str(out) in result.stderr
    assert onnx_files(tmp_path) == []


def test_bad_data_file(keras_model, tmp_path):
    bad = tmp_path / "mnist.npz"
    bad.write_text("not numbers")
    result = run_cli("--model", keras_model, "--out", tmp_path / "digits.onnx", "--data", bad)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and str(bad) in result.stderr
    assert onnx_files(tmp_path) == []


def test_without_tensorflow_says_what_to_install(keras_model, mnist_small_npz, tmp_path):
    code = ("import sys; sys.modules['tensorflow'] = None; from export.onnx_export import main; "
            f"sys.exit(main(['--model', {str(keras_model)!r}, '--out', {str(tmp_path / 'd.onnx')!r}, "
            f"'--data', {str(mnist_small_npz)!r}]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "pip install 'digits[train]'" in result.stderr
    assert onnx_files(tmp_path) == []


def test_version():
    from player import __version__

    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"digits-export {__version__}"
