"""Acceptance check of the drawing path: real pen digits of held-out writers, drawn as people
draw in the player, read by `digits-predict` exactly as an end user would run it.

    python benchmarks/pen_eval.py [--model PATH] [--out DIR]   # ~1 minute; appends to benchmarks/RESULTS.md
    python benchmarks/pen_eval.py --quick --no-record          # 200 digits, 40 numbers

The digits of the validation writers (training.pendigits.VALIDATION_WRITERS, never trained
on) become stroke JSON drawings: single digits on canvases 280-640 px wide, 35-75 % of the
canvas tall, anywhere on it, with a brush of 2.5-6 % of the canvas height; and numbers of
2-5 digits by one writer, side by side at one height with gaps of 25-50 % of it. Fixed seed.
`python -m player.predict --json` reads them in batches of files (a subprocess: the real
command line, no TensorFlow), and the table shows single-digit accuracy, exact-match
accuracy of numbers by length, and how a confidence threshold trades '?' for accuracy.
Exit status: 0 done, 1 drawings that could not be read or predict failed, 2 no model or pen data.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import common  # benchmarks/common.py: --quick, --no-record, Markdown tables, RESULTS.md; puts ROOT on sys.path
import numpy as np
from common import pct

from player.model import Model, ModelError, find_model, reading
from training.pen_drawings import GAP, number_drawings, single_drawing
from training.pendigits import DEFAULT_PEN, VALIDATION_WRITERS, PenDataError, load_unipen, split_writers

ROOT = common.ROOT

LENGTHS = (2, 3, 4, 5)
THRESHOLDS = [round(0.5 + 0.05 * i, 2) for i in range(10)]  # 0.50 ... 0.95


def write_drawings(validation, out: Path, numbers: int, seed: int, gap=GAP) -> dict[Path, tuple[str, str]]:
    """Write every single digit and `numbers` numbers; path -> (kind, true label)."""
    rng = np.random.default_rng(seed)
    truth = {}
    for i, digit in enumerate(validation):
        path = out / f"single-{i:05d}.json"
        drawing = single_drawing(digit, rng)
        path.write_text(json.dumps(drawing))
        truth[path] = ("single", drawing["label"])
    for i, drawing in enumerate(number_drawings(validation, numbers, rng, LENGTHS, gap)):
        path = out / f"number-{i:04d}.json"
        path.write_text(json.dumps(drawing))
        truth[path] = ("number", drawing["label"])
    return truth


def run_predict(paths: list[Path], model: Path, batch_files: int) -> dict[str, dict]:
    """`digits-predict --json` over all files, batch_files per process: file -> its result."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    results = {}
    for i in range(0, len(paths), batch_files):
        command = [sys.executable, "-m", "player.predict", "--json", "--threshold", "0", "--model", str(model),
                   *map(str, paths[i : i + batch_files])]
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode not in (0, 1):
            raise RuntimeError(f"digits-predict exited with {done.returncode}: {done.stderr.strip()[-2000:]}")
        for line in done.stdout.splitlines():
            result = json.loads(line)
            results[result["file"]] = result
    return results


def shown(result: dict, threshold: float) -> str:
    """The digits as digits-predict --threshold would print them."""
    return reading(np.asarray(result["probabilities"]), threshold).digits


