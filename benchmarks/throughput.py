"""throughput.py: digits-predict on thousands of drawings against the model alone on the same digits.

The drawings are pen digits of the held-out writers (training.pendigits.VALIDATION_WRITERS),
written as stroke JSON files the way people draw them (pen_eval.py's drawings: single digits
anywhere on 280-640 px canvases, and numbers of 2-5 digits). Each round runs the real command,
`python -m player.predict --json FILES...`, once on the singles and once on the numbers, and,
in the same round, the model alone (player.model.Model.predict, the player's session) on the
very digit images digits-predict made of them, in batches of 64. The table gives medians over
the rounds: digits-predict's wall time per drawing (process start and model load included),
its user and system CPU time, the model's time per digit, and their ratio. `--baseline DIR`
also runs digits-predict from another checkout (e.g. the main branch) in the same rounds.
It also times the player's whole path, strokes -> answer, for one digit and a 5-digit number.

    python benchmarks/throughput.py                       # ~3 minutes; appends to benchmarks/RESULTS.md
    python benchmarks/throughput.py --quick --no-record   # seconds, nothing written
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common
import numpy as np

from player.model import Model, ModelError, find_model
from player.predict import read_files
from training.pen_drawings import number_drawing, number_drawings, single_drawing
from training.pendigits import DEFAULT_PEN, PenDataError, load_unipen, split_writers

BATCH = 64  # the model's own time is measured at this batch size
TARGET = 5.0  # digits-predict per drawing <= TARGET x the model's time per digit


def parse_args(argv=None):
    p = common.parser(__doc__)
    p.add_argument("--model", type=Path, help="ONNX model (default: $DIGITS_MODEL or models/digits.onnx)")
    p.add_argument("--pen", type=Path, default=DEFAULT_PEN, help=f"UNIPEN digits (default {DEFAULT_PEN})")
    p.add_argument("--numbers", type=int, help="numbers of 2-5 digits (default 2000; --quick 40)")
    p.add_argument("--rounds", type=int, help="rounds, each running every case once (default 3; --quick 1)")
    p.add_argument("--baseline", type=Path, metavar="DIR",
                   help="also run digits-predict from this checkout (its player/ package), same rounds")
    args = p.parse_args(argv)
    args.numbers = args.numbers if args.numbers is not None else (40 if args.quick else 2000)
    args.rounds = args.rounds or (1 if args.quick else 3)
    return args


def cpu_seconds() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime, usage.ru_stime


def run_predict(root: Path, model: Path, files: list[Path]) -> tuple[float, float, float]:
    """(wall, user, system) seconds of one `python -m player.predict --json FILES` from `root`."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    command = [sys.executable, "-m", "player.predict", "--json", "--model", str(model), *map(str, files)]
    user, system = cpu_seconds()
    start = time.perf_counter()
    done = subprocess.run(command, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"digits-predict from {root} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    user2, system2 = cpu_seconds()
    return wall, user2 - user, system2 - system


def model_per_digit(model: Model, images: np.ndarray) -> float:
    """Median seconds per digit of model.predict over all images, BATCH at a time."""
    times = []
    for i in range(0, len(images) - BATCH + 1, BATCH):
        batch = images[i : i + BATCH]
        start = time.perf_counter()
        model.predict(batch)
        times.append(time.perf_counter() - start)
    return common.median(times) / BATCH


def path_times(model: Model, drawings: list[list], rounds: int) -> float:
    """Median seconds of model.read_strokes (strokes -> answer) over the drawings and rounds."""
    for strokes in drawings[:3]:
        model.read_strokes(strokes)  # warm-up
    times = []
    for _ in range(rounds):
        for strokes in drawings:
            start = time.perf_counter()
            model.read_strokes(strokes)
            times.append(time.perf_counter() - start)
    return common.median(times)


def main(argv=None) -> int:
    args = parse_args(argv)
    at_start = common.machine()
    model_path = (args.model or find_model()).resolve()
    try:
        model = Model(model_path)
        validation = split_writers(load_unipen(args.pen))[1]
    except (ModelError, PenDataError) as e:
        print(f"throughput.py: {e}", file=sys.stderr)
        return 2
    if args.quick:
        validation = validation[:: max(1, len(validation) // 100)]
    roots = {"this checkout": common.ROOT}
    if args.baseline:
        if not (args.baseline / "player" / "predict.py").is_file():
            print(f"throughput.py: {args.baseline}: no player/predict.py there", file=sys.stderr)
            return 2
        roots[f"baseline ({args.baseline})"] = args.baseline.resolve()

    with tempfile.TemporaryDirectory(prefix="throughput-") as tmp:
        rng = np.random.default_rng(0)
        sets = {"single digits": common.write_drawings([single_drawing(d, rng) for d in validation], Path(tmp),
                                                       "single"),
                "numbers of 2-5 digits": common.write_drawings(list(number_drawings(validation, args.numbers, rng)),
                                                               Path(tmp), "number")}
        images = {}
        for name, files in sets.items():
            read = read_files([str(p) for p in files])
            bad = [str(f) for f, r in zip(files, read, strict=True) if isinstance(r, str)]
            if bad:
                print(f"throughput.py: digits-predict cannot read {bad[0]}", file=sys.stderr)
                return 1
            images[name] = np.concatenate([r.images for r in read])  # every candidate the model reads
        model.predict(images["single digits"][:BATCH])  # warm-up: the first call allocates
        results = {(root, name): [] for root in roots for name in sets}
        alone = {name: [] for name in sets}
        for _ in range(args.rounds):  # interleaved, so background load hits every case alike
            for name, files in sets.items():
                for root_name, root in roots.items():
                    results[(root_name, name)].append(run_predict(root, model_path, files))
                alone[name].append(model_per_digit(model, images[name]))

    rows, verdicts = [], []
    for (root_name, name), runs in results.items():
        drawings, digits = len(sets[name]), len(images[name])
        wall, user, system = (common.median(column) for column in zip(*runs, strict=True))
        per_digit = common.median(alone[name])
        ratio = wall / drawings / per_digit
        rows.append([root_name, name, drawings, digits, common.ms(wall / drawings), common.ms(user / drawings),
                     common.ms(system / drawings), common.ms(per_digit), f"{ratio:.1f}×"])
        if root_name == "this checkout":
            verdicts.append(f"{name}: digits-predict {common.ms(wall / drawings)} per drawing = {ratio:.1f}× the "
                            f"model's {common.ms(per_digit)} per digit at batch {BATCH}; target <= {TARGET:.0f}×: "
                            f"{common.verdict(ratio <= TARGET)}")
    table = common.table(["digits-predict from", "drawings", "files", "images the model reads", "wall per drawing",
                          "user CPU per drawing", "system CPU per drawing", f"model alone per digit (batch {BATCH})",
                          "per drawing / model per digit"], rows)

    singles = [single_drawing(d, np.random.default_rng(i))["strokes"] for i, d in enumerate(validation[:50])]
    rng = np.random.default_rng(1)
    fives = [number_drawing([validation[j] for j in rng.choice(len(validation), 5, replace=False)], rng)["strokes"]
             for _ in range(50)]
    path_rows = [[what, common.ms(path_times(model, drawings, args.rounds))]
                 for what, drawings in (("one digit", singles), ("a 5-digit number", fives))]
    path_table = common.table(["drawing (pen digits of held-out writers)", "strokes -> answer, median"], path_rows)

    body = (f"model: {model_path.name}; {len(validation)} pen digits of the held-out writers, {args.numbers} numbers; "
            f"{args.rounds} rounds, medians; the model reads every candidate digit of a drawing (player/segment.py), "
            f"the model alone reads the same images\n\n{table}\n\nthe player's path in one process "
            f"(Model.read_strokes: split, draw, model):\n\n{path_table}\n\n" + "\n".join(f"- {v}" for v in verdicts))
    print(body)
    common.record("throughput.py", body, ["onnxruntime", "numpy"], args, at_start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
