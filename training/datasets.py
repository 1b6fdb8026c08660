"""digits-data: fetch the data sets from their public homes, check them, and find them again.

    digits-data                   # all of them, into the per-user data folder
    digits-data mnist pen --dir ~/data
    digits-data --list            # where each one is found now, or where it would go

Where a data set is looked for (`find`), the first that exists wins:

1. its environment variable, $DIGITS_MNIST, $DIGITS_PEN, $DIGITS_UNIPEN: when set, there
   and nowhere else (a wrong path is an error, not a reason to use another copy);
2. the digits-data folder: $DIGITS_DATA, else the per-user data folder (platformdirs);
3. ../shared/data beside a source checkout (the project's own machines).

A download goes to FILE.part (an interrupted one is resumed with an HTTP Range request),
is checked against the sha256 written below, and only then becomes FILE by an atomic
rename: no half-written or unchecked file ever carries the real name. Only the standard
library and platformdirs here: digits-data runs before anything else is there.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import sys
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DATA_ENV = "DIGITS_DATA"
# ../shared/data beside the repository: looked at only when this file is in a source checkout,
# never beside site-packages, where an installed copy of this file would point
SOURCE_ROOT = Path(__file__).resolve().parent.parent
CHECKOUT_DATA = SOURCE_ROOT.parent / "shared" / "data" if (SOURCE_ROOT / "pyproject.toml").exists() else None
TIMEOUT = 60  # seconds without a byte before a download is given up
CHUNK = 1 << 16


class DataError(ValueError):
    """Data that cannot be had or used. The message is one line: the file or URL, then what is wrong."""

    def __init__(self, message: str):
        # texts from urllib, zipfile or tarfile sometimes carry newlines of their own
        super().__init__(" ".join(line.strip() for line in str(message).splitlines() if line.strip()))


@dataclass(frozen=True)
class Dataset:
    name: str  # what digits-data calls it on the command line
    file: str  # its name in the data folder
    env: str  # the environment variable that points at a copy elsewhere
    url: str  # its public home
    sha256: str  # of the file as used; for a .gz file, of its decompressed content (gzip bytes differ by zlib)
    about: str
    build: Callable[[Path, Dataset], bytes] | None = None  # the download -> the file; None: used as downloaded
    member: str = ""  # the file inside the downloaded archive, where there is one


def _unpack_member(download: Path, dataset: Dataset) -> bytes:
    """The one file of a .zip download (possibly unix-compressed, .Z) that we keep."""
    try:
        with zipfile.ZipFile(download) as archive:
            names = [n for n in archive.namelist() if Path(n).name == dataset.member]
            if not names:
                raise DataError(f"{download}: no {dataset.member} inside (has {', '.join(archive.namelist()[:8])})")
            data = archive.read(names[0])
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise DataError(f"{download}: not a readable zip archive ({e})") from None
    return unlzw(data, dataset.member) if dataset.member.endswith(".Z") else data


def _build_unipen(download: Path, dataset: Dataset) -> bytes:
    from training.unipen_archive import ArchiveError, digits_jsonl  # only this data set needs it

    try:
        return gzip.compress(digits_jsonl(download, category="1a"), mtime=0)
    except ArchiveError as e:
        raise DataError(str(e)) from None


DATASETS = {
    d.name: d
    for d in (
        Dataset(
            "mnist", "mnist.npz", "DIGITS_MNIST",
            # the copy Keras downloads, with the sha256 Keras checks (keras.datasets.mnist)
            "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
            "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
            "MNIST, 70,000 scanned digits (LeCun, Cortes, Burges; CC BY-SA 3.0)"),
        Dataset(
            "pen", "pendigits-orig.tra", "DIGITS_PEN",
            "https://archive.ics.uci.edu/static/public/81/pen+based+recognition+of+handwritten+digits.zip",
            "a66225d68d7d68591e62944df1ad33b3f5aa608e2df2505844b41f5568a80da4",
            "UCI pen-based digits, the original trajectories: 7,494 digits by 30 writers (CC BY 4.0)",
            build=_unpack_member, member="pendigits-orig.tra.Z"),
        Dataset(
            "unipen", "unipen-1a.jsonl.gz", "DIGITS_UNIPEN",
            "https://zenodo.org/api/records/1195803/files/unipen-CDROM-train_r01_v07.tgz/content",
            "6909d80b0d3a69cbd123e449b27207b32c430dcf8326a47b46781e4a54c664c1",
            "UNIPEN train_r01_v07 category 1a: 11,808 digits by 99 writers (Zenodo 1195803)",
            build=_build_unipen),
    )
}


# -- where the data is ---------------------------------------------------------------------


def data_dir() -> Path:
    """The digits-data folder: $DIGITS_DATA, else the per-user data folder."""
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("digits")) / "data"


def candidates(name: str, folder: Path | None = None) -> list[Path]:
    """Where `name` is looked for, in order (`folder`: the digits-data folder, if not the default)."""
    dataset = DATASETS[name]
    if os.environ.get(dataset.env):  # an empty variable counts as unset: `DIGITS_PEN= cmd` unsets it for one command
        return [Path(os.environ[dataset.env]).expanduser()]
    return [(folder or data_dir()) / dataset.file] + ([CHECKOUT_DATA / dataset.file] if CHECKOUT_DATA else [])


def find(name: str, folder: Path | None = None) -> Path | None:
    """The first existing copy of data set `name`, or None."""
    return next((path for path in candidates(name, folder) if path.exists()), None)


def require(name: str) -> Path:
    """The data set's path, or a DataError that says where it was looked for and how to get it."""
    path = find(name)
    if path is None:
        dataset = DATASETS[name]
        if os.environ.get(dataset.env):
            raise DataError(f"{candidates(name)[0]}: no such file (from ${dataset.env})")
        raise DataError(f"{dataset.file} not found (looked in {', '.join(str(p.parent) for p in candidates(name))}): "
                        f"run `digits-data {name}` to download it, or set ${dataset.env}")
    return path


