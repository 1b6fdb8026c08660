"""What people actually write, read by `digits-predict --json` exactly as an end user runs it.

    python benchmarks/pen_eval.py [--model PATH] [--out DIR]   # ~3 minutes; appends to benchmarks/RESULTS.md
    python benchmarks/pen_eval.py --quick --no-record          # about a minute
    python benchmarks/pen_eval.py --sources pen-val --sections numbers --gap 0 0.05

Real pen trajectories of writers the model never trained on, and marks that are no digit,
become stroke JSON drawings the way people draw in the player (training/pen_drawings.py:
canvases of 280-640 px, digits 35-75 % of the canvas tall, anywhere on it, a brush of 2.5-6 %
of its height). Each source is reported on its own:

  pen-val       pendigits validation writers (training.pendigits.VALIDATION_WRITERS): tuned on
  pen-final     pendigits final writers (FINAL_WRITERS): looked at only to report
  unipen-val    UNIPEN 1a validation institutions (training.unipen.VALIDATION_INSTITUTIONS): tuned on
  unipen-final  UNIPEN 1a final institutions (FINAL_INSTITUTIONS): looked at only to report

Sections: `singles`, every digit of a source alone on a canvas; `numbers`, numbers of 2-5
digits by one writer, exact-number accuracy per range of gaps between the digits' boxes
(-5..10 %, 10..25 %, 25..50 % of the digit height; negative: the boxes overlap); `nondigits`,
dots, scribbles, hatching and lines (training.nondigits), the share answered exactly "?".
The threshold table (digits-predict --threshold; a part the model calls no digit is "?" too,
when the JSON carries `not_digit`) is computed on the validation sources only: that is where
the threshold is chosen. Fixed seeds: a source or section run alone gets the same drawings.
Exit status: 0 done, 1 drawings that could not be read or digits-predict failed, 2 no model or data.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

import common  # benchmarks/common.py: --quick, --no-record, Markdown tables, RESULTS.md; puts ROOT on sys.path
import numpy as np
from common import pct

from player import DEFAULT_THRESHOLD, probability
from player.model import Model, ModelError, find_model, reading
from training import pendigits, unipen
from training.nondigits import KINDS, mark_drawing
from training.pen_drawings import number_drawings, single_drawing

SOURCES = {  # name -> what it is, for the header
    "pen-val": f"pendigits writers {', '.join(map(str, pendigits.VALIDATION_WRITERS))} (tuned on)",
    "pen-final": f"pendigits writers {', '.join(map(str, pendigits.FINAL_WRITERS))} (only reported)",
    "unipen-val": f"UNIPEN institutions {', '.join(unipen.VALIDATION_INSTITUTIONS)} (tuned on)",
    "unipen-final": f"UNIPEN institutions {', '.join(unipen.FINAL_INSTITUTIONS)} (only reported)",
}
VALIDATION = ("pen-val", "unipen-val")  # the sources the threshold (and the recipe) may be tuned on
SECTIONS = ("singles", "numbers", "nondigits")
NON_DIGITS = "non-digits"  # the source name of the marks
GAPS = ((-0.05, 0.10), (0.10, 0.25), (0.25, 0.50))  # fractions of the digit height
LENGTHS = (2, 3, 4, 5)
THRESHOLDS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
SINGLES = "single digits"
# (singles per source (None: all), numbers per source and gap range, marks per kind)
FULL, QUICK = (None, 200, 250), (200, 40, 50)


@dataclass
class Case:
    """One drawing to read: where it comes from and what it shows."""

    source: str  # a SOURCES name, or NON_DIGITS
    group: str  # SINGLES, a gap range ("gaps -5..10%"), or a mark kind
    label: str  # the true digits; "?" for a mark that is no digit


def gap_name(gap: tuple[float, float]) -> str:
    return f"gaps {gap[0] * 100:g}..{gap[1] * 100:g}%"


def load_sources(names: list[str], pen: Path, unipen_path: Path) -> dict[str, list]:
    """The held-out digits of each named source, whole writers / institutions; PenDataError."""
    splits = {}
    if any(n.startswith("pen-") for n in names):
        _, splits["pen-val"], splits["pen-final"] = pendigits.holdout_splits(pendigits.load_unipen(pen))
    if any(n.startswith("unipen-") for n in names):
        _, splits["unipen-val"], splits["unipen-final"] = unipen.holdout_splits(unipen.load_unipen_1a(unipen_path))
    return {name: splits[name] for name in names}


def every(items: list, n: int | None) -> list:
    """About n items spread evenly over the list (all writers and digits stay in), or all of them."""
    return items if n is None else items[:: max(1, len(items) // n)]


def make_drawings(sources: dict[str, list], sections: list[str], sizes, gaps, seed: int) -> list[tuple[Case, dict]]:
    """Every drawing of the chosen sources and sections, each part with its own seed."""
    singles, numbers, marks = sizes
    out = []
    for name, digits in sources.items():
        number = list(SOURCES).index(name)
        if "singles" in sections:
            rng = np.random.default_rng([seed, number, 0])
            out += [(Case(name, SINGLES, str(d.label)), single_drawing(d, rng)) for d in every(digits, singles)]
        if "numbers" in sections:
            for g, gap in enumerate(gaps):
                rng = np.random.default_rng([seed, number, 1, g])
                out += [(Case(name, gap_name(gap), d["label"]), d)
                        for d in number_drawings(digits, numbers, rng, LENGTHS, gap)]
    if "nondigits" in sections:
        for k, kind in enumerate(KINDS):
            rng = np.random.default_rng([seed, len(SOURCES), k])
            out += [(Case(NON_DIGITS, kind, "?"), mark_drawing(kind, rng)) for _ in range(marks)]
    return out


def shown(result: dict, threshold: float) -> str:
    """The digits as `digits-predict --threshold` would print them: "?" for a digit whose top
    probability is below the threshold, and for a part the model calls no digit (where the
    JSON carries `not_digit`; older models' results have none)."""
    probs = np.asarray(result.get("probabilities", []), np.float64).reshape(-1, 10)
    not_digit = result.get("not_digit")
    return reading(probs, threshold, None if not_digit is None else np.asarray(not_digit, np.float64)).digits


def rate(hits: int, n: int) -> str:
    return f"{pct(hits, n)} ({hits}/{n})"


def report(cases: list[tuple[Case, dict]], threshold: float) -> str:
    """The tables (Markdown) of (case, digits-predict's result) pairs; a result without digits
    (a drawing digits-predict could not read) counts as wrong."""
    groups: dict[tuple[str, str], list[tuple[Case, dict]]] = {}
    for case, result in cases:
        groups.setdefault((case.source, case.group), []).append((case, result))
    sources = [s for s in SOURCES if any(source == s for source, _ in groups)]

    rows = []
    for (source, group), items in groups.items():
        if source == NON_DIGITS:
            continue
        exact = sum(r.get("digits") == c.label for c, r in items)
        count = sum(len(r.get("digits", "")) == len(c.label) for c, r in items)
        rows.append([source, group, len(items), exact, pct(exact, len(items)), pct(count, len(items))])
    body = []
    if rows:
        body.append(f"digits-predict --threshold {threshold:g}: exactly right, and split into the right number of "
                    "digits\n\n"
                    + common.table(["source", "drawings", "count", "exact", "accuracy", "right digit count"], rows))

    singles = {s: groups.get((s, SINGLES), []) for s in sources}
    if any(singles.values()):
        by_digit = []
        for digit in "0123456789":
            cells = []
            for items in singles.values():
                mine = [(c, r) for c, r in items if c.label == digit]
                cells.append(rate(sum(r.get("digits") == digit for _, r in mine), len(mine)) if mine else "-")
            by_digit.append([digit, *cells])
        body.append("single digits by true digit:\n\n"
                    + common.table(["digit", *[s for s, items in singles.items()]], by_digit))

    marks = [(group, items) for (source, group), items in groups.items() if source == NON_DIGITS]
    if marks:
        rows = []
        for group, items in [*marks, ("all", [item for _, kind in marks for item in kind])]:
            answered = sum(r.get("digits") == "?" for _, r in items)
            others = Counter(r.get("digits", "(unread)") for _, r in items if r.get("digits") != "?")
            common_other = ", ".join(f"{d!r} x{n}" for d, n in others.most_common(3)) or "-"
            rows.append([group, len(items), answered, pct(answered, len(items)), common_other])
        body.append('non-digit drawings (training.nondigits marks), answered exactly "?":\n\n'
                    + common.table(["mark", "count", 'answered "?"', "share", "most frequent other answers"], rows))

    tuned = [s for s in VALIDATION if s in sources] or sources
    body.append(threshold_table(cases, tuned))
    return "\n\n".join(body)


def threshold_table(cases: list[tuple[Case, dict]], tuned: list[str]) -> str:
    """How a confidence threshold trades '?' for accuracy, on the sources it may be tuned on."""
    singles = [(c.label, r) for c, r in cases if c.source in tuned and c.group == SINGLES]
    numbers = [(c.label, r) for c, r in cases if c.source in tuned and c.group != SINGLES]
    marks = [r for c, r in cases if c.source == NON_DIGITS]
    rows = []
    for t in THRESHOLDS:
        single_reads = [(label, shown(r, t)) for label, r in singles]
        number_reads = [(label, shown(r, t)) for label, r in numbers]
        sure = [(label, digits) for label, digits in single_reads if "?" not in digits]
        unsure_numbers = sum("?" in digits for _, digits in number_reads)
        rows.append([f"{t:.2f}", pct(sum(a == b for a, b in single_reads), len(singles)),
                     pct(len(singles) - len(sure), len(singles)), pct(sum(a == b for a, b in sure), len(sure)),
                     pct(sum(a == b for a, b in number_reads), len(numbers)), pct(unsure_numbers, len(numbers)),
                     pct(sum(shown(r, t) == "?" for r in marks), len(marks))])
    on = f"{', '.join(tuned)}, numbers of all gap ranges" if tuned else "the non-digits only"
    return (f"confidence threshold (digits-predict --threshold: a digit whose top probability is below it is "
            f"shown as '?'), on {on}:\n\n"
            + common.table(["threshold", "singles right", "singles with ?", "accuracy of the rest", "numbers exact",
                            "numbers with a ?", 'non-digits answered "?"'], rows))


def parse_args(argv):
    parser = common.parser(__doc__)
    parser.add_argument("--model", type=Path, help="ONNX model (default: $DIGITS_MODEL or models/digits.onnx)")
    parser.add_argument("--out", type=Path, help="keep the drawings in DIR (default: a temporary folder)")
    parser.add_argument("--sources", nargs="+", choices=list(SOURCES), default=list(SOURCES), metavar="SOURCE",
                        help=f"which held-out digits ({', '.join(SOURCES)}; default all)")
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS), metavar="SECTION",
                        help=f"what to draw ({', '.join(SECTIONS)}; default all)")
    parser.add_argument("--gap", type=float, nargs=2, action="append", metavar=("LO", "HI"),
                        help="a range of gaps between the digits of a number, fractions of the digit height "
                             "(negative: overlapping boxes); repeat for several (default: "
                             + ", ".join(f"{lo:g} {hi:g}" for lo, hi in GAPS) + ")")
    parser.add_argument("--singles", type=int, help="single digits per source, spread over it (default all; "
                                                    f"--quick {QUICK[0]})")
    parser.add_argument("--numbers", type=int, help=f"numbers per source and gap range (default {FULL[1]}; "
                                                    f"--quick {QUICK[1]})")
    parser.add_argument("--marks", type=int, help=f"non-digit drawings per kind (default {FULL[2]}; "
                                                  f"--quick {QUICK[2]})")
    parser.add_argument("--threshold", type=probability, default=DEFAULT_THRESHOLD,
                        help=f"digits-predict --threshold for the main tables (default {DEFAULT_THRESHOLD}, "
                             "the player's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pen", type=Path, default=pendigits.DEFAULT_PEN,
                        help=f"pendigits file (default {pendigits.DEFAULT_PEN})")
    parser.add_argument("--unipen", type=Path, default=unipen.DEFAULT_UNIPEN,
                        help=f"UNIPEN 1a file (default {unipen.DEFAULT_UNIPEN})")
    parser.add_argument("--batch-files", type=int, default=500, help="files per digits-predict process")
    args = parser.parse_args(argv)
    args.gap = [tuple(g) for g in args.gap] if args.gap else list(GAPS)
    if any(lo > hi for lo, hi in args.gap):
        parser.error("--gap LO HI: LO must not be above HI")
    for name in ("singles", "numbers", "marks", "batch_files"):
        if getattr(args, name) is not None and getattr(args, name) < (1 if name == "batch_files" else 0):
            parser.error(f"--{name.replace('_', '-')} must be a whole number >= {1 if name == 'batch_files' else 0}")
    defaults = QUICK if args.quick else FULL
    args.sizes = tuple(default if given is None else given
                       for given, default in zip((args.singles, args.numbers, args.marks), defaults, strict=True))
    args.sources = list(dict.fromkeys(args.sources))
    args.sections = list(dict.fromkeys(args.sections))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    at_start = common.machine()
    model_path = (args.model or find_model()).resolve()
    try:
        model = Model(model_path)
        needs_digits = {"singles", "numbers"} & set(args.sections)
        sources = load_sources(args.sources if needs_digits else [], args.pen, args.unipen)
    except ModelError as e:
        print(f"pen_eval: {e}", file=sys.stderr)
        return 2
    except pendigits.PenDataError as e:
        print(f"pen_eval: {e} (choose other sources with --sources)", file=sys.stderr)
        return 2
    empty = [name for name, digits in sources.items() if not digits]
    if empty:
        print(f"pen_eval: no held-out digits for {', '.join(empty)} in {args.pen} / {args.unipen}", file=sys.stderr)
        return 2

    meta = ", ".join(f"{k} {model.metadata[k]}" for k in ("model_version", "mnist_test_accuracy", "preprocess_version")
                     if k in model.metadata)
    singles, numbers, marks = args.sizes
    about = [f"model: {model_path} ({meta})"]
    about += [f"{name}: {len(every(digits, singles))} of {len(digits)} digits, {SOURCES[name]}"
              for name, digits in sources.items()]
    if "numbers" in args.sections and sources:
        about.append(f"numbers: {numbers} per source and gap range ({', '.join(map(gap_name, args.gap))} of the "
                     f"digit height), {'-'.join(map(str, (LENGTHS[0], LENGTHS[-1])))} digits of one writer")
    if "nondigits" in args.sections:
        about.append(f"non-digits: {marks} of each kind ({', '.join(KINDS)})")
    about.append(f"seed {args.seed}")
    print("\n".join(about))

    drawings = make_drawings(sources, args.sections, args.sizes, args.gap, args.seed)
    with tempfile.TemporaryDirectory(prefix="pen_eval-") as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for source, group in groupby(drawings, key=lambda item: item[0].source):  # files named by source
            paths += common.write_drawings([d for _, d in group], out, source)
        start = time.perf_counter()
        try:
            results = common.digits_predict(paths, model_path, args.threshold, batch_files=args.batch_files)
        except (RuntimeError, json.JSONDecodeError, KeyError) as e:
            print(f"pen_eval: {e}", file=sys.stderr)
            return 1
        print(f"{len(paths)} drawings{f' in {out}' if args.out else ''}, read by digits-predict in "
              f"{time.perf_counter() - start:.1f} s\n")
    read = [(case, results.get(str(path), {"error": "no output"})) for (case, _), path in
            zip(drawings, paths, strict=True)]
    errors = [f"{path.name}: {r['error']}" for (_, r), path in zip(read, paths, strict=True) if "error" in r]
    # the threshold table re-reads the JSON: at digits-predict's own threshold it must agree
    differ = sum(shown(r, args.threshold) != r["digits"] for _, r in read if "error" not in r)
    body = report(read, args.threshold)
    if differ:
        body += (f"\n\nnote: {differ} results re-read from the JSON at --threshold {args.threshold:g} differ from "
                 "what digits-predict printed (probabilities are rounded to 4 decimals)")
    print(body)
    if errors:
        print(f"\n{len(errors)} drawings could not be read:", *errors[:20], sep="\n  ")
        return 1
    common.record("pen_eval.py", "\n".join(about) + f"\n\n{body}", ["onnxruntime", "numpy", "pillow"], args,
                  at_start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