def report(truth: dict[Path, tuple[str, str]], results: dict[str, dict]) -> tuple[str, list[str]]:
    """The tables (Markdown), and the drawings digits-predict could not read."""
    singles, numbers, errors = [], defaultdict(list), []
    for path, (kind, label) in truth.items():
        result = results.get(str(path), {"error": "no output"})
        if "error" in result:
            errors.append(f"{path.name}: {result['error']}")
            result = {"digits": "", "probabilities": []}
        (singles if kind == "single" else numbers[len(label)]).append((label, result))
    all_numbers = [item for n in LENGTHS for item in numbers[n]]

    def row(name, items, ok=lambda label, r: r["digits"] == label):
        hits = sum(ok(label, r) for label, r in items)
        return [name, len(items), hits, pct(hits, len(items))]

    pairs = [(a, {"digits": b}) for label, r in all_numbers if len(r["digits"]) == len(label)
             for a, b in zip(label, r["digits"], strict=True)]
    rows = [row("single digits", singles)]
    rows += [row(f"numbers of {n} digits, exact", numbers[n]) for n in LENGTHS]
    rows += [row("numbers, all, exact", all_numbers),
             row("numbers split into the right count", all_numbers, lambda label, r: len(r["digits"]) == len(label)),
             row("digits of those numbers", pairs)]
    body = common.table(["drawings", "count", "correct", "accuracy"], rows)

    by_digit = [[d, *row(d, [(label, r) for label, r in singles if label == d])[1:]] for d in "0123456789"]
    body += "\n\nsingle digits by true digit:\n\n" + common.table(["digit", "count", "correct", "accuracy"], by_digit)

    threshold_rows = []
    for t in THRESHOLDS:
        sure = [(label, r) for label, r in singles if "?" not in shown(r, t)]
        sure_numbers = [(label, r) for label, r in all_numbers if "?" not in shown(r, t)]
        threshold_rows.append([f"{t:.2f}", pct(len(singles) - len(sure), len(singles)), row("", sure)[3],
                               pct(len(all_numbers) - len(sure_numbers), len(all_numbers)), row("", sure_numbers)[3]])
    body += ("\n\nconfidence threshold (digits-predict --threshold): a digit whose top probability is below it "
             "is shown as '?'\n\n" + common.table(["threshold", "singles shown with ?", "accuracy of the rest",
                                                   "numbers with a ?", "exact of the rest"], threshold_rows))
    return body, errors


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--model", type=Path, help="ONNX model (default: $DIGITS_MODEL or models/digits.onnx)")
    parser.add_argument("--out", type=Path, help="keep the drawings in DIR (default: a temporary folder)")
    parser.add_argument("--pen", type=Path, default=DEFAULT_PEN, help=f"UNIPEN digits (default {DEFAULT_PEN})")
    parser.add_argument("--numbers", type=int, default=400, help="how many numbers of 2-5 digits (default 400)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gap", type=float, nargs=2, default=GAP, metavar=("LO", "HI"),
                        help=f"gaps between the digits of a number, fractions of the digit height (default {GAP[0]} "
                             f"{GAP[1]}); smaller gaps test how close digits can be and still be told apart")
    parser.add_argument("--batch-files", type=int, default=500, help="files per digits-predict process")
    args = parser.parse_args(argv)
    at_start = common.machine()

    model_path = (args.model or find_model()).resolve()
    try:
        model = Model(model_path)
        validation = split_writers(load_unipen(args.pen))[1]
    except (ModelError, PenDataError) as e:
        print(f"pen_eval: {e}", file=sys.stderr)
        return 2
    if not validation:
        print(f"pen_eval: {args.pen}: no digits of the validation writers {VALIDATION_WRITERS}", file=sys.stderr)
        return 2
    if args.quick:
        validation = validation[:: max(1, len(validation) // 200)]
        args.numbers = min(args.numbers, 40)
    meta = ", ".join(f"{k} {model.metadata[k]}" for k in ("model_version", "mnist_test_accuracy", "preprocess_version")
                     if k in model.metadata)
    writers = ", ".join(map(str, sorted({d.writer for d in validation})))
    print(f"model: {model_path} ({meta})")
    print(f"pen digits: {len(validation)} of the held-out writers {writers}; {args.numbers} numbers with gaps of "
          f"{args.gap[0]:.0%}-{args.gap[1]:.0%} of the digit height; seed {args.seed}")

    with tempfile.TemporaryDirectory(prefix="pen_eval-") as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        truth = write_drawings(validation, out, args.numbers, args.seed, tuple(args.gap))
        start = time.perf_counter()
        try:
            results = run_predict(list(truth), model_path, args.batch_files)
        except (RuntimeError, json.JSONDecodeError, KeyError) as e:
            print(f"pen_eval: {e}", file=sys.stderr)
            return 1
        print(f"{len(truth)} drawings{f' in {out}' if args.out else ''}, read by digits-predict in "
              f"{time.perf_counter() - start:.1f} s\n")
        body, errors = report(truth, results)
    print(body)
    if errors:
        print(f"\n{len(errors)} drawings could not be read:", *errors[:20], sep="\n  ")
        return 1
    common.record("pen_eval.py", f"model: {model_path.name} ({meta})\n\n{body}", ["onnxruntime", "numpy", "pillow"],
                  args, at_start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
