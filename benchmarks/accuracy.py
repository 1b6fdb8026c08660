"""accuracy.py: MNIST test accuracy of each model, and drawn-digit accuracy of our preprocessing versus a tutorial's.

MNIST: all 10,000 test images through the Keras model, the ONNX fp32 and int8 models (and the
tutorial's model_Mnist.h5 for reference). Drawn digits: the pen digits of the validation writers
(training.pendigits.split_writers: writers the model never saw), each made into a player drawing
(training.pen_drawings: centred on a fixed canvas, or anywhere as people draw), then prepared
two ways for the SAME model (ours, ONNX fp32): our preprocessing (player.preprocess.strokes_to_image,
and the player's whole path Model.read_strokes, which must also find exactly one digit), and the
tutorial's: ink drawn black on a white canvas with the brush, the WHOLE canvas resized to 28x28
and inverted. The tutorial's own model with the tutorial's preprocessing is the baseline we
claim a margin over.

    python benchmarks/accuracy.py                       # ~1 minute; appends to benchmarks/RESULTS.md
    python benchmarks/accuracy.py --quick --no-record   # 500 MNIST images, 200 drawings
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import common
import numpy as np
from common import pct

from export.convert import quiet_stderr
from player.model import in_batches
from training.pen_drawings import centred_drawing, single_drawing

BATCH = 500


def parse_args(argv=None):
    p = common.parser(__doc__)
    p.add_argument("--onnx", type=Path, default=common.ROOT / "models" / "digits.onnx")
    p.add_argument("--int8", type=Path, default=common.ROOT / "models" / "digits.int8.onnx")
    p.add_argument("--keras", type=Path, default=common.ROOT / "models" / "digits.keras")
    p.add_argument("--tutorial", type=Path, default=common.ROOT / "runs" / "tutorial" / "model_Mnist.h5")
    p.add_argument("--data", type=Path, default=common.MNIST, help="MNIST .npz or IDX folder (default "
                                                                   "$DIGITS_MNIST or ../shared/data/mnist.npz)")
    p.add_argument("--pen", type=Path, help="UNIPEN pen digits (default: training.pendigits.DEFAULT_PEN)")
    p.add_argument("--canvas", type=int, default=400, help="tutorial canvas side in pixels (default 400)")
    p.add_argument("--height", type=float, default=0.6, help="digit height, fraction of the canvas (default 0.6)")
    p.add_argument("--brush", type=float, default=0.04, help="brush width, fraction of the canvas (default 0.04)")
    p.add_argument("--seed", type=int, default=0, help="placement of the 'anywhere' drawings (default 0)")
    args = p.parse_args(argv)
    args.mnist_limit, args.pen_limit = (500, 200) if args.quick else (None, None)
    return args


def tutorial_image(drawing: dict) -> np.ndarray:
    """What a tutorial app feeds its model: the canvas as drawn (black ink on white, round
    brush), resized whole to 28x28 with Pillow's default filter, inverted, scaled to 0-1."""
    from PIL import Image, ImageDraw

    width, height = drawing["canvas"]
    brush = float(drawing["brush"])
    canvas = Image.new("L", (int(width), int(height)), 255)
    draw = ImageDraw.Draw(canvas)
    r = brush / 2
    for stroke in drawing["strokes"]:
        points = [tuple(p) for p in stroke]
        if len(points) > 1:
            draw.line(points, fill=0, width=max(1, round(brush)), joint="curve")
        for x, y in points:  # round ends and joints, as a round brush (tk capstyle=ROUND, ovals) leaves
            draw.ellipse((x - r, y - r, x + r, y + r), fill=0)
    small = canvas.resize((28, 28))
    return (255.0 - np.asarray(small, np.float32)) / 255.0


