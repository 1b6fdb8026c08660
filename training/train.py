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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from player.errors import first_line
from player.preprocess import PREPROCESS_VERSION
from training import datasets, pendigits, unipen
from training.data import DataError, data_files, sha256
from training.prepare import EVAL_TITLES, NOT_A_DIGIT, Data, prepare_data

# defaults, all overridable from the command line
EPOCHS = 9  # ~3 min each on a 2-core AVX2 machine (112k images): the run fits 30 minutes
BATCH_SIZE = 128
LEARNING_RATE = 2e-3  # peak of the warm-up + cosine schedule
EMA_EPOCHS = 2  # the shipped weights are an average over about the last 2 epochs of steps
CALIBRATION_IMAGES = 20000  # clean training images that set the shipped model's batch-norm statistics
SEED = 1
TUTORIAL_EPOCHS = 10


@dataclass(frozen=True)
class Config:
    """One run's settings, as the command line gave them."""

    data: str | None = None  # MNIST: .npz or IDX folder; None: $DIGITS_MNIST, else Keras downloads it
    pen: Path | None = None  # pendigits (UCI, UNIPEN format) trajectories; None: none
    unipen: Path | None = None  # UNIPEN 1a JSON lines; None: none
    extra: tuple[str, ...] = ()  # folders of the player's corrections
    from_model: str | None = None  # start from these weights instead of a fresh model
    arch: str = "digits"  # "digits" (shipped) or "tutorial" (the baseline)
    epochs: int = EPOCHS
    batch_size: int = BATCH_SIZE
    lr: float = LEARNING_RATE
    seed: int = SEED
    out: Path = Path("models")
    h5: bool = False
    quick: bool = False
    resume: bool = False
    force: bool = False
    command: str = "digits-train"  # as typed, for metrics.json and the --resume hint

    def settings(self) -> dict:
        """What makes two runs the same run: --resume continues only a checkpoint with these."""
        def resolved(path):
            return str(Path(path).resolve()) if path else None

        return {
            "data": [str(f.resolve()) for f in data_files(self.data)],
            "pen": resolved(self.pen), "unipen": resolved(self.unipen),
            "extra": [resolved(f) for f in self.extra], "from_model": resolved(self.from_model),
            "arch": self.arch, "epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr,
            "seed": self.seed, "quick": self.quick,
        }


