"""The stroke JSON drawing format, the one drawing format everywhere:

    {"canvas": [W, H], "brush": B, "strokes": [[[x, y], ...], ...]}

in screen pixels, y pointing down. A correction (a drawing the user labelled in the player)
adds "label": "42", the digits it shows, and is what `digits-train --extra DIR` reads.

Limits, far above any hand-drawn number (a five-digit number drawn slowly is a few thousand
points in ten strokes) and low enough that the worst drawing within them (200 strokes of 250
points, all on top of each other: 800 candidate digits for the segmenter) reads in about two
seconds of CPU: MAX_BYTES, MAX_STROKES, MAX_POINTS. A file over a limit is refused with one
line saying which.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

from player.errors import first_line

MAX_BYTES = 4_000_000  # a drawing file; checked before it is read
MAX_STROKES = 200
MAX_POINTS = 50_000  # all strokes together

PICTURE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")  # PNG JPEG GIF BMP TIFF


class DrawingError(ValueError):
    """A drawing file that cannot be used; the message is one line naming the file."""


@dataclass
class Drawing:
    canvas: tuple[int, int] = (480, 480)
    brush: float = 16.0
    # lists of (x, y); (n, 2) float64 arrays when decoded with arrays=True (digits-predict reads
    # them as arrays: the tuples would only be turned back into arrays)
    strokes: list[list[tuple[float, float]]] = field(default_factory=list)
    label: str | None = None

    def to_json(self) -> dict:
        data = {
            "canvas": list(self.canvas),
            "brush": self.brush,
            "strokes": [[[round(x, 2), round(y, 2)] for x, y in s] for s in self.strokes],
        }
        if self.label is not None:
            data["label"] = self.label
        return data


def _number(value, what: str) -> float:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        raise ValueError(f"{what} is out of range: {str(value)[:20]}...")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def parse_drawing(data, arrays: bool = False) -> Drawing:
    """Validate decoded JSON; raises ValueError with a short reason. arrays: strokes as (n, 2) arrays."""
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object with canvas, brush and strokes")
    for key in ("canvas", "strokes"):
        if key not in data:
            raise ValueError(f'missing "{key}"')
    canvas = data["canvas"]
    if not (isinstance(canvas, list) and len(canvas) == 2):
        raise ValueError('"canvas" must be [width, height]')
    w, h = (_number(v, "canvas size") for v in canvas)
    if w < 1 or h < 1:
        raise ValueError(f'"canvas" must be at least 1x1 pixels, got {canvas}')
    brush = _number(data.get("brush", 16.0), '"brush"')
    if brush <= 0:  # the pen's width: dots smaller than two of it are clicks, never digits
        raise ValueError(f'"brush" must be a width above 0 pixels, got {data["brush"]!r}')
    if not isinstance(data["strokes"], list):
        raise ValueError('"strokes" must be a list of strokes')
    if len(data["strokes"]) > MAX_STROKES:
        raise ValueError(f"too many strokes: {len(data['strokes']):,} (a drawing has at most {MAX_STROKES:,})")
    points = sum(len(stroke) for stroke in data["strokes"] if isinstance(stroke, list))
    if points > MAX_POINTS:
        raise ValueError(f"too many points: {points:,} (a drawing has at most {MAX_POINTS:,})")
    strokes = [_points(stroke, i, arrays) for i, stroke in enumerate(data["strokes"])]
    label = data.get("label")
    if label is not None and not (isinstance(label, str) and re.fullmatch("[0-9]+", label)):
        raise ValueError(f'"label" must be a string of digits, got {label!r}')
    return Drawing((int(w), int(h)), brush, strokes, label)


def _points(stroke, i: int, arrays: bool = False):
    """One stroke's [x, y] points as float pairs (an (n, 2) array if `arrays`); ValueError saying
    which point is wrong."""
    if not isinstance(stroke, list):
        raise ValueError(f"stroke {i} must be a list of [x, y] points")
    # Fast path, a whole stroke at a time (a file holds thousands of points): every point a
    # list of two JSON numbers, finite, integers within float precision. Anything else goes
    # point by point below, which finds the culprit and names it.
    import numpy as np  # here, not at the top: the app imports this module before its window opens

    values = chain.from_iterable(stroke)
    if set(map(type, stroke)) <= {list} and set(map(len, stroke)) <= {2} and set(map(type, values)) <= {int, float}:
        try:
            xy = np.fromiter(chain.from_iterable(stroke), np.float64, 2 * len(stroke))
        except OverflowError:  # an integer too large for a float: named below
            xy = np.array([math.inf])
        if np.abs(xy).max(initial=0.0) <= 2**53:  # finite, integers exact (NaN compares false: slow path)
            if arrays:
                return xy.reshape(-1, 2)
            pairs = iter(xy.tolist())
            return list(zip(pairs, pairs, strict=True))
    points = []
    for p in stroke:
        if not (isinstance(p, list) and len(p) == 2):
            raise ValueError(f"stroke {i} has a point that is not [x, y]: {p!r}")
        points.append((_number(p[0], f"stroke {i} x"), _number(p[1], f"stroke {i} y")))
    return np.array(points, np.float64).reshape(-1, 2) if arrays else points


def decode_drawing(data: bytes, arrays: bool = False) -> Drawing:
    """Stroke JSON bytes (UTF-8/16/32, with or without the BOM Windows editors add) -> Drawing
    (strokes as (n, 2) arrays if `arrays`); ValueError with the reason in one line if unusable."""
    if len(data) > MAX_BYTES:
        raise ValueError(too_large(len(data)))
    if not data:
        raise ValueError("not JSON (the file is empty)")
    try:
        decoded = json.loads(data)
    except UnicodeDecodeError as e:  # Python's codec wording ("invalid continuation byte") says little
        raise ValueError(f"not JSON (not {e.encoding.upper()} text: byte 0x{e.object[e.start]:02x} at offset "
                         f"{e.start:,})") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"not JSON ({first_line(e)})") from None
    except RecursionError:
        raise ValueError("not JSON (nested too deeply to read)") from None
    except ValueError as e:  # Python's own limit on the digits of an integer (4,300)
        digits = re.search(r"has (\d+) digits", str(e))
        raise ValueError(f"not a stroke drawing: a number in it has {digits[1] if digits else 'thousands of'} "
                         "digits (coordinates are pixels)") from None
    try:
        return parse_drawing(decoded, arrays)
    except (ValueError, TypeError, OverflowError) as e:
        raise ValueError(f"not a stroke drawing: {e}") from None


def load_drawing(path: str | Path) -> Drawing:
    """Read a stroke JSON file; DrawingError (one line, names the file) if unusable."""
    path = Path(path)
    try:
        data = read_at_most(path, MAX_BYTES)
    except TooLarge as e:
        raise DrawingError(f"{path}: {too_large(e.size)}") from None
    except OSError as e:
        raise DrawingError(f"{path}: cannot read ({e.strerror or e})") from None
    try:
        return decode_drawing(data)
    except ValueError as e:
        if is_picture(data):
            raise DrawingError(f"{path}: a picture, not a stroke drawing (.json): digits-predict reads "
                               "pictures") from None
        raise DrawingError(f"{path}: {e}") from None


def is_picture(data: bytes) -> bool:
    """Whether the bytes start like an image file: PNG, JPEG, GIF, BMP, TIFF or WebP."""
    return data.startswith(PICTURE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


class TooLarge(Exception):
    """A file over a size limit; size is None when it has none (a device, a pipe)."""

    def __init__(self, size: int | None):
        super().__init__(size)
        self.size = size


def read_at_most(path: str | Path, limit: int) -> bytes:
    """The file's bytes; TooLarge if there are more than limit, found before reading them (a
    file's size) or after limit + 1 (a device that never ends, such as /dev/zero)."""
    with open(path, "rb") as f:  # open(), not Path.open: digits-predict opens thousands
        size = os.fstat(f.fileno()).st_size
        if size > limit:
            raise TooLarge(size)
        if size:  # what it holds, exactly (f.read(limit) would set aside `limit` bytes first)
            return f.read(size)
        data = bytearray()
        while len(data) <= limit and (piece := f.read(min(1 << 16, limit + 1 - len(data)))):  # a device, a pipe
            data += piece
        if len(data) > limit:
            raise TooLarge(None)
        return bytes(data)


