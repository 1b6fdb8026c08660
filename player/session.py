"""What one run of the player has besides its window: the model loading and the drawing being
read in background threads, the --events stream, warnings on stderr, and the drawings it saves."""

from __future__ import annotations

import copy
import gc
import hashlib
import json
import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from player.board import Board, Box
from player.drawing import save_new
from player.errors import first_line
from player.ink import png_bytes, render_ink


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
            # numpy, onnxruntime and the model are in: keep their objects out of the garbage
            # collector's full passes from now on, which took 10-30 ms, a frame and more
            gc.collect()
            gc.freeze()
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


@dataclass
class Answer:
    """What the reader made of one drawing."""

    version: int  # Board.version of the drawing it read
    rewrites: int  # ... and Board.rewrites: an answer from before an undo, clear or resize is dropped
    live: bool  # read while drawing, not asked for
    result: object | None = None  # player.model.Result; None when there was no ink (or on error)
    boxes: list[Box] = field(default_factory=list)  # each digit's (x0, y0, x1, y1), to outline it
    error: str | None = None  # one line, when the model failed


class Reader:
    """Reads drawings in a background thread, so that no frame ever waits for the model.

    The window hands it the newest drawing with ask(); one handed in while another is still
    waiting replaces it (the newest drawing wins, none is read twice), and answers come back,
    in order, through take(). Work is not repeated: each finished stroke becomes an array once
    and the stroke being drawn only adds its new points, and a candidate digit (a run of
    strokes the segmenter asks the model about) whose strokes have not changed is neither
    drawn nor read again. What is redone each time is cheap: planning the candidates from the
    strokes' boxes, and choosing the split."""

    CANDIDATES_KEPT = 512  # candidate digits remembered (image and model outputs), most recent

    def __init__(self):
        self._cv = threading.Condition()
        self._waiting: tuple | None = None  # the request not started yet
        self._answers: list[Answer] = []
        self._busy = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        # the worker's own memory: stroke list id -> (the list, its points so far as an array),
        # and candidate digest -> (image, probabilities, not-digit probability, signature), for `_model`
        self._arrays: dict[int, tuple[list, object]] = {}
        self._candidates: OrderedDict[bytes, tuple] = OrderedDict()
        self._model = None

    def ask(self, model, board: Board, threshold: float, live: bool, memory=None) -> None:
        """Read the board's drawing as it is now. Only references go to the worker: finished
        strokes never change (undo and resize make new lists), and the stroke being drawn only
        grows, so a (stroke, number of points) pair is a snapshot. Marks smaller than two brush
        widths are clicks, never digits. `memory`: the user's corrections (adapt.Memory) that
        pull the answers, as they are now (a copy: learning goes on in this thread)."""
        strokes = [(s, len(s)) for s in board.all_strokes()]
        answer = Answer(board.version, board.rewrites, live)
        memory = copy.copy(memory) if memory is not None and len(memory) else None
        with self._cv:
            self._waiting = (model, strokes, threshold, 2 * board.brush, answer, memory)
            self._cv.notify_all()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="reader", daemon=True)
                self._thread.start()

    def take(self) -> list[Answer]:
        """The answers finished since the last call, oldest first."""
        with self._cv:
            answers, self._answers = self._answers, []
        return answers

    @property
    def idle(self) -> bool:
        """Nothing waiting, being read, or finished and not taken."""
        with self._cv:
            return self._waiting is None and not self._busy and not self._answers

    def wait(self, timeout: float) -> None:
        """Until an answer is ready or the reader is idle, at most `timeout` seconds."""
        with self._cv:
            self._cv.wait_for(lambda: self._answers or (self._waiting is None and not self._busy), timeout)

    def stop(self, timeout: float = 10) -> None:
        """Let a reading in progress finish (exiting under onnxruntime can abort) and end the thread."""
        with self._cv:
            self._stopping, self._waiting = True, None
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cv:
                self._cv.wait_for(lambda: self._waiting is not None or self._stopping)
                if self._stopping:
                    return
                request, self._waiting, self._busy = self._waiting, None, True
            answer = self._read(*request)
            with self._cv:
                self._answers.append(answer)
                self._busy = False
                self._cv.notify_all()

    def _read(self, model, strokes, threshold: float, min_size: float, answer: Answer, memory) -> Answer:
        import numpy as np  # with the model, off the main thread: not at start-up

        from player.adapt import signature
        from player.preprocess import bounding_box, digits_to_images
        from player.segment import choose, plan

        try:
            if model is not self._model:
                self._model, self._candidates = model, OrderedDict()
            candidates = plan([self._points(stroke, n) for stroke, n in strokes])
            alive = {id(stroke) for stroke, _ in strokes}
            self._arrays = {key: value for key, value in self._arrays.items() if key in alive}  # undone: forgotten
            if not candidates.groups:
                return answer
            keys = [self._key(group) for group in candidates.groups]
            known = {key: self._candidates[key] for key in keys if key in self._candidates}
            new = [i for i, key in enumerate(keys) if key not in known]
            if new:  # with each one's signature, what learning from corrections compares (player/adapt.py)
                images = digits_to_images([candidates.groups[i] for i in new])
                if getattr(model, "has_features", False):
                    probs, not_digit, features = model.predict_features(images)
                    signatures = signature(features, images)
                else:
                    (probs, not_digit), signatures = model.predict_parts(images), [None] * len(images)
                known.update({keys[i]: (images[j], probs[j], not_digit[j], signatures[j]) for j, i in enumerate(new)})
            for key in keys:
                self._candidates[key] = known[key]
                self._candidates.move_to_end(key)
            while len(self._candidates) > self.CANDIDATES_KEPT:
                self._candidates.popitem(last=False)
            images, probs, not_digit = (np.stack([known[key][field] for key in keys]) for field in range(3))
            if memory is not None and getattr(model, "has_features", False):
                probs, not_digit = memory.adapt(probs, not_digit, np.stack([known[key][3] for key in keys]))
            parts = choose(candidates, images, probs, not_digit, min_size)
            answer.result = model.read_parts(parts, threshold, min_size)
            answer.boxes = [bounding_box(part.strokes) for part in parts]
        except Exception as e:  # a model failing at run time: the window says so and keeps the drawing
            answer.error = f"recognition failed: {type(e).__name__}: {first_line(e)}"
        return answer

    def _points(self, stroke: list, n: int):
        """The first n points of a stroke as an (n, 2) array, extended from what was converted before."""
        import numpy as np

        known = self._arrays.get(id(stroke))
        done = known[1] if known is not None and known[0] is stroke else np.zeros((0, 2))
        if len(done) < n:
            done = np.concatenate([done, np.asarray(stroke[len(done) : n], np.float64).reshape(-1, 2)])
            self._arrays[id(stroke)] = (stroke, done)
        return done[:n]

    @staticmethod
    def _key(group: list) -> bytes:
        """A candidate digit's strokes, as a digest: equal strokes, equal image and answer."""
        digest = hashlib.blake2b(repr([len(s) for s in group]).encode(), digest_size=16)
        for s in group:
            digest.update(s.tobytes())
        return digest.digest()


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


