"""Checkpoints of a training run: what Ctrl+C keeps and what --resume continues from.

    <out>/checkpoints/state.json   which run this is (its settings), epochs done, the history
                                   so far, seconds trained; written when the run starts
    <out>/checkpoints/last.keras   the model after the last finished epoch (raw weights, with
                                   the optimizer's averaged weights in its state)
    <out>/checkpoints/best.keras   the epoch with the lowest validation loss so far

A checkpoint knows which run it belongs to: --resume continues only a run with the same
settings that finished at least one epoch, never the run before it.
"""

from __future__ import annotations

import json
import signal
import threading
import time
import zipfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import keras
import numpy as np

from player.errors import first_line
from training.data import DataError


@contextmanager
def ctrl_c_deferred():
    """Let the files written inside finish: a Ctrl+C that comes meanwhile is raised (as
    KeyboardInterrupt) only when the block is done. Yields the list of Ctrl+Cs held back:
    a caller that reports them itself clears it."""
    held = []
    previous = signal.getsignal(signal.SIGINT)
    # only the main thread gets signals; a background job ignores Ctrl+C (SIG_IGN) and keeps doing so
    if threading.current_thread() is not threading.main_thread() or previous in (signal.SIG_IGN, None):
        yield held
        return
    signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        yield held
    finally:
        signal.signal(signal.SIGINT, previous)
    if held:
        raise KeyboardInterrupt


def load_keras(path: str | Path, what: str = "Keras model") -> keras.Model:
    """A .keras/.h5 model, or a DataError naming the file and what is wrong with it."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    # Keras answers "File not found" for a .keras file that is not a whole zip archive
    if path.suffix == ".keras" and not zipfile.is_zipfile(path):
        raise DataError(f"{path}: not a readable {what} (not a complete .keras zip archive: truncated?)")
    try:
        return keras.models.load_model(path)
    except Exception as e:  # keras raises many types for a bad file
        raise DataError(f"{path}: not a readable {what} ({first_line(e)})") from None


@dataclass
class RunState:
    """Where a run stands after its last finished epoch."""

    settings: dict  # what defines the run (data, architecture, epochs, ...): --resume must match it
    epoch: int = 0  # epochs done
    history: dict[str, list[float]] = field(default_factory=dict)  # Keras' logs, one value per epoch
    train_seconds: float = 0.0


def resumable_state(folder: Path, settings: dict) -> RunState:
    """The state of the run checkpointed in `folder`, if it is a run with these settings that
    finished at least one epoch; the model to go on with is `folder`/last.keras."""
    state_file = folder / "state.json"
    try:
        saved = json.loads(state_file.read_text())
    except FileNotFoundError:
        raise DataError(f"{state_file}: nothing to resume (no checkpoint)") from None
    except (OSError, ValueError) as e:
        raise DataError(f"{state_file}: unreadable ({first_line(e)}); start again without --resume") from None
    if not isinstance(saved, dict) or set(saved) != {f.name for f in fields(RunState)}:
        raise DataError(f"{state_file}: does not say which run it belongs to (an older digits-train wrote it?); "
                        f"start again without --resume")
    state = RunState(**saved)
    differ = [f"{key} {state.settings.get(key)!r} there, {value!r} here"
              for key, value in settings.items() if state.settings.get(key) != value]
    if differ:
        raise DataError(f"{folder}: the checkpoint belongs to another run ({'; '.join(differ)}); "
                        f"start it again without --resume")
    if state.epoch == 0:
        raise DataError(f"{folder}: nothing of this run to resume (it was interrupted before its first epoch "
                        f"finished); start it again without --resume")
    return state


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

    def start(self) -> None:
        """A new run: the previous run's checkpoints go, this run's settings are recorded."""
        with ctrl_c_deferred():
            self.folder.mkdir(parents=True, exist_ok=True)
            self.last.unlink(missing_ok=True)
            self.best_model.unlink(missing_ok=True)
            self._write_state()

    def on_epoch_end(self, epoch, logs=None):
        # a Ctrl+C while saving would leave a torn last.keras: the three files are written as one
        with ctrl_c_deferred():
            for k, v in (logs or {}).items():
                self.state.history.setdefault(k, []).append(float(v))
            self.model.save(self.last)
            if logs["val_loss"] < self.best:
                self.best = logs["val_loss"]
                self.model.save(self.best_model)
            self.state.epoch = epoch + 1
            self.state.train_seconds += time.time() - self.t0
            self.t0 = time.time()
            self._write_state()

    def _write_state(self) -> None:
        (self.folder / "state.json").write_text(json.dumps(asdict(self.state)))
