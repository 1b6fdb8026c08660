"""MNIST for `digits-train`.

The digits come from the path passed to `load_mnist` (the CLI's --data), else from where
`training.datasets` finds mnist.npz: $DIGITS_MNIST, the digits-data folder, ../shared/data
of a source checkout. Nowhere: a DataError that says to run `digits-data`.

A path is either a Keras-layout .npz (x_train, y_train, x_test, y_test) or a folder with
the four official IDX files, gzipped or not. Whatever the source, the arrays come back in
the form Keras gives them: x uint8 (N, 28, 28), y uint8 (N,) with values 0-9.

Anything else is refused with a DataError, whose message is one line naming the file and
the problem: the CLI prints it and exits 2. Stopping at once is kinder than training for
an hour on a half-read file, or on labels that are one-hot, or pixels already scaled.

No TensorFlow here: reading a local file should neither pay the seconds it takes to import
nor need it installed.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import zlib
from pathlib import Path

import numpy as np

from training import datasets
from training.datasets import DataError

KEYS = ("x_train", "y_train", "x_test", "y_test")

# An IDX file starts with two zero bytes, the element type (0x08: unsigned byte) and the
# number of dimensions; then each dimension as a big-endian uint32; then the data.
IDX_IMAGES_MAGIC = 0x00000803
IDX_LABELS_MAGIC = 0x00000801

# The names LeCun's site publishes. Copies unpacked on Windows, Kaggle's among them,
# often have a dot before "idx" instead; both are looked for, with and without ".gz".
IDX_NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}



def load_mnist(source: str | Path | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test) from `source`, else from where digits-data put it."""
    path = _resolve(source)
    if path.is_dir():
        files = _find_idx_files(path)
        arrays = {
            key: _read_idx(file, IDX_IMAGES_MAGIC if key.startswith("x") else IDX_LABELS_MAGIC)
            for key, file in files.items()
        }
    else:
        arrays = _read_npz(path)
        files = dict.fromkeys(KEYS, path)
    return _checked(arrays, files)


def data_files(source: str | Path | None = None) -> list[Path]:
    """The files `load_mnist(source)` reads, to record their sha256 next to the model."""
    path = _resolve(source)
    if path.is_dir():
        return list(_find_idx_files(path).values())
    return [path]


