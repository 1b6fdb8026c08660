"""digits-train: train the digit CNN on MNIST and on pen ink, write the model and its metrics.

The story: prepare data (MNIST scans + real pen trajectories drawn through the player's own
preprocessing), build the model, train with augmentation and a learning-rate schedule,
evaluate on the MNIST test set and on the pen digits of writers it never saw, report.

    digits-train --data ../shared/data/mnist.npz              # the shipped model
    digits-train --quick --out /tmp/q                         # smoke run, < 1 minute
    digits-train --arch tutorial --out runs/tutorial          # the tutorial baseline
    digits-train --from models/digits.keras --extra DIR --epochs 3   # learn your handwriting
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from player.drawing import DrawingError, load_drawing
from player.preprocess import PREPROCESS_VERSION, strokes_to_digits
from training import datasets, nondigits, pendigits, unipen
from training.data import DataError, data_files, load_mnist, sha256

# defaults, all overridable from the command line
EPOCHS = 7  # ~4 min each on a 2-core AVX2 machine (100k images): the run fits 30 minutes
BATCH_SIZE = 128
LEARNING_RATE = 2e-3  # peak of the warm-up + cosine schedule
EMA_EPOCHS = 2  # the shipped weights are an average over about the last 2 epochs of steps
CALIBRATION_IMAGES = 20000  # clean training images that set the shipped model's batch-norm statistics
PEN_COPIES = 2  # renderings of each training pen digit: one as the player draws it, the rest distorted
NONDIGITS = 12000  # 'not a digit' examples: fragments, merged pairs, marks (training/nondigits.py)
EXTRA_COPIES = 20  # a user's corrections are few; repeat them so a few epochs learn them
SEED = 1
QUICK_IMAGES = 3000
TUTORIAL_EPOCHS = 10


def parse_args(argv=None) -> argparse.Namespace:
    from training import __version__

    p = argparse.ArgumentParser(prog="digits-train", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("--data", help="MNIST .npz (Keras layout) or folder of IDX files (default: $DIGITS_MNIST, "
                                  "else what digits-data fetched)")
    p.add_argument("--pen", help="UNIPEN pen digits to train on (default: $DIGITS_PEN, else what digits-data fetched)")
    p.add_argument("--unipen", help="UNIPEN 1a pen digits, JSON lines (default: $DIGITS_UNIPEN, else what "
                                    "digits-data fetched)")
    p.add_argument("--no-pen", action="store_true", help="train on MNIST only")
    p.add_argument("--extra", action="append", default=[], metavar="DIR",
                   help="folder of corrected drawings saved by the player (stroke JSON with a label); repeatable")
    p.add_argument("--from", dest="from_model", metavar="MODEL", help="start from these weights (.keras), e.g. to "
                                                                      "fine-tune on --extra")
    p.add_argument("--arch", choices=["digits", "tutorial"], default="digits")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    p.add_argument("--lr", type=float, default=LEARNING_RATE)
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--out", type=Path, default=Path("models"), help="output folder (default: models/)")
    p.add_argument("--h5", action="store_true", help="also write digits.h5 (the tutorial's format)")
    p.add_argument("--quick", action="store_true", help=f"{QUICK_IMAGES} images, 1 epoch: a smoke run")
    p.add_argument("--resume", action="store_true", help="continue the interrupted run in --out")
    p.add_argument("--force", action="store_true", help="replace the model in --out even if it was better")
    args = p.parse_args(argv)
    args.command = "digits-train " + shlex.join(sys.argv[1:] if argv is None else argv)
    if args.epochs is None:
        args.epochs = 1 if args.quick else TUTORIAL_EPOCHS if args.arch == "tutorial" else EPOCHS
    if args.epochs < 1 or args.batch_size < 1:
        p.error("--epochs and --batch-size must be at least 1")
    return args


# ---------------------------------------------------------------- data


def load_extra(folders: list[str]) -> tuple[np.ndarray, np.ndarray, list[Path]]:
    """Corrections saved by the player: each file is a drawing labelled with its digits."""
    images, labels, files = [], [], []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            raise DataError(f"{folder}: --extra needs a folder of labelled stroke JSON files")
        for path in sorted(folder.glob("*.json")):
            try:
                drawing = load_drawing(path)
            except DrawingError as e:
                print(f"skipping {e}", file=sys.stderr)
                continue
            digits = strokes_to_digits(drawing.strokes)  # exactly what the player showed the model
            if not drawing.label or len(digits) != len(drawing.label):
                print(f"skipping {path}: label {drawing.label!r} does not match {len(digits)} drawn digits",
                      file=sys.stderr)
                continue
            images.extend(digits)
            labels.extend(int(d) for d in drawing.label)
            files.append(path)
    if not images:
        return np.zeros((0, 28, 28), np.float32), np.zeros((0,), np.uint8), files
    return np.stack(images), np.array(labels, np.uint8), files


def _load_pen(path, load, what):
    try:
        return load(path)
    except pendigits.PenDataError as e:
        raise DataError(str(e)) from None


def prepare_data(args):
    """Training arrays, the named evaluation sets (unseen writers and institutions, non-digits),
    the MNIST test set, counts and the files used. Labels 0-9, and 10 for 'not a digit'."""
    x_train, y_train, x_test, y_test = load_mnist(args.data)
    files = data_files(args.data)
    if args.quick:
        x_train, y_train = x_train[:QUICK_IMAGES], y_train[:QUICK_IMAGES]
        x_test, y_test = x_test[:1000], y_test[:1000]
    parts = {"mnist": (x_train.astype(np.float32) / 255.0, y_train)}
    evals = {}  # name -> (images, labels): each reported on its own; the *_final ones are never tuned on
    copies = 1 if args.quick else PEN_COPIES
    with_pen = not args.no_pen and args.arch != "tutorial"

    def default(path, name):  # no silent fallback to less data: missing data is an error naming digits-data
        return path or datasets.require(name)

    sources = [  # (name, path, loader, hold-out splitter)
        ("pen", default(args.pen, "pen"), pendigits.load_unipen, pendigits.holdout_splits),
        ("unipen", default(args.unipen, "unipen"), unipen.load_unipen_1a, unipen.holdout_splits),
    ] if with_pen else []
    train_pen, val_pen = [], []
    t0 = time.time()
    for i, (name, path, load, splits) in enumerate(sources):
        if not path:
            continue
        train_digits, val_digits, final_digits = splits(_load_pen(path, load, name))
        files.append(Path(path))
        if args.quick:
            train_digits, val_digits, final_digits = train_digits[:600], val_digits[:300], final_digits[:300]
        parts[name] = pendigits.render(train_digits, copies=copies, seed=args.seed + i)
        evals[f"{name}_val"] = pendigits.render(val_digits)
        evals[f"{name}_final"] = pendigits.render(final_digits)
        train_pen += train_digits
        val_pen += val_digits
    if train_pen:
        count = NONDIGITS // 10 if args.quick else NONDIGITS
        parts["not_digit"] = nondigits.render(nondigits.training_strokes(train_pen, count, args.seed), args.seed)
        evals["not_digit_val"] = nondigits.render(nondigits.training_strokes(val_pen, count // 4, args.seed + 100),
                                                  args.seed + 100)
        print(f"rendered {sum(len(parts[k][0]) for k in ('pen', 'unipen', 'not_digit') if k in parts)} training "
              f"and {sum(len(v[0]) for v in evals.values())} evaluation images in {time.time() - t0:.0f} s "
              f"(held out: pen writers {list(pendigits.VALIDATION_WRITERS)} + {list(pendigits.FINAL_WRITERS)}, "
              f"UNIPEN {list(unipen.VALIDATION_INSTITUTIONS)} + {list(unipen.FINAL_INSTITUTIONS)})")
    if args.extra:
        x_extra, y_extra, extra_files = load_extra(args.extra)
        files += extra_files
        if len(x_extra):
            parts["extra"] = (np.repeat(x_extra, EXTRA_COPIES, axis=0), np.repeat(y_extra, EXTRA_COPIES))
        print(f"extra: {len(x_extra)} corrected digits from {len(extra_files)} drawings")
    if not evals:
        # no pen digits: hold out the end of MNIST's training set instead
        (x, y), n = parts["mnist"], min(5000, len(parts["mnist"][0]) // 10)
        parts["mnist"] = (x[:-n], y[:-n])
        evals["mnist_holdout"] = (x[-n:], y[-n:])
    x = np.concatenate([v[0] for v in parts.values()])[..., None]
    y = np.concatenate([v[1] for v in parts.values()]).astype(np.int32)
    counts = {k: len(v[1]) for k, v in parts.items()}
    evals = {k: (v[0][..., None], v[1].astype(np.int32)) for k, v in evals.items()}
    # what fit() validates on each epoch: every set we may tune on, none of the final ones
    tune = [v for k, v in evals.items() if not k.endswith("_final")]
    val = (np.concatenate([v[0] for v in tune]), np.concatenate([v[1] for v in tune]))
    test = (x_test.astype(np.float32)[..., None] / 255.0, y_test.astype(np.int32))
    return (x, y), val, test, counts, files, evals


# ---------------------------------------------------------------- training


def train(args) -> int:
    import keras
    import tensorflow as tf

    from training import report
    from training.model import (
        NOT_A_DIGIT,
        build_augmenter,
        build_model,
        build_tutorial_model,
        recalibrate_batch_norm,
        shipped_model,
    )

    keras.utils.set_random_seed(args.seed)
    command = args.command
    (x, y), (x_val, y_val), (x_test, y_test), counts, files, evals = prepare_data(args)
    if len(x) < args.batch_size:
        raise DataError(f"{len(x)} training images: too few for one batch of {args.batch_size}")
    print(f"training on {len(x)} images {counts}, validating on {len(x_val)}")

    out = args.out
    ckpt_dir = out / "checkpoints"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    last_ckpt, best_ckpt, state_file = ckpt_dir / "last.keras", ckpt_dir / "best.keras", ckpt_dir / "state.json"

    steps_per_epoch = -(-len(x) // args.batch_size)
    gpus = tf.config.list_logical_devices("GPU")
    strategy = tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    initial_epoch, history, elapsed = 0, {}, 0.0
    with strategy.scope():
        if args.resume:
            if not last_ckpt.exists():
                raise DataError(f"{last_ckpt}: nothing to resume (no checkpoint)")
            model = keras.models.load_model(last_ckpt)
            state = json.loads(state_file.read_text())
            initial_epoch, history, elapsed = state["epoch"], state["history"], state["train_seconds"]
            print(f"resuming from epoch {initial_epoch} of {args.epochs}")
        else:
            if args.from_model:
                try:
                    model = keras.models.load_model(args.from_model)
                except Exception as e:  # keras raises many types for a bad file
                    raise DataError(f"{args.from_model}: cannot load Keras model ({str(e).splitlines()[0]})") from None
            else:
                model = build_tutorial_model() if args.arch == "tutorial" else build_model()
            if args.arch == "tutorial":
                optimizer = keras.optimizers.Adam()
            else:
                total = steps_per_epoch * args.epochs
                warmup = min(steps_per_epoch, total // 4)
                schedule = keras.optimizers.schedules.CosineDecay(
                    args.lr / 20, total - warmup, alpha=0.01, warmup_target=args.lr, warmup_steps=warmup)
                # Polyak averaging of the weights: a free ensemble of the last steps' models
                # (at most an eighth of the run, so short runs and fine-tuning are not dragged back to the start)
                ema_steps = max(1.0, min(EMA_EPOCHS * steps_per_epoch, total / 8))
                optimizer = keras.optimizers.Adam(schedule, use_ema=True, ema_momentum=1 - 1 / ema_steps)
            if args.arch == "tutorial":
                model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            else:  # the digit head learns from digits only; the not_digit head from everything
                model.compile(optimizer=optimizer, loss={
                    "probabilities": keras.losses.SparseCategoricalCrossentropy(ignore_class=NOT_A_DIGIT),
                    "not_digit": "binary_crossentropy"})

    def targets(labels):
        """Labels 0-10 -> what each head is trained on."""
        if args.arch == "tutorial":
            return labels
        return {"probabilities": labels, "not_digit": tf.cast(labels == NOT_A_DIGIT, tf.float32)[:, None]}

    train_ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=args.seed).batch(args.batch_size)
    if args.arch != "tutorial":
        augment = build_augmenter(args.seed)
        train_ds = train_ds.map(lambda a, b: (augment(a, training=True), targets(b)),
                                num_parallel_calls=tf.data.AUTOTUNE)
    train_ds = train_ds.prefetch(tf.data.AUTOTUNE)

    class Checkpoint(keras.callbacks.Callback):
        """Every epoch: last checkpoint + state for --resume; the best by validation loss kept apart."""

        def __init__(self):
            super().__init__()
            self.best = min(history.get("val_loss", [np.inf]))
            self.t0 = time.time()

        def on_epoch_end(self, epoch, logs=None):
            for k, v in (logs or {}).items():
                history.setdefault(k, []).append(float(v))
            self.model.save(last_ckpt)
            if logs["val_loss"] < self.best:
                self.best = logs["val_loss"]
                self.model.save(best_ckpt)
            state = {"epoch": epoch + 1, "history": history, "train_seconds": elapsed + time.time() - self.t0}
            state_file.write_text(json.dumps(state))

    t0 = time.time()
    try:
        # shuffle=False: the tf.data pipeline already shuffles (Keras would warn and ignore it)
        model.fit(train_ds, validation_data=(x_val, targets(tf.constant(y_val))), epochs=args.epochs,
                  initial_epoch=initial_epoch, shuffle=False,
                  callbacks=[Checkpoint()], verbose=1 if sys.stdout.isatty() else 2)
    except KeyboardInterrupt:
        print(f"\ninterrupted: checkpoints kept in {ckpt_dir} (best: {best_ckpt.name}); "
              f"continue with: {command} --resume", file=sys.stderr)
        return 130
    # fit() has copied the averaged weights into the model (optimizer.finalize_variable_values); the
    # epoch-by-epoch validation above is of the raw weights. Checkpoints keep the raw weights with
    # their average inside the optimizer state, so --resume carries on exactly.
    if args.arch != "tutorial":
        pick = np.random.default_rng(args.seed).permutation(len(x))[:CALIBRATION_IMAGES]
        recalibrate_batch_norm(model, x[np.sort(pick)])
    train_seconds = elapsed + time.time() - t0

    # ------------------------------------------------------------ evaluate and report
    # The model at the end of the cosine schedule is the one we ship: the best-by-validation checkpoint
    # is judged on 1,500 pen digits only and tends to be a mid-training, high learning-rate state.
    shipped = model if args.arch == "tutorial" else shipped_model(model)

    def predict(images):
        """(probabilities, not_digit probability or None) of the model we ship."""
        out = shipped.predict(images, batch_size=512, verbose=0)
        return (out, None) if args.arch == "tutorial" else (out[0], out[1][:, 0])

    probs_test, reject_test = predict(x_test)
    pred_test = probs_test.argmax(1)
    test_acc = float((pred_test == y_test).mean())
    print(f"MNIST test accuracy {test_acc:.4%} ({int((pred_test != y_test).sum())} wrong of {len(y_test)}); "
          f"{train_seconds:.0f} s")
    evaluation, probs_of = {}, {}
    for name, (xs, ys) in evals.items():
        probs, reject = predict(xs)
        probs_of[name] = probs
        digit = ys != NOT_A_DIGIT
        entry = {"count": int(len(ys))}
        if digit.any():
            entry["accuracy"] = round(float((probs[digit].argmax(1) == ys[digit]).mean()), 6)
        if reject is not None and digit.any():  # digits the model would answer '?' for
            entry["rejected"] = round(float((reject[digit] > 0.5).mean()), 6)
        if reject is not None and (~digit).any():  # non-digits it catches
            entry["caught"] = round(float((reject[~digit] > 0.5).mean()), 6)
        evaluation[name] = entry
        print(f"  {name}: " + ", ".join(f"{k} {v:.4%}" if isinstance(v, float) else f"{k} {v}"
                                        for k, v in entry.items()))
    val_name = "pen_val" if "pen_val" in evaluation else next(iter(evaluation))
    val_acc = evaluation[val_name].get("accuracy", 0.0)

    metrics = {
        "model": "model_Mnist.h5" if args.arch == "tutorial" else "digits.keras",
        "arch": args.arch,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "gpus": len(gpus)},
        "seed": args.seed,
        "epochs": len(history.get("loss", [])),
        "batch_size": args.batch_size,
        "learning_rate": args.lr,
        "train_seconds": round(train_seconds, 1),
        "train_images": counts,
        "mnist_test_accuracy": round(test_acc, 6),
        "mnist_test_errors": int((pred_test != y_test).sum()),
        "mnist_test_count": int(len(y_test)),
        "mnist_test_per_class": {str(k): round(float((pred_test[y_test == k] == k).mean()), 6) for k in range(10)},
        "mnist_test_rejected": round(float((reject_test > 0.5).mean()), 6) if reject_test is not None else None,
        "pen_val_accuracy": evaluation["pen_val"]["accuracy"] if "pen_val" in evaluation else None,
        "pen_val_writers": list(pendigits.VALIDATION_WRITERS) if "pen_val" in evaluation else [],
        "pen_val_count": evaluation["pen_val"]["count"] if "pen_val" in evaluation else 0,
        "validation_accuracy": round(val_acc, 6),
        # every held-out set on its own; *_val are tuned on, *_final only reported
        "evaluation": evaluation,
        "held_out": {"pen_val_writers": list(pendigits.VALIDATION_WRITERS),
                     "pen_final_writers": list(pendigits.FINAL_WRITERS),
                     "unipen_val_institutions": list(unipen.VALIDATION_INSTITUTIONS),
                     "unipen_final_institutions": list(unipen.FINAL_INSTITUTIONS)},
        "outputs": [o.name.split("/")[0] for o in shipped.outputs] if args.arch != "tutorial" else ["probabilities"],
        "preprocess_version": PREPROCESS_VERSION,
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
                     "numpy": np.__version__},
        "data_files": {str(f): sha256(f) for f in files},
        "history": {k: [round(v, 5) for v in vs] for k, vs in history.items()},
    }
    # a run that did not replace the model gets its own report folder: report/ matches the model
    metrics_file = write_outputs(shipped, metrics, args, out)
    replaced = metrics_file == out / "metrics.json"
    report_dir = out / ("report" if replaced else f"report-{Path(metrics['model']).stem}")
    report_dir.mkdir(exist_ok=True)
    report.learning_curves(history, report_dir / "learning_curves.png")
    report.confusion_matrix(y_test, pred_test, report_dir / "confusion_matrix.png",
                            f"MNIST test: {test_acc:.2%}")
    report.error_grid(x_test, y_test, probs_test, report_dir / "mnist_errors.png", "MNIST test")
    if "pen_val" in evals:
        report.error_grid(*evals["pen_val"], probs_of["pen_val"], report_dir / "pen_val_errors.png",
                          "pen digits, unseen writers")
    print(f"wrote {out}/: {metrics['model']}, {metrics_file.name}, {report_dir.name}/")
    return 0


def _score(m: dict) -> tuple[float, float]:
    return (m.get("mnist_test_accuracy") or 0.0, m.get("pen_val_accuracy") or 0.0)


def write_outputs(model, metrics: dict, args, out: Path) -> Path:
    """Write the model and metrics.json; never silently replace a better model.
    Returns the metrics file written: <model>.metrics.json beside a kept better model."""
    name = metrics["model"]
    old_metrics_file = out / "metrics.json"
    if (out / name).exists() and old_metrics_file.exists():
        try:
            old = json.loads(old_metrics_file.read_text())
        except (OSError, json.JSONDecodeError):
            old = {}
        # a model with other outputs is another interface, not a better or worse one of the same
        comparable = (old.get("mnist_test_count"), old.get("outputs", ["probabilities"])) == (
            metrics["mnist_test_count"], metrics["outputs"])
        if comparable and _score(old) > _score(metrics) and not args.force:
            kept = name
            name = f"{Path(name).stem}-{datetime.now():%Y%m%d-%H%M%S}{Path(name).suffix}"
            metrics["model"] = name
            print(f"kept {out / kept}: it is better (MNIST test, pen) {_score(old)} > {_score(metrics)}; "
                  f"this run saved as {out / name} (--force replaces)")
            model.save(out / name)
            kept_metrics = out / f"{Path(name).stem}.metrics.json"
            kept_metrics.write_text(json.dumps(metrics, indent=2) + "\n")
            return kept_metrics
        print(f"replacing {out / name} (MNIST test {old.get('mnist_test_accuracy')} -> "
              f"{metrics['mnist_test_accuracy']}, pen {old.get('pen_val_accuracy')} -> {metrics['pen_val_accuracy']})")
    tmp = out / f".{name}.tmp{Path(name).suffix}"
    model.save(tmp)
    os.replace(tmp, out / name)
    if args.h5 and args.arch != "tutorial":
        model.save(out / "digits.h5")
    old_metrics_file.write_text(json.dumps(metrics, indent=2) + "\n")
    return old_metrics_file


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out of the log
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        print("digits-train needs TensorFlow: pip install 'digits[train]'", file=sys.stderr)
        return 2
    try:
        return train(args)
    except DataError as e:
        print(f"digits-train: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted before training started; nothing written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
