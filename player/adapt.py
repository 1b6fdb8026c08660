"""Learning the user's handwriting from their corrections, at once, with numpy only.

The user types the right answer after a wrong one ("this was 7"); the next drawing in that
style should read 7, without a re-training. The model already describes each digit image by
its `features` output (the penultimate layer), so a correction is kept as a row of memory:
the digit's *signature* (its features and its 28x28 picture) and the label the user gave it.
Reading a digit, each label the user taught pulls the model's answer toward itself by how
close the digit is to the examples of that label:

    pull(c) = max over the examples e labelled c of  w_e * exp(-(d_e / reach_e)^2)
    p'(c)   = (p(c) + STRENGTH * pull(c)) / sum of the same over all c

d_e is the cosine distance to example e; a correction has w = 1 and reach = REACH (an
accepted answer less weight and more reach: below).

The choices, measured on the validation writers (benchmarks/adapt_eval.py):
- The picture joins the features because the model maps a writer's flagged "1" and their "7"
  to nearly the same features (it reads both as 7); the pictures still differ.
- Only taught labels are pulled, and only near their examples: below CUTOFF the pull is zero,
  so a digit unlike anything taught reads exactly as without corrections, and correcting one
  odd "1" cannot turn every 7 into a 1.
- Only the strongest label keeps its lead over the runner-up: two examples that contradict
  each other (the same drawing taught as 3 and as 5) cancel out and the model decides.
- A scribble labelled "8" is far from every digit, so it pulls nothing but other scribbles.
- An example reaches no further than the user's nearest example of another label allows
  (`Memory.add`): a writer whose "3" looks like their "2" corrects that 3, and from then on
  their 2s would read 3; once a 2 of theirs was accepted (or corrected) nearby, the 3's pull is
  held to what lies closer to it than to that 2. The user's own right answers mark where a
  correction stops being right. The validation writers make too few such mistakes to tell;
  the writers of the training data make them on look-alike digits and a few wrong labels
  (`benchmarks/adapt_eval.py --training-writers`, 86 writers: 250 mistakes without learning,
  214 with it). On 73 of them, before and after the limit, 227 and 202; the validation
  sessions 47 and 46.

The corrections folder the player writes (stroke JSON with a "label") is the memory's only
store: it is read when the player starts and each new correction is added at once.

Accepted answers teach too, more softly. A user who clears an answer without correcting it
has told us it was right, so the player adds the drawing with the answer as its label at
ACCEPTED_WEIGHT of a correction's pull: a writer's own accepted 1s then pull their next 1 away
from the 7 the model would read (in the validation sessions most first mistakes on a digit are
drawings much closer to the writer's earlier digits of the right label than of the wrong one).
Accepted answers live in memory only, for the session, the newest MAX_ACCEPTED: an answer
accepted by mistake (the user did not look) is never written down to mislead later sessions,
a correction near it outweighs it, and nothing grows on disk. digits-predict accepts nothing:
no one looks at its answers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from player.drawing import DrawingError, load_drawing
from player.model import in_batches
from player.preprocess import IMAGE_SIZE, digits_to_images

REACH = 0.1  # cosine distance at which an example's pull has fallen to 1/e
STRENGTH = 30.0  # an example's pull at distance 0, against the model's probabilities (which sum to 1)
CUTOFF = 1e-4  # pulls below this are zero: answers far from every example stay bit-identical
PICTURE_WEIGHT = 0.5  # share of the 14x14 picture in a signature, against 1 for the features
MAX_CORRECTIONS = 2000  # newest correction files read; bounds start-up time and reading cost
# an accepted answer's pull at distance 0, against a correction's 1: a correction nearer than
# 0.13 outweighs any accepted answer. Its reach is longer (the writer's own digits of a label
# vary more than one corrected drawing and its look-alikes). In the validation sessions mistakes
# fell from 89 (corrections only) to 51 at weight 0.2 with REACH and to 47 with 0.13, and stayed
# there from weight 0.15 to 1 and reach 0.13 to 0.15; at weight 0.1, 66
ACCEPTED_WEIGHT, ACCEPTED_REACH = 0.2, 0.13
# the distance beyond which no row pulls (its pull falls below CUTOFF): the quick way out
FAR = max(REACH * float(np.sqrt(-np.log(CUTOFF))),
          ACCEPTED_REACH * float(np.sqrt(-np.log(CUTOFF / ACCEPTED_WEIGHT))))
MAX_ACCEPTED = 500  # the session's newest accepted answers kept (in memory only): bounds reading cost
ACCEPTED = "accepted:"  # the source of an accepted answer's rows: ACCEPTED + a number, no file
BATCH = 256  # digit images per model call when reading the corrections folder
# an example's pull where the user's nearest example of another label lies is held to at most
# this share of that example's own pull (see limits): enough for the other example to keep its lead
YIELD = 0.5
# two examples closer than this are the same drawing taught twice, not two styles: however close
# an example of another label, a row reaches this far (a correction overrides an answer accepted
# by mistake in the same place, as its weight says)
SAME_DRAWING = 0.02

Predict = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  # images -> (probabilities, not_digit)


def split(strokes, predict: Predict, min_size: float = 0.0) -> list:
    """The drawing's digits (segment.Part) exactly as the player splits it for reading: the one
    call to change when the split changes, so learning always pairs what reading sees."""
    from player.segment import segment

    return segment(strokes, predict, min_size)


def examples(strokes, label: str, predict: Predict, min_size: float = 0.0) -> np.ndarray | None:
    """Digit images to learn `label` from, one per character. A one-digit label is the whole
    drawing, however the split cut it (a slashed zero read as "01" is a 0: no pairing to get
    wrong). A longer label is paired with the split's digits only when the split found as many
    (a tight "10" read as one digit gives None): any other pairing could be wrong, and a wrong
    pair would teach a wrong answer."""
    if len(label) == 1:
        return digits_to_images([strokes]) if any(len(s) for s in strokes) else None
    parts = split(strokes, predict, min_size)
    if len(parts) != len(label):
        return None
    # each part drawn whole: a "?" the segmenter merged from several pieces is one digit to the user
    return digits_to_images([p.strokes for p in parts])


def signature(features: np.ndarray, images: np.ndarray) -> np.ndarray:
    """(n, d) features and (n, 28, 28) images -> (n, d + 196) unit vectors: how digits are compared.
    The picture at 14x14 (sums of 2x2 pixels) told writers' styles apart as well as at 28x28,
    and a shorter signature keeps reading with hundreds of corrections cheap."""
    n, half = len(features), IMAGE_SIZE // 2
    features = np.asarray(features, np.float32).reshape(n, -1)
    picture = np.asarray(images, np.float32).reshape(n, half, 2, half, 2).sum(axis=(2, 4)).reshape(n, -1)
    both = np.hstack([features, picture])
    d = features.shape[1]
    # each half scaled to its share of a unit vector: length 1 for the features, PICTURE_WEIGHT for the picture
    scale = np.sqrt(1 + PICTURE_WEIGHT**2)
    both[:, :d] /= np.maximum(np.sqrt(np.einsum("ij,ij->i", features, features)), 1e-12)[:, None] * scale
    both[:, d:] *= PICTURE_WEIGHT / (np.maximum(np.sqrt(np.einsum("ij,ij->i", picture, picture)), 1e-12)[:, None]
                                     * scale)
    return both


@dataclass
class Memory:
    """What the user taught: one row per digit (signature, label, weight) and the correction or
    accepted answer it came from."""

    signatures: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # grouped: rows sorted by label
    weights: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # 1, or ACCEPTED_WEIGHT
    reaches: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # as used: <= the given reach
    given: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # REACH, or ACCEPTED_REACH
    held_by: list[str] = field(default_factory=list)  # the source whose example limits each row's reach, or ""
    sources: list[str] = field(default_factory=list)
    taught: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # the labels present
    first: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # each one's first row
    accepted_so_far: int = 0  # numbers the accepted answers' sources

    def __len__(self) -> int:
        return len(self.labels)

    def corrections(self) -> int:
        """How many corrections are in use (a number's correction is one, with several rows)."""
        return len({s for s in self.sources if not s.startswith(ACCEPTED)})

    def accepted(self) -> int:
        """How many accepted answers are in use."""
        return len({s for s in self.sources if s.startswith(ACCEPTED)})

    def add(self, signatures: np.ndarray, labels, source: str, weight: float = 1.0, reach: float = REACH) -> None:
        """Add rows, each reaching no further than the examples of other labels allow (limits),
        and limit the rows already there by the new ones. Rows replace nothing: the arrays are
        new ones, so a reader holding a copy of the memory (the player's reading thread) keeps
        reading the memory as it was."""
        labels = np.asarray(labels, np.int64).reshape(-1)
        signatures = np.asarray(signatures, np.float32).reshape(len(labels), -1)
        if len(self) and signatures.shape[1] != self.signatures.shape[1]:
            raise ValueError(f"signatures of width {signatures.shape[1]}, the memory holds {self.signatures.shape[1]}")
        weights = np.full(len(labels), weight, np.float32)
        given = np.full(len(labels), reach, np.float32)
        rows = np.vstack([self.signatures.reshape(-1, signatures.shape[1]), signatures])
        all_labels, all_weights = np.concatenate([self.labels, labels]), np.concatenate([self.weights, weights])
        sources = self.sources + [source] * len(labels)
        # the new rows against every row; the old rows against the new ones only (the rest was done)
        new_reach, new_by = limits(signatures, labels, weights, rows, all_labels, all_weights)
        new_reach = np.minimum(given, new_reach)
        new_held = [sources[j] if r < g else "" for r, g, j in zip(new_reach, given, new_by, strict=True)]
        old_reach, old_held = self.reaches.copy(), list(self.held_by)
        if len(self):
            limit, by = limits(self.signatures, self.labels, self.weights, signatures, labels, weights)
            tighter = limit < old_reach
            old_reach[tighter] = limit[tighter]
            for i in np.flatnonzero(tighter):
                old_held[i] = source
        order = np.argsort(all_labels, kind="stable")  # rows grouped by label: adapt() reduces per label
        self.signatures, self.labels = np.ascontiguousarray(rows[order]), all_labels[order]
        self.weights = all_weights[order]
        self.reaches = np.concatenate([old_reach, new_reach])[order]
        self.given = np.concatenate([self.given, given])[order]
        held = old_held + new_held
        self.held_by = [held[i] for i in order]
        self.sources = [sources[i] for i in order]
        self.taught, self.first = np.unique(self.labels, return_index=True)

    def forget(self, source: str | None = None) -> None:
        """Drop the rows of one correction (or accepted answer), or all of them; no file is touched."""
        self._keep(np.array([source is not None and s != source for s in self.sources], bool))

    def accept(self, signatures: np.ndarray, labels) -> None:
        """Add an accepted answer (rows at ACCEPTED_WEIGHT and ACCEPTED_REACH), dropping the oldest
        beyond MAX_ACCEPTED."""
        self.add(signatures, labels, f"{ACCEPTED}{self.accepted_so_far}", ACCEPTED_WEIGHT, ACCEPTED_REACH)
        self.accepted_so_far += 1
        oldest = f"{ACCEPTED}{self.accepted_so_far - 1 - MAX_ACCEPTED}"
        if oldest in self.sources:
            self.forget(oldest)

    def _keep(self, keep: np.ndarray) -> None:
        gone = {s for s, k in zip(self.sources, keep, strict=True) if not k}
        self.signatures, self.labels = np.ascontiguousarray(self.signatures[keep]), self.labels[keep]
        self.weights, self.reaches, self.given = self.weights[keep], self.reaches[keep], self.given[keep]
        self.sources = [s for s, k in zip(self.sources, keep, strict=True) if k]
        self.held_by = [h for h, k in zip(self.held_by, keep, strict=True) if k]
        self.taught, self.first = np.unique(self.labels, return_index=True)
        # a row held back by an example now gone reaches as far as the examples left allow
        freed = np.array([h in gone for h in self.held_by], bool)
        if freed.any():
            limit, by = limits(self.signatures[freed], self.labels[freed], self.weights[freed],
                               self.signatures, self.labels, self.weights)
            reach = np.minimum(self.given[freed], limit)
            self.reaches = self.reaches.copy()
            self.reaches[freed] = reach
            for i, r, g, j in zip(np.flatnonzero(freed), reach, self.given[freed], by, strict=True):
                self.held_by[i] = self.sources[j] if r < g else ""

    def adapt(self, probs: np.ndarray, not_digit: np.ndarray,
              signatures: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The model's (n, 10) probabilities and (n,) not-digit probabilities -> the same pulled
        toward what the user taught (a drawing like a taught digit is a digit); rows far from
        every example are returned unchanged, bit for bit."""
        if not len(self) or not len(probs):
            return probs, not_digit
        # cosine similarity (both sides are unit vectors), one digit at a time: a matrix-vector
        # product, where OpenBLAS's threaded matrix product was 5x slower for a handful of digits
        similarity = np.stack([self.signatures @ s for s in np.asarray(signatures, np.float32)])
        if 1.0 - similarity.max() >= FAR:  # the usual case, a digit unlike anything taught: nothing to do
            return probs, not_digit
        # each row pulls by its weight and reach (a correction's, an accepted answer's); a label by its strongest row
        rows = self.weights * np.exp(-np.square(np.maximum(1.0 - similarity, 0.0) / self.reaches))
        pull = np.zeros((len(probs), 10), np.float32)
        pull[:, self.taught] = np.maximum.reduceat(rows, self.first, axis=1)
        pull[pull < CUTOFF] = 0.0
        # contradicting examples cancel: only the strongest label keeps its lead over the runner-up
        ranked = np.sort(pull, axis=1)
        pull = np.where(pull == ranked[:, -1:], pull - ranked[:, -2:-1], 0.0)
        pulled = pull.max(axis=1) > 0
        if not pulled.any():
            return probs, not_digit
        # "not a digit" competes with the digits like an eleventh answer: a drawing close to a
        # taught digit is pulled toward being that digit, as far as it is pulled from the others
        probs, not_digit = probs.copy(), np.asarray(not_digit, np.float32).copy()
        r = not_digit[pulled, None]
        joint = np.hstack([probs[pulled] * (1.0 - r) + STRENGTH * pull[pulled], r])
        joint /= joint.sum(axis=1, keepdims=True)
        not_digit[pulled] = joint[:, 10]
        probs[pulled] = joint[:, :10] / joint[:, :10].sum(axis=1, keepdims=True)
        return probs, not_digit


def limits(signatures: np.ndarray, labels: np.ndarray, weights: np.ndarray, others: np.ndarray,
           other_labels: np.ndarray, other_weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How far each row may reach, given the examples `others` of other labels, and which one
    limits it: (reaches, index into others; inf where nothing limits it).

    A row of weight w pulls w * exp(-(d / reach)^2) at distance d; at the nearest example of
    another label, of weight v, the row's pull is held to YIELD * v, so that example still leads
    there by at least half its own pull. A correction (w 1) against an accepted answer (v 0.2)
    reaches at most d / 1.52; an accepted answer never limits against a correction (its pull is
    below the correction's anyway); two corrections limit each other to 1.2 d.
    """
    n = len(labels)
    if not n or not len(other_labels):
        return np.full(n, np.inf, np.float32), np.zeros(n, np.int64)
    distance = np.maximum(1.0 - np.asarray(signatures, np.float32) @ np.asarray(others, np.float32).T, 0.0)
    ratio = np.asarray(weights, np.float32)[:, None] / (YIELD * np.asarray(other_weights, np.float32)[None, :])
    limited = (ratio > 1.0) & (np.asarray(labels)[:, None] != np.asarray(other_labels)[None, :])
    reach = np.where(limited, distance / np.sqrt(np.log(np.maximum(ratio, 1.0 + 1e-6))), np.inf)
    by = reach.argmin(axis=1)
    return np.maximum(reach[np.arange(n), by], SAME_DRAWING).astype(np.float32), by


def predict_parts(model, memory: Memory | None, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """model.predict_parts adapted to the user: exactly model.predict_parts when there is nothing
    to adapt with (no corrections, or a model without a features output)."""
    if memory is None or not len(memory) or not model.has_features or not len(images):
        return model.predict_parts(images)
    probs, not_digit, features = model.predict_features(images)
    return memory.adapt(probs, not_digit, signature(features, images))


def predictor(model, memory: Memory | None) -> Predict:
    """What the segmenter and Model.read_strokes call in place of model.predict_parts."""
    return lambda images: predict_parts(model, memory, images)


def learn(model, memory: Memory, strokes, label: str, source: str, min_size: float = 0.0) -> int:
    """Add one correction (a drawing and the number it shows) to the memory at once, replacing
    what `source` taught before; the drawing is split as the player split it when it was read.
    Returns the digits learned: 0 when the split does not match the label, or the model has no
    features output."""
    memory.forget(source)
    rows = _signatures(model, memory, strokes, label, min_size)
    if rows is not None:
        memory.add(rows, [int(c) for c in label], source)
    return 0 if rows is None else len(rows)


def accept(model, memory: Memory, strokes, answer: str, min_size: float = 0.0) -> int:
    """The user went on without correcting `answer` (all digits): learn it as an accepted answer,
    softly (ACCEPTED_WEIGHT), in memory only. Returns the digits learned, as learn does."""
    rows = _signatures(model, memory, strokes, answer, min_size) if answer.isdigit() else None
    if rows is not None:
        memory.accept(rows, [int(c) for c in answer])
    return 0 if rows is None else len(rows)


def _signatures(model, memory: Memory, strokes, label: str, min_size: float) -> np.ndarray | None:
    """The signatures of the drawing's digits, paired with `label` (see examples), or None."""
    if not model.has_features:
        return None
    images = examples(strokes, label, predictor(model, memory), min_size)
    if images is None:
        return None
    return signature(model.predict_features(images)[2], images)


def load(model, folder: str | Path, stop: threading.Event | None = None) -> tuple[Memory, list[str]]:
    """The corrections in `folder` (stroke JSON with a "label"; the newest MAX_CORRECTIONS) as a
    Memory, and one line per file that could not be used, naming it. A missing folder is an
    empty memory: no corrections yet. `stop` set (the player quits): returns at the next file,
    with what was read so far (a folder of numbers is split file by file: a minute for 2000)."""
    folder, memory, problems = Path(folder), Memory(), []
    if not folder.exists() or not model.has_features:
        return memory, problems
    try:
        files = [p for p in folder.iterdir() if p.suffix.lower() == ".json" and p.is_file()]
    except OSError as e:
        return memory, [f"{folder}: cannot read the corrections folder ({e.strerror or e})"]
    files.sort(key=lambda p: (_mtime(p), p.name), reverse=True)
    pending: list[tuple[str, str, np.ndarray]] = []  # (source, label, images)
    for path in files[:MAX_CORRECTIONS]:
        if stop is not None and stop.is_set():
            break
        try:
            drawing = load_drawing(path)
        except DrawingError as e:
            problems.append(str(e))
            continue
        if drawing.label is None:
            problems.append(f'{path}: no "label": not a correction')
            continue
        try:
            with np.errstate(all="ignore"):  # absurd coordinates: caught below, not a warning per file
                images = examples(drawing.strokes, drawing.label, model.predict_parts, 2 * drawing.brush)
        except Exception as e:  # never a traceback for one bad file: name it and go on with the others
            problems.append(f"{path}: cannot process ({type(e).__name__})")
            continue
        if images is not None and not np.isfinite(images).all():
            problems.append(f"{path}: cannot process (preprocessing gave non-finite pixels)")
        elif images is not None:
            pending.append((str(path), drawing.label, images))
    if pending and model.has_features:
        pending.reverse()  # oldest first, as they were taught
        images = np.concatenate([im for _, _, im in pending])
        features = in_batches(model.predict_features, images, BATCH)[2]  # all files in a few model calls
        rows, start = signature(features, images), 0
        for source, label, im in pending:
            memory.add(rows[start : start + len(im)], [int(c) for c in label], source)
            start += len(im)
    return memory, problems


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
