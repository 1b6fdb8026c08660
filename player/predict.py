"""digits-predict: read the digits in stroke drawings (.json) and pictures, from the command line.

    digits-predict drawing.json photo.png ...        ->  drawing.json: 42
    digits-predict --json *.json                     ->  one JSON object per line

Files are read CHUNK at a time, the digit images of each chunk go through the model in
batches of --batch-size and the answers are split back per file: a thousand files cost a
few model calls, not a thousand. While the model reads one chunk (on every core but one)
the next is read. A file that cannot be used gets one line naming it and
the reason (on stderr, or as {"file", "error"} with --json), the others are still read,
and the exit status is then 1.
Exit status 2: bad arguments, or a model that is missing, corrupt or made for another
preprocessing version (nothing is read), or that fails to run (the chunks read before it
failed are printed). Needs numpy, Pillow and onnxruntime only (no TensorFlow).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from player import DEFAULT_THRESHOLD, probability
from player.drawing import TooLarge, decode_drawing, read_at_most, too_large
from player.errors import first_line
from player.model import FEATURES_NAME, Model, ModelError, in_batches, reading
from player.preprocess import PREPROCESS_VERSION, digits_to_images
from player.segment import Plan, choose, plan

if TYPE_CHECKING:  # loaded when a picture or --corrections needs them: start-up counts per call
    from player import adapt, picture

DEFAULT_BATCH_SIZE = 256
# Files read, drawn and handed to the model together. Python reads a drawing in about 0.5 ms and
# the model its 1-2 images in a quarter of that, so the model, in a thread of its own, keeps
# up with the reading: a chunk costs one model call or a few, and memory holds two chunks' images,
# not those of every file.
CHUNK = 128
MAX_IMAGE_SIDE = 2048  # bigger pictures are reduced first: digits end up 20 px tall anyway
# Limits (README, "digits-predict"): a drawing's are player.drawing's (MAX_BYTES, MAX_STROKES,
# MAX_POINTS). A picture may have 150 megapixels (12,000 x 12,500; a 108-megapixel phone photo
# fits), which decode in seconds and ~450 MB in colour, in a file of at most 150 MB.
MAX_PICTURE_BYTES = 150_000_000
MAX_PICTURE_PIXELS = 150_000_000


class InputError(ValueError):
    """A file that cannot be read as digits; the message is the reason (one line)."""


@dataclass
class Loaded:
    """A file ready for the model: the images of a drawing's candidate digits (player/segment.py)
    or a picture's (player/picture.py), which the model reads before the best split is chosen."""

    images: np.ndarray  # (n, 28, 28)
    plan: Plan | None = None  # a drawing's candidates; None for a picture
    min_size: float = 0.0  # a drawing's smallest digit (two brush widths): smaller marks are clicks
    candidates: picture.Candidates | None = None  # a picture's; None for a drawing


def read_drawing(data: bytes) -> tuple[Plan, float]:
    """Stroke JSON bytes -> its candidate digits and the size below which a mark is a click
    (read_files draws the candidates of all drawings together)."""
    try:
        drawing = decode_drawing(data, arrays=True)
    except ValueError as e:
        raise InputError(first_line(e)) from None
    return plan(drawing.strokes), 2 * drawing.brush


