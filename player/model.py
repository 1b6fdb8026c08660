"""The ONNX model: found, loaded once, checked, and asked about drawings.

Only onnxruntime and numpy here: this is what end users run, without TensorFlow.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from player.errors import first_line
from player.preprocess import IMAGE_SIZE, PREPROCESS_VERSION

INPUT_NAME = "image"
OUTPUT_NAME = "probabilities"
NOT_DIGIT_NAME = "not_digit"  # optional [N, 1]: the probability that an image is not one digit
NOT_DIGIT = 0.5  # above this not-digit probability a part is answered "?"
FEATURES_NAME = "features"  # optional [N, d]: the penultimate layer, what learning from corrections compares
MODEL_FILE = "digits.onnx"


class ModelError(RuntimeError):
    """A model that cannot be used; one line naming the file and what is wrong."""


def find_model() -> Path:
    """The shipped model, from any working directory: $DIGITS_MODEL, the standalone app's
    bundle (PyInstaller unpacks data under sys._MEIPASS), the installed package data
    (player/models/), or models/ of a source checkout."""
    if os.environ.get("DIGITS_MODEL"):
        return Path(os.environ["DIGITS_MODEL"])
    from importlib import resources  # here: it imports tempfile, shutil, random... for nothing on --model

    candidates = [
        Path(str(resources.files("player"))) / "models" / MODEL_FILE,
        Path(__file__).resolve().parent.parent / "models" / MODEL_FILE,
    ]
    if getattr(sys, "frozen", False):
        candidates.insert(0, Path(sys._MEIPASS) / "player" / "models" / MODEL_FILE)
    for path in candidates:
        if path.exists():
            return path
    return candidates[-1]


@dataclass
class Result:
    digits: str  # one character per digit, "?" where the model is unsure or it is no digit
    probabilities: np.ndarray  # (n, 10)
    confidence: float  # of the whole reading: the product of the digits' top probabilities
    not_digit: np.ndarray | None = None  # (n,) probability that each part is no digit; None: not asked
    parts: list = field(default_factory=list)  # the segment.Part of each digit, when read from strokes


def reading(probs: np.ndarray, threshold: float = 0.0, not_digit: np.ndarray | None = None) -> Result:
    """(n, 10) probabilities of a drawing's digits -> the number shown: the most likely digit
    each, "?" where its probability is below threshold or the part is not a digit."""
    top = probs.max(axis=1) if len(probs) else np.zeros(0)
    r = np.zeros(len(probs)) if not_digit is None else np.asarray(not_digit, np.float64).reshape(-1)
    rejected = r > NOT_DIGIT
    # whole arrays, then plain lists: digits-predict reads thousands of drawings, a row at a time cost more
    unsure = ((top < threshold) | rejected).tolist()
    best = probs.argmax(axis=1).tolist() if len(probs) else []
    digits = "".join("?" if no else str(d) for d, no in zip(best, unsure, strict=True))
    sure = np.where(rejected, r, top * (1.0 - r))  # how sure the model is of each answer, "?" included
    return Result(digits, probs, float(np.prod(sure, dtype=np.float64)) if len(top) else 0.0,
                  None if not_digit is None else r)


def in_batches(run, images: np.ndarray, batch_size: int):
    """run(batch) on at most batch_size images at a time, the answers joined in order: memory
    stays bounded and ten thousand images cost a few dozen model calls, not ten thousand.
    run answers one array, or a tuple or list of arrays (one per model output); so does this."""
    answers = [run(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]
    if not answers:
        return run(images[:0])  # no images: run's own empty answer, in its own form
    if isinstance(answers[0], tuple | list):
        return tuple(np.concatenate(outputs) for outputs in zip(*answers, strict=True))
    return np.concatenate(answers)


class Model:
    """One onnxruntime session, created once; its interface checked at load."""

    def __init__(self, path: str | Path | None = None, threads: int = 0):
        """threads: onnxruntime's threads for one call; 0, its own choice (one per core)."""
        import onnxruntime as ort  # heavy-ish: imported when the model is loaded, not at app start

        self.path = Path(path) if path else find_model()
        try:
            if self.path.is_dir():
                raise ModelError(f"{self.path}: a folder, not an ONNX model file")
            if not self.path.is_file():
                raise ModelError(f"{self.path}: model file not found")
            # onnxruntime says "system error number 13" of a file it may not read: found here instead
            with open(self.path, "rb"):
                pass
        except OSError as e:  # is_file raises too, under a folder that may not be read (Python 3.11)
            raise ModelError(f"{self.path}: cannot read ({e.strerror or e})") from None
        options = ort.SessionOptions()
        # onnxruntime's own thread count (one per core) measured fastest on an idle 2-core machine:
        # 0.18 ms per digit vs 0.21 ms with one thread, 7.3 vs 12.8 ms for 64 (benchmarks/latency.py)
        options.inter_op_num_threads = 1
        options.intra_op_num_threads = threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types for corrupt files
            raise ModelError(f"{self.path}: not a usable ONNX model ({first_line(e)})") from None
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        self._check_interface()
        # a model without it (made before 'not a digit' was learned) still reads, never answering "?"
        self.has_not_digit = NOT_DIGIT_NAME in [o.name for o in self.session.get_outputs()]
        # a model without it reads as before, but cannot learn from corrections (player/adapt.py)
        self.has_features = any(o.name == FEATURES_NAME and len(o.shape) == 2 for o in self.session.get_outputs())

    def _check_interface(self) -> None:
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if [i.name for i in inputs] != [INPUT_NAME] or OUTPUT_NAME not in [o.name for o in outputs]:
            raise ModelError(f"{self.path}: expected input '{INPUT_NAME}' and output '{OUTPUT_NAME}', got "
                             f"{[i.name for i in inputs]} -> {[o.name for o in outputs]}")
        shape = inputs[0].shape
        batch_is_dynamic = len(shape) == 4 and not isinstance(shape[0], int)
        if not batch_is_dynamic or list(shape[1:]) != [IMAGE_SIZE, IMAGE_SIZE, 1] or inputs[0].type != "tensor(float)":
            raise ModelError(f"{self.path}: input must be float [N, 28, 28, 1] with a free N, got "
                             f"{inputs[0].type} {shape}")
        out_shape = next(o.shape for o in outputs if o.name == OUTPUT_NAME)
        if len(out_shape) != 2 or out_shape[1] != 10:
            raise ModelError(f"{self.path}: output '{OUTPUT_NAME}' must be [N, 10], got {out_shape}")
        version = self.metadata.get("preprocess_version")
        if version != PREPROCESS_VERSION:
            raise ModelError(f"{self.path}: made for preprocessing version {version!r}, this player has "
                             f"{PREPROCESS_VERSION!r}: re-export the model or update the player")

    def predict(self, images: np.ndarray) -> np.ndarray:
        """(n, 28, 28) images in [0, 1] -> (n, 10) probabilities, in one batched call."""
        return self.predict_parts(images)[0]

    def predict_parts(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, 28, 28) images in [0, 1] -> (n, 10) probabilities and (n,) not-digit
        probabilities (zeros for a model without that output), in one batched call.
        ModelError (one line) when the model fails to run or answers in the wrong shape: the
        app and digits-predict report it alike."""
        return self._run(images, features=False)[:2]

    def predict_features(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """predict_parts and the (n, d) features, in the same call; only for a model that has_features."""
        return self._run(images, features=True)

    def _run(self, images: np.ndarray, features: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        x = np.asarray(images, np.float32).reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 1)
        if not len(x):
            return np.zeros((0, 10), np.float32), np.zeros(0, np.float32), np.zeros((0, 0), np.float32)
        names = [OUTPUT_NAME] + [NOT_DIGIT_NAME] * self.has_not_digit + [FEATURES_NAME] * features
        try:
            out = self.session.run(names, {INPUT_NAME: x})
        except Exception as e:  # onnxruntime's own errors: a model that loads but does not run
            raise ModelError(f"{self.path}: the model failed to run ({first_line(e)})") from None
        probs = out[0]
        if probs.ndim != 2 or probs.shape != (len(x), 10):
            raise ModelError(f"{self.path}: expected (n, 10) probabilities, got shape {probs.shape}")
        feats = out[-1].reshape(len(x), -1) if features else None
        if not self.has_not_digit:
            return probs, np.zeros(len(x), np.float32), feats
        if out[1].size != len(x):
            raise ModelError(f"{self.path}: expected (n, 1) not-digit probabilities, got shape {out[1].shape}")
        return probs, out[1].reshape(-1), feats

    def read(self, images: np.ndarray, threshold: float = 0.0) -> Result:
        """Images of the digits of one drawing, left to right -> the number they show."""
        probs, not_digit = self.predict_parts(images)
        return reading(probs, threshold, not_digit if self.has_not_digit else None)

    def read_strokes(self, strokes, threshold: float = 0.0, min_size: float = 0.0, predict=None) -> Result:
        """Strokes of a drawing (screen pixels) -> the digits it shows: the model decides which
        strokes make a digit (player/segment.py), then reads each. `min_size`: parts smaller than
        this (px; the player passes twice its brush) are dots, never digits. `predict`: in place
        of predict_parts, e.g. the one adapted to the user's corrections (player/adapt.py)."""
        from player.segment import segment

        return self.read_parts(segment(strokes, predict or self.predict_parts, min_size), threshold, min_size)

    def read_parts(self, parts: list, threshold: float = 0.0, min_size: float = 0.0) -> Result:
        """The segmenter's parts of a drawing (segment.choose) -> the number they show. The app's
        reader segments by itself, to keep what it drew and read between readings."""
        probs = np.stack([p.probabilities for p in parts]) if parts else np.zeros((0, 10), np.float32)
        not_digit = np.array([p.not_digit for p in parts]) if self.has_not_digit or min_size > 0 else None
        result = reading(probs, threshold, not_digit)
        result.parts = parts
        return result
