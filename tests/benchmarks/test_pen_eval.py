"""benchmarks/pen_eval.py's reading of digits-predict's JSON and its tables, on made-up results:
each source on its own, numbers per gap range, non-digits answered "?", and a threshold table
that works with and without the `not_digit` field and looks only at the sources it is tuned on."""

import numpy as np
import pen_eval  # benchmarks/ is on sys.path (tests/conftest.py)
import pytest

from training.pendigits import PenDigit

SEVEN = [np.array([[0.0, 0.0], [50.0, 0.0], [20.0, 100.0]]), np.array([[10.0, 50.0], [40.0, 50.0]])]


def result(digits: str, tops: list[float], not_digit: list[float] | None = None) -> dict:
    """A digits-predict --json line: one probability row per part, its top on the digit shown."""
    rows = []
    for d, top in zip(digits, tops, strict=True):
        row = np.full(10, (1 - top) / 9)
        row[0 if d == "?" else int(d)] = top
        rows.append(row.round(4).tolist())
    out = {"file": "x.json", "digits": digits, "probabilities": rows, "confidence": 0.5}
    if not_digit is not None:
        out["not_digit"] = not_digit
    return out


def table_rows(text: str, title: str) -> list[list[str]]:
    """The body rows of the Markdown table that follows the paragraph starting with `title`."""
    block = text.split(title, 1)[1].split("\n\n")[1]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in block.splitlines()[2:]]


def test_shown_applies_the_threshold_and_the_not_digit_field_when_there_is_one():
    sure, unsure = result("37", [0.9, 0.6]), result("37", [0.9, 0.6], not_digit=[0.1, 0.8])
    assert pen_eval.shown(sure, 0.0) == "37" and pen_eval.shown(sure, 0.7) == "3?"
    assert pen_eval.shown(unsure, 0.0) == "3?"  # the second part is no digit, whatever the threshold
    assert pen_eval.shown({"error": "cannot read"}, 0.5) == ""


def test_report_gives_each_source_gap_range_and_mark_its_own_row():
    case = pen_eval.Case
    cases = [(case("pen-val", pen_eval.SINGLES, "1"), result("1", [0.9])),
             (case("pen-val", pen_eval.SINGLES, "2"), result("2", [0.9])),
             (case("pen-val", pen_eval.SINGLES, "3"), result("5", [0.9])),
             (case("pen-val", "gaps -5..10%", "12"), result("12", [0.9, 0.9])),
             (case("pen-val", "gaps -5..10%", "45"), result("4", [0.9])),
             (case("pen-final", pen_eval.SINGLES, "7"), result("7", [0.9])),
             (case(pen_eval.NON_DIGITS, "dots", "?"), result("?", [0.3], not_digit=[0.9])),
             (case(pen_eval.NON_DIGITS, "dots", "?"), result("1", [0.95], not_digit=[0.2])),
             (case(pen_eval.NON_DIGITS, "line", "?"), {"file": "y.json", "error": "no ink"})]
    text = pen_eval.report(cases, 0.5)
    rows = {(r[0], r[1]): r[2:] for r in table_rows(text, "digits-predict --threshold 0.5")}
    assert rows[("pen-val", "single digits")] == ["3", "2", "66.67%", "100.00%"]
    assert rows[("pen-val", "gaps -5..10%")] == ["2", "1", "50.00%", "50.00%"]
    assert rows[("pen-final", "single digits")] == ["1", "1", "100.00%", "100.00%"]
    marks = {r[0]: r[1:] for r in table_rows(text, "non-digit drawings")}
    assert marks["dots"][:3] == ["2", "1", "50.00%"] and "'1' x1" in marks["dots"][3]
    assert marks["line"][:3] == ["1", "0", "0.00%"] and marks["all"][:3] == ["3", "1", "33.33%"]
    by_digit = {r[0]: r[1:] for r in table_rows(text, "single digits by true digit")}
    assert by_digit["3"] == ["0.00% (0/1)", "-"] and by_digit["7"] == ["-", "100.00% (1/1)"]


def test_threshold_table_looks_only_at_the_validation_sources():
    case = pen_eval.Case
    cases = [(case("pen-val", pen_eval.SINGLES, "1"), result("1", [0.95])),
             (case("pen-val", pen_eval.SINGLES, "2"), result("2", [0.55])),
             (case("pen-final", pen_eval.SINGLES, "3"), result("8", [0.99])),  # wrong, but only reported
             (case(pen_eval.NON_DIGITS, "dots", "?"), result("4", [0.45]))]
    rows = {r[0]: r[1:] for r in table_rows(pen_eval.report(cases, 0.0), "confidence threshold")}
    # singles right, singles with ?, accuracy of the rest, numbers exact, numbers with a ?, non-digits "?"
    assert rows["0.00"] == ["100.00%", "0.00%", "100.00%", "-", "-", "0.00%"]
    assert rows["0.50"] == ["100.00%", "0.00%", "100.00%", "-", "-", "100.00%"]
    assert rows["0.60"] == ["50.00%", "50.00%", "100.00%", "-", "-", "100.00%"]


def test_a_source_run_alone_gets_the_same_drawings():
    digits = [PenDigit(label=i % 10, writer=i % 3, strokes=[s.copy() for s in SEVEN]) for i in range(30)]
    sizes, gaps = (None, 4, 2), pen_eval.GAPS
    alone = pen_eval.make_drawings({"pen-final": digits}, ["singles", "numbers"], sizes, gaps, seed=0)
    both = pen_eval.make_drawings({"pen-val": digits[:12], "pen-final": digits}, list(pen_eval.SECTIONS), sizes,
                                  gaps, seed=0)
    assert [d for c, d in both if c.source == "pen-final"] == [d for _, d in alone]
    groups = [c.group for c, _ in alone]
    assert groups.count(pen_eval.SINGLES) == 30 and all(groups.count(pen_eval.gap_name(g)) == 4 for g in gaps)
    marks = [c for c, _ in both if c.source == pen_eval.NON_DIGITS]
    assert len(marks) == 2 * len(pen_eval.KINDS) and {c.label for c in marks} == {"?"}


@pytest.mark.parametrize("argv, message", [(["--gap", "0.5", "0.1"], "LO must not be above HI"),
                                           (["--numbers", "-1"], "--numbers must be a whole number >= 0"),
                                           (["--sources", "mnist"], "invalid choice")])
def test_bad_arguments_exit_2_with_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        pen_eval.parse_args(argv)
    assert e.value.code == 2 and message in capsys.readouterr().err
