"""Real pen trajectories (UNIPEN, the UCI pendigits "orig" files) as drawings.

This is the development set for the drawing path: each digit is a list of strokes, which
we turn into the same stroke drawings the player records (screen pixels, y down) and
render through `player.preprocess`, the player's own code. No TensorFlow here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from player.preprocess import PEN_WIDTH, digits_to_images
from training import datasets

# where the pen digits are found ($DIGITS_PEN, the digits-data folder, ../shared/data), else where
# `digits-data pen` puts them; training.datasets.require("pen") says how to get them
DEFAULT_PEN = datasets.find("pen") or datasets.candidates("pen")[0]
VALIDATION_WRITERS = (3, 8, 13, 18, 23, 28)  # whole writers held out: what a new user sees (we tune on them)
FINAL_WRITERS = (5, 10, 20, 30)  # held out too, and looked at only to report


class PenDataError(ValueError):
    """A UNIPEN file that cannot be read; the message names the file and the problem."""


@dataclass
class PenDigit:
    label: int
    writer: int | str
    strokes: list[np.ndarray]  # tablet units, y pointing down (already flipped), in writing order
    group: str = "pendigits"  # the data set, or UNIPEN's contributing institution


def load_unipen(path: str | Path) -> list[PenDigit]:
    """Parse a UNIPEN digit file; y is flipped so that it points down, as on a screen."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="ascii", errors="replace").splitlines()
    except OSError as e:
        raise PenDataError(f"{path}: cannot read ({e.strerror or e})") from None
    digits: list[PenDigit] = []
    current: PenDigit | None = None
    stroke: list[tuple[float, float]] | None = None
    for lineno, line in enumerate(lines, 1):
        parts = line.split()
        if not parts:
            continue
        key = parts[0]
        try:
            if key == ".SEGMENT":
                current = PenDigit(label=int(parts[-1].strip('"')), writer=-1, strokes=[])
                if not 0 <= current.label <= 9:
                    raise ValueError(f"label {current.label} outside 0-9")
                digits.append(current)
            elif key == ".COMMENT" and current is not None and len(parts) >= 3:
                current.writer = int(parts[2])
            elif key == ".PEN_DOWN":
                stroke = []
            elif key == ".PEN_UP":
                if current is not None and stroke:
                    current.strokes.append(np.array(stroke, dtype=np.float64) * (1, -1))
                stroke = None
            elif stroke is not None and not key.startswith("."):
                stroke.append((float(parts[0]), float(parts[1])))
        except (ValueError, IndexError) as e:
            raise PenDataError(f"{path}:{lineno}: not UNIPEN digit data ({e})") from None
    digits = [d for d in digits if d.strokes]
    if not digits:
        raise PenDataError(f"{path}: no digits with pen strokes found")
    return digits


def split_writers(digits: list[PenDigit], writers=VALIDATION_WRITERS):
    """(train, validation): validation holds every digit of the given writers."""
    held = set(writers)
    return [d for d in digits if d.writer not in held], [d for d in digits if d.writer in held]


def holdout_splits(digits: list[PenDigit]) -> tuple[list[PenDigit], list[PenDigit], list[PenDigit]]:
    """(train, validation, final): whole writers on each side."""
    rest, final = split_writers(digits, FINAL_WRITERS)
    train, val = split_writers(rest, VALIDATION_WRITERS)
    return train, val, final


def distort(strokes: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """A plausible other drawing of the same digit: slant, rotation, aspect and wobble."""
    angle = math.radians(rng.uniform(-10, 10))
    shear = rng.uniform(-0.25, 0.25)
    sx = math.exp(rng.uniform(-0.15, 0.15))
    c, s = math.cos(angle), math.sin(angle)
    m = np.array([[c, -s], [s, c]]) @ np.array([[sx, shear], [0.0, 1.0 / sx]])
    allpts = np.concatenate(strokes)
    size = float(np.ptp(allpts, axis=0).max()) or 1.0
    centre = allpts.mean(axis=0)
    out = []
    for st in strokes:
        p = (st - centre) @ m.T
        # slow wobble along the stroke, a few % of the digit size: hands are not steady
        t = np.linspace(0, 1, len(p))[:, None]
        phase = rng.uniform(0, 2 * math.pi, size=(1, 2))
        p = p + 0.015 * size * np.sin(2 * math.pi * rng.uniform(0.5, 2) * t + phase)
        out.append(p)
    return out


def render(digits: list[PenDigit], copies: int = 1, seed: int = 0, widths=(1.8, 3.4)):
    """Images (n, 28, 28) float32 and labels: the first copy of each digit as drawn with
    the player's pen; further copies distorted and drawn with random pen widths."""
    rng = np.random.default_rng(seed)
    strokes, pens, labels = [], [], []
    for d in digits:
        strokes.append(d.strokes)
        pens.append(PEN_WIDTH)
        labels.append(d.label)
        for _ in range(copies - 1):
            strokes.append(distort(d.strokes, rng))
            pens.append(rng.uniform(*widths))
            labels.append(d.label)
    return digits_to_images(strokes, pens), np.array(labels, dtype=np.uint8)  # all drawn in one call