def too_large(size: int | None, limit: int = MAX_BYTES, what: str = "a drawing") -> str:
    if size is not None and f"{size / 1e6:.1f}" == f"{limit / 1e6:.1f}":  # not "4.0 MB (... at most 4 MB)"
        return f"too large: {size:,} bytes ({what} is at most {limit:,})"
    amount = f"{size / 1e6:.1f} MB" if size is not None else f"more than {limit / 1e6:.0f} MB"
    return f"too large: {amount} ({what} is at most {limit / 1e6:.0f} MB)"


def save_new(folder: Path, stem: str, payloads: dict[str, bytes]) -> dict[str, Path]:
    """Write files `stem[-n].ext` for each extension in `payloads`, never overwriting.

    Picks the first n for which none of the names exists, and creates each file with
    O_EXCL so a file that appears meanwhile is not clobbered either. Returns the paths.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(10_000):
        name = stem if n == 0 else f"{stem}-{n}"
        paths = {ext: folder / f"{name}{ext}" for ext in payloads}
        if any(p.exists() for p in paths.values()):
            continue
        written = []
        try:
            for ext, data in payloads.items():
                fd = os.open(paths[ext], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                written.append(paths[ext])
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
        except BaseException as e:
            for p in written:  # all or nothing: no drawing without its picture
                p.unlink(missing_ok=True)
            if isinstance(e, FileExistsError):
                continue
            raise
        return paths
    raise OSError(f"{folder}: no free file name for {stem}")