# -- checking ------------------------------------------------------------------------------


def content_sha256(path: Path) -> str:
    """sha256 of the file, or of what a .gz file holds."""
    digest = hashlib.sha256()
    try:
        with (gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")) as f:
            while block := f.read(CHUNK * 16):
                digest.update(block)
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise DataError(f"{path}: cannot read ({getattr(e, 'strerror', None) or e})") from None
    return digest.hexdigest()


def unlzw(data: bytes, name: str = "data") -> bytes:
    """Undo unix `compress` (.Z, LZW), which Python's standard library cannot read.

    The format: 3 header bytes, then codes of 9 bits up to the header's maximum, least
    significant bit first. Two quirks of the original program are part of the format: codes
    are written in groups of 8, so when the code width grows (or the table is cleared by
    code 256) the rest of the current group is padding; and a code may name the table entry
    that is being defined by that very code (the "KwKwK" case)."""
    if len(data) < 3 or data[:2] != b"\x1f\x9d":
        raise DataError(f"{name}: not unix-compressed (.Z) data")
    max_bits, block_mode = data[2] & 0x1F, bool(data[2] & 0x80)
    if not 9 <= max_bits <= 16:
        raise DataError(f"{name}: .Z data with {max_bits}-bit codes (9 to 16 are possible)")
    table = [bytes([i]) for i in range(256)]
    if block_mode:
        table.append(b"")  # 256 is the clear code
    total_bits = (len(data) - 3) * 8
    pos, origin, bits = 0, 0, 9  # bit position after the header, start of the current groups, code width
    out = []
    previous = b""
    while pos + bits <= total_bits:
        if len(table) >= 1 << bits and bits < max_bits:
            # the next code needs a wider field: the rest of this group of 8 codes is padding
            pos = origin = pos + (origin - pos) % (8 * bits)
            bits += 1
            continue
        byte = 3 + (pos >> 3)
        code = (int.from_bytes(data[byte:byte + 3], "little") >> (pos & 7)) & ((1 << bits) - 1)
        pos += bits
        if block_mode and code == 256 and previous:
            pos = origin = pos + (origin - pos) % (8 * bits)
            table, bits, previous = table[:257], 9, b""
            continue
        if code < len(table) and (previous or code < 256):
            entry = table[code]
        elif code == len(table) and previous:
            entry = previous + previous[:1]  # KwKwK
        else:
            raise DataError(f"{name}: corrupt .Z data (code {code} at bit {pos - bits})")
        out.append(entry)
        if previous and len(table) < 1 << max_bits:
            table.append(previous + entry[:1])
        previous = entry
    return b"".join(out)


# -- fetching ------------------------------------------------------------------------------


def download(url: str, target: Path, log=print) -> Path:
    """`url` -> `target` (a .part file), resumed where an earlier try stopped."""
    have = target.stat().st_size if target.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "digits-data"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            if have and response.status != 206:
                have = 0  # the server ignores ranges: start again
            length = response.headers.get("Content-Length")
            expected = int(length) if length and length.isdigit() else None
            log(f"  {url}" + (f" (resuming at {have:,} bytes)" if have else "")
                + (f", {expected + have:,} bytes" if expected is not None else ""))
            got = 0
            with target.open("ab" if have else "wb") as f:
                while block := response.read(CHUNK):
                    f.write(block)
                    got += len(block)
            if expected is not None and got < expected:  # the connection was dropped: keep what came
                raise DataError(f"{url}: download failed (connection closed after {have + got:,} of "
                                f"{have + expected:,} bytes); run digits-data again to resume")
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # asked past the end: the .part file is already whole
            return target
        raise DataError(f"{url}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", None) or getattr(e, "strerror", None) or e
        raise DataError(f"{url}: download failed ({reason}); run digits-data again to resume") from None
    return target


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def fetch(dataset: Dataset, folder: Path, log=print) -> Path:
    """Download `dataset` into `folder` unless a checked copy is there; the path of the file."""
    path = folder / dataset.file
    if path.exists():
        if content_sha256(path) == dataset.sha256:
            log(f"{dataset.name}: {path} is there and checked")
            return path
        log(f"{dataset.name}: {path} does not match its sha256: fetching it again")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"{folder}: cannot create the data folder ({e.strerror or e})") from None
    log(f"{dataset.name}: {dataset.about}")
    part = folder / f"{dataset.file}.part"  # the download, whatever it is (npz, zip, tgz), until checked
    download(dataset.url, part, log)
    if dataset.build is None:
        got = content_sha256(part)
        if got != dataset.sha256:
            part.unlink()  # resuming a wrong file would never make it right
            raise DataError(f"{dataset.url}: sha256 {got}, expected {dataset.sha256}: the download "
                            "was not the expected file and was removed")
        os.replace(part, path)
    else:
        data = dataset.build(part, dataset)
        got = (hashlib.sha256(gzip.decompress(data) if dataset.file.endswith(".gz") else data)).hexdigest()
        if got != dataset.sha256:
            part.unlink()
            raise DataError(f"{dataset.url}: {dataset.file} made from it has sha256 {got}, expected "
                            f"{dataset.sha256}: the download was not the expected file and was removed")
        _write_atomic(path, data)
        part.unlink()
    log(f"{dataset.name}: {path} written and checked (sha256 {dataset.sha256[:12]}...)")
    return path


# -- the command ---------------------------------------------------------------------------


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="digits-data", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n\n".join(__doc__.split("\n\n")[1:3]))
    p.add_argument("names", nargs="*", metavar="NAME", help=f"which data sets: {', '.join(DATASETS)} (default: all)")
    p.add_argument("--dir", type=Path, help=f"the data folder (default: ${DATA_ENV}, else {data_dir()})")
    p.add_argument("--list", action="store_true", help="say where each data set is found, fetch nothing")
    args = p.parse_args(argv)
    unknown = [n for n in args.names if n not in DATASETS]
    if unknown:
        p.error(f"unknown data set {unknown[0]!r}: choose from {', '.join(DATASETS)}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    folder = args.dir or data_dir()
    names = args.names or list(DATASETS)
    if args.list:
        for name in names:
            path = find(name, folder)
            print(f"{name:7} {path if path else 'missing: would go to ' + str(folder / DATASETS[name].file)}")
        return 0
    try:
        for name in names:
            fetch(DATASETS[name], folder)
    except DataError as e:
        print(f"digits-data: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("digits-data: interrupted; run it again to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
