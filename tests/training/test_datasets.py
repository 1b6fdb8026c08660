"""training.datasets (digits-data): downloads from a local HTTP server on 127.0.0.1 serving
fixture files (there is no outside network here), checksums, resuming, atomic writes, the
.Z decoder, and where the data is found."""

import dataclasses
import gzip
import hashlib
import http.server
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

from training import datasets
from training.datasets import DATASETS, DataError, Dataset, fetch, unlzw

TEST_DATA = Path(__file__).resolve().parents[1] / "data"
PAYLOAD = bytes(range(256)) * 400  # 100 kB: several reads of datasets.CHUNK


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Server:
    """Files by URL path on 127.0.0.1. Honours Range requests unless told not to, and can
    break off a response half-way, as a dropped connection does. Records each request."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.ranges = True
        self.cut_after: int | None = None  # bytes of the body to send before hanging up
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append((self.path, self.headers.get("Range")))
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                start, status = 0, 200
                wanted = self.headers.get("Range")
                if wanted and server.ranges:
                    start = int(wanted.removeprefix("bytes=").split("-")[0])
                    if start >= len(body):
                        self.send_error(416, "Range Not Satisfiable")
                        return
                    status = 206
                self.send_response(status)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                part = body[start:] if server.cut_after is None else body[start:start + server.cut_after]
                self.wfile.write(part)

            def log_message(self, *args):  # keep pytest's output clean
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture
def quiet():
    lines = []
    return lines.append


def plain(server, data=PAYLOAD, checksum=None) -> Dataset:
    server.files["/mnist.npz"] = data
    return Dataset("mnist", "mnist.npz", "DIGITS_MNIST", server.url("/mnist.npz"), checksum or sha(data), "test data")


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- downloading ---------------------------------------------------------------------------


def test_download_checked_and_written(server, tmp_path, quiet):
    path = fetch(plain(server), tmp_path, quiet)
    assert path == tmp_path / "mnist.npz"
    assert path.read_bytes() == PAYLOAD
    assert leftovers(tmp_path) == ["mnist.npz"]  # no .part left behind


def test_wrong_checksum_writes_nothing(server, tmp_path, quiet):
    dataset = plain(server, checksum="0" * 64)
    with pytest.raises(DataError) as info:
        fetch(dataset, tmp_path, quiet)
    msg = str(info.value)
    assert dataset.url in msg and sha(PAYLOAD) in msg and "0" * 64 in msg and "\n" not in msg
    assert leftovers(tmp_path) == []  # neither the file nor a .part that a resume would keep extending


def test_resumes_an_interrupted_download(server, tmp_path, quiet):
    dataset = plain(server)
    server.cut_after = 30000
    with pytest.raises(DataError, match="run digits-data again to resume"):
        fetch(dataset, tmp_path, quiet)
    assert leftovers(tmp_path) == ["mnist.npz.part"]  # the real name only ever holds a checked file
    assert (tmp_path / "mnist.npz.part").read_bytes() == PAYLOAD[:30000]
    server.cut_after = None
    fetch(dataset, tmp_path, quiet)
    assert server.requests[-1] == ("/mnist.npz", "bytes=30000-")
    assert (tmp_path / "mnist.npz").read_bytes() == PAYLOAD
    assert leftovers(tmp_path) == ["mnist.npz"]


def test_server_without_ranges_starts_again(server, tmp_path, quiet):
    dataset = plain(server)
    (tmp_path / "mnist.npz.part").write_bytes(b"junk from an earlier try")
    server.ranges = False
    fetch(dataset, tmp_path, quiet)
    assert (tmp_path / "mnist.npz").read_bytes() == PAYLOAD


def test_whole_part_file_is_finished_without_downloading(server, tmp_path, quiet):
    dataset = plain(server)
    (tmp_path / "mnist.npz.part").write_bytes(PAYLOAD)
    fetch(dataset, tmp_path, quiet)  # the server answers 416 to a range past the end
    assert (tmp_path / "mnist.npz").read_bytes() == PAYLOAD


def test_checked_copy_is_not_downloaded_again(server, tmp_path, quiet):
    dataset = plain(server)
    fetch(dataset, tmp_path, quiet)
    fetch(dataset, tmp_path, quiet)
    assert len(server.requests) == 1


def test_damaged_copy_is_replaced(server, tmp_path, quiet):
    dataset = plain(server)
    (tmp_path / "mnist.npz").write_bytes(b"not what was published")
    fetch(dataset, tmp_path, quiet)
    assert (tmp_path / "mnist.npz").read_bytes() == PAYLOAD


def test_http_error_is_one_line(server, tmp_path, quiet):
    dataset = dataclasses.replace(plain(server), url=server.url("/moved"))
    with pytest.raises(DataError, match=r"^http://127\.0\.0\.1:\d+/moved: HTTP 404 Not Found$"):
        fetch(dataset, tmp_path, quiet)
    assert leftovers(tmp_path) == []


def test_nobody_listening_is_one_line(tmp_path, quiet):
    closed = Server()
    url = closed.url("/mnist.npz")
    closed.close()
    dataset = Dataset("mnist", "mnist.npz", "DIGITS_MNIST", url, "0" * 64, "test data")
    with pytest.raises(DataError, match="download failed") as info:
        fetch(dataset, tmp_path, quiet)
    assert "\n" not in str(info.value)


def test_pen_digits_from_a_zip_of_a_z_file(server, tmp_path, quiet):
    """The UCI archive: a zip holding pendigits-orig.tra.Z; what is kept is the decompressed file."""
    z = (TEST_DATA / "pendigits-sample.tra.Z").read_bytes()
    text = unlzw(z)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as f:
        f.writestr("pendigits-orig.names", "about")
        f.writestr("pendigits-orig.tra.Z", z)
    server.files["/pendigits.zip"] = archive.getvalue()
    dataset = dataclasses.replace(DATASETS["pen"], url=server.url("/pendigits.zip"), sha256=sha(text))
    path = fetch(dataset, tmp_path, quiet)
    assert path.read_bytes() == text
    assert leftovers(tmp_path) == ["pendigits-orig.tra"]
    from training.pendigits import load_unipen

    assert len(load_unipen(path)) == 20


def test_zip_without_the_member(server, tmp_path, quiet):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as f:
        f.writestr("README", "moved")
    server.files["/pendigits.zip"] = archive.getvalue()
    dataset = dataclasses.replace(DATASETS["pen"], url=server.url("/pendigits.zip"))
    with pytest.raises(DataError, match="no pendigits-orig.tra.Z inside"):
        fetch(dataset, tmp_path, quiet)
    assert not (tmp_path / "pendigits-orig.tra").exists()


def tar_bytes(files: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, text in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    return out.getvalue()


# A made-up corner of the UNIPEN CD-ROM: the writer comes from an included file, a digit in two
# components, one cut to points, a non-digit segment, a one-point digit (left out), another category.
UNIPEN_FILES = {
    "train_r01_v07/include/gmd/writers.inc": ".WRITER_ID anna\n",
    "train_r01_v07/data/1a/gmd/gmd01/a.dat": "\n".join([
        ".INCLUDE gmd/writers.inc", ".HIERARCHY DIGIT",
        ".PEN_DOWN", "10 50", "10 20", ".PEN_UP",      # component 0
        ".PEN_DOWN", "0 30", "20 30", ".PEN_UP",       # component 1
        ".PEN_DOWN", "5 5 128", "6 9 128", "7 12 128", "8 14 128", ".PEN_UP",  # 2 (with pressure)
        ".PEN_DOWN", "3 3", ".PEN_UP",                 # 3
        '.SEGMENT DIGIT 0-1 ? "4"', '.SEGMENT DIGIT 2:1-2:2 ? "1"',
        '.SEGMENT DIGIT 0 ? "x"', '.SEGMENT DIGIT 3 ? "7"']) + "\n",
    "train_r01_v07/data/1c/gmd/b.dat": '.PEN_DOWN\n1 1\n2 2\n.PEN_UP\n.SEGMENT CHARACTER 0 ? "a"\n',
}
UNIPEN_EXPECTED = [  # y flipped to point down, each digit's box moved to (0, 0)
    {"label": 4, "writer": "gmd:anna", "contributor": "gmd", "checked": True, "source": "data/1a/gmd/gmd01/a.dat",
     "strokes": [[[10, 0], [10, 30]], [[0, 20], [20, 20]]]},
    {"label": 1, "writer": "gmd:anna", "contributor": "gmd", "checked": True, "source": "data/1a/gmd/gmd01/a.dat",
     "strokes": [[[0, 3], [1, 0]]]},
]


def test_unipen_archive_to_json_lines(server, tmp_path, quiet):
    expected = "".join(json.dumps(d, separators=(",", ":")) + "\n" for d in UNIPEN_EXPECTED).encode()
    server.files["/unipen.tgz"] = tar_bytes(UNIPEN_FILES)
    dataset = dataclasses.replace(DATASETS["unipen"], url=server.url("/unipen.tgz"), sha256=sha(expected))
    path = fetch(dataset, tmp_path, quiet)
    assert gzip.decompress(path.read_bytes()) == expected
    assert leftovers(tmp_path) == ["unipen-1a.jsonl.gz"]
    from training.unipen import load_unipen_1a

    assert [d.label for d in load_unipen_1a(path)] == [4, 1]


def test_unipen_archive_without_category(server, tmp_path, quiet):
    server.files["/unipen.tgz"] = tar_bytes({"x/data/1c/a.dat": ".PEN_DOWN\n"})
    dataset = dataclasses.replace(DATASETS["unipen"], url=server.url("/unipen.tgz"))
    with pytest.raises(DataError, match="no data/1a/ .dat files inside"):
        fetch(dataset, tmp_path, quiet)


def test_gz_checked_by_content(tmp_path):
    """A .gz data set is checked by what it holds: gzip output differs between zlib builds."""
    path = tmp_path / "x.jsonl.gz"
    path.write_bytes(gzip.compress(b"content", compresslevel=1))
    assert datasets.content_sha256(path) == sha(b"content")


# -- the .Z decoder ------------------------------------------------------------------------


def test_unlzw_matches_gzip(tmp_path):
    """gzip -d reads .Z too: an independent decoder to compare with."""
    z = (TEST_DATA / "pendigits-sample.tra.Z").read_bytes()
    expected = subprocess.run(["gzip", "-dc"], input=z, capture_output=True, check=True).stdout
    assert unlzw(z) == expected


@pytest.mark.parametrize("bits", [10, 12, 16])  # -b9: not even `compress -d` reads its own output back
def test_unlzw_real_pen_file(pen_path, bits):
    """The whole pen file through `compress` (code widths growing to the maximum, table clears)
    and back: the pinned sha256 digits-data checks."""
    compress = shutil.which("compress")
    if compress is None:
        pytest.skip("no `compress` program (apt-get install ncompress)")
    z = subprocess.run([compress, "-c", f"-b{bits}", str(pen_path)], capture_output=True, check=True).stdout
    assert sha(unlzw(z)) == DATASETS["pen"].sha256


@pytest.mark.parametrize("damage", [b"", b"\x1f\x8b\x08", b"\x1f\x9d\x1f", b"\x1f\x9d\x90\xff\xff\xff\xff"])
def test_unlzw_refuses_damage(damage):
    with pytest.raises(DataError) as info:
        unlzw(damage, "x.Z")
    assert str(info.value).startswith("x.Z: ") and "\n" not in str(info.value)


# -- finding -------------------------------------------------------------------------------


@pytest.fixture
def places(monkeypatch, tmp_path):
    """A digits-data folder and a checkout folder, both empty, and no environment variables."""
    for d in DATASETS.values():
        monkeypatch.delenv(d.env, raising=False)
    (tmp_path / "data").mkdir()
    (tmp_path / "shared").mkdir()
    monkeypatch.setenv("DIGITS_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(datasets, "CHECKOUT_DATA", tmp_path / "shared")
    return tmp_path


def test_lookup_order(places, monkeypatch):
    assert datasets.find("pen") is None
    (places / "shared" / "pendigits-orig.tra").write_text("x")
    assert datasets.find("pen") == places / "shared" / "pendigits-orig.tra"
    (places / "data" / "pendigits-orig.tra").write_text("x")
    assert datasets.find("pen") == places / "data" / "pendigits-orig.tra"
    (places / "mine.tra").write_text("x")
    monkeypatch.setenv("DIGITS_PEN", str(places / "mine.tra"))
    assert datasets.require("pen") == places / "mine.tra"


def test_env_var_is_strict(places, monkeypatch):
    """$DIGITS_UNIPEN pointing nowhere is an error, never a quiet switch to another copy."""
    (places / "data" / "unipen-1a.jsonl.gz").write_text("x")
    monkeypatch.setenv("DIGITS_UNIPEN", str(places / "typo.gz"))
    with pytest.raises(DataError, match=r"typo\.gz: no such file \(from \$DIGITS_UNIPEN\)"):
        datasets.require("unipen")


def test_missing_names_the_command(places):
    with pytest.raises(DataError) as info:
        datasets.require("pen")
    msg = str(info.value)
    assert "run `digits-data pen`" in msg and "$DIGITS_PEN" in msg and str(places / "data") in msg


def test_installed_copy_never_looks_beside_site_packages(tmp_path, monkeypatch):
    """Installed from a wheel, the module has no pyproject.toml above it: no ../shared/data
    guess (it used to point into the virtual environment and find nothing, silently)."""
    copy = tmp_path / "site-packages" / "training" / "datasets.py"
    copy.parent.mkdir(parents=True)
    shutil.copy(datasets.__file__, copy)
    spec = importlib.util.spec_from_file_location("installed_datasets", copy)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "installed_datasets", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    assert module.CHECKOUT_DATA is None
    assert all("site-packages" not in str(p) for p in module.candidates("pen"))


# -- the command ---------------------------------------------------------------------------


def test_command_fetches_into_dir(server, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(DATASETS, "mnist", plain(server))
    monkeypatch.delenv("DIGITS_DATA", raising=False)
    assert datasets.main(["mnist", "--dir", str(tmp_path)]) == 0
    assert (tmp_path / "mnist.npz").read_bytes() == PAYLOAD
    assert datasets.main(["--list", "mnist", "--dir", str(tmp_path)]) == 0
    assert str(tmp_path / "mnist.npz") in capsys.readouterr().out


def test_command_error_is_one_line(server, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(DATASETS, "mnist", plain(server, checksum="0" * 64))
    monkeypatch.delenv("DIGITS_DATA", raising=False)
    assert datasets.main(["mnist", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("digits-data: ") and err.count("\n") == 1
    assert leftovers(tmp_path) == []


def test_command_unknown_name(capsys):
    with pytest.raises(SystemExit) as info:
        datasets.main(["mnits"])
    assert info.value.code == 2 and "unknown data set 'mnits'" in capsys.readouterr().err


def test_digits_train_without_data_names_digits_data(places, tmp_path, capsys):
    """The run that used to train on MNIST alone and call an MNIST hold-out 'pen digits of
    unseen writers': now one line saying what to run, and nothing written."""
    pytest.importorskip("tensorflow")
    from training import train

    out = tmp_path / "out"
    assert train.main(["--quick", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    # whichever missing data set digits-train checks first, the line names the command that fetches it
    assert err and "not found" in err[-1] and "run `digits-data " in err[-1], err
    assert not (out / "digits.keras").exists()


def test_digits_train_without_pen_names_digits_data(places, tmp_path, capsys, mnist_small_npz, monkeypatch):
    pytest.importorskip("tensorflow")
    from training import train

    monkeypatch.setenv("DIGITS_MNIST", str(mnist_small_npz))
    out = tmp_path / "out"
    assert train.main(["--quick", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err and "digits-data pen" in err[-1], err
    assert not (out / "digits.keras").exists()


def test_no_heavy_imports():
    """digits-data runs before anything else is installed: standard library and platformdirs only."""
    code = "import sys, training.datasets; print(sorted({'numpy', 'tensorflow', 'keras'} & set(sys.modules)))"
    root = Path(__file__).resolve().parents[2]
    env = os.environ | {"PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
