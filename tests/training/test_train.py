"""digits-train end to end on tiny data: outputs, provenance, augmentation, interrupt/resume."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.slow  # trains or exports real models: `pytest -m "not slow"` leaves it out

from training.data import sha256  # noqa: E402
from training.train import main  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def quick_run(mnist_small_npz, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("quick")
    assert main(["--quick", "--data", str(mnist_small_npz), "--out", str(out), "--h5"]) == 0
    return out


def test_quick_run_writes_every_output(quick_run):
    for name in ("digits.keras", "digits.h5", "metrics.json", "checkpoints/last.keras", "checkpoints/best.keras"):
        assert (quick_run / name).stat().st_size > 0, name
    pngs = {p.name for p in (quick_run / "report").glob("*.png")}
    assert pngs == {"learning_curves.png", "confusion_matrix.png", "mnist_errors.png", "pen_val_errors.png"}
    for png in (quick_run / "report").glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_metrics_say_how_the_model_was_made(quick_run, mnist_small_npz, pen_path):
    m = json.loads((quick_run / "metrics.json").read_text())
    assert m["command"].startswith("digits-train ") and "--quick" in m["command"]
    assert m["epochs"] == 1 and m["seed"] == 1 and m["train_seconds"] > 0
    assert 0.0 <= m["mnist_test_accuracy"] <= 1.0 and set(m["mnist_test_per_class"]) == {str(k) for k in range(10)}
    assert m["mnist_test_count"] == 500
    assert m["pen_val_accuracy"] is not None and m["pen_val_count"] > 0
    assert set(m["train_images"]) == {"mnist", "pen"}
    files = {Path(name).resolve(): digest for name, digest in m["data_files"].items()}
    assert files[mnist_small_npz.resolve()] == sha256(mnist_small_npz)
    assert files[pen_path.resolve()] == sha256(pen_path)
    assert {"tensorflow", "keras", "numpy", "python"} <= set(m["versions"])


def test_augmentation_stays_out_of_the_saved_model(quick_run, mnist_small):
    import keras

    from training.model import build_augmenter

    model = keras.models.load_model(quick_run / "digits.keras")
    assert not [layer.name for layer in model.layers if "random" in type(layer).__name__.lower()]
    x = mnist_small[2][:32].astype("float32")[..., None] / 255.0
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))
    augment = build_augmenter(seed=3)
    np.testing.assert_array_equal(np.asarray(augment(x, training=False)), x)
    assert np.abs(np.asarray(augment(x, training=True)) - x).max() > 0.1


def test_shipped_weights_are_averaged_and_batch_norm_recalibrated(quick_run):
    import keras

    shipped = keras.models.load_model(quick_run / "digits.keras")
    last_step = keras.models.load_model(quick_run / "checkpoints" / "last.keras")  # the raw weights at the end
    assert last_step.optimizer.use_ema
    kernel = [shipped.get_layer("c3_conv").kernel.numpy(), last_step.get_layer("c3_conv").kernel.numpy()]
    assert np.abs(kernel[0] - kernel[1]).max() > 1e-4
    # the average the optimizer kept is exactly what was shipped
    average = {v.path: v for v in last_step.optimizer.variables}
    ema = next(v for path, v in average.items() if "c3_conv_kernel" in path and "average" in path)
    np.testing.assert_allclose(kernel[0], ema.numpy(), atol=1e-7)
    # and batch norm statistics no longer those of the augmented training batches
    bn = [m.get_layer("c1_bn").moving_mean.numpy() for m in (shipped, last_step)]
    assert np.abs(bn[0] - bn[1]).max() > 1e-4


def test_a_better_model_is_not_replaced_silently(quick_run, mnist_small_npz, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "digits.keras").write_bytes((quick_run / "digits.keras").read_bytes())
    better = json.loads((quick_run / "metrics.json").read_text()) | {"mnist_test_accuracy": 1.0}
    (out / "metrics.json").write_text(json.dumps(better))
    before = (out / "digits.keras").read_bytes()
    assert main(["--quick", "--data", str(mnist_small_npz), "--out", str(out), "--no-pen"]) == 0
    assert (out / "digits.keras").read_bytes() == before
    assert json.loads((out / "metrics.json").read_text())["mnist_test_accuracy"] == 1.0
    kept = list(out.glob("digits-*.keras"))
    assert len(kept) == 1 and "kept" in capsys.readouterr().out
    assert not (out / "report").exists()  # report/ belongs to the kept model
    assert (out / f"report-{kept[0].stem}" / "confusion_matrix.png").exists()


def test_tutorial_baseline_and_corrections(mnist_small_npz, tmp_path, one_drawing):
    import keras

    extra = tmp_path / "corrections"
    extra.mkdir()
    (extra / "mine.json").write_text(json.dumps(one_drawing | {"label": "1"}))
    (extra / "wrong-count.json").write_text(json.dumps(one_drawing | {"label": "12"}))
    out = tmp_path / "tutorial"
    assert main(["--quick", "--arch", "tutorial", "--data", str(mnist_small_npz), "--out", str(out),
                 "--extra", str(extra)]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["model"] == "model_Mnist.h5" and m["arch"] == "tutorial"
    assert m["train_images"]["extra"] > 0 and "pen" not in m["train_images"]
    assert [type(layer).__name__ for layer in keras.models.load_model(out / "model_Mnist.h5").layers][:2] == [
        "Conv2D", "Conv2D"]


def test_bad_data_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["--quick", "--data", str(tmp_path / "missing.npz"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "missing.npz" in err and "\n" not in err and "Traceback" not in err


@pytest.mark.slow
def test_ctrl_c_keeps_checkpoint_and_resume_finishes(mnist_small_npz, tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "training", "--quick", "--epochs", "6", "--no-pen",
           "--data", str(mnist_small_npz), "--out", str(out)]
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    state = out / "checkpoints" / "state.json"
    deadline = time.time() + 120
    while not state.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert state.exists(), proc.communicate()[1][-2000:]
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted" in err and "Traceback" not in err
    assert (out / "checkpoints" / "last.keras").exists() and not (out / "digits.keras").exists()
    done = json.loads(state.read_text())["epoch"]
    assert 1 <= done < 6

    resumed = subprocess.run(cmd + ["--resume"], env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resuming from epoch {done}" in resumed.stdout
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 6
