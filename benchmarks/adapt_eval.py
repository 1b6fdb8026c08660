"""adapt_eval.py: does learning from corrections (player/adapt.py) help a new user, and what does it cost?

Simulated users: every validation writer (pendigits VALIDATION_WRITERS and the writers of the
UNIPEN 1a VALIDATION_INSTITUTIONS, never trained on; --final: the final hold-outs, looked at
only to report). Each of their digits becomes a player drawing (training/pen_drawings.py,
anywhere on the canvas, any size and brush; fixed seed) and goes through the player's path:
split (player.adapt.digit_images), the model with its features, the memory of corrections.
A drawing the split cuts into several digits is a mistake whatever the model says, and its
correction teaches nothing (the label's length does not match the split).

(a) k = 1, 2, 5 corrections per digit: the writer's first k drawings of each digit are
    taught, then the rest of that writer's digits are read, with and without the memory.
(b) a session: the writer draws all their digits in random order, corrects every mistake as
    it happens and goes on without correcting when the answer is right (an accepted answer,
    learned softly); mistakes per 100 digits without learning, learning from corrections only,
    from corrections and accepted answers, and the same when the writer misses UNNOTICED of
    the mistakes and goes on (a wrong answer accepted) (--seeds orders).
Then the cost: learning one correction (drawing -> memory, the app's call) and reading a digit
with 500 corrections stored against none, interleaved, medians.

    python benchmarks/adapt_eval.py                     # ~3 minutes; appends to benchmarks/RESULTS.md
    python benchmarks/adapt_eval.py --quick --no-record # a few writers, one order, a few seconds
    python benchmarks/adapt_eval.py --training-writers  # the 84 writers the model trained on: harm done?

A writer who fails to halve their mistakes is named with how many of them fall on their first
drawing of a digit in the session's order, which nothing learned from their own digits prevents.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import common  # benchmarks/common.py: --quick, --no-record, tables, RESULTS.md; puts ROOT on sys.path
import numpy as np

from player import DEFAULT_THRESHOLD, adapt
from player.model import FEATURES_NAME, Model, ModelError, find_model, in_batches, reading
from player.preprocess import digits_to_images
from player.segment import choose, plan
from training import pendigits, unipen
from training.pen_drawings import single_drawing

KS = (1, 2, 5)
TARGET_ACCURACY, TARGET_WORST = 0.997, 0.97  # with 2 corrections per digit, on the remaining digits
TARGET_LEARN_S, TARGET_READ_RATIO = 0.050, 2.0
UNNOTICED = 0.05  # share of the mistakes the simulated writer does not notice, in the last column of (b)


def parse_args(argv=None):
    p = common.parser(__doc__)
    p.add_argument("--model", type=Path, help="ONNX model with a `features` output (default: the shipped one)")
    p.add_argument("--pen", type=Path, default=pendigits.DEFAULT_PEN, help="UCI pendigits-orig.tra")
    p.add_argument("--unipen", type=Path, default=unipen.DEFAULT_UNIPEN, help="UNIPEN 1a .jsonl.gz")
    p.add_argument("--final", action="store_true", help="the final hold-out writers instead (only to report)")
    p.add_argument("--training-writers", action="store_true",
                   help="the writers the model was trained on instead (writers of 20 digits or more): does "
                        "learning break what the model reads right? Their mistakes are look-alike digits and "
                        "a few wrong labels, where a correction is most likely to do harm")
    p.add_argument("--seeds", type=int, help="session orders per writer in (b) (default 5; --quick 1)")
    p.add_argument("--seed", type=int, default=0, help="drawing placement seed")
    args = p.parse_args(argv)
    if args.final and args.training_writers:
        p.error("--final and --training-writers: choose one set of writers")
    args.seeds = args.seeds or (1 if args.quick else 5)
    return args


def writers(args) -> dict[str, list]:
    """Writer name -> their digits, in writing order."""
    split = 0 if args.training_writers else 2 if args.final else 1  # holdout_splits: (train, validation, final)
    digits = pendigits.holdout_splits(pendigits.load_unipen(args.pen))[split]
    if args.unipen.exists():
        digits = digits + unipen.holdout_splits(unipen.load_unipen_1a(args.unipen))[split]
    else:
        print(f"adapt_eval: {args.unipen} not found: pendigits writers only")
    by_writer = defaultdict(list)
    for d in digits:
        by_writer[f"pen {d.writer}" if d.group == "pendigits" else f"{d.writer}"].append(d)
    if args.training_writers:  # UNIPEN has writers of a handful of digits: no session to speak of
        by_writer = {name: ds for name, ds in by_writer.items() if len(ds) >= 20}
    return dict(by_writer)


class Writer:
    """One simulated user: their drawings, and for each the candidate digits the segmenter
    weighs (player/segment.py) with the model's raw answers and adapt signatures, so that a
    reading with any memory is memory.adapt + segment.choose, as in the player, without
    running the model again."""

    def __init__(self, name, digits, model, rng):
        self.name = name
        self.drawings = [single_drawing(d, rng) for d in digits]
        self.labels = [str(d.label) for d in digits]
        self.plans = [plan(dr["strokes"]) for dr in self.drawings]
        images = digits_to_images([g for p in self.plans for g in p.groups])
        probs, not_digit, features = in_batches(model.predict_features, images, 256)
        signatures = adapt.signature(features, images)
        self.candidates, start = [], 0
        for p in self.plans:
            end = start + len(p.groups)
            self.candidates.append((images[start:end], probs[start:end], not_digit[start:end], signatures[start:end]))
            start = end
        # each whole drawing's signature: what adapt.accept learns from a one-digit answer (same_as_player checks)
        images = digits_to_images([dr["strokes"] for dr in self.drawings])
        self.whole = adapt.signature(in_batches(model.predict_features, images, 256)[2], images)

    def __len__(self):
        return len(self.labels)

    def answer(self, i: int, memory: adapt.Memory) -> str:
        """What the player shows for drawing i, with this memory."""
        images, probs, not_digit, signatures = self.candidates[i]
        probs, not_digit = memory.adapt(probs, not_digit, signatures)
        parts = choose(self.plans[i], images, probs, not_digit, 2 * self.drawings[i]["brush"])
        return reading(np.stack([p.probabilities for p in parts]), DEFAULT_THRESHOLD,
                       np.array([p.not_digit for p in parts])).digits

    def read_right(self, i: int, memory: adapt.Memory) -> bool:
        return self.answer(i, memory) == self.labels[i]

    def teach(self, model, memory: adapt.Memory, i: int) -> None:
        """The user corrects drawing i: the player's own call (split as read, learned if it agrees)."""
        drawing = self.drawings[i]
        adapt.learn(model, memory, drawing["strokes"], self.labels[i], f"{self.name}/{i}", 2 * drawing["brush"])

    def accept(self, model, memory: adapt.Memory, i: int, answer: str) -> None:
        """The user goes on after `answer` to drawing i: adapt.accept, with the signature computed
        once for a one-digit answer (the whole drawing, as adapt.accept takes it)."""
        if len(answer) == 1 and answer.isdigit():
            memory.accept(self.whole[i : i + 1], [int(answer)])
        else:
            drawing = self.drawings[i]
            adapt.accept(model, memory, drawing["strokes"], answer, 2 * drawing["brush"])


