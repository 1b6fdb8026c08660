"""What a finished run leaves in its output folder, all of it or none of it.

A run writes its model, metrics.json and report/ into a staging folder beside them, then
swaps the three in together with Ctrl+C held back, so the folder never holds the new model
with the old report, nor a half-written file; a Ctrl+C before the swap leaves the folder as
it was and takes the staging folder away.

A model is never silently replaced by a worse one: if the folder's model scores better on
the same test set, it is kept, and this run's files go beside it under a dated name.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from training.checkpoint import ctrl_c_deferred


@dataclass
class Plan:
    """The names this run's outputs get in the output folder, and why."""

    model: str  # "digits.keras", or "digits-<date>.keras" beside a better model that is kept
    metrics: str
    report: str
    message: str  # what the swap will have replaced or kept, said once it is done ("" for a first model)


def _score(m: dict) -> tuple[float, float]:
    return (m.get("mnist_test_accuracy") or 0.0, m.get("pen_val_accuracy") or 0.0)


def plan(out: Path, metrics: dict, *, force: bool) -> Plan:
    """Replace the model in `out`, unless it scores better on the same test set and not `force`."""
    name = metrics["model"]
    old_metrics_file = out / "metrics.json"
    if not ((out / name).exists() and old_metrics_file.exists()):
        return Plan(name, "metrics.json", "report", "")
    try:
        old = json.loads(old_metrics_file.read_text())
    except (OSError, json.JSONDecodeError):
        old = {}
    if not isinstance(old, dict):
        old = {}
    # a model with other outputs is another interface, not a better or worse one of the same
    comparable = (old.get("mnist_test_count"), old.get("outputs", ["probabilities"])) == (
        metrics["mnist_test_count"], metrics["outputs"])
    if comparable and _score(old) > _score(metrics) and not force:
        stem = f"{Path(name).stem}-{datetime.now():%Y%m%d-%H%M%S}"
        return Plan(f"{stem}{Path(name).suffix}", f"{stem}.metrics.json", f"report-{stem}",
                    f"kept {out / name}: it is better (MNIST test, pen) {_score(old)} > {_score(metrics)}; "
                    f"this run saved as {out / stem}{Path(name).suffix} (--force replaces)")
    return Plan(name, "metrics.json", "report",
                f"replaced {out / name} (MNIST test {old.get('mnist_test_accuracy')} -> "
                f"{metrics['mnist_test_accuracy']}, pen {old.get('pen_val_accuracy')} -> "
                f"{metrics['pen_val_accuracy']})")


@contextmanager
def staging(out: Path):
    """A temporary folder beside the outputs (same file system, so moving out of it is a rename);
    gone afterwards, whatever happened."""
    out.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
    try:
        yield folder
    finally:
        with ctrl_c_deferred():
            shutil.rmtree(folder, ignore_errors=True)


def swap(staged: Path, out: Path) -> bool:
    """Move everything in `staged` into `out`, replacing what is there, with Ctrl+C held back.
    The replaced files end in `staged`, removed with it. On an error, everything moved goes back.
    Returns whether a Ctrl+C came meanwhile (the swap finished all the same)."""
    new = sorted(staged.iterdir())
    done = []  # (target, its previous version or None), to undo on an error
    with ctrl_c_deferred() as held:
        try:
            for path in new:
                target = out / path.name
                previous = None
                if target.exists():
                    previous = staged / f".replaced-{path.name}"
                    target.replace(previous)
                done.append((target, previous))
                path.replace(target)
        except OSError:
            for target, previous in reversed(done):
                if target.exists():  # this run's version got there: back to the staging folder
                    target.replace(staged / target.name)
                if previous is not None:
                    previous.replace(target)
            raise
        interrupted = bool(held)
        held.clear()
    return interrupted
