"""What one run of the player has besides its window: the model loading in the background,
the --events stream, warnings on stderr, and the drawings it saves."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from player.board import Board
from player.drawing import save_new
from player.view import png_bytes, render_ink


class ModelLoader:
    """Loads the model in a background thread, so the window is up before onnxruntime is."""

    def __init__(self, load: Callable[[], object]):
        self._load = load
        self.model = None
        self.error: str | None = None
        self.done = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def of(cls, model) -> ModelLoader:
        """An already loaded model (tests pass stand-ins this way)."""
        loader = cls(lambda: model)
        loader.model = model
        loader.done.set()
        return loader

    @classmethod
    def from_path(cls, path: str | Path | None) -> ModelLoader:
        def load():
            from player.model import Model  # imports onnxruntime: here, off the main thread

            return Model(path)

        return cls(load)

    def start(self) -> None:
        if not self.done.is_set() and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="model-loader", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:
            self.model = self._load()
        except Exception as e:  # any failure is shown to the user, as one line
            from player.model import ModelError

            self.error = str(e) if isinstance(e, ModelError) else f"cannot load the model: {type(e).__name__}: {e}"
        finally:
            self.done.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is None:
            self.start()
        return self.done.wait(timeout)


class EventLog:
    """--events: one JSON object per line on stdout, flushed, for programs driving the app."""

    def __init__(self, enabled: bool, stream=None):
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stdout

    def emit(self, event: str, **fields) -> None:
        if not self.enabled:
            return
        try:
            self.stream.write(json.dumps({"event": event, **fields}) + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # the reader went away: keep drawing
            self.enabled = False


def warn(message: str) -> None:
    print(f"digits-player: {message}", file=sys.stderr, flush=True)


def seconds_since_process_start() -> float | None:
    """Wall time since the process started (Linux), to report start-up time honestly:
    interpreter start and imports included."""
    try:
        stat = Path("/proc/self/stat").read_text()
        start_ticks = int(stat[stat.rindex(")") + 2 :].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return round(uptime - start_ticks / os.sysconf("SC_CLK_TCK"), 3)
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def save_board(board: Board, folder: Path, label: str | None = None) -> Path:
    """The drawing as stroke JSON (+ a PNG of the canvas) in `folder`; never overwrites.
    Returns the JSON path; OSError if the folder is not writable."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    stem = f"label-{label}-{stamp}" if label is not None else f"drawing-{stamp}"
    data = json.dumps(board.to_drawing(label).to_json()).encode()
    paths = save_new(Path(folder), stem, {".json": data, ".png": png_bytes(render_ink(board))})
    return paths[".json"]


def default_dir(kind: str) -> Path:
    import platformdirs  # only needed when saving

    return Path(platformdirs.user_data_dir("digits")) / kind


def model_notes(loader: ModelLoader, threshold: float, save_dir: Path | None,
                corrections_dir: Path | None) -> list[str]:
    """The help card's notes: which model and how accurate (or why it failed), where things go."""
    if loader.error:
        return [loader.error]
    if not loader.done.is_set() or loader.model is None:
        return ["model: loading..."]
    meta = getattr(loader.model, "metadata", {}) or {}

    def percent(key: str) -> str:
        try:
            v = float(meta[key])
            return f"{v:.1%}" if v <= 1 else f"{v:.1f}%"
        except (KeyError, ValueError):
            return "n/a"

    return [f"model {meta.get('model_version', 'unknown')}: MNIST test accuracy {percent('mnist_test_accuracy')}, "
            f"pen digits {percent('pen_val_accuracy')}",
            f"threshold {threshold:.2f}: less sure digits read \"?\"",
            f"S saves to {save_dir or default_dir('drawings')}",
            f"corrections go to {corrections_dir or default_dir('corrections')}"]
