"""training.data: MNIST from a Keras .npz, a folder of IDX files, $DIGITS_MNIST or the digits-data folder,
and a one-line DataError naming the file for everything that is not MNIST."""

import gzip
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from training.data import DataError, data_files, load_mnist, sha256

ROOT = Path(__file__).resolve().parents[2]
KEYS = ("x_train", "y_train", "x_test", "y_test")
# Written out again rather than imported: the test should catch a typo in the module's table.
IDX_NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def idx_bytes(a: np.ndarray) -> bytes:
    """An IDX file as the MNIST page describes it: 0, 0, type 0x08, ndim, big-endian dims, data."""
    header = bytes([0, 0, 0x08, a.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in a.shape)
    return header + np.ascontiguousarray(a, dtype=np.uint8).tobytes()


def write_idx_folder(folder: Path, arrays, gz=False, dotted=False, skip=()) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for key, a in zip(KEYS, arrays, strict=True):
        if key in skip:
            continue
        name = IDX_NAMES[key].replace("-idx", ".idx") if dotted else IDX_NAMES[key]
        data = idx_bytes(a)
        if gz:
            name, data = name + ".gz", gzip.compress(data)
        (folder / name).write_bytes(data)
    return folder


def write_npz(path: Path, arrays, **changes) -> Path:
    """The arrays as a Keras-layout .npz, with some replaced; a change to None drops the key."""
    contents = dict(zip(KEYS, arrays, strict=True)) | changes
    np.savez(path, **{k: v for k, v in contents.items() if v is not None})
    return path


def data_error(source, file=None, *words) -> str:
    """load_mnist(source) must raise DataError: one line, naming `file` (default: source)."""
    with pytest.raises(DataError) as info:
        load_mnist(source)
    msg = str(info.value)
    assert isinstance(info.value, ValueError)
    assert str(file or source) in msg, msg
    assert "\n" not in msg and "\r" not in msg, msg
    for word in words:
        assert word in msg, msg
    return msg


def assert_same(got, expected):
    assert len(got) == 4
    for g, e in zip(got, expected, strict=True):
        assert g.dtype == np.uint8
        np.testing.assert_array_equal(g, e)


@pytest.fixture(scope="module")
def tiny(mnist_small):
    """30 training and 20 test images: enough to be MNIST, small enough to write many times."""
    x_train, y_train, x_test, y_test = mnist_small
    return x_train[:30], y_train[:30], x_test[:20], y_test[:20]


# -- reading what is right -----------------------------------------------------------------


def test_real_npz(mnist_path):
    x_train, y_train, x_test, y_test = load_mnist(mnist_path)
    assert x_train.shape == (60000, 28, 28) and y_train.shape == (60000,)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    assert set(np.unique(y_train)) == set(range(10)) == set(np.unique(y_test))
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]  # MNIST's own order
    assert x_train.max() == 255 and x_train[0, 0, 0] == 0  # ink bright, background black


def test_npz_round_trip(mnist_small_npz, mnist_small):
    assert_same(load_mnist(str(mnist_small_npz)), mnist_small)


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("dotted", [False, True], ids=["idx3-ubyte", "dotted.idx3-ubyte"])
def test_idx_folder_round_trip(tmp_path, mnist_small, gz, dotted):
    folder = write_idx_folder(tmp_path / "mnist", mnist_small, gz=gz, dotted=dotted)
    got = load_mnist(folder)
    assert_same(got, mnist_small)
    assert all(a.flags.writeable for a in got)  # like np.load's arrays, not read-only buffer views


def test_idx_gz_name_on_plain_bytes(tmp_path, tiny):
    """Browsers often unpack a .gz download and keep its name: go by the bytes."""
    folder = write_idx_folder(tmp_path, tiny)
    for f in list(folder.iterdir()):
        f.rename(f.with_name(f.name + ".gz"))
    assert_same(load_mnist(folder), tiny)


def test_integer_labels_become_uint8(tmp_path, tiny):
    path = write_npz(tmp_path / "m.npz", tiny, y_train=tiny[1].astype(np.int64), y_test=tiny[3].astype(np.int32))
    assert_same(load_mnist(path), tiny)