def same_as_player(model, writer: Writer) -> None:
    """The cached reading is the player's: Model.read_strokes with the adapted predictor gives the
    same answers, with no memory and with one taught from a few of the writer's drawings."""
    memory = adapt.Memory()
    for i in range(0, len(writer), 7):
        writer.teach(model, memory, i)
    for mem in (adapt.Memory(), memory):
        for i, drawing in enumerate(writer.drawings[:40]):
            shown = model.read_strokes(drawing["strokes"], DEFAULT_THRESHOLD, 2 * drawing["brush"],
                                       adapt.predictor(model, mem)).digits
            if shown != writer.answer(i, mem):
                raise AssertionError(f"{writer.name} drawing {i}: the player reads {shown!r}, the benchmark "
                                     f"{writer.answer(i, mem)!r}")
    for i, drawing in enumerate(writer.drawings[:10]):
        mem, cached = adapt.Memory(), adapt.Memory()
        adapt.accept(model, mem, drawing["strokes"], writer.labels[i], 2 * drawing["brush"])
        writer.accept(model, cached, i, writer.labels[i])
        if not np.array_equal(mem.signatures, cached.signatures):
            raise AssertionError(f"{writer.name} drawing {i}: adapt.accept learns other rows than the benchmark")


def corrections_per_digit(model, writer: Writer, k: int) -> tuple[int, int, int]:
    """(a): teach the first k drawings of each digit; (remaining, right without, right with)."""
    taught = {i for c in "0123456789" for i in [j for j, label in enumerate(writer.labels) if label == c][:k]}
    memory = adapt.Memory()
    for i in sorted(taught):
        writer.teach(model, memory, i)
    rest = [i for i in range(len(writer)) if i not in taught]
    return (len(rest), sum(writer.read_right(i, adapt.Memory()) for i in rest),
            sum(writer.read_right(i, memory) for i in rest))


