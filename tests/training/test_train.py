"""digits-train end to end on tiny data: outputs, provenance, augmentation, interrupt/resume."""

import builtins
import json
import os
import shutil
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
from training.prepare import EXTRA_COPIES  # noqa: E402
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
    assert pngs == {"learning_curves.png", "confusion_matrix.png", "mnist_errors.png"} | {
        f"{source}_{hold_out}_errors.png" for source in ("pen", "unipen") for hold_out in ("val", "final")}
    for png in (quick_run / "report").glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_metrics_say_how_the_model_was_made(quick_run, mnist_small_npz, pen_path, unipen_path):
    m = json.loads((quick_run / "metrics.json").read_text())
    assert m["command"].startswith("digits-train ") and "--quick" in m["command"]
    assert m["epochs"] == 1 and m["seed"] == 1 and m["train_seconds"] > 0
    # one epoch on 2,000 MNIST images, 600 digits of each pen source and 1,200 non-digits; two runs
    # measured MNIST 91.2/91.6%, pen 76.7/79.3%, UNIPEN 91.0/90.3%, non-digits caught 78.7/77.0%
    assert m["mnist_test_accuracy"] >= 0.87 and set(m["mnist_test_per_class"]) == {str(k) for k in range(10)}
    assert m["mnist_test_count"] == 500
    assert m["pen_val_accuracy"] >= 0.70 and m["pen_val_count"] == 300
    assert m["unipen_val_accuracy"] >= 0.85 and m["not_digit_val_caught"] >= 0.70
    assert set(m["train_images"]) == {"mnist", "pen", "unipen", "not_digit"}
    assert m["outputs"] == ["probabilities", "not_digit", "features"]
    assert {"pen_final_accuracy", "unipen_final_accuracy"} <= set(m)
    files = {Path(name).resolve(): digest for name, digest in m["data_files"].items()}
    assert files[mnist_small_npz.resolve()] == sha256(mnist_small_npz)
    assert files[pen_path.resolve()] == sha256(pen_path)
    assert files[unipen_path.resolve()] == sha256(unipen_path)
    assert {"tensorflow", "keras", "numpy", "python"} <= set(m["versions"])


def test_augmentation_stays_out_of_the_saved_model(quick_run, mnist_small):
    import keras

    from training.model import build_augmenter

    model = keras.models.load_model(quick_run / "digits.keras")
    assert not [layer.name for layer in model.layers if "random" in type(layer).__name__.lower()]
    x = mnist_small[2][:32].astype("float32")[..., None] / 255.0
    for first, again in zip(model.predict(x, verbose=0), model.predict(x, verbose=0), strict=True):
        np.testing.assert_array_equal(first, again)
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


def test_tutorial_baseline_and_corrections(mnist_small_npz, tmp_path, one_drawing, capsys):
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
    # one digit from mine.json; wrong-count.json (one stroke labelled "12") is refused
    assert m["train_images"]["extra"] == 1 * EXTRA_COPIES and "pen" not in m["train_images"]
    assert "wrong-count.json" in capsys.readouterr().err
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
    # a background job (pytest ... &) ignores SIGINT, and a child inherits that: give it Ctrl+C back
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    state = out / "checkpoints" / "state.json"
    deadline = time.time() + 300  # generous: the 2-core machine may be shared with other training jobs
    while _epochs_done(state) < 1 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    if _epochs_done(state) < 1:
        proc.kill()  # so that communicate() below returns its output at once
    assert _epochs_done(state) >= 1, proc.communicate()[1][-2000:]
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted" in err and "Traceback" not in err
    assert (out / "checkpoints" / "last.keras").exists() and not (out / "digits.keras").exists()
    done = json.loads(state.read_text())["epoch"]
    assert 1 <= done < 6

    resumed = subprocess.run(cmd + ["--resume"], env=env, capture_output=True, text=True, timeout=900)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resuming from epoch {done}" in resumed.stdout
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 6


def _epochs_done(state: Path) -> int:
    try:
        return json.loads(state.read_text())["epoch"]
    except (OSError, ValueError):  # not written yet, or caught mid-write
        return 0


