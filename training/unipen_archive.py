"""The UNIPEN CD-ROM archive (train_r01_v07, Zenodo 1195803) -> the JSON lines training.unipen reads.

`digits-data unipen` downloads the archive and calls `digits_jsonl`; the result is checked
against the sha256 of the project's reference copy (training.datasets), so a difference in
this conversion is reported, never silently trained on.

What the archive holds, as far as we use it: `<root>/data/<category>/<institution>/**/*.dat`
files in the UNIPEN format (lines starting with a keyword such as .WRITER_ID, .PEN_DOWN,
.PEN_UP, .SEGMENT; pen points as lines of numbers, x y first), which may pull in other files
with `.INCLUDE name` (looked up beside the file, then under `<root>/include/`). Every
.PEN_DOWN ... .PEN_UP block is a pen *component*, numbered from 0 in the order read.
`.SEGMENT DIGIT 3-4 ? "7"` says components 3 and 4 are a "7"; a delineation is a comma list
of components or ranges, and a component may be cut to points (`3:10-3:40`).

Each digit becomes one line, in the order of the .dat files' paths:
{"label", "writer": "<institution>:<.WRITER_ID>", "contributor", "checked", "source", "strokes"},
strokes with y pointing down and the digit's box starting at (0, 0). Standard library only.
"""

from __future__ import annotations

import json
import re
import tarfile
from pathlib import PurePosixPath

# contributors who verified their labels (see the data README)
CHECKED = {"syn", "gmd", "uqb", "art", "lou"}
MAX_INCLUDE_DEPTH = 8  # .INCLUDE chains end; a file that includes itself is refused, not followed forever


class ArchiveError(ValueError):
    """An archive that is not what we expect; one line."""


def digits_jsonl(archive, category: str = "1a") -> bytes:
    """JSON lines (bytes) of every digit in data/<category>/ of the UNIPEN tar archive."""
    names, texts = _read(archive, lambda p: _category_of(p) == category and p.suffix == ".dat")
    wanted = sorted(texts)
    if not wanted:
        raise ArchiveError(f"{archive}: no data/{category}/ .dat files inside")
    # a .gz archive is read front to back, once per level of .INCLUDE: seeking back in it
    # would decompress it again from the start for every file
    for _ in range(MAX_INCLUDE_DEPTH):
        needed = {inc for path, lines in texts.items() for inc in _includes(path, lines, names)} - set(texts)
        if not needed:
            break
        texts.update(_read(archive, needed.__contains__)[1])
    lines = []
    for path in wanted:
        root = PurePosixPath(*path.parts[: path.parts.index("data")])
        lines += [json.dumps(d, separators=(",", ":")) for d in _digits(path, root, names, texts)]
    return ("\n".join(lines) + "\n").encode()


def _read(archive, keep) -> tuple[set, dict]:
    """One pass over the archive: every file's path, and the text of those `keep` accepts."""
    names, texts = set(), {}
    try:
        with tarfile.open(archive, "r|*") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                path = PurePosixPath(member.name)
                names.add(path)
                if keep(path):
                    texts[path] = tar.extractfile(member).read().decode("latin-1").splitlines()
    except (tarfile.TarError, OSError, EOFError) as e:
        raise ArchiveError(f"{archive}: not a readable tar archive ({e})") from None
    return names, texts


def _includes(path, lines, names):
    root = PurePosixPath(*path.parts[: path.parts.index("data")]) if "data" in path.parts else path.parent
    for line in lines:
        words = line.split()
        if len(words) > 1 and words[0] == ".INCLUDE":
            found = _find_include(words[1], path, root, names)
            if found is not None:
                yield found


def _category_of(path: PurePosixPath) -> str | None:
    parts = path.parts
    return parts[parts.index("data") + 1] if "data" in parts[:-2] else None


def _digits(path, root, names, texts):
    institution = path.parts[path.parts.index("data") + 2]
    components: list[list[tuple[float, float]]] = []
    writer = ""
    segments = []  # (delineation, label, writer at that point)
    stroke = None

    def walk(file: PurePosixPath, depth: int):
        nonlocal writer, stroke
        for line in texts.get(file, ()):
            words = line.split()
            if not words:
                continue
            key = words[0]
            if key == ".INCLUDE" and len(words) > 1:
                included = _find_include(words[1], file, root, names)
                if included is not None and depth < MAX_INCLUDE_DEPTH:
                    walk(included, depth + 1)
            elif key == ".WRITER_ID" and len(words) > 1:
                writer = words[1]
            elif key == ".PEN_DOWN":
                stroke = []
            elif key == ".PEN_UP":
                if stroke is not None:
                    components.append(stroke)
                stroke = None
            elif key == ".SEGMENT" and len(words) >= 3:
                label = re.search(r'"([^"]*)"', line)
                segments.append((words[2], label.group(1) if label else "", writer))
            elif stroke is not None and not key.startswith("."):
                try:
                    stroke.append((float(words[0]), float(words[1])))
                except (ValueError, IndexError):
                    pass  # a stray line inside a block: not a point

    walk(path, 0)
    source = str(path.relative_to(root))
    for delineation, label, who in segments:
        if len(label) != 1 or not label.isdigit():
            continue
        strokes = [s for s in _delineate(delineation, components) if s]
        points = [p for s in strokes for p in s]
        if len(points) < 2:
            continue
        x0 = min(p[0] for p in points)
        y1 = max(p[1] for p in points)
        yield {"label": int(label), "writer": f"{institution}:{who}", "contributor": institution,
               "checked": institution in CHECKED, "source": source,
               "strokes": [[[_num(x - x0), _num(y1 - y)] for x, y in s] for s in strokes]}


def _find_include(name, file, root, names):
    for candidate in (file.parent / name, root / "include" / name):
        if candidate in names and candidate != file:
            return candidate
    return None


def _delineate(text: str, components):
    """'0-2,5' or '3:10-3:40' -> the strokes (lists of points) it names."""
    out = []
    for part in text.split(","):
        ends = part.split("-")
        try:
            first, last = [_position(e) for e in (ends[0], ends[-1])]
        except ValueError:
            return []
        for c in range(first[0], last[0] + 1):
            if not 0 <= c < len(components):
                return []
            start = first[1] if c == first[0] and first[1] is not None else 0
            stop = last[1] + 1 if c == last[0] and last[1] is not None else len(components[c])
            out.append(components[c][start:stop])
    return out


def _position(text: str) -> tuple[int, int | None]:
    component, _, point = text.partition(":")
    return int(component), int(point) if point else None


def _num(v: float):
    return int(v) if v == int(v) else round(v, 3)