def read_picture(data: bytes) -> picture.Candidates:
    """Image file bytes (anything Pillow opens) -> its candidate digits."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    # Our own limit, checked below from the header before anything is decoded, with a plain
    # message: not Pillow's decompression-bomb warning (with a source line) or error.
    Image.MAX_IMAGE_PIXELS = None
    try:
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
            if w * h > MAX_PICTURE_PIXELS:
                raise InputError(f"picture too large: {w}x{h} pixels, {w * h / 1e6:.0f} megapixels (at most "
                                 f"{MAX_PICTURE_PIXELS / 1e6:.0f}): scale it down")
            factor = -(-max(w, h) // MAX_IMAGE_SIDE)
            if factor > 1:
                im.draft(im.mode, (w // factor, h // factor))  # a JPEG decodes at 1/2, 1/4 or 1/8 size: fast
            im = ImageOps.exif_transpose(im)  # phone photos: upright, as they are displayed
            factor = max(1, -(-max(im.size) // MAX_IMAGE_SIDE))  # reduce(): mean of factor x factor blocks
            # reduced before it becomes float: a 150-megapixel picture never exists as 600 MB of floats
            if "A" in im.getbands() or "transparency" in im.info:
                la = im.convert("LA")
                gray = np.asarray(la.getchannel("L").reduce(factor), np.float64)
                alpha = np.asarray(la.getchannel("A").reduce(factor), np.float64) / 255.0
            else:
                deep = im.mode.startswith("I") or im.mode == "F"  # 16-bit scans keep their levels
                gray = np.asarray((im.convert("F") if deep else im.convert("L")).reduce(factor), np.float64)
                alpha = None
            if alpha is not None and alpha.min() < 1.0:
                # transparent pixels are background: lay the picture on a sheet that contrasts
                # with its ink (a dark pen on a transparent sheet -> white paper, and vice versa)
                ink = (gray * alpha).sum() / max(alpha.sum(), 1e-9)
                gray = gray * alpha + (255.0 if ink < 128 else 0.0) * (1.0 - alpha)
    except InputError:
        raise
    except UnidentifiedImageError:
        raise InputError("not an image (PNG, JPEG, ...) nor a stroke drawing (.json)") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise InputError(f"unreadable image ({first_line(e)})") from None
    from player import picture

    return picture.candidates(gray)


def read_files(paths: list[str]) -> list[Loaded | str]:
    """Each file -> what the model must read of it, or the reason it cannot be used (one
    line). The candidates of all drawings are drawn together: one batched call, not one per file."""
    loaded = [_load(path) for path in paths]
    groups = [group for item in loaded if isinstance(item, tuple) for group in item[0].groups]
    try:
        with np.errstate(all="ignore"):  # absurd coordinates: caught per file below, not a warning each
            drawn = digits_to_images(groups)
    except Exception:  # never seen; if one drawing breaks the batch, draw each alone so only it fails
        drawn = None
    out, start = [], 0
    for item in loaded:
        if isinstance(item, tuple):
            candidates, min_size = item
            if drawn is not None:
                images, start = drawn[start : start + len(candidates.groups)], start + len(candidates.groups)
            else:
                images = _guarded(digits_to_images, candidates.groups)
            checked = images if isinstance(images, str) else _checked(images)
            out.append(checked if isinstance(checked, str) else Loaded(checked, candidates, min_size))
        else:
            checked = item if isinstance(item, str) else _checked(item.images)
            out.append(checked if isinstance(checked, str) else Loaded(checked, candidates=item))
    return out


def read_file(path: str) -> Loaded:
    """A drawing or picture file -> what the model must read of it; InputError if unusable."""
    item = read_files([path])[0]
    if isinstance(item, str):
        raise InputError(item)
    return item


def _load(path: str) -> picture.Candidates | tuple[Plan, float] | str:
    """A picture's or a drawing's candidates, or why the file cannot be used.

    .json files, and files that start with "{", are stroke drawings; the rest are images."""
    try:
        data = read_at_most(path, MAX_PICTURE_BYTES)  # a drawing's own limit is decode_drawing's
    except TooLarge as e:
        return too_large(e.size, MAX_PICTURE_BYTES, "a picture")
    except OSError as e:
        return f"cannot read ({e.strerror or e})"
    is_drawing = path.lower().endswith(".json") or data.lstrip()[:1] == b"{"
    return _guarded(read_drawing if is_drawing else read_picture, data)


def _guarded(read, data):
    """read(data), or the one-line reason it failed: never a traceback for a bad file."""
    try:
        with np.errstate(all="ignore"):  # absurd coordinates: caught by _checked, not a warning per file
            return read(data)
    except InputError as e:
        return str(e)
    except Exception as e:
        return f"cannot process ({type(e).__name__}: {first_line(e)})"


def _checked(images: np.ndarray) -> np.ndarray | str:
    if not len(images):
        return "no ink"
    if not np.isfinite(images).all():
        return "cannot process (preprocessing gave non-finite pixels)"
    return images


def predict_batches(model: Model, images: np.ndarray, batch_size: int,
                    memory: adapt.Memory | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(n, 28, 28) -> (n, 10) probabilities and (n,) not-digit probabilities, at most batch_size
    images per model call, adapted to the corrections in `memory` if any; ModelError (from
    Model.predict_parts) if the model does not run."""
    if memory is None:  # no --corrections: the model's own answers (adapt.predict_parts gives the same)
        return in_batches(model.predict_parts, images, batch_size)
    from player import adapt

    return in_batches(adapt.predictor(model, memory), images, batch_size)


def report(path: str, probs: np.ndarray, not_digit: np.ndarray | None, threshold: float, as_json: bool) -> None:
    """Print one file's reading: its digits' probabilities, left to right ("?" for a digit
    the model is unsure of, or a part that is not a digit)."""
    result = reading(probs, threshold, not_digit)
    if as_json:
        line = {
            "file": path,
            "digits": result.digits,
            "probabilities": probs.astype(np.float64).round(4).tolist(),
            "confidence": round(result.confidence, 4),
        }
        if not_digit is not None:
            line["not_digit"] = np.asarray(not_digit, np.float64).round(4).tolist()
        print(json.dumps(line))
    else:
        print(f"{path}: {result.digits}")


def report_error(path: str, reason: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"file": path, "error": reason}))
    else:
        print(f"{path}: {reason}", file=sys.stderr)