def main(argv=None) -> int:
    args = parse_args(argv)
    at_start = common.machine()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from player.model import Model, ModelError
    from player.preprocess import strokes_to_image
    from training import pendigits
    from training.data import DataError, load_mnist

    if not args.onnx.is_file():
        print(f"accuracy.py: {args.onnx}: not found (export first, or pass --onnx)", file=sys.stderr)
        return 2
    try:
        _, _, x_test, y_test = load_mnist(args.data)
        pen = pendigits.load_unipen(args.pen or pendigits.DEFAULT_PEN)
    except (DataError, pendigits.PenDataError) as e:
        print(f"accuracy.py: {e}", file=sys.stderr)
        return 2
    x_test, y_test = x_test[: args.mnist_limit], y_test[: args.mnist_limit]
    x = (x_test.astype(np.float32) / 255.0)[..., None]
    notes = []

    keras_models = {}
    if importlib.util.find_spec("keras") is None:
        notes.append("Keras not installed: Keras and tutorial rows skipped (pip install -e '.[train]')")
    elif args.keras.is_file() or args.tutorial.is_file():
        with quiet_stderr():
            import keras

            for name, path in (("ours", args.keras), ("tutorial", args.tutorial)):
                if path.is_file():
                    keras_models[name] = keras.models.load_model(path, compile=False)
                    if len(keras_models[name].outputs) > 1:  # probabilities first, as in the ONNX model
                        keras_models[name] = keras.Model(keras_models[name].inputs, keras_models[name].outputs[0])
                    keras_models[name].predict(x[:1], verbose=0)  # TensorFlow's device set-up talks here
                else:
                    notes.append(f"{path} not found: its rows are skipped")
    else:
        notes.append(f"neither {args.keras} nor {args.tutorial} found: Keras rows skipped")

    # ---- MNIST test set
    try:
        ours = Model(args.onnx)
        int8 = Model(args.int8) if args.int8.is_file() else None
    except ModelError as e:
        print(f"accuracy.py: {e}", file=sys.stderr)
        return 2
    tut = (lambda b: keras_models["tutorial"].predict(b, verbose=0)) if "tutorial" in keras_models else None
    engines = {}
    if "ours" in keras_models:
        engines[f"Keras ({args.keras.name})"] = lambda b: keras_models["ours"].predict(b, verbose=0)
    engines[f"ONNX fp32 ({args.onnx.name})"] = ours.predict
    if int8 is not None:
        engines[f"ONNX int8 ({args.int8.name})"] = int8.predict
    else:
        notes.append(f"{args.int8} not found: int8 row skipped")
    if tut is not None:
        engines[f"tutorial's model ({args.tutorial.name})"] = tut
    rows, first = [], None
    for name, predict in engines.items():
        hits = int((in_batches(predict, x, BATCH).argmax(1) == y_test).sum())
        first = hits if first is None else first
        rows.append([name, pct(hits, len(y_test)), len(y_test) - hits, f"{(hits - first) / len(y_test):+.2%}"])
    mnist_table = (f"MNIST test set, {len(y_test):,} images:\n\n"
                   + common.table(["model", "accuracy", "errors", "vs first row"], rows))

    # ---- drawn digits of unseen writers, two ways of drawing them
    val = pendigits.split_writers(pen)[1][: args.pen_limit]
    labels = np.array([d.label for d in val])
    rng = np.random.default_rng(args.seed)
    drawn = {
        # kind to the tutorial: the digit in the middle of a square canvas, as its demos are drawn
        f"centred: canvas {args.canvas}x{args.canvas}, digit {args.height:.0%} of its height, brush "
        f"{args.brush * args.canvas:g} px": [
            centred_drawing(d.strokes, canvas=(args.canvas, args.canvas), height=args.height, brush=args.brush)
            for d in val],
        # as people draw: anywhere, 35-75% of a 280-640 px canvas, brush 2.5-6% (pen_eval.py's drawings)
        "anywhere: as pen_eval.py draws them (280-640 px canvas, digit 35-75% of its height, brush 2.5-6%)": [
            single_drawing(d, rng) for d in val],
    }
    n = len(labels)

    def hits(predict, images) -> int:
        return int((in_batches(predict, images, BATCH).argmax(1) == labels).sum())

    pen_tables, lines = [], []
    for how, drawings in drawn.items():
        ours_images = np.stack([strokes_to_image(d["strokes"]) for d in drawings])[..., None]
        tutorial_images = np.stack([tutorial_image(d) for d in drawings])[..., None]
        readings = [ours.read_strokes(d["strokes"]) for d in drawings]  # the player's whole path
        one = [len(r.digits) == 1 for r in readings]
        results = {("ours (ONNX fp32)", "ours: strokes_to_image"): hits(ours.predict, ours_images)}
        whole = sum(r.digits == str(label) for r, label in zip(readings, labels, strict=True))
        results[("ours (ONNX fp32)", "ours: player path, Model.read_strokes")] = int(whole)
        results[("ours (ONNX fp32)", "tutorial: whole canvas -> 28x28")] = hits(ours.predict, tutorial_images)
        if tut is not None:
            results[("tutorial's model", "ours: strokes_to_image")] = hits(tut, ours_images)
            results[("tutorial's model", "tutorial: whole canvas -> 28x28")] = hits(tut, tutorial_images)
        rows = [[model, prep, pct(h, n), n - h] for (model, prep), h in results.items()]
        pen_tables.append(f"drawn digits, {how}: {n} pen digits of validation writers "
                          f"{list(pendigits.VALIDATION_WRITERS)}\n\n"
                          + common.table(["model", "preprocessing", "accuracy", "errors"], rows))
        where = how.split(":")[0]
        best = results[("ours (ONNX fp32)", "ours: strokes_to_image")]
        canvas = results[("ours (ONNX fp32)", "tutorial: whole canvas -> 28x28")]
        lines.append(f"{where}: preprocessing margin, same model (ours): {(best - canvas) / n:+.2%} ({pct(best, n)} "
                     f"with strokes_to_image vs {pct(canvas, n)} with the whole canvas resized)")
        if tut is not None:
            base = results[("tutorial's model", "tutorial: whole canvas -> 28x28")]
            lines.append(f"{where}: margin over the tutorial (its model, its preprocessing): {(best - base) / n:+.2%} "
                         f"({pct(best, n)} vs {pct(base, n)}; errors {n - best} vs {n - base})")
        lines.append(f"{where}: player path found exactly one digit in {sum(one)}/{n} drawings")
    body = "\n\n".join([mnist_table, *pen_tables, "\n".join(f"- {line}" for line in lines + notes)])
    print(body)
    common.record("accuracy.py", body, ["onnxruntime", "numpy", "pillow", "tensorflow", "keras"], args, at_start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