def test_data_files_and_sha256(tmp_path, tiny, mnist_small_npz):
    assert data_files(mnist_small_npz) == [mnist_small_npz]
    folder = write_idx_folder(tmp_path, tiny, gz=True)
    files = data_files(folder)
    assert sorted(f.name for f in files) == sorted(n + ".gz" for n in IDX_NAMES.values())
    for f in files + [mnist_small_npz]:
        assert sha256(f) == hashlib.sha256(f.read_bytes()).hexdigest()
    with pytest.raises(DataError, match="nope"):
        sha256(tmp_path / "nope")


# -- where the data comes from -------------------------------------------------------------


def test_env_var(monkeypatch, mnist_small_npz, mnist_small):
    monkeypatch.setenv("DIGITS_MNIST", str(mnist_small_npz))
    assert_same(load_mnist(), mnist_small)
    assert data_files() == [mnist_small_npz]


def test_source_beats_env_var(monkeypatch, tmp_path, mnist_small_npz, mnist_small):
    monkeypatch.setenv("DIGITS_MNIST", str(tmp_path / "elsewhere.npz"))
    assert_same(load_mnist(mnist_small_npz), mnist_small)


def test_env_var_missing_file(monkeypatch, tmp_path):
    missing = tmp_path / "gone.npz"
    monkeypatch.setenv("DIGITS_MNIST", str(missing))
    data_error(None, missing, "DIGITS_MNIST")


def test_found_where_digits_data_puts_it(monkeypatch, tmp_path, mnist_small_npz, mnist_small):
    monkeypatch.delenv("DIGITS_MNIST", raising=False)
    monkeypatch.setenv("DIGITS_DATA", str(tmp_path))
    (tmp_path / "mnist.npz").write_bytes(mnist_small_npz.read_bytes())
    assert data_files() == [tmp_path / "mnist.npz"]
    assert_same(load_mnist(), mnist_small)


def test_nowhere_names_digits_data(monkeypatch, tmp_path):
    """No --data, no $DIGITS_MNIST, nothing fetched, no source checkout: one line saying what to run."""
    monkeypatch.delenv("DIGITS_MNIST", raising=False)
    monkeypatch.setenv("DIGITS_DATA", str(tmp_path))
    monkeypatch.setattr("training.datasets.CHECKOUT_DATA", None)
    data_error(None, tmp_path, "mnist.npz not found", "digits-data mnist", "DIGITS_MNIST")


def test_no_tensorflow_on_import():
    """Reading local files must not pay for TensorFlow; checked in a fresh interpreter."""
    code = "import sys, training.data; print(sorted({'keras', 'tensorflow'} & set(sys.modules)))"
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- refusing what is wrong: one test per way ----------------------------------------------


@pytest.mark.parametrize("name", ["missing.npz", "missing-folder/"])
def test_missing_path(tmp_path, name):
    data_error(tmp_path / name, None, "no such file")


@pytest.mark.parametrize("key", KEYS)
def test_idx_folder_missing_a_file(tmp_path, tiny, key):
    folder = write_idx_folder(tmp_path, tiny, skip=(key,))
    data_error(folder, None, IDX_NAMES[key])


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_idx_truncated(tmp_path, tiny, gz):
    folder = write_idx_folder(tmp_path, tiny)
    images = folder / IDX_NAMES["x_train"]
    data = images.read_bytes()[:-100]
    if gz:
        images.unlink()
        images = images.with_name(images.name + ".gz")
        data = gzip.compress(data)
    images.write_bytes(data)
    data_error(folder, images, "truncated", "30x28x28")


def test_idx_truncated_header(tmp_path, tiny):
    folder = write_idx_folder(tmp_path, tiny)
    labels = folder / IDX_NAMES["y_test"]
    labels.write_bytes(labels.read_bytes()[:6])
    data_error(folder, labels, "truncated")


def test_idx_extra_bytes(tmp_path, tiny):
    folder = write_idx_folder(tmp_path, tiny)
    labels = folder / IDX_NAMES["y_train"]
    labels.write_bytes(labels.read_bytes() + b"\0" * 7)
    data_error(folder, labels, "7 bytes more")


