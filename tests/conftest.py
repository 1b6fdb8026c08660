"""Shared fixtures: the local MNIST copy, a tiny subset of it, and a few stroke drawings."""

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
TEST_DATA = Path(__file__).resolve().parent / "data"

# benchmarks/realwindow.py (the X server and the player driver) is shared with the benchmarks,
# which import it as a sibling module; it is not part of the installed package.
if str(ROOT / "benchmarks") not in sys.path:
    sys.path.append(str(ROOT / "benchmarks"))

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    """The canonical MNIST .npz: $DIGITS_MNIST or ../shared/data/mnist.npz."""
    path = Path(os.environ.get("DIGITS_MNIST", SHARED / "mnist.npz"))
    if not path.exists():
        pytest.skip(f"MNIST not found at {path} (set DIGITS_MNIST)")
    return path


@pytest.fixture(scope="session")
def pen_path() -> Path:
    path = SHARED / "pendigits-orig.tra"
    if not path.exists():
        pytest.skip(f"pen digits not found at {path}")
    return path


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