def _batch_size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def _version() -> str:
    from importlib import metadata

    try:
        version = metadata.version("digits")
    except metadata.PackageNotFoundError:  # a source checkout that is not installed
        from player import __version__ as version
    return f"digits-predict {version} (preprocessing version {PREPROCESS_VERSION})"


class _VersionAction(argparse.Action):
    """--version, worked out only when asked: importlib.metadata costs tens of milliseconds,
    which every run paid when argparse's own version action was given the text up front."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        print(_version())
        parser.exit()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="digits-predict",
        description="Read the digits in stroke drawings (.json, as saved by the player) and pictures "
        "(PNG, JPEG, ...: dark ink on light paper or the reverse). Prints 'FILE: DIGITS' per file, "
        "'?' for a digit the model is unsure of.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="stroke drawing (.json) or image")
    parser.add_argument("--model", metavar="PATH", help="ONNX model (default: $DIGITS_MODEL or the shipped one)")
    parser.add_argument("--json", action="store_true", help="one JSON object per file and line, "
                        "with per-digit probabilities and the confidence of the reading")
    parser.add_argument("--threshold", type=probability, default=DEFAULT_THRESHOLD, metavar="P",
                        help=f"show a digit as '?' when its top probability is below P (default {DEFAULT_THRESHOLD})")
    parser.add_argument("--batch-size", type=_batch_size, default=DEFAULT_BATCH_SIZE, metavar="N",
                        help=f"digit images per model call (default {DEFAULT_BATCH_SIZE})")
    parser.add_argument("--corrections", type=Path, metavar="DIR", help="learn the handwriting of the corrections "
                        "in DIR (stroke JSON with a label, as the player saves them) before reading")
    parser.add_argument("--version", action=_VersionAction)
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    try:
        model = Model(args.model, threads=max(1, (os.cpu_count() or 1) - 1))  # one core reads the files
    except ModelError as e:
        print(f"digits-predict: {e}", file=sys.stderr)
        return 2
    memory, bad_corrections = None, []
    if args.corrections:
        try:
            is_dir = args.corrections.is_dir()
        except OSError as e:  # a folder above it that may not be read: Python 3.11 raises, not False
            print(f"digits-predict: {args.corrections}: cannot read ({e.strerror or e})", file=sys.stderr)
            return 2
        if not is_dir:
            print(f"digits-predict: {args.corrections}: not a folder of corrections", file=sys.stderr)
            return 2
        if not model.has_features:
            print(f"digits-predict: {model.path}: no '{FEATURES_NAME}' output, so the corrections in "
                  f"{args.corrections} cannot be used", file=sys.stderr)
        from player import adapt

        memory, bad_corrections = adapt.load(model, args.corrections)
        for problem in bad_corrections:
            print(f"digits-predict: {problem} (correction not used)", file=sys.stderr)
    failed = bool(bad_corrections)
    try:
        with ThreadPoolExecutor(1) as pool:  # onnxruntime lets go of the GIL while it runs
            queued: deque = deque()  # chunks read, with the model's answers on them to come
            for start in range(0, len(args.files), CHUNK):
                chunk = args.files[start : start + CHUNK]
                # (file, what the model reads of it or why it failed)
                readings = list(zip(chunk, read_files(chunk), strict=True))
                images = [item.images for _, item in readings if not isinstance(item, str)]
                queued.append((readings, pool.submit(predict_batches, model, np.concatenate(images) if images
                                                     else np.zeros((0, 28, 28)), args.batch_size, memory)))
                # the model has this chunk: answer the one before it (all of them after the last)
                while len(queued) > 1 or (queued and start + CHUNK >= len(args.files)):
                    readings, answers = queued.popleft()
                    failed |= answer(readings, *answers.result(), model, args)
    except ModelError as e:
        print(f"digits-predict: {e}", file=sys.stderr)
        return 2
    return 1 if failed else 0


def answer(readings: list[tuple[str, Loaded | str]], probs: np.ndarray, not_digit: np.ndarray, model: Model,
           args: argparse.Namespace) -> bool:
    """Print each file's reading from the model's answers on all their images, in order;
    whether any file could not be read."""
    start = 0
    for path, item in readings:
        if isinstance(item, str):
            report_error(path, item, args.json)
            continue
        end = start + len(item.images)
        p, r = probs[start:end], not_digit[start:end]
        start = end
        if item.plan is not None:  # a drawing: the best split of its candidates
            parts = choose(item.plan, item.images, p, r, item.min_size)
            p, r = np.stack([part.probabilities for part in parts]), np.array([part.not_digit for part in parts])
        elif item.candidates is not None:  # a picture: likewise, where its ink may hold touching digits
            from player import picture

            chosen = picture.choose(item.candidates, p, r)
            p, r = p[chosen], r[chosen]
        # a model without a not_digit output still answers "?" for clicks (min_size)
        report(path, p, r if model.has_not_digit or item.plan is not None else None, args.threshold, args.json)
    return any(isinstance(item, str) for _, item in readings)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `digits-predict ... | head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