def test_idx_wrong_magic(tmp_path, tiny):
    folder = write_idx_folder(tmp_path, tiny)
    images, labels = folder / IDX_NAMES["x_test"], folder / IDX_NAMES["y_test"]
    images_bytes = images.read_bytes()
    images.write_bytes(labels.read_bytes())  # the two files swapped
    labels.write_bytes(images_bytes)
    data_error(folder, images, "magic", "0x00000801", "0x00000803")


def test_idx_float_magic(tmp_path, tiny):
    folder = write_idx_folder(tmp_path, tiny)
    images = folder / IDX_NAMES["x_train"]
    data = bytearray(images.read_bytes())
    data[2] = 0x0D  # IDX's float32 type
    images.write_bytes(bytes(data))
    data_error(folder, images, "magic", "0x00000d03")


@pytest.mark.parametrize("damage", ["cut", "garbled"])
def test_idx_corrupt_gzip(tmp_path, tiny, damage):
    folder = write_idx_folder(tmp_path, tiny, gz=True)
    images = folder / (IDX_NAMES["x_train"] + ".gz")
    data = bytearray(images.read_bytes())
    if damage == "cut":
        data = data[: len(data) // 2]
    else:
        data[20:60] = bytes(range(40))
    images.write_bytes(bytes(data))
    data_error(folder, images, "gzip")


def test_idx_wrong_image_size(tmp_path, tiny):
    x_train, y_train, x_test, y_test = tiny
    folder = write_idx_folder(tmp_path, (np.zeros((30, 32, 32), np.uint8), y_train, x_test, y_test))
    data_error(folder, folder / IDX_NAMES["x_train"], "(30, 32, 32)", "(N, 28, 28)")


def test_idx_count_mismatch(tmp_path, tiny):
    x_train, y_train, x_test, y_test = tiny
    folder = write_idx_folder(tmp_path, (x_train, y_train, x_test, y_test[:-1]))
    msg = data_error(folder, folder / IDX_NAMES["y_test"], "19 labels", "20 images")
    assert IDX_NAMES["x_test"] in msg


def test_idx_label_out_of_range(tmp_path, tiny):
    x_train, y_train, x_test, y_test = tiny
    y = y_train.copy()
    y[7] = 10
    folder = write_idx_folder(tmp_path, (x_train, y, x_test, y_test))
    data_error(folder, folder / IDX_NAMES["y_train"], "outside 0-9", "index 7")


@pytest.mark.parametrize(
    "content",
    [b"<!DOCTYPE html><html>Too many requests</html>", b"", b"\x80\x04\x95 a pickle"],
    ids=["html", "empty", "pickle"],
)
def test_not_an_npz(tmp_path, content):
    path = tmp_path / "mnist.npz"
    path.write_bytes(content)
    data_error(path, None, "not an .npz")


def test_npy_not_npz(tmp_path, tiny):
    path = tmp_path / "x_train.npy"
    np.save(path, tiny[0])
    data_error(path, None, ".npy")


def test_npz_truncated(tmp_path, tiny):
    path = write_npz(tmp_path / "mnist.npz", tiny)
    path.write_bytes(path.read_bytes()[:5000])
    data_error(path)


def test_npz_bad_crc(tmp_path, tiny):
    path = write_npz(tmp_path / "mnist.npz", tiny)
    data = bytearray(path.read_bytes())
    data[1000] ^= 0xFF  # inside x_train's pixels, stored uncompressed: only the CRC can tell
    path.write_bytes(bytes(data))
    data_error(path, None, "x_train")


@pytest.mark.parametrize("key", KEYS)
def test_npz_missing_array(tmp_path, tiny, key):
    path = write_npz(tmp_path / "mnist.npz", tiny, **{key: None})
    data_error(path, None, key)


def test_npz_needs_pickle(tmp_path, tiny):
    labels = np.array(list(tiny[1]), dtype=object)
    path = write_npz(tmp_path / "mnist.npz", tiny, y_train=labels)
    data_error(path, None, "y_train", "pickle", "refusing")


def test_npz_member_not_npy(tmp_path, tiny):
    path = write_npz(tmp_path / "mnist.npz", tiny, y_test=None)
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("y_test", b"5 0 4 1 9")
    data_error(path, None, "y_test")


@pytest.mark.parametrize(
    "key, make, shape",
    [
        ("x_train", lambda x, y: x[..., None], "(30, 28, 28, 1)"),
        ("x_train", lambda x, y: x.reshape(30, 784), "(30, 784)"),
        ("x_train", lambda x, y: np.zeros((30, 32, 32), np.uint8), "(30, 32, 32)"),
        ("y_train", lambda x, y: np.eye(10, dtype=np.uint8)[y], "(30, 10)"),
        ("y_train", lambda x, y: y[:, None], "(30, 1)"),
    ],
    ids=["channel", "flat", "32x32", "one-hot", "column"],
)
def test_npz_wrong_shape(tmp_path, tiny, key, make, shape):
    path = write_npz(tmp_path / "mnist.npz", tiny, **{key: make(tiny[0], tiny[1])})
    data_error(path, None, key, shape)


@pytest.mark.parametrize("split", ["train", "test"])
def test_npz_count_mismatch(tmp_path, tiny, split):
    i = KEYS.index(f"y_{split}")
    path = write_npz(tmp_path / "mnist.npz", tiny, **{f"y_{split}": tiny[i][:-1]})
    data_error(path, None, f"y_{split}", f"{len(tiny[i]) - 1} labels")


def test_npz_empty(tmp_path, tiny):
    path = write_npz(tmp_path / "mnist.npz", tiny, x_test=tiny[2][:0], y_test=tiny[3][:0])
    data_error(path, None, "x_test", "no images")


def test_npz_float_images(tmp_path, tiny):
    path = write_npz(tmp_path / "mnist.npz", tiny, x_train=tiny[0] / 255.0)
    assert data_error(path) == f"{path}: x_train has dtype float64, expected uint8"


def test_npz_int_images(tmp_path, tiny):
    path = write_npz(tmp_path / "mnist.npz", tiny, x_test=tiny[2].astype(np.int64))
    data_error(path, None, "x_test", "int64", "uint8")


@pytest.mark.parametrize("dtype", [np.float32, np.bool_])
def test_npz_non_integer_labels(tmp_path, tiny, dtype):
    path = write_npz(tmp_path / "mnist.npz", tiny, y_test=(tiny[3] % 2).astype(dtype))
    data_error(path, None, "y_test", np.dtype(dtype).name)


@pytest.mark.parametrize("bad", [10, 255, -1, 300])
def test_npz_labels_out_of_range(tmp_path, tiny, bad):
    y = tiny[1].astype(np.int64)
    y[3] = bad
    dtype = np.uint8 if 0 <= bad <= 255 else np.int64
    path = write_npz(tmp_path / "mnist.npz", tiny, y_train=y.astype(dtype))
    data_error(path, None, "y_train", "outside 0-9", f"is {bad}")


# -- damage anywhere: a DataError or good MNIST, never another exception -------------------


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(["npz", "idx.gz", "idx"]), data=st.data())
def test_damaged_files(tiny, kind, data):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if kind == "npz":
            target = source = write_npz(tmp / "mnist.npz", tiny)
        else:
            source = write_idx_folder(tmp, tiny, gz=kind == "idx.gz")
            target = next(source.glob(IDX_NAMES[data.draw(st.sampled_from(KEYS))] + "*"))
        raw = bytearray(target.read_bytes())
        cut = data.draw(st.integers(0, len(raw)))
        flips = data.draw(st.lists(st.tuples(st.integers(0, len(raw) - 1), st.integers(1, 255)), max_size=4))
        for at, bits in flips:
            raw[at] ^= bits
        target.write_bytes(bytes(raw[:cut]))
        try:
            arrays = load_mnist(source)
        except DataError as e:
            assert target.name in str(e) and "\n" not in str(e)
        else:
            assert [a.dtype for a in arrays] == [np.uint8] * 4
            assert arrays[0].shape[1:] == (28, 28) and arrays[1].max() <= 9
