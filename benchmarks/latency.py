"""latency.py: time to read a drawing: onnxruntime (what the player runs) versus Keras, same weights.

One image and a batch of 64 MNIST test images through onnxruntime fp32 and int8 (player.model.Model,
the player's own session settings), Keras `model.predict` and Keras `model(x, training=False)`;
the player's whole recognition path for pen digits of unseen writers, one digit and five-digit
numbers: `Model.read_strokes`, the path the app's reader takes on Enter (the model chooses which strokes
make a digit from candidates drawn and read in one batch, then reads each); and a grid of
onnxruntime session options (intra-op threads x graph optimisation level) so the fastest is the
one the player keeps.
All cases run interleaved, round after round, so background load hits them alike; every
number is a median of single calls, every ratio comes from this same run.

    python benchmarks/latency.py                       # ~2-3 minutes; appends to benchmarks/RESULTS.md
    python benchmarks/latency.py --quick --no-record   # a few seconds, nothing written
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from pathlib import Path

import common
import numpy as np

from export.convert import quiet_stderr

BATCH = 64
TARGET_MS = 0.2  # onnxruntime, one image, median
TARGET_RATIO, GOAL_RATIO = 100, 300  # Keras predict / onnxruntime, one image
FRAME_MS = 1000 / 60  # the whole path for a 5-digit number must fit in one frame
PLAYER_SETTING = ("default", "all")  # player/model.py: onnxruntime's own thread count, ORT_ENABLE_ALL
NOISE = 0.05  # differences below this fraction are not worth changing a setting for


def parse_args(argv=None):
    p = common.parser(__doc__)
    p.add_argument("--onnx", type=Path, default=common.ROOT / "models" / "digits.onnx")
    p.add_argument("--int8", type=Path, default=common.ROOT / "models" / "digits.int8.onnx")
    p.add_argument("--keras", type=Path, default=common.ROOT / "models" / "digits.keras")
    p.add_argument("--data", type=Path, default=common.MNIST, help="MNIST .npz (default $DIGITS_MNIST or "
                                                                   "../shared/data/mnist.npz)")
    p.add_argument("--pen", type=Path, help="UNIPEN pen digits (default: training.pendigits.DEFAULT_PEN)")
    p.add_argument("--seconds", type=float, help="time per case (default 1.0; --quick 0.03)")
    p.add_argument("--rounds", type=int, help="interleaved rounds (default 5; --quick 2)")
    p.add_argument("--no-grid", action="store_true", help="skip the session-options grid")
    args = p.parse_args(argv)
    args.seconds = args.seconds or (0.03 if args.quick else 1.0)
    args.rounds = args.rounds or (2 if args.quick else 5)
    return args


def bench(cases: dict, seconds: float, rounds: int) -> dict[str, float]:
    """Median seconds per call of each case; cases interleaved round by round, each round
    giving every case about seconds / rounds (at least one call)."""
    calls, times = {}, {name: [] for name in cases}
    for name, fn in cases.items():
        for _ in range(2):
            fn()  # warm-up: first calls build graphs, allocate arenas
        t = time.perf_counter()
        fn()
        calls[name] = max(1, min(5000, int(seconds / rounds / max(time.perf_counter() - t, 1e-7))))
    for _ in range(rounds):
        for name, fn in cases.items():
            record = times[name].append
            for _ in range(calls[name]):
                t = time.perf_counter()
                fn()
                record(time.perf_counter() - t)
    return {name: common.median(v) for name, v in times.items()}


def pen_drawings(pen: Path | None, count: int) -> tuple[list[dict], list[dict]]:
    """(single digits, five-digit numbers): pen digits of the validation writers drawn as people
    draw them (training.pen_drawings), player drawings with their labels."""
    from training import pendigits
    from training.pen_drawings import number_drawings, single_drawing

    digits = pendigits.split_writers(pendigits.load_unipen(pen or pendigits.DEFAULT_PEN))[1]
    rng = np.random.default_rng(0)
    return [single_drawing(d, rng) for d in digits[:count]], list(number_drawings(digits, count, rng, lengths=(5,)))


def cycling(fn, items):
    """A no-argument case that calls fn on the next item each time: a median over all the drawings."""
    it = itertools.cycle(items)
    return lambda: fn(next(it))


def session(path: Path, threads: int | None, level, spin: bool = True):
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    if not spin:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = level
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def grid(models: dict[str, Path], x1, x64, args) -> tuple[str, list[str]]:
    """intra-op threads x optimisation level for each ONNX model; two tables (1 image, 64)."""
    import onnxruntime as ort

    levels = {"disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
              "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
              "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
              "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}
    threads = {"1": (1, True), "2": (2, True), "2, no spin": (2, False), "default": (None, True)}
    cases, keys = {}, []
    for mname, path in models.items():
        for tname, (n, spin) in threads.items():
            for lname, level in levels.items():
                s = session(path, n, level, spin)
                for batch, x in (("1", x1), ("64", x64)):
                    key = (mname, tname, lname, batch)
                    cases[key] = lambda s=s, x=x: s.run(["probabilities"], {"image": x})
                    keys.append(key)
    medians = bench(cases, args.seconds / 2, args.rounds)
    out, notes = [], []
    for batch in ("1", "64"):
        rows = []
        for mname in models:
            for tname in threads:
                rows.append([mname, tname] + [common.ms(medians[(mname, tname, lname, batch)]) for lname in levels])
        title = "one image" if batch == "1" else f"batch of {BATCH}"
        threads_used, opt_used = PLAYER_SETTING
        out.append(f"onnxruntime session options, {title} (median per call; the player uses threads {threads_used}, "
                   f"opt {opt_used}):\n\n"
                   + common.table(["model", "intra-op threads"] + [f"opt {lv}" for lv in levels], rows))
        for mname in models:
            mine = {k: v for k, v in medians.items() if k[0] == mname and k[3] == batch}
            best = min(mine, key=mine.get)
            player = mine[(mname, *PLAYER_SETTING, batch)]
            gain = player / mine[best] - 1
            advice = ("the player's setting is within noise of it: keep it" if gain < NOISE
                      else f"{gain:.0%} faster than the player's setting")
            notes.append(f"fastest for {mname}, {title}: threads {best[1]}, opt {best[2]} "
                         f"({common.ms(mine[best])}); {advice}")
    return "\n\n".join(out), notes


def main(argv=None) -> int:
    args = parse_args(argv)
    at_start = common.machine()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from player import DEFAULT_THRESHOLD
    from player.model import Model, ModelError
    from player.preprocess import digits_to_images
    from player.segment import plan, segment
    from training.data import DataError, load_mnist

    for path in (args.onnx, args.keras):
        if not path.is_file():
            print(f"latency.py: {path}: not found (train and export first, or pass --onnx/--keras)", file=sys.stderr)
            return 2
    try:
        x_test = load_mnist(args.data)[2]
    except DataError as e:
        print(f"latency.py: {e}", file=sys.stderr)
        return 2
    x64 = (x_test[:BATCH].astype(np.float32) / 255.0)[..., None]
    x1 = x64[:1].copy()

    try:
        onnx = {"onnxruntime fp32": Model(args.onnx)}
        if args.int8.is_file():
            onnx["onnxruntime int8"] = Model(args.int8)
        else:
            print(f"note: {args.int8} not found, int8 rows skipped")
    except ModelError as e:
        print(f"latency.py: {e}", file=sys.stderr)
        return 2
    try:
        with quiet_stderr():
            import keras

            kfull = keras.models.load_model(args.keras, compile=False)
            # probabilities are its first output, as in the ONNX model; not_digit (if any) its second
            kmodel = keras.Model(kfull.inputs, kfull.outputs[0]) if len(kfull.outputs) > 1 else kfull
            kmodel.predict(x1, verbose=0)
    except ImportError as e:
        print(f"latency.py: needs TensorFlow to compare with Keras ({e}): pip install -e '.[train]'", file=sys.stderr)
        return 2
    diff = float(np.abs(kmodel.predict(x64, verbose=0) - onnx["onnxruntime fp32"].predict(x64)).max())

    # ---- 1. one image and a batch: onnxruntime vs Keras
    engines = {name: m.predict for name, m in onnx.items()}
    engines["Keras predict"] = lambda x: kmodel.predict(x, verbose=0)
    engines["Keras model(x, training=False)"] = lambda x: kmodel(x, training=False).numpy()
    cases = {(name, b): (lambda f=f, x=x: f(x)) for name, f in engines.items() for b, x in (("1", x1), ("64", x64))}
    med = bench(cases, args.seconds, args.rounds)
    ref1, ref64 = med[("onnxruntime fp32", "1")], med[("onnxruntime fp32", "64")]
    rows = [[name, common.ms(med[(name, "1")]), common.ms(med[(name, "64")]),
             common.ms(med[(name, "64")] / BATCH), f"{med[(name, '1')] / ref1:.1f}×",
             f"{med[(name, '64')] / ref64:.1f}×"] for name in engines]
    main_table = common.table(["engine", "1 image", f"{BATCH} images", "per image in batch",
                               "time vs ORT fp32 (1)", f"time vs ORT fp32 ({BATCH})"], rows)

    # ---- 2. the player's whole path: strokes -> candidate digits -> model -> the best split -> digits
    path_table, path_notes = "", []
    try:
        singles, numbers = pen_drawings(args.pen, 5 if args.quick else 20)
    except (OSError, ValueError) as e:
        singles, numbers = [], []
        path_notes.append(f"recognition path skipped: no pen digits ({e})")
    model = onnx["onnxruntime fp32"]

    def read_as_the_app(drawing: dict):
        # the app's reader (player/session.py) takes this path, clicks under two brush widths included,
        # and keeps the candidates it read before: a first reading, timed here, is its slowest
        return model.read_strokes(drawing["strokes"], DEFAULT_THRESHOLD, min_size=2 * drawing["brush"])

    def keras_parts(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = kfull(images[..., None], training=False)
        if len(kfull.outputs) == 1:
            return np.asarray(out), np.zeros(len(images), np.float32)
        return np.asarray(out[0]), np.asarray(out[1]).reshape(-1)

    path_ms = {}
    if singles:
        rows = []
        for label, drawings in (("1 digit", singles), ("5-digit number", numbers)):
            candidates = [digits_to_images(plan(d["strokes"]).groups) for d in drawings]
            path_cases = {
                "prep": cycling(lambda d: digits_to_images(plan(d["strokes"]).groups), drawings),
                "model": cycling(model.predict_parts, candidates),
                "total": cycling(read_as_the_app, drawings),
                "keras": cycling(lambda d: segment(d["strokes"], keras_parts, 2 * d["brush"]), drawings),
            }
            m = bench(path_cases, args.seconds, args.rounds)
            path_ms[label] = m["total"] * 1e3
            right = sum(read_as_the_app(d).digits == d["label"] for d in drawings)
            rows.append([label, f"{np.mean([len(c) for c in candidates]):.1f}", common.ms(m["prep"]),
                         common.ms(m["model"]), common.ms(m["total"]), common.ms(m["keras"]),
                         f"{m['keras'] / m['total']:.1f}×", f"{right}/{len(drawings)}"])
        path_table = ("player's recognition path, pen digits of unseen writers (median over drawings; whole path = "
                      "Model.read_strokes, the app reader's path on Enter):\n\n"
                      + common.table(["drawing", "candidates", "candidates drawn", "ORT fp32 model on them",
                                      "whole path (ORT)", "same with Keras model(x)", "Keras / ORT", "read right"],
                                     rows))
        path_notes.append(f"whole path, 5-digit number: {path_ms['5-digit number']:.1f} ms; target < one frame "
                          f"({FRAME_MS:.1f} ms): {common.verdict(path_ms['5-digit number'] < FRAME_MS)}")

    # ---- 3. session options
    grid_text, grid_notes = "", []
    if not args.no_grid:
        grid_text, grid_notes = grid({name.split()[-1]: m.path for name, m in onnx.items()}, x1, x64, args)

    ratio = med[("Keras predict", "1")] / ref1
    targets = [
        f"onnxruntime fp32, 1 image: {common.ms(ref1)} median; target <= {TARGET_MS} ms: "
        f"{common.verdict(ref1 * 1e3 <= TARGET_MS)}",
        f"Keras predict / onnxruntime fp32, 1 image: {ratio:.0f}×; target >= {TARGET_RATIO}× "
        f"(goal {GOAL_RATIO}×): {common.verdict(ratio >= TARGET_RATIO)}"
        + (", goal met" if ratio >= GOAL_RATIO else ""),
        f"Keras model(x) / onnxruntime fp32, 1 image: {med[('Keras model(x, training=False)', '1')] / ref1:.0f}×",
        f"same weights: max |p_keras - p_onnx| over {BATCH} images = {diff:.1e}",
    ]
    if "onnxruntime int8" in onnx:
        int8 = med[("onnxruntime int8", "1")]
        targets.insert(2, f"onnxruntime int8, 1 image: {common.ms(int8)} median; Keras predict / int8: "
                          f"{med[('Keras predict', '1')] / int8:.0f}×")
    body = "\n\n".join(filter(None, [
        f"one image and a batch of {BATCH} MNIST test images (median per call; player settings for ORT):\n\n"
        + main_table,
        path_table, grid_text,
        "\n".join(f"- {line}" for line in targets + path_notes + grid_notes),
    ]))
    print(body)
    common.record("latency.py", body, ["onnxruntime", "numpy", "tensorflow", "keras"], args, at_start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
