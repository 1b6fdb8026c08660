"""The ONNX model: found, loaded once, checked, and asked about drawings.

Only onnxruntime and numpy here: this is what end users run, without TensorFlow.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from player.preprocess import IMAGE_SIZE, PREPROCESS_VERSION, strokes_to_digits

INPUT_NAME = "image"
OUTPUT_NAME = "probabilities"
MODEL_FILE = "digits.onnx"


class ModelError(RuntimeError):
    """A model that cannot be used; one line naming the file and what is wrong."""


def find_model() -> Path:
    """The shipped model, from any working directory: $DIGITS_MODEL, the standalone app's
    bundle (PyInstaller unpacks data under sys._MEIPASS), the installed package data
    (player/models/), or models/ of a source checkout."""
    if os.environ.get("DIGITS_MODEL"):
        return Path(os.environ["DIGITS_MODEL"])
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
    digits: str  # one character per digit, "?" where the model is unsure
    probabilities: np.ndarray  # (n, 10)
    confidence: float  # of the whole reading: the product of the digits' top probabilities


def reading(probs: np.ndarray, threshold: float = 0.0) -> Result:
    """(n, 10) probabilities of a drawing's digits -> the number shown: the most likely digit
    each, "?" where its probability is below threshold."""
    top = probs.max(axis=1) if len(probs) else np.zeros(0)
    digits = "".join(str(int(p.argmax())) if t >= threshold else "?" for p, t in zip(probs, top, strict=True))
    return Result(digits, probs, float(np.prod(top, dtype=np.float64)) if len(top) else 0.0)


class Model:
    """One onnxruntime session, created once; its interface checked at load."""

    def __init__(self, path: str | Path | None = None):
        import onnxruntime as ort  # heavy-ish: imported when the model is loaded, not at app start

        self.path = Path(path) if path else find_model()
        if not self.path.is_file():
            raise ModelError(f"{self.path}: model file not found")
        options = ort.SessionOptions()
        # onnxruntime's own thread count (one per core) measured fastest on an idle 2-core machine:
        # 0.18 ms per digit vs 0.21 ms with one thread, 7.3 vs 12.8 ms for 64 (benchmarks/latency.py)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types for corrupt files
            raise ModelError(f"{self.path}: not a usable ONNX model ({str(e).splitlines()[0][:200]})") from None
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        self._check_interface()

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
        x = np.asarray(images, np.float32).reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 1)
        if not len(x):
            return np.zeros((0, 10), np.float32)
        return self.session.run([OUTPUT_NAME], {INPUT_NAME: x})[0]

    def read(self, images: np.ndarray, threshold: float = 0.0) -> Result:
        """Images of the digits of one drawing, left to right -> the number they show."""
        return reading(self.predict(images), threshold)

    def recognise(self, strokes, threshold: float = 0.0) -> Result:
        """Strokes of a drawing (screen pixels) -> the digits it shows."""
        return self.read(strokes_to_digits(strokes), threshold)
