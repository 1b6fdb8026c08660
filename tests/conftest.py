"""Shared fixtures: the data sets (found as digits-train finds them), a tiny MNIST subset, a
few stroke drawings; and DIGITS_REQUIRE_DATA.

A test whose data, model or package is missing skips with the reason, so that a fresh clone
can run the suite. With DIGITS_REQUIRE_DATA=1 (CI sets it) every such skip is a failure
instead, its message naming what is missing: a green CI run has run every test.
"""

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from training import datasets

ROOT = Path(__file__).resolve().parent.parent
TEST_DATA = Path(__file__).resolve().parent / "data"
REQUIRE_DATA = os.environ.get("DIGITS_REQUIRE_DATA") == "1"

# benchmarks/realwindow.py (the X server and the player driver) is shared with the benchmarks,
# which import it as a sibling module; it is not part of the installed package.
if str(ROOT / "benchmarks") not in sys.path:
    sys.path.append(str(ROOT / "benchmarks"))

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True, scope="session")
def _own_user_data_folder(tmp_path_factory):
    """The player learns from the corrections in the user data folder by default, and saves
    there: for the tests that folder (XDG_DATA_HOME, which platformdirs follows) is an empty
    temporary one, so no test reads a developer's own corrections or writes into them. The data
    sets stay where they were found ($DIGITS_DATA is pinned first)."""
    saved = {k: os.environ.get(k) for k in ("XDG_DATA_HOME", "DIGITS_DATA")}
    os.environ.setdefault("DIGITS_DATA", str(datasets.data_dir()))
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("user-data"))
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _data(name: str) -> Path:
    try:
        return datasets.require(name)
    except datasets.DataError as e:
        pytest.skip(str(e))  # the message names `digits-data NAME`


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    """MNIST .npz: $DIGITS_MNIST, the digits-data folder or ../shared/data/mnist.npz."""
    return _data("mnist")


@pytest.fixture(scope="session")
def pen_path() -> Path:
    """UCI pen trajectories: $DIGITS_PEN, the digits-data folder or ../shared/data."""
    return _data("pen")


@pytest.fixture(scope="session")
def unipen_path() -> Path:
    """UNIPEN 1a JSON lines: $DIGITS_UNIPEN, the digits-data folder or ../shared/data."""
    return _data("unipen")


@pytest.fixture(scope="session")
def mnist_small(mnist_path):
    """(x_train, y_train, x_test, y_test): 2,000 / 500 images, uint8, as in the .npz."""
    with np.load(mnist_path, allow_pickle=False) as f:
        return f["x_train"][:2000], f["y_train"][:2000], f["x_test"][:500], f["y_test"][:500]


@pytest.fixture(scope="session")
def mnist_small_npz(mnist_small, tmp_path_factory) -> Path:
    """The tiny subset written as a Keras-layout .npz, for fast training runs."""
    path = tmp_path_factory.mktemp("mnist") / "mnist-small.npz"
    x_train, y_train, x_test, y_test = mnist_small
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


@pytest.fixture
def one_drawing() -> dict:
    """A single vertical stroke: a "1"."""
    return json.loads((TEST_DATA / "one.json").read_text())


def _required(report) -> None:
    """Under DIGITS_REQUIRE_DATA=1, a skip becomes a failure that says what was missing."""
    if REQUIRE_DATA and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"DIGITS_REQUIRE_DATA=1 and this test would skip: {reason.removeprefix('Skipped: ')}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _required(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield  # a module-level importorskip skips the whole file at collection
    _required(outcome.get_result())