# ---------------------------------------------------------------- interrupts, resume, bad input


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def finished_run(quick_run, tmp_path) -> Path:
    """A copy of the quick run's folder: its outputs and the checkpoints of its one finished epoch."""
    out = tmp_path / "finished"
    shutil.copytree(quick_run, out)
    return out


@pytest.fixture
def ctrl_c_reaches_us():
    """Ctrl+C raises KeyboardInterrupt in this process, as in a terminal: a pytest started in the
    background (`cmd &` in a script) inherits SIGINT ignored, and then no Ctrl+C could be held back."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _quick_run_args(mnist_small_npz, out: Path) -> list[str]:
    return ["--quick", "--data", str(mnist_small_npz), "--out", str(out), "--h5"]  # as quick_run ran


def _ctrl_c_in(where: str):
    """A stand-in for `where` that is interrupted as by Ctrl+C (after doing its work, for save)."""
    import keras

    from training import report

    original = {"predict": keras.Model.predict, "error_grid": report.error_grid, "save": keras.Model.save}[where]

    def interrupted(*args, **kwargs):
        if where == "save":
            original(*args, **kwargs)
        raise KeyboardInterrupt

    return (report if where == "error_grid" else keras.Model), where, interrupted


@pytest.mark.parametrize("where", ["predict", "error_grid", "save"])
def test_ctrl_c_after_training_leaves_the_outputs_as_they_were(finished_run, mnist_small_npz, monkeypatch, capsys,
                                                                where):
    """--resume of a finished run re-evaluates and writes; Ctrl+C while evaluating, drawing the report
    or saving the model leaves model, metrics, report and checkpoints exactly as they were."""
    before = _files(finished_run)
    monkeypatch.setattr(*_ctrl_c_in(where))
    assert main(_quick_run_args(mnist_small_npz, finished_run) + ["--resume"]) == 130
    err = capsys.readouterr().err.strip()
    assert "as they were" in err and "--resume" in err and "nothing written" not in err, err
    assert "\n" not in err and "Traceback" not in err
    assert _files(finished_run) == before  # not one file more (no .tmp, no staging folder), none changed


def test_ctrl_c_while_swapping_in_finishes_the_swap(finished_run, mnist_small_npz, monkeypatch, capsys,
                                                    ctrl_c_reaches_us):
    """A Ctrl+C while the new outputs replace the old ones is held back until all of them have."""
    before = _files(finished_run)
    inodes = {name: (finished_run / name).stat().st_ino for name in ("digits.keras", "digits.h5", "report")}
    real_replace, sent = os.replace, []

    def replace_and_ctrl_c(src, dst, *args, **kwargs):
        if Path(dst).parent == finished_run and not sent:
            sent.append(dst)
            os.kill(os.getpid(), signal.SIGINT)
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace_and_ctrl_c)
    assert main(_quick_run_args(mnist_small_npz, finished_run) + ["--resume"]) == 130
    assert sent
    err = capsys.readouterr().err.strip()
    assert "complete" in err and "nothing written" not in err and "\n" not in err, err
    after = _files(finished_run)
    assert set(after) == set(before)  # no leftovers
    assert json.loads(after["metrics.json"])["command"].endswith("--resume")  # this run's metrics ...
    for name, inode in inodes.items():  # ... with this run's model and report
        assert (finished_run / name).stat().st_ino != inode, name


def test_ctrl_c_while_tensorflow_loads_is_one_line(tmp_path, monkeypatch, capsys):
    real_import = builtins.__import__

    def import_interrupted(name, *args, **kwargs):
        if name == "tensorflow":
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", import_interrupted)
    try:
        code = main(["--quick", "--out", str(tmp_path / "out")])
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt escaped digits-train: a traceback for the user")
    err = capsys.readouterr().err.strip()
    assert code == 130 and err == "interrupted while TensorFlow was loading; nothing written"
    assert not (tmp_path / "out").exists()


def test_resume_never_continues_another_run(finished_run, mnist_small_npz, monkeypatch, capsys):
    import keras

    args = _quick_run_args(mnist_small_npz, finished_run)
    # settings that differ from the checkpointed run's: refused before any work
    assert main(args + ["--resume", "--seed", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert "another run" in err and "seed 1 there, 2 here" in err and "\n" not in err, err

    # a new run interrupted in its first epoch: nothing of it to resume, and the previous run is not it
    def fit_interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    before = _files(finished_run)
    monkeypatch.setattr(keras.Model, "fit", fit_interrupted)
    assert main(args) == 130
    assert "nothing to resume" in capsys.readouterr().err
    monkeypatch.undo()
    assert main(args + ["--resume"]) == 2
    err = capsys.readouterr().err.strip()
    assert "nothing of this run to resume" in err and "\n" not in err, err
    after = _files(finished_run)
    for name in ("digits.keras", "digits.h5", "metrics.json", "report/confusion_matrix.png"):
        assert after[name] == before[name], name
    assert "checkpoints/last.keras" not in after  # the previous run's checkpoints went when the new one started


def test_too_little_data_is_one_line(tmp_path, mnist_small, capsys):
    x_train, y_train, x_test, y_test = mnist_small
    tiny = tmp_path / "five.npz"
    np.savez(tiny, x_train=x_train[:5], y_train=y_train[:5], x_test=x_test[:5], y_test=y_test[:5])
    assert main(["--quick", "--no-pen", "--data", str(tiny), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert "five.npz" in err and "too little data" in err and "5 training" in err
    assert "\n" not in err and "Traceback" not in err and "decay_steps" not in err


def test_a_truncated_model_to_start_from_is_named_unreadable(quick_run, mnist_small_npz, tmp_path, capsys):
    whole = (quick_run / "digits.keras").read_bytes()
    trunc = tmp_path / "trunc.keras"
    trunc.write_bytes(whole[: len(whole) // 2])
    assert main(["--quick", "--no-pen", "--data", str(mnist_small_npz), "--out", str(tmp_path / "out"),
                 "--from", str(trunc)]) == 2
    err = capsys.readouterr().err.strip()
    assert "trunc.keras" in err and "not a readable Keras model" in err, err
    assert "File not found" not in err and "\n" not in err


def test_checkpoint_files_are_whole_even_if_ctrl_c_comes_while_saving(tmp_path, monkeypatch, ctrl_c_reaches_us):
    import keras

    from training.checkpoint import Checkpoint, RunState

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    checkpoint = Checkpoint(tmp_path, RunState({"seed": 1}))
    checkpoint.set_model(model)
    real_save = keras.Model.save

    def ctrl_c_then_save(self, path, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl+C as the file starts
        return real_save(self, path, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save", ctrl_c_then_save)
    with pytest.raises(KeyboardInterrupt):  # raised, but only once all three files are written
        checkpoint.on_epoch_end(0, {"loss": 1.0, "val_loss": 1.0})
    monkeypatch.undo()
    assert json.loads((tmp_path / "state.json").read_text())["epoch"] == 1
    for name in ("last.keras", "best.keras"):
        np.testing.assert_array_equal(keras.models.load_model(tmp_path / name).layers[0].kernel.numpy(),
                                      model.layers[0].kernel.numpy())


def test_a_failed_swap_puts_everything_back(tmp_path, monkeypatch):
    from training import outputs

    out, staged = tmp_path / "out", tmp_path / "out" / ".staging"
    for folder, tag in ((out, "old"), (staged, "new")):
        (folder / "report").mkdir(parents=True)
        for name in ("digits.keras", "metrics.json", "report/plot.png"):
            (folder / name).write_text(tag)
    real_replace, calls = os.replace, []

    def replace_until_the_fourth(src, dst, *args, **kwargs):
        calls.append(dst)
        if len(calls) == 4:
            raise OSError(28, "No space left on device", str(dst))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace_until_the_fourth)
    with pytest.raises(OSError):
        outputs.swap(staged, out)
    monkeypatch.undo()
    assert len(calls) > 4  # it failed half-way, and was undone:
    assert [(out / name).read_text() for name in ("digits.keras", "metrics.json", "report/plot.png")] == ["old"] * 3
    assert sorted(p.name for p in staged.iterdir()) == ["digits.keras", "metrics.json", "report"]
    assert outputs.swap(staged, out) is False  # and when nothing fails, all three are replaced
    assert [(out / name).read_text() for name in ("digits.keras", "metrics.json", "report/plot.png")] == ["new"] * 3
