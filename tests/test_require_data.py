"""DIGITS_REQUIRE_DATA=1 turns skips (missing data, model or package) into failures that name
what is missing; without it they stay skips. Checked on a throwaway suite that uses this
project's conftest.py, run by a separate pytest."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = Path(__file__).resolve().parent / "conftest.py"
ROOT = CONFTEST.parent.parent

SUITE = {
    "test_fixture.py": "def test_needs_pen(pen_path):\n    assert pen_path.exists()\n",
    "test_inline.py": "import pytest\n\ndef test_no_model():\n    pytest.skip('no model at x.onnx')\n",
    "test_module.py": "import pytest\n\npytest.importorskip('no_such_package_here')\n\ndef test_x():\n    pass\n",
    "test_xfail.py": "import pytest\n\n@pytest.mark.xfail(reason='known')\ndef test_known():\n    assert False\n",
}


def run_suite(tmp_path: Path, require: bool, files=tuple(SUITE)) -> subprocess.CompletedProcess:
    suite = tmp_path / "suite"
    suite.mkdir(exist_ok=True)
    shutil.copy(CONFTEST, suite / "conftest.py")
    for name in files:
        (suite / name).write_text(SUITE[name])
    # not the outer run's settings: its PYTEST_ADDOPTS (CI's --basetemp) would make this pytest
    # wipe the outer run's temporary folders
    env = {k: v for k, v in os.environ.items()
           if k not in ("DIGITS_REQUIRE_DATA", "DIGITS_PEN") and not k.startswith("PYTEST_")}
    env |= {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
            "DIGITS_DATA": str(tmp_path / "empty"), "DIGITS_PEN": str(tmp_path / "no-pen.tra")}
    if require:
        env["DIGITS_REQUIRE_DATA"] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA",
                           f"--basetemp={tmp_path / 'inner'}", str(suite)],
                          cwd=suite, env=env, capture_output=True, text=True, timeout=600)


def test_skips_without_the_variable(tmp_path):
    out = run_suite(tmp_path, require=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "3 skipped, 1 xfailed" in out.stdout, out.stdout


def test_failures_with_the_variable(tmp_path):
    out = run_suite(tmp_path, require=True, files=("test_fixture.py", "test_inline.py", "test_xfail.py"))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "1 failed, 1 xfailed, 1 error" in out.stdout, out.stdout  # a fixture that skips: error at setup
    for missing in (f"{tmp_path / 'no-pen.tra'}: no such file (from $DIGITS_PEN)", "no model at x.onnx"):
        assert f"DIGITS_REQUIRE_DATA=1 and this test would skip: {missing}" in out.stdout, out.stdout


def test_missing_package_stops_collection(tmp_path):
    """A whole file skipped at import (pytest.importorskip) is a collection error: pytest stops there."""
    out = run_suite(tmp_path, require=True, files=("test_module.py",))
    assert out.returncode == 2, out.stdout + out.stderr
    assert ("DIGITS_REQUIRE_DATA=1 and this test would skip: could not import 'no_such_package_here'"
            in out.stdout), out.stdout


@pytest.mark.parametrize("name", ["mnist", "pen", "unipen"])
def test_fixtures_find_what_digits_train_finds(request, name):
    """The data fixtures use training.datasets, the lookup digits-train uses: one home."""
    from training import datasets

    expected = datasets.find(name)
    if expected is None:
        pytest.skip(datasets.require.__doc__)  # nothing to compare with here
    assert request.getfixturevalue(f"{name}_path") == expected