def sha256(path: str | Path) -> str:
    path = Path(path)
    try:
        with path.open("rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from e


# -- where the data is --------------------------------------------------------------------


def _resolve(source: str | Path | None) -> Path:
    """The path to read: `source`, else the data set `mnist` as training.datasets finds it."""
    if source is None:
        return datasets.require("mnist")
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    return path


# -- reading -------------------------------------------------------------------------------


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    # np.load unpickles whatever is neither .npy nor zip; with allow_pickle=False it then
    # complains about pickles, which would be a baffling answer to, say, an HTML error page
    # saved as mnist.npz. So look at the first bytes ourselves.
    head = _read_bytes(path, 8)
    if head.startswith(b"\x93NUMPY"):
        raise DataError(f"{path}: a single .npy array; expected an .npz holding {', '.join(KEYS)}")
    if not head.startswith(b"PK"):
        raise DataError(f"{path}: not an .npz (zip) file; expected a Keras-layout mnist.npz or a folder of IDX files")
    try:
        npz = np.load(path, allow_pickle=False)  # never True: a pickle in a downloaded file can run code
    except Exception as e:
        raise DataError(f"{path}: not a readable .npz ({type(e).__name__}: {e})") from e
    arrays = {}
    with npz:
        missing = [key for key in KEYS if key not in npz.files]
        if missing:
            have = ", ".join(npz.files) or "nothing"
            raise DataError(f"{path}: no {', '.join(missing)} in the .npz (it holds {have})")
        for key in KEYS:
            try:
                arrays[key] = npz[key]
            except ValueError as e:
                if "allow_pickle" in str(e):
                    raise DataError(f"{path}: {key} is an object array that needs pickle, refusing") from e
                raise DataError(f"{path}: {key} is not a readable .npy array ({e})") from e
            except Exception as e:  # a damaged zip fails in many ways: bad CRC, zlib, EOF, ...
                raise DataError(f"{path}: {key} cannot be read, damaged file? ({type(e).__name__}: {e})") from e
            if not isinstance(arrays[key], np.ndarray):  # NpzFile hands back members without .npy as bytes
                raise DataError(f"{path}: {key} is not a .npy array")
    return arrays


def _find_idx_files(folder: Path) -> dict[str, Path]:
    files = {}
    for key, name in IDX_NAMES.items():
        dotted = name.replace("-idx", ".idx")
        candidates = [folder / f"{n}{gz}" for n in (name, dotted) for gz in ("", ".gz")]
        found = [c for c in candidates if c.is_file()]
        if not found:
            raise DataError(
                f"{folder}: no {name} (or {name}.gz) here; an MNIST folder needs the four IDX files "
                + ", ".join(IDX_NAMES.values())
            )
        files[key] = found[0]
    return files


def _read_idx(path: Path, magic: int) -> np.ndarray:
    raw = _read_bytes(path)
    # Go by the bytes, not the name: browsers often unpack a .gz download but keep the name.
    if raw.startswith(b"\x1f\x8b"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(f"{path}: corrupt gzip ({e})") from e

    kind = {IDX_IMAGES_MAGIC: "images", IDX_LABELS_MAGIC: "labels"}
    if len(raw) < 4:
        raise DataError(f"{path}: truncated: {len(raw)} bytes, too short for an IDX header")
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        looks = f" (that of IDX {kind[found]}: files swapped?)" if found in kind else ""
        raise DataError(f"{path}: magic number 0x{found:08x}, expected 0x{magic:08x} for IDX {kind[magic]}{looks}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated: {len(raw)} bytes, too short for an IDX header of {ndim} dimensions")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    size, have = math.prod(dims), len(raw) - header
    shape = "x".join(map(str, dims))
    if have < size:
        raise DataError(f"{path}: truncated: the header says {shape} = {size} bytes of data, the file has {have}")
    if have > size:
        raise DataError(f"{path}: {have - size} bytes more than the {shape} the header says; not an MNIST IDX file?")
    # frombuffer gives a read-only view of `raw`; copy, so the arrays are writable as np.load's are
    return np.frombuffer(raw, dtype=np.uint8, count=size, offset=header).reshape(dims).copy()


def _read_bytes(path: Path, n: int = -1) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(n)
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from e


# -- checking ------------------------------------------------------------------------------


def _checked(arrays: dict[str, np.ndarray], files: dict[str, Path]):
    """The four arrays in MNIST's form, or a DataError naming the file that is off."""
    out = []
    for split in ("train", "test"):
        xk, yk = f"x_{split}", f"y_{split}"
        x, y = _images(arrays[xk], files[xk], xk), _labels(arrays[yk], files[yk], yk)
        other = f" in {files[xk].name}" if files[xk] != files[yk] else ""
        if len(x) != len(y):
            raise DataError(f"{files[yk]}: {len(y)} labels in {yk} but {len(x)} images in {xk}{other}")
        if len(x) == 0:
            raise DataError(f"{files[xk]}: {xk} holds no images")
        out += [x, y]
    return tuple(out)


def _images(x: np.ndarray, path: Path, key: str) -> np.ndarray:
    # Strict on purpose: float pixels were almost surely scaled already, and training would
    # scale them again into near-black images without a word.
    if x.dtype != np.uint8:
        raise DataError(f"{path}: {key} has dtype {x.dtype}, expected uint8")
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise DataError(f"{path}: {key} has shape {x.shape}, expected (N, 28, 28)")
    return x


def _labels(y: np.ndarray, path: Path, key: str) -> np.ndarray:
    # Labels are lenient about the integer type, as many writers store int64; the values
    # decide, and they come back as uint8 like everything else.
    if not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{path}: {key} has dtype {y.dtype}, expected integer labels (uint8)")
    if y.ndim != 1:
        one_hot = " (one-hot? store the digit itself)" if y.ndim == 2 and y.shape[1] == 10 else ""
        raise DataError(f"{path}: {key} has shape {y.shape}, expected (N,){one_hot}")
    bad = np.flatnonzero((y < 0) | (y > 9))
    if bad.size:
        i = int(bad[0])
        raise DataError(f"{path}: {key} has {bad.size} labels outside 0-9 (the first, at index {i}, is {y[i]})")
    return y.astype(np.uint8, copy=False)