class Learning:
    """Learning from the user's corrections (player/adapt.py) in one run of the player: the
    memory, read from the corrections folder in the background once the model is there, and
    the user's switches: on/off, forget."""

    # short enough for the default window's status line: cut, it lost "any other key: no"
    QUESTION = "forget all corrections? Y: yes, keep the files in forgotten/   D: yes, delete them   any other key: no"

    def __init__(self, folder: Path | None, enabled: bool = True):
        self.folder, self.enabled = folder, enabled  # None: the user data folder, found at start()
        self.memory = None  # adapt.Memory once the folder is read
        self.problems: list[str] = []  # corrections that could not be used, one line each
        self.done = threading.Event()
        self._thread: threading.Thread | None = None
        self.able = True  # False: the model has no features output, so nothing can be learned
        # corrections saved while the folder is being read: (the correction replaced or None,
        # (strokes, label, source, min_size) to learn or None), learned after the folder, so that
        # saving one never waits for a folder of hundreds of files
        self._queued: list[tuple] = []
        self._lock = threading.Lock()  # the queue, and the moment the folder is done
        self._caught_up = False  # the queue was learned: the drawing on screen is read again
        self._stop = threading.Event()  # the player quits: the folder's reading ends at the next file

    def start(self, model) -> None:
        """Read the corrections folder in a thread (a few hundred files take a second or two), once,
        when learning is on and the model is there."""
        if self._thread is not None or not self.enabled or model is None:
            return
        self.able = bool(getattr(model, "has_features", False))
        self.folder = Path(self.folder or default_dir("corrections"))

        def load():
            from player import adapt

            try:
                self.memory, self.problems = adapt.load(model, self.folder, self._stop)
            except Exception as e:  # a model failing on a correction: learning is off, the player works
                reason = getattr(e, "strerror", None) or f"{type(e).__name__}: {first_line(e)}"
                self.memory, self.problems = adapt.Memory(), [f"cannot learn from {self.folder}: {reason}"]
            finally:
                with self._lock:
                    self._learn_queued(model)
                    self.done.set()
            for problem in self.problems:
                warn(f"{problem} (correction not used)")

        self._thread = threading.Thread(target=load, name="corrections-loader", daemon=True)
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        """The player quits: the folder's reading stops at its next file, and we wait for it: it
        runs the model, and exiting under onnxruntime's threads can abort ("terminate called
        without an active exception")."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def in_use(self):
        """The memory that adapts the answers now (adapt.Memory), or None: the model as it is."""
        if self.enabled and self.able and self.done.is_set() and self.memory is not None and len(self.memory):
            return self.memory
        return None

    def switch(self, model) -> str:
        """The A key: learning on or off; what the status line says then."""
        self.enabled = not self.enabled
        self.start(model)
        return self.status()

    def correction_saved(self, model, board: Board, path: Path, label: str) -> int:
        """The correction just saved at `path` replaces the one saved before for the same drawing
        (typing again fixes a correction, it does not pile up files) and is learned at once, split
        as the drawing was read. Returns the digits learned (0 with learning off)."""
        from player import adapt

        replaces, board.correction = board.correction, str(path)
        if replaces is not None:
            for old in (Path(replaces), Path(replaces).with_suffix(".png")):
                old.unlink(missing_ok=True)
        teach = ([list(s) for s in board.strokes], label, str(path), 2 * board.brush)
        if self.enabled and model is not None:
            self.start(model)
        with self._lock:
            if self._thread is not None and not self.done.is_set():  # the folder is being read: after it
                self._queued.append((replaces, teach if self.enabled and model is not None else None))
                return 0
        if replaces is not None and self.memory is not None:  # learned before, maybe with learning on then
            self.memory.forget(replaces)
        if not self.enabled or model is None or not self.able:
            return 0
        return adapt.learn(model, self.memory, *teach)

    def _learn_queued(self, model) -> None:
        """In the loader thread, the folder read: the corrections saved meanwhile, in order. The
        folder may have held them already, or the ones they replace: forgotten first."""
        from player import adapt

        for replaces, teach in self._queued:
            for source in (replaces, teach and teach[2]):
                if source:
                    self.memory.forget(source)
            if teach is not None and self.able:
                try:
                    adapt.learn(model, self.memory, *teach)
                except Exception as e:  # the file is saved; only learning from it failed
                    warn(f"cannot learn from {Path(teach[2]).name}: {type(e).__name__}: {first_line(e)}")
        self._caught_up, self._queued = bool(self._queued), []

    def caught_up(self) -> bool:
        """True once after corrections saved while the folder was being read were learned: the
        drawing on screen, if corrected, is read again with them."""
        with self._lock:
            caught_up, self._caught_up = self._caught_up, False
        return caught_up

    def accepted(self, model, board: Board) -> int:
        """The user clears an answer they saw and did not correct: it was right, and is learned
        softly, in memory only (player/adapt.py says why). Only an answer all of digits, read for
        the drawing as it is, with learning on and the corrections folder read (never waited
        for: clearing must not stall), and not while the user is typing a correction of it (a
        number's first digits typed, then cleared: they said it was wrong). Returns the digits
        learned."""
        from player import adapt

        result = board.result
        if (not self.enabled or not self.able or model is None or not self.done.is_set() or self.memory is None
                or result is None or board.stale or board.correction is not None or not result.digits.isdigit()
                or board.label):
            return 0
        try:
            return adapt.accept(model, self.memory, board.strokes, result.digits, 2 * board.brush)
        except Exception as e:  # the player goes on: only learning from this answer failed
            warn(f"cannot learn from the accepted answer {result.digits}: {type(e).__name__}: {e}")
            return 0

    def answer(self, key: str) -> str:
        """The key pressed after QUESTION: "y" forgets, "d" forgets and deletes the files."""
        return self.forget(delete=key == "d") if key in ("y", "d") else "nothing forgotten"

    def forget(self, delete: bool) -> str:
        """Forget every correction: the folder's drawings move to corrections/forgotten/ with their
        pictures (kept: the user can move them back), or are deleted. Returns what was done."""
        if self._thread is not None:
            self.done.wait()  # not while the folder is being read
        self.folder = Path(self.folder or default_dir("corrections"))
        if self.memory is not None:
            self.memory.forget()
        kept, moved, failed = self.folder / "forgotten", 0, 0
        try:
            sources = sorted(self.folder.glob("*.json")) if self.folder.is_dir() else []
        except OSError as e:  # a folder above it that may not be read: is_dir raises (Python 3.11)
            return f"forgot the corrections learned; their files in {self.folder} cannot be read ({e.strerror or e})"
        for source in sources:
            try:
                if delete:
                    source.with_suffix(".png").unlink(missing_ok=True)
                    source.unlink()
                else:
                    kept.mkdir(exist_ok=True)
                    stem = _free_stem(kept, source.stem)  # never over an earlier forgotten one
                    for path in (source.with_suffix(".png"), source):  # the drawing last: all or nothing
                        if path.exists():
                            path.rename(kept / f"{stem}{path.suffix}")
                moved += 1
            except OSError:
                failed += 1
        done = f"forgot {moved} correction{'s' * (moved != 1)}: "
        done += "their files are deleted" if delete else f"their files are kept in {kept}"
        return done + (f" ({failed} could not be {'deleted' if delete else 'moved'})" if failed else "")

    def status(self) -> str:
        """How many corrections are in use, for the status line and the help."""
        if not self.enabled:
            return "learning off"
        if not self.done.is_set():
            return "learning: reading corrections..."
        if not self.able:
            return "learning: this model cannot"
        n = self.memory.corrections() if self.memory is not None else 0
        m = self.memory.accepted() if self.memory is not None else 0
        return f"learning from {n} correction{'s' * (n != 1)}" + (f" and {m} accepted answer{'s' * (m != 1)}"
                                                                  if m else "")


def _free_stem(folder: Path, stem: str) -> str:
    """`stem`, or `stem-1`, `stem-2`, ...: the first name with no drawing or picture in `folder`."""
    for n in range(10_000):
        name = f"{stem}-{n}" if n else stem
        if not (folder / f"{name}.json").exists() and not (folder / f"{name}.png").exists():
            return name
    raise OSError(f"{folder}: no free file name for {stem}")


def model_notes(loader: ModelLoader, threshold: float, save_dir: Path | None,
                corrections_dir: Path | None, learning: str = "") -> list[str]:
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
            f"corrections go to {corrections_dir or default_dir('corrections')}"
            + (f"; {learning} (A: on/off, F: forget)" if learning else "")]