def session_order(writer: Writer, seed: int) -> np.ndarray:
    """The order the writer draws their digits in session `seed` (session() and unavoidable())."""
    return np.random.default_rng(seed).permutation(len(writer))


def session(model, writer: Writer, seed: int, accepting: bool = True, unnoticed: float = 0.0) -> int:
    """(b): all digits in a random order, each mistake corrected at once (but for a share
    `unnoticed` of them, whose answer the writer accepts), each right answer accepted if
    `accepting`; the mistakes made."""
    order = session_order(writer, seed)
    missed = np.random.default_rng(1000 + seed)  # which mistakes go unnoticed
    memory, mistakes = adapt.Memory(), 0
    for i in order:
        answer = writer.answer(i, memory)
        if answer != writer.labels[i]:
            mistakes += 1
            if unnoticed and missed.random() < unnoticed:
                writer.accept(model, memory, i, answer)  # a wrong answer accepted ("?" teaches nothing)
            else:
                writer.teach(model, memory, i)
        elif accepting:
            writer.accept(model, memory, i, answer)
    return mistakes


def unavoidable(writer: Writer, seeds: int) -> int:
    """Mistakes (without learning) on a writer's first drawing of a digit in each session order:
    no learning from the writer's own digits can prevent them, so a writer whose mistakes are
    mostly these cannot halve them."""
    wrong = [not writer.read_right(i, adapt.Memory()) for i in range(len(writer))]
    count = 0
    for seed in range(seeds):
        seen = set()
        for i in session_order(writer, seed):
            count += wrong[i] and writer.labels[i] not in seen
            seen.add(writer.labels[i])
    return count


def pct(a: float, b: float) -> str:
    return f"{a / b:.2%}" if b else "-"


def accuracy_table(model, users: list[Writer]) -> tuple[str, bool]:
    results = {k: [corrections_per_digit(model, w, k) for w in users] for k in KS}  # per k, per writer
    rows = []
    for j, w in enumerate(users):
        base = sum(w.read_right(i, adapt.Memory()) for i in range(len(w)))
        cells = [f"{pct(results[k][j][1], results[k][j][0])} -> {pct(results[k][j][2], results[k][j][0])}" for k in KS]
        rows.append([w.name, len(w), pct(base, len(w)), *cells])
    overall, worst = {}, {}
    for k in KS:
        rest, without, with_ = np.array(results[k]).sum(axis=0)
        overall[k] = (without / rest, with_ / rest)
        worst[k] = tuple(min(r[col] / r[0] for r in results[k] if r[0]) for col in (1, 2))
    n = sum(len(w) for w in users)
    base = sum(sum(w.read_right(i, adapt.Memory()) for i in range(len(w))) for w in users)
    rows.append(["**all**", n, pct(base, n), *[f"{overall[k][0]:.2%} -> {overall[k][1]:.2%}" for k in KS]])
    rows.append(["**worst writer**", "", "", *[f"{worst[k][0]:.2%} -> {worst[k][1]:.2%}" for k in KS]])
    headers = ["writer", "digits", "no corrections", *[f"k={k}: the rest, without -> with" for k in KS]]
    miscounted = sum(len(w.answer(i, adapt.Memory())) != 1 for w in users for i in range(len(w)))
    met = overall[2][1] >= TARGET_ACCURACY and worst[2][1] >= TARGET_WORST
    body = common.table(headers, rows)
    body += (f"\n\nRead right: the player shows exactly the digit (threshold {DEFAULT_THRESHOLD}: an unsure digit "
             f"shows '?'). Without corrections {miscounted} of {n} drawings are read as more or fewer than one digit. "
             f"Target with k=2: overall >= {TARGET_ACCURACY:.1%}, worst writer >= {TARGET_WORST:.0%}: "
             f"{common.verdict(met)}")
    return body, met


