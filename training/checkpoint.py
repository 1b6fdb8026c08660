"""Checkpoints of a training run: what Ctrl+C keeps and what --resume continues from.

    <out>/checkpoints/last.keras   the model after the last finished epoch (raw weights, with
                                   the optimizer's averaged weights in its state)
    <out>/checkpoints/best.keras   the epoch with the lowest validation loss so far
    <out>/checkpoints/state.json   epochs done, the history so far, seconds trained
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import numpy as np

from training.data import DataError


@dataclass
class RunState:
    """Where a run stands after its last finished epoch."""

    epoch: int = 0  # epochs done
    history: dict[str, list[float]] = field(default_factory=dict)  # Keras' logs, one value per epoch
    train_seconds: float = 0.0


def resume(folder: Path) -> tuple[keras.Model, RunState]:
    """The model and state of the run checkpointed in `folder`."""
    last = folder / "last.keras"
    if not last.exists():
        raise DataError(f"{last}: nothing to resume (no checkpoint)")
    state = RunState(**json.loads((folder / "state.json").read_text()))
    return keras.models.load_model(last), state


class Checkpoint(keras.callbacks.Callback):
    """Every epoch: the last model and the state for --resume; the best by validation loss kept apart.

    The history lives here, so a run interrupted at any epoch still knows what it learned."""

    def __init__(self, folder: Path, state: RunState):
        super().__init__()
        self.folder = folder
        self.state = state
        self.best = min(state.history.get("val_loss", [np.inf]))
        self.t0 = time.time()

    @property
    def last(self) -> Path:
        return self.folder / "last.keras"

    @property
    def best_model(self) -> Path:
        return self.folder / "best.keras"

    def on_epoch_end(self, epoch, logs=None):
        for k, v in (logs or {}).items():
            self.state.history.setdefault(k, []).append(float(v))
        self.model.save(self.last)
        if logs["val_loss"] < self.best:
            self.best = logs["val_loss"]
            self.model.save(self.best_model)
        done = RunState(epoch + 1, self.state.history, self.state.train_seconds + time.time() - self.t0)
        (self.folder / "state.json").write_text(json.dumps(asdict(done)))
