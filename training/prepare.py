"""The data of a training run: what the model learns from and what it is judged on.

Training: MNIST, the pen digits of the training writers of both pen sources (pendigits and
UNIPEN 1a) drawn through the player's own preprocessing, 'not a digit' examples made from
those same training writers' ink (training/nondigits.py), and the user's corrections.
Judged on, each set on its own: the MNIST test set; pendigits writers and UNIPEN institutions
never trained on, in two hold-outs each: `*_val`, tuned on, and `*_final`, only reported;
and non-digits made from the validation writers' ink.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from player.drawing import DrawingError, load_drawing
from training import nondigits, pendigits, unipen
from training.data import DataError, data_files, load_mnist

NOT_A_DIGIT = nondigits.NOT_A_DIGIT  # the label of the examples that are no digit
# renderings of each training pen digit: one as the player draws it, the rest distorted. UNIPEN
# gets one more: its labs' styles are the ones a model trained on one lab misses (7 epochs with
# 2 copies: 96.3% on the final institutions against 99.2% on the final pendigits writers)
COPIES = {"pen": 2, "unipen": 3}
NONDIGITS = 12000  # 'not a digit' training examples: fragments, merged pairs, marks
EXTRA_COPIES = 20  # a user's corrections are few; repeat them so a few epochs learn them
QUICK_IMAGES = 3000
QUICK_PEN = 600  # pen digits per source in a --quick run (300 per held-out set)
MIN_TRAIN_IMAGES = 100  # fewer is a wrong file, not a training set (and leaves nothing to hold out)

# what each evaluation set is, in the printed summary and the report's titles
EVAL_TITLES = {
    "pen_val": "pen digits of unseen writers",
    "pen_final": "pen digits of the final writers",
    "unipen_val": "UNIPEN digits of unseen institutions",
    "unipen_final": "UNIPEN digits of the final institutions",
    "not_digit_val": "non-digits",
    "mnist_val": "held-out MNIST training images",
}


@dataclass
class Data:
    """Everything a run learns from and is judged on."""

    x: np.ndarray  # training images, float32 [N, 28, 28, 1] in 0..1, all sources together
    y: np.ndarray  # their labels, int32 [N]: 0-9, NOT_A_DIGIT for non-digits
    evals: dict[str, tuple[np.ndarray, np.ndarray]]  # named evaluation sets, each reported on its own
    validation: str  # the set whose accuracy metrics.json calls validation_accuracy
    test: tuple[np.ndarray, np.ndarray]  # the MNIST test set
    counts: dict[str, int]  # training images per source: {"mnist": ..., "pen": ..., "extra": ...}
    files: list[Path]  # the data files read, for metrics.json's provenance


def load_extra(folders, model_path=None) -> tuple[np.ndarray, np.ndarray, list[Path]]:
    """Corrections saved by the player: each file is a drawing labelled with its digits.

    Digits come out exactly as the player learns them (player.adapt.examples): a one-digit
    label is the whole drawing; a longer label is paired with the digits the player's own
    segmenter finds, and only when it finds as many. That split asks the shipped ONNX model
    (`model_path`, default the player's), loaded only when a correction of several digits needs it.
    """
    from player.adapt import examples

    model = None

    def predict(images):
        nonlocal model
        if model is None:
            from player.model import Model, ModelError

            try:
                model = Model(model_path)
            except ModelError as e:
                raise DataError(f"--extra: numbers of several digits are split by the player's model: {e}") from None
        return model.predict_parts(images)

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
            digits = examples(drawing.strokes, drawing.label, predict) if drawing.label else None
            if digits is None:
                print(f"skipping {path}: label {drawing.label!r} does not match the digits the player splits it into",
                      file=sys.stderr)
                continue
            images.extend(digits)
            labels.extend(int(d) for d in drawing.label)
            files.append(path)
    if not images:
        return np.zeros((0, 28, 28), np.float32), np.zeros((0,), np.uint8), files
    return np.stack(images), np.array(labels, np.uint8), files


def _load(path: Path, load):
    try:
        return load(path)
    except pendigits.PenDataError as e:
        raise DataError(str(e)) from None


def prepare_data(config) -> Data:
    """`config`: a training.train.Config (data, pen, unipen, extra, quick, seed)."""
    x_train, y_train, x_test, y_test = load_mnist(config.data)
    files = data_files(config.data)
    if config.quick:
        x_train, y_train = x_train[:QUICK_IMAGES], y_train[:QUICK_IMAGES]
        x_test, y_test = x_test[:1000], y_test[:1000]
    if len(x_train) < MIN_TRAIN_IMAGES or not len(x_test):
        raise DataError(f"{files[0]}: too little data to train on: {len(x_train)} training and {len(x_test)} test "
                        f"images (at least {MIN_TRAIN_IMAGES} and 1)")
    parts = {"mnist": (x_train.astype(np.float32) / 255.0, y_train)}
    evals = {}

    sources = [("pen", config.pen, pendigits.load_unipen, pendigits.holdout_splits),
               ("unipen", config.unipen, unipen.load_unipen_1a, unipen.holdout_splits)]
    train_ink, val_ink = [], []
    t0 = time.time()
    for i, (name, path, load, holdout_splits) in enumerate(sources):
        if not path:
            continue
        train_digits, val_digits, final_digits = holdout_splits(_load(path, load))
        files.append(path)
        if config.quick:
            n = QUICK_PEN
            train_digits, val_digits, final_digits = train_digits[:n], val_digits[: n // 2], final_digits[: n // 2]
        parts[name] = pendigits.render(train_digits, copies=1 if config.quick else COPIES[name], seed=config.seed + i)
        evals[f"{name}_val"] = pendigits.render(val_digits)
        evals[f"{name}_final"] = pendigits.render(final_digits)
        train_ink += train_digits
        val_ink += val_digits
    if train_ink:
        count = NONDIGITS // 10 if config.quick else NONDIGITS
        parts["not_digit"] = nondigits.render(nondigits.training_strokes(train_ink, count, config.seed), config.seed)
        val_seed = config.seed + 100
        evals["not_digit_val"] = nondigits.render(nondigits.training_strokes(val_ink, count // 4, val_seed), val_seed)
        print(f"rendered {sum(len(parts[k][0]) for k in ('pen', 'unipen', 'not_digit') if k in parts)} training and "
              f"{sum(len(v[0]) for v in evals.values())} evaluation images in {time.time() - t0:.0f} s (held out: "
              f"pen writers {list(pendigits.VALIDATION_WRITERS)} + {list(pendigits.FINAL_WRITERS)}, UNIPEN "
              f"{list(unipen.VALIDATION_INSTITUTIONS)} + {list(unipen.FINAL_INSTITUTIONS)})")
    if config.extra:
        x_extra, y_extra, extra_files = load_extra(config.extra)
        files += extra_files
        if len(x_extra):
            parts["extra"] = (np.repeat(x_extra, EXTRA_COPIES, axis=0), np.repeat(y_extra, EXTRA_COPIES))
        print(f"extra: {len(x_extra)} corrected digits from {len(extra_files)} drawings")
    if not evals:
        # no pen digits: hold out the end of MNIST's training set instead
        (x, y), n = parts["mnist"], min(5000, len(parts["mnist"][0]) // 10)
        parts["mnist"] = (x[:-n], y[:-n])
        evals["mnist_val"] = (x[-n:], y[-n:])
    return Data(
        x=np.concatenate([v[0] for v in parts.values()])[..., None],
        y=np.concatenate([v[1] for v in parts.values()]).astype(np.int32),
        evals={name: (x[..., None], y.astype(np.int32)) for name, (x, y) in evals.items()},
        validation="pen_val" if "pen_val" in evals else next(iter(evals)),
        test=(x_test.astype(np.float32)[..., None] / 255.0, y_test.astype(np.int32)),
        counts={k: len(v[1]) for k, v in parts.items()},
        files=files,
    )
