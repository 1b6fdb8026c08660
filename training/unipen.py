"""UNIPEN 1a (train_r01_v07): 11,808 isolated pen digits by 99 writers of 12 institutions.

Where pendigits has 30 writers from one lab, UNIPEN brings styles they never used: slashed
zeros, flagged ones, continental sevens, fours and fives whose strokes are far apart. We hold
out whole *institutions*, not only writers: each lab had its own tablet, instructions and
population, so a held-out lab is the honest picture of a new user.

Format (see ../shared/data/README.md): gzip JSON lines with `label`, `writer`, `contributor`,
`checked`, `source` and `strokes` (y down, each lab's own units). No TensorFlow here.
"""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

import numpy as np

from training import datasets
from training.pendigits import PenDataError, PenDigit

# where UNIPEN 1a is found ($DIGITS_UNIPEN, the digits-data folder, ../shared/data), else where
# `digits-data unipen` puts it
DEFAULT_UNIPEN = datasets.find("unipen") or datasets.candidates("unipen")[0]
# Held-out institutions. VALIDATION is the one we tune on (thresholds, recipe); FINAL is looked
# at only to report. Both keep whole labs out of training; the big labs (syn, apb, val, gmd, app)
# train, so slashed zeros (gmd) and flagged ones are learned, and uqb's slashed zeros test them.
VALIDATION_INSTITUTIONS = ("apa", "art")  # 862 digits, 12 writers
FINAL_INSTITUTIONS = ("uqb", "pri", "ceb", "cea", "lou")  # 706 digits, 13 writers


def load_unipen_1a(path: str | Path) -> list[PenDigit]:
    """Every digit of the file, strokes as float64 arrays (y down), in writing order."""
    path = Path(path)
    digits = []
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    label = int(row["label"])
                    if not 0 <= label <= 9:
                        raise ValueError(f"label {label} outside 0-9")
                    strokes = [np.asarray(s, np.float64).reshape(-1, 2) for s in row["strokes"]]
                    strokes = [s for s in strokes if len(s)]
                except (ValueError, KeyError, TypeError) as e:
                    raise PenDataError(f"{path}:{lineno}: not a UNIPEN 1a digit ({e})") from None
                if strokes:
                    digits.append(PenDigit(label=label, writer=str(row["writer"]), strokes=strokes,
                                           group=str(row.get("contributor", ""))))
    except OSError as e:  # missing file, not gzip
        raise PenDataError(f"{path}: cannot read ({e.strerror or e})") from None
    except (EOFError, zlib.error) as e:
        raise PenDataError(f"{path}: truncated or corrupt gzip ({e})") from None
    if not digits:
        raise PenDataError(f"{path}: no digits with pen strokes found")
    return digits


def holdout_splits(digits: list[PenDigit]) -> tuple[list[PenDigit], list[PenDigit], list[PenDigit]]:
    """(train, validation, final): whole institutions on each side."""
    val, final = set(VALIDATION_INSTITUTIONS), set(FINAL_INSTITUTIONS)
    return ([d for d in digits if d.group not in val | final], [d for d in digits if d.group in val],
            [d for d in digits if d.group in final])