def session_table(model, users: list[Writer], seeds: int) -> tuple[str, bool]:
    rows, totals, every_writer, failing = [], np.zeros(5, int), True, []
    for w in users:
        without = seeds * sum(not w.read_right(i, adapt.Memory()) for i in range(len(w)))  # the order does not matter
        counts = [sum(session(model, w, seed, **kw) for seed in range(seeds))
                  for kw in ({"accepting": False}, {}, {"unnoticed": UNNOTICED})]
        n = len(w) * seeds
        totals += (n, without, *counts)
        if without and counts[1] > without / 2:
            first = unavoidable(w, seeds)
            every_writer = False
            failing.append(f"{w.name}, {first} of whose {without} mistakes are on their first drawing of a digit"
                           + (": halving them cannot be learned" if first > without / 2 else ""))
        rows.append([w.name, n, without, *[f"{c} ({100 * c / n:.2f})" for c in (without, *counts)][1:]])
    n, without, *counts = totals
    rows.append(["**all**", n, without, *[f"{c} ({100 * c / n:.2f})" for c in counts]])
    body = common.table(["writer", "digits drawn", "mistakes without learning", "corrections only (per 100)",
                         "corrections and accepted answers (per 100)",
                         f"the same, {UNNOTICED:.0%} of mistakes unnoticed (per 100)"], rows)
    overall = bool(without) and counts[1] <= without / 2
    body += (f"\n\n{seeds} random order(s) per writer; each mistake corrected as it happens, each right answer "
             f"accepted (learned at {adapt.ACCEPTED_WEIGHT} of a correction's pull, reach {adapt.ACCEPTED_REACH} "
             f"against {adapt.REACH}); in the last column "
             f"{UNNOTICED:.0%} of the mistakes go unnoticed and their wrong answers are accepted. With corrections "
             f"and accepted answers, mistakes at least halved: overall "
             f"{common.verdict(overall) if without else 'no mistakes to halve'}, every writer who makes any "
             f"{common.verdict(every_writer)}" + (f" (not: {'; '.join(failing)})" if failing else ""))
    return body, overall