def parse_args(argv=None) -> Config:
    from training import __version__

    p = argparse.ArgumentParser(prog="digits-train", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("--data", help="MNIST .npz (Keras layout) or folder of IDX files; default $DIGITS_MNIST, "
                                  "else keras.datasets.mnist.load_data()")
    p.add_argument("--pen", help="pendigits trajectories (UNIPEN format) to train on (default: $DIGITS_PEN, else "
                                 "what digits-data fetched)")
    p.add_argument("--unipen", help="UNIPEN 1a pen digits, JSON lines (default: $DIGITS_UNIPEN, else what "
                                    "digits-data fetched)")
    p.add_argument("--no-pen", action="store_true", help="train on MNIST only (no pen digits, no 'not a digit')")
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
    p.add_argument("--quick", action="store_true", help="3,000 MNIST images, 600 per pen source, 1 epoch: a smoke run")
    p.add_argument("--resume", action="store_true", help="continue the interrupted run in --out")
    p.add_argument("--force", action="store_true", help="replace the model in --out even if it was better")
    args = p.parse_args(argv)
    if args.epochs is None:
        args.epochs = 1 if args.quick else TUTORIAL_EPOCHS if args.arch == "tutorial" else EPOCHS
    if args.epochs < 1 or args.batch_size < 1:
        p.error("--epochs and --batch-size must be at least 1")
    with_pen = not args.no_pen and args.arch != "tutorial"

    def pen_path(given, name):  # no silent fallback to less data: missing data is an error naming digits-data
        return (Path(given) if given else datasets.require(name)) if with_pen else None

    if args.data is None:
        datasets.require("mnist")  # said first: without MNIST nothing else matters

    return Config(data=args.data, pen=pen_path(args.pen, "pen"),
                  unipen=pen_path(args.unipen, "unipen"), extra=tuple(args.extra),
                  from_model=args.from_model, arch=args.arch, epochs=args.epochs, batch_size=args.batch_size,
                  lr=args.lr, seed=args.seed, out=args.out, h5=args.h5, quick=args.quick, resume=args.resume,
                  force=args.force, command="digits-train " + shlex.join(sys.argv[1:] if argv is None else argv))


# ---------------------------------------------------------------- the model and its training


def new_model(arch: str, from_model: str | None, lr: float, epochs: int, steps_per_epoch: int):
    """A compiled model for a new run: the weights of `from_model`, or a fresh `arch` network."""
    import keras

    from training.checkpoint import load_keras
    from training.model import build_model, build_tutorial_model

    if from_model:
        model = load_keras(from_model)
    else:
        model = build_tutorial_model() if arch == "tutorial" else build_model()
    if arch == "tutorial":
        optimizer = keras.optimizers.Adam()
    else:
        total = steps_per_epoch * epochs
        warmup = min(steps_per_epoch, total // 4)
        schedule = keras.optimizers.schedules.CosineDecay(
            lr / 20, total - warmup, alpha=0.01, warmup_target=lr, warmup_steps=warmup)
        # Polyak averaging of the weights: a free ensemble of the last steps' models
        # (at most an eighth of the run, so short runs and fine-tuning are not dragged back to the start)
        ema_steps = max(1.0, min(EMA_EPOCHS * steps_per_epoch, total / 8))
        optimizer = keras.optimizers.Adam(schedule, use_ema=True, ema_momentum=1 - 1 / ema_steps)
    if arch == "tutorial":
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    else:  # the digit head learns from digits only, the not_digit head from everything
        model.compile(optimizer=optimizer, loss={
            "probabilities": keras.losses.SparseCategoricalCrossentropy(ignore_class=NOT_A_DIGIT),
            "not_digit": "binary_crossentropy"})
    return model


def targets(labels, arch: str):
    """Labels 0-10 -> what each head of the model is trained on."""
    import tensorflow as tf

    if arch == "tutorial":
        return labels
    return {"probabilities": labels, "not_digit": tf.cast(labels == NOT_A_DIGIT, tf.float32)[:, None]}


def fit(model, data: Data, checkpoint, *, epochs: int, initial_epoch: int, batch_size: int, seed: int,
        arch: str) -> None:
    """Train from `initial_epoch` to `epochs`, checkpointing every epoch (Ctrl+C raises
    KeyboardInterrupt with the last finished epoch on disk)."""
    import tensorflow as tf

    from training.model import build_augmenter

    train_ds = tf.data.Dataset.from_tensor_slices((data.x, data.y)).shuffle(len(data.x), seed=seed).batch(batch_size)
    if arch != "tutorial":
        augmenter = build_augmenter(seed)
        train_ds = train_ds.map(lambda a, b: (augmenter(a, training=True), targets(b, arch)),
                                num_parallel_calls=tf.data.AUTOTUNE)
    train_ds = train_ds.prefetch(tf.data.AUTOTUNE)
    # validated every epoch on all the sets we may tune on, never on the final ones
    tune = [v for name, v in data.evals.items() if not name.endswith("_final")]
    x_val, y_val = np.concatenate([x for x, _ in tune]), np.concatenate([y for _, y in tune])
    # shuffle=False: the tf.data pipeline already shuffles (Keras would warn and ignore it)
    model.fit(train_ds, validation_data=(x_val, targets(tf.constant(y_val), arch)), epochs=epochs,
              initial_epoch=initial_epoch, shuffle=False, callbacks=[checkpoint],
              verbose=1 if sys.stdout.isatty() else 2)


def calibration_images(x: np.ndarray, seed: int) -> np.ndarray:
    """The clean training images the shipped model's batch-norm statistics are measured on."""
    pick = np.random.default_rng(seed).permutation(len(x))[:CALIBRATION_IMAGES]
    return x[np.sort(pick)]


# ---------------------------------------------------------------- evaluation and report


def evaluate(model, test: tuple[np.ndarray, np.ndarray],
             evals: dict[str, tuple[np.ndarray, np.ndarray]]) -> tuple[dict, dict[str, np.ndarray]]:
    """Accuracy on the MNIST test set and on each named evaluation set, each reported on its own;
    with a not_digit output also the share of digits answered 'not a digit' (`_rejected`) and of
    non-digits caught (`_caught`). Returns those metrics and every set's digit probabilities."""
    sets = {"mnist_test": test} | evals
    probs, reject = {}, {}
    for name, (x, _) in sets.items():
        out = model.predict(x, batch_size=512, verbose=0)
        probs[name], reject[name] = (out[0], out[1][:, 0]) if isinstance(out, list) else (out, None)
    y_test, pred_test = test[1], probs["mnist_test"].argmax(1)
    metrics = {
        "mnist_test_accuracy": round(float((pred_test == y_test).mean()), 6),
        "mnist_test_errors": int((pred_test != y_test).sum()),
        "mnist_test_count": int(len(y_test)),
        "mnist_test_per_class": {str(k): round(float((pred_test[y_test == k] == k).mean()), 6) for k in range(10)},
    }
    summary = [f"MNIST test accuracy {metrics['mnist_test_accuracy']:.4%} ({metrics['mnist_test_errors']} wrong "
               f"of {len(y_test)})"]
    for name, (_, y) in sets.items():
        digit = y != NOT_A_DIGIT
        if name != "mnist_test" and digit.any():
            accuracy = float((probs[name][digit].argmax(1) == y[digit]).mean())
            metrics[f"{name}_accuracy"], metrics[f"{name}_count"] = round(accuracy, 6), int(len(y))
            summary.append(f"{EVAL_TITLES.get(name, name)} {accuracy:.4%}")
        if reject[name] is not None and digit.any():
            metrics[f"{name}_rejected"] = round(float((reject[name][digit] > 0.5).mean()), 6)
        if reject[name] is not None and (~digit).any():
            metrics[f"{name}_caught"], metrics[f"{name}_count"] = (
                round(float((reject[name][~digit] > 0.5).mean()), 6), int(len(y)))
            summary.append(f"{EVAL_TITLES.get(name, name)} caught {metrics[f'{name}_caught']:.4%}")
    print("; ".join(summary))
    return metrics, probs


def run_metrics(config: Config, data: Data, scores: dict, history: dict, train_seconds: float,
                model_outputs: list[str]) -> dict:
    """metrics.json: the scores with everything needed to know how the model was made."""
    import keras
    import tensorflow as tf

    return {
        "model": "model_Mnist.h5" if config.arch == "tutorial" else "digits.keras",
        "arch": config.arch,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": config.command,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "gpus": len(tf.config.list_logical_devices("GPU"))},
        "seed": config.seed,
        "epochs": len(history.get("loss", [])),
        "batch_size": config.batch_size,
        "learning_rate": config.lr,
        "train_seconds": round(train_seconds, 1),
        "train_images": data.counts,
        **scores,
        # the player and the export read pen_val_accuracy: null when there were no pen digits
        "pen_val_accuracy": scores.get("pen_val_accuracy"),
        "pen_val_writers": list(pendigits.VALIDATION_WRITERS) if "pen_val" in data.evals else [],
        "pen_val_count": scores.get("pen_val_count", 0),
        "validation_accuracy": scores[f"{data.validation}_accuracy"],
        # the held-out groups: *_val are tuned on, *_final only reported
        "held_out": {"pen_val_writers": list(pendigits.VALIDATION_WRITERS),
                     "pen_final_writers": list(pendigits.FINAL_WRITERS),
                     "unipen_val_institutions": list(unipen.VALIDATION_INSTITUTIONS),
                     "unipen_final_institutions": list(unipen.FINAL_INSTITUTIONS)},
        "outputs": list(model_outputs),
        "preprocess_version": PREPROCESS_VERSION,
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
                     "numpy": np.__version__},
        "data_files": {str(f): sha256(f) for f in data.files},
        "history": {k: [round(v, 5) for v in vs] for k, vs in history.items()},
    }


def write_report(folder: Path, history: dict, data: Data, probs: dict[str, np.ndarray], test_accuracy: float) -> None:
    """The plots: learning curves, the MNIST test confusion matrix, each set's errors."""
    from training import report

    folder.mkdir(exist_ok=True)
    report.learning_curves(history, folder / "learning_curves.png")
    x_test, y_test = data.test
    report.confusion_matrix(y_test, probs["mnist_test"].argmax(1), folder / "confusion_matrix.png",
                            f"MNIST test: {test_accuracy:.2%}")
    report.error_grid(x_test, y_test, probs["mnist_test"], folder / "mnist_errors.png", "MNIST test")
    for name, (x, y) in data.evals.items():
        digit = y != NOT_A_DIGIT
        if digit.any():
            report.error_grid(x[digit], y[digit], probs[name][digit], folder / f"{name}_errors.png",
                              EVAL_TITLES.get(name, name))


# ---------------------------------------------------------------- the run


def train(config: Config) -> int:
    import keras
    import tensorflow as tf

    from training import outputs
    from training.checkpoint import Checkpoint, RunState, load_keras, resumable_state
    from training.model import OUTPUT_NAMES, recalibrate_batch_norm, shipped_model

    ckpt_dir, out = config.out / "checkpoints", config.out
    if config.resume:  # refuse at once, not after minutes of preparing data
        state = resumable_state(ckpt_dir, config.settings())
    keras.utils.set_random_seed(config.seed)
    data = prepare_data(config)
    print(f"training on {len(data.x)} images {data.counts}, evaluating on "
          f"{ {name: len(y) for name, (_, y) in data.evals.items()} }")

    gpus = tf.config.list_logical_devices("GPU")
    strategy = tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    with strategy.scope():
        if config.resume:
            model = load_keras(ckpt_dir / "last.keras", "checkpoint")
            print(f"resuming from epoch {state.epoch} of {config.epochs}")
        else:
            steps_per_epoch = -(-len(data.x) // config.batch_size)
            model = new_model(config.arch, config.from_model, config.lr, config.epochs, steps_per_epoch)
            state = RunState(config.settings())
    checkpoint = Checkpoint(ckpt_dir, state)
    untouched = f"{out}'s model, metrics and report are as they were"
    resume_command = config.command if config.resume else f"{config.command} --resume"

    t0, trained_before = time.time(), state.train_seconds
    try:
        if not config.resume:
            checkpoint.start()
        fit(model, data, checkpoint, epochs=config.epochs, initial_epoch=state.epoch, batch_size=config.batch_size,
            seed=config.seed, arch=config.arch)
    except KeyboardInterrupt:
        if state.epoch == 0:
            print(f"\ninterrupted before the first epoch finished: nothing to resume; {untouched}", file=sys.stderr)
        else:
            print(f"\ninterrupted: {state.epoch} of {config.epochs} epochs checkpointed in {ckpt_dir} (best: "
                  f"{checkpoint.best_model.name}); continue with: {resume_command}; {untouched}", file=sys.stderr)
        return 130

    try:
        # fit() has copied the averaged weights into the model (optimizer.finalize_variable_values); the
        # epoch-by-epoch validation above is of the raw weights. Checkpoints keep the raw weights with
        # their average inside the optimizer state, so --resume carries on exactly.
        if config.arch != "tutorial":
            recalibrate_batch_norm(model, calibration_images(data.x, config.seed))
        train_seconds = trained_before + time.time() - t0
        print(f"trained in {train_seconds:.0f} s")

        # The model at the end of the cosine schedule is the one we ship: the best-by-validation checkpoint
        # is judged by the raw (not averaged) weights' loss on the sets we tune on, and tends to be a
        # mid-training, high learning-rate state.
        if config.arch != "tutorial":
            model = shipped_model(model)  # [probabilities, not_digit, features]: what we save and export
        scores, probs = evaluate(model, data.test, data.evals)
        output_names = ["probabilities"] if config.arch == "tutorial" else list(OUTPUT_NAMES)
        metrics = run_metrics(config, data, scores, state.history, train_seconds, output_names)
        plan = outputs.plan(out, metrics, force=config.force)
        metrics["model"] = plan.model
        # everything is written beside the outputs first, then swapped in at once
        with outputs.staging(out) as staged:
            model.save(staged / plan.model)
            if config.h5 and config.arch != "tutorial":
                model.save(staged / "digits.h5")
            (staged / plan.metrics).write_text(json.dumps(metrics, indent=2) + "\n")
            write_report(staged / plan.report, state.history, data, probs, scores["mnist_test_accuracy"])
            interrupted = outputs.swap(staged, out)
    except KeyboardInterrupt:
        print(f"\ninterrupted after training, before writing: {untouched}; the {state.epoch} epochs are "
              f"checkpointed in {ckpt_dir}: {resume_command} evaluates and writes them", file=sys.stderr)
        return 130
    except OSError as e:
        raise DataError(f"{e.filename or out}: cannot write the outputs ({e.strerror or first_line(e)}); "
                        f"{untouched}") from None
    if plan.message:
        print(plan.message)
    print(f"wrote {out}/: {plan.model}, {plan.metrics}, {plan.report}/")
    if interrupted:
        print("\ninterrupted while the outputs were being swapped in: that was finished first, so they are "
              "this run's, complete", file=sys.stderr)
        return 130
    return 0


def main(argv=None) -> int:
    try:
        config = parse_args(argv)
    except DataError as e:  # pen data missing: one line naming digits-data
        print(f"digits-train: {e}", file=sys.stderr)
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out of the log
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        print("digits-train needs TensorFlow: pip install 'digits[train]'", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted while TensorFlow was loading; nothing written", file=sys.stderr)
        return 130
    try:
        return train(config)
    except DataError as e:
        print(f"digits-train: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted before training started; nothing written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
