"""Each benchmark script runs from the command line with --quick --no-record and prints a table.

No timing or accuracy assertions here: the numbers depend on the machine. A script whose
inputs (trained models, data) are absent is skipped with the reason.
"""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"
ONNX = ROOT / "models" / "digits.onnx"
KERAS = ROOT / "models" / "digits.keras"
TABLE_RULE = re.compile(r"^\|(-+:?\|)+$", re.MULTILINE)  # a Markdown table's |---|---:| line


def need(*paths: Path, modules: tuple[str, ...] = ()) -> None:
    missing = [str(p) for p in paths if not p.exists()]
    missing += [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")


def run(script: str, *args: str) -> subprocess.CompletedProcess:
    results = BENCHMARKS / "RESULTS.md"
    before = results.read_bytes() if results.exists() else None
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy", "TF_CPP_MIN_LOG_LEVEL": "2",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, str(BENCHMARKS / script), "--quick", "--no-record", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{script} exited {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    assert TABLE_RULE.search(proc.stdout), f"{script} printed no table:\n{proc.stdout[-2000:]}"
    assert (results.read_bytes() if results.exists() else None) == before, "--no-record changed RESULTS.md"
    return proc


def test_footprint():
    need(modules=("packaging",))
    out = run("footprint.py").stdout
    assert "digits.onnx" in out and "digits[train]" in out


@pytest.mark.slow
def test_latency(mnist_path):  # the fixtures skip when the shared data is absent
    need(ONNX, KERAS, modules=("tensorflow",))
    out = run("latency.py").stdout
    assert "Keras predict" in out and "session options" in out


@pytest.mark.slow
def test_startup():
    need(modules=("tensorflow", "pygame", "onnxruntime"))
    out = run("startup.py", "--runs", "1").stdout
    assert "import tensorflow" in out and "player" in out


@pytest.mark.slow
def test_accuracy(mnist_path, pen_path):
    need(ONNX)
    out = run("accuracy.py").stdout
    assert "MNIST test set" in out
    assert "drawn digits, centred" in out and "drawn digits, anywhere" in out


@pytest.mark.slow
def test_throughput(pen_path):
    need(ONNX)
    out = run("throughput.py").stdout
    assert "single digits" in out and "per drawing / model per digit" in out and "a 5-digit number" in out


@pytest.mark.slow
def test_pictures(mnist_path):
    need(ONNX)
    out = run("pictures.py", "--singles", "5", "--pairs", "3").stdout
    assert "grey 170, noise 12" in out and "pairs right" in out


@pytest.mark.slow
def test_pen_eval(pen_path):
    need(ONNX)
    out = run("pen_eval.py", "--sources", "pen-val", "--singles", "30", "--numbers", "3", "--marks", "3").stdout
    assert "pen-val" in out and "gaps -5..10%" in out and "single digits by true digit" in out
    assert 'answered "?"' in out and "confidence threshold" in out


def test_pen_eval_names_a_missing_data_file(tmp_path):
    need(ONNX)
    missing = tmp_path / "unipen.jsonl.gz"
    proc = subprocess.run([sys.executable, str(BENCHMARKS / "pen_eval.py"), "--no-record", "--sources", "unipen-val",
                           "--unipen", str(missing)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert str(missing) in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_adapt_eval(pen_path):
    need(ONNX)
    out = run("adapt_eval.py").stdout
    assert "k=2" in out and "mistakes without" in out and "learn one correction" in out


def test_scripts_have_the_common_flags():
    for script in ("latency.py", "startup.py", "accuracy.py", "footprint.py", "throughput.py", "pictures.py",
                   "pen_eval.py", "adapt_eval.py"):
        proc = subprocess.run([sys.executable, str(BENCHMARKS / script), "--help"], cwd=ROOT, capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert "--quick" in proc.stdout and "--no-record" in proc.stdout, script


def test_frames():
    need(ONNX, modules=("pygame", "onnxruntime"))
    out = run("frames.py", "--points", "300", "--strokes", "1", "3").stdout
    assert "CPU features" in out and "ink so far (points)" in out and "undo with 300 points" in out