def timing_table(model: Model, users: list[Writer], quick: bool) -> tuple[str, bool]:
    """Learning one correction from its drawing, and reading one digit drawing with 500 corrections
    stored against none: interleaved, medians of single calls."""
    drawings = [(dr, label) for w in users for dr, label in zip(w.drawings, w.labels, strict=True)]
    rng = np.random.default_rng(1)
    stored = 50 if quick else 500
    picks = [drawings[i] for i in rng.choice(len(drawings), size=min(len(drawings), stored + 40), replace=False)]
    memory = adapt.Memory()
    for j, (dr, label) in enumerate(picks[:stored]):
        adapt.learn(model, memory, dr["strokes"], label, f"c{j}", 2 * dr["brush"])
    stored = memory.corrections()
    probe = picks[stored:] or picks[:40]
    with tempfile.TemporaryDirectory(prefix="adapt_eval-") as folder:  # the app's start: the folder read
        for j, (dr, label) in enumerate(picks[:stored]):
            (Path(folder) / f"label-{label}-{j}.json").write_text(json.dumps(dr))
        t = time.perf_counter()
        loaded, _ = adapt.load(model, folder)
        load_s = time.perf_counter() - t
    rounds = 2 if quick else 15
    learn = []
    read = {"none": [], "500": [], "none, model only": [], "500, model only": []}
    for _ in range(rounds):
        for dr, label in probe[: 5 if quick else 40]:
            t = time.perf_counter()
            adapt.learn(model, memory, dr["strokes"], label, "timed", 2 * dr["brush"])  # replaces the last "timed"
            learn.append(time.perf_counter() - t)
            images = digits_to_images([dr["strokes"]])
            for name, mem in (("none", None), ("500", memory)):
                predict = adapt.predictor(model, mem)
                t = time.perf_counter()
                model.read_strokes(dr["strokes"], DEFAULT_THRESHOLD, 2 * dr["brush"], predict)
                read[name].append(time.perf_counter() - t)
                t = time.perf_counter()
                predict(images)
                read[f"{name}, model only"].append(time.perf_counter() - t)
    med = {k: common.median(v) for k, v in read.items()}
    ratio, ratio_model = med["500"] / med["none"], med["500, model only"] / med["none, model only"]
    rows = [[f"read a folder of {loaded.corrections()} corrections (the app does it in the background at start)",
             f"{load_s:.2f} s", ""],
            ["learn one correction (drawing -> memory: split, model, store)", common.ms(common.median(learn)), ""],
            ["read a digit drawing (strokes -> answer), no corrections", common.ms(med["none"]), ""],
            [f"the same with {stored} corrections stored", common.ms(med["500"]), f"{ratio:.2f}x"],
            ["model part only (one image -> probabilities), no corrections", common.ms(med["none, model only"]), ""],
            [f"the same with {stored} corrections stored", common.ms(med["500, model only"]), f"{ratio_model:.2f}x"]]
    # the target is the issue's: reading (what the user waits for, strokes -> answer). The model
    # part alone shows what learning adds to it: a fixed cost per call (the features output, the
    # drawing's signature, one product with the stored examples), not one per stored correction
    met = common.median(learn) <= TARGET_LEARN_S and ratio <= TARGET_READ_RATIO
    added = med["500, model only"] - med["none, model only"]
    body = common.table(["", "median", "vs none"], rows)
    body += (f"\n\n{len(learn)} calls each, interleaved. Targets: learning <= {TARGET_LEARN_S * 1e3:.0f} ms, "
             f"reading with 500 corrections within {TARGET_READ_RATIO:.0f}x of without: {common.verdict(met)}. "
             f"Learning adds {added * 1e3:.2f} ms to the model part of a read ({ratio_model:.2f}x of the model alone).")
    return body, met


def main(argv=None) -> int:
    args = parse_args(argv)
    at_start = common.machine()
    try:
        model = Model(args.model or find_model())
        by_writer = writers(args)
    except (ModelError, pendigits.PenDataError) as e:
        print(f"adapt_eval: {e}", file=sys.stderr)
        return 2
    if not model.has_features:
        print(f"adapt_eval: {model.path}: the model has no '{FEATURES_NAME}' output; learning from "
              "corrections needs one (re-export with digits-export)", file=sys.stderr)
        return 2
    if args.quick:
        by_writer = dict(list(by_writer.items())[:: max(1, len(by_writer) // 3)][:3])
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    users = [Writer(name, digits, model, rng) for name, digits in by_writer.items()]
    which = "training" if args.training_writers else "final hold-out" if args.final else "validation"
    print(f"model: {model.path} ({model.metadata.get('model_version', 'no version')}); {len(users)} {which} writers, "
          f"{sum(len(w) for w in users)} drawings ({time.perf_counter() - t0:.0f} s to draw and read them)\n")
    same_as_player(model, users[0])
    sections = [("(a) k corrections per digit, then the rest of the writer's digits", accuracy_table(model, users)),
                ("(b) a session in random order, every mistake corrected at once, every right answer accepted",
                 session_table(model, users, args.seeds)),
                ("cost", timing_table(model, users, args.quick))]
    body = "\n\n".join(f"{title}:\n\n{text}" for title, (text, _) in sections)
    print(body)
    common.record("adapt_eval.py", body, ["onnxruntime", "numpy"], args, at_start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
