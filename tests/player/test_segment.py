"""The segmenter's choices, with the model's answers made up per candidate: the dynamic
programme, the candidates it considers and the "?" merging are tested here; the real model's
segmentation is measured by benchmarks/pen_eval.py and checked on real pen numbers below."""

import numpy as np
import pytest

from player import DEFAULT_THRESHOLD as THRESHOLD
from player.model import reading
from player.segment import MAX_STROKES, Plan, choose, plan, segment

L_OF_FOUR = [[(100, 100), (90, 200), (160, 200)]]  # the first stroke of a "4"
STEM_OF_FOUR = [[(140, 120), (140, 300)]]  # its second stroke, close beside
ONE = [[(230, 100), (230, 300)]]  # a "1" after it, a tight gap away


def answers(candidates, table):
    """Probabilities and not-digit probabilities per candidate from table[(start, end)] =
    (digit, p, not_digit); candidates not in the table are a weak '0' the model doubts."""
    probs = np.full((len(candidates.runs), 10), 0.02)
    probs[:, 0] = 0.82
    not_digit = np.full(len(candidates.runs), 0.6)
    for k, run in enumerate(candidates.runs):
        if run in table:
            d, p, r = table[run]
            probs[k] = (1 - p) / 9
            probs[k, d] = p
            not_digit[k] = r
    return probs, not_digit


def read(strokes, table, min_size=0.0):
    candidates = plan(strokes)
    probs, not_digit = answers(candidates, table)
    parts = choose(candidates, np.zeros((len(candidates.runs), 28, 28)), probs, not_digit, min_size)
    return "".join("?" if p.not_digit > 0.5 else str(int(p.probabilities.argmax())) for p in parts), parts


def test_a_two_stroke_four_stays_one_digit_when_its_parts_are_no_digits():
    digits, parts = read(L_OF_FOUR + STEM_OF_FOUR, {(0, 2): (4, 0.99, 0.01), (0, 1): (7, 0.5, 0.9),
                                                    (1, 2): (1, 0.95, 0.05)})
    assert digits == "4" and len(parts[0].strokes) == 2


def test_a_tight_four_one_splits_when_the_model_calls_the_merge_no_digit():
    table = {(0, 2): (4, 0.99, 0.01), (0, 1): (7, 0.5, 0.9), (1, 2): (1, 0.95, 0.05), (2, 3): (1, 0.99, 0.01),
             (1, 3): (1, 0.6, 0.8), (0, 3): (4, 0.7, 0.97)}
    assert read(L_OF_FOUR + STEM_OF_FOUR + ONE, table)[0] == "41"


def test_the_split_does_not_depend_on_the_order_the_strokes_were_written():
    table = {(0, 2): (4, 0.99, 0.01), (0, 1): (7, 0.5, 0.9), (1, 2): (1, 0.95, 0.05), (2, 3): (1, 0.99, 0.01),
             (1, 3): (1, 0.6, 0.8), (0, 3): (4, 0.7, 0.97)}
    # the stem of the 4 drawn last, after the 1 (a late stroke belongs to an earlier digit)
    assert read(L_OF_FOUR + ONE + STEM_OF_FOUR, table)[0] == "41"


def test_neighbouring_non_digits_are_one_question_mark_and_a_digit_beside_them_stays():
    strokes = [[(x, 100), (x + 30, 130)] for x in (100, 140, 180)] + [[(600, 100), (600, 300)]]
    everything_doubtful = {}
    digits, parts = read(strokes, everything_doubtful | {(3, 4): (1, 0.99, 0.01)})
    assert digits == "?1"
    assert sum(len(p.strokes) for p in parts) == 4  # no ink lost in the merging


def test_hatching_is_one_question_mark_not_a_digit_found_among_its_strokes():
    # twelve short parallel strokes side by side (shading): every run of them is no digit,
    # except four in the middle that look like a "5". Reading them saved one "?" part, which
    # cost more than the "5" did, so the old programme answered "?5?". A run of "?" parts is
    # one "?" (they are merged) and now pays NOT_DIGIT_COST once.
    strokes = [[(100 + 25 * i, 100), (120 + 25 * i, 200)] for i in range(12)]
    candidates = plan(strokes)
    table = {run: (0, 0.3, 0.95) for run in candidates.runs} | {(4, 8): (5, 0.9, 0.05)}
    assert read(strokes, table)[0] == "?"
    # a clear digit beside the shading is still read
    one = [[(700, 40), (700, 240)]]
    candidates = plan(strokes + one)
    table = {run: (0, 0.3, 0.95) for run in candidates.runs} | {(4, 8): (5, 0.9, 0.05), (12, 13): (1, 0.99, 0.01)}
    assert read(strokes + one, table)[0] == "?1"


def test_the_shipped_model_answers_generated_hatching_with_one_question_mark():
    from player.model import Model
    from training.nondigits import mark_drawing

    model = Model()
    rng = np.random.default_rng(7)
    answers = [model.read_strokes(mark_drawing("hatching", rng)["strokes"]).digits for _ in range(100)]
    assert sum(a == "?" for a in answers) >= 97, answers


def test_a_part_smaller_than_min_size_is_never_a_digit():
    click = [[(300, 300), (301, 301)]]
    assert read(click, {(0, 1): (1, 0.99, 0.0)})[0] == "1"  # blown up, a tiny jitter looks like a "1"
    assert read(click, {(0, 1): (1, 0.99, 0.0)}, min_size=20)[0] == "?"


def test_candidates_are_bounded_for_any_amount_of_strokes():
    strokes = [[(10 * i, 0), (10 * i + 5, 300)] for i in range(300)]
    candidates = plan(strokes)
    assert len(candidates.runs) <= MAX_STROKES * 300
    assert all(j - i <= MAX_STROKES for i, j in candidates.runs)


def test_strokes_far_apart_are_never_one_candidate():
    candidates = plan([[(0, 0), (0, 100)], [(500, 0), (500, 100)]])
    assert candidates.runs == [(0, 1), (1, 2)]


FIVE = [[(100, 150), (100, 200), (150, 200), (150, 280), (100, 280)], [(100, 150), (160, 150)]]  # body, cap


def test_two_overlapping_strokes_one_of_them_small_are_read_whole_only():
    assert plan(FIVE).runs == [(0, 2)]
    assert plan([FIVE[0], [(140, 150), (200, 150)]]).runs == [(0, 1), (0, 2), (1, 2)]  # the cap off to the side
    assert plan(L_OF_FOUR + STEM_OF_FOUR).runs == [(0, 1), (0, 2), (1, 2)]  # side by side: the model decides


def test_choose_never_splits_the_strokes_plan_reads_whole_only():
    """Whatever the model answers on the parts, reading such a drawing whole gives the answer
    the player shows when every candidate is read: choose() picks the whole, or, only when the
    whole is no sure digit, two "?" parts that are shown as one "?", as the whole is."""
    rng, checked, split_wins = np.random.default_rng(0), 0, 0
    for trial in range(400):
        h, w = rng.uniform(50, 300), rng.uniform(5, 200)
        body = [(0.0, 0.0), (w * rng.uniform(0, 1), h), (w, h * rng.uniform(0, 1))]
        cap_y = h * rng.uniform(0, 1)
        cap = [(w * rng.uniform(-0.2, 0.3), cap_y), (w * rng.uniform(0.7, 1.2), cap_y + h * rng.uniform(0, 0.4))]
        pruned = plan([body, cap])
        if pruned.runs != [(0, 2)]:
            continue
        whole = pruned.groups[0]
        units = sorted([[np.asarray(body)], [np.asarray(cap)]], key=lambda u: u[0][:, 0].min() + u[0][:, 0].max())
        full = Plan(2, pruned.height, [(0, 1), (0, 2), (1, 2)], [units[0], whole, units[1]])
        probs = rng.dirichlet(np.full(10, 0.1), size=3)
        not_digit = rng.choice([0.0, 0.5, 1.0, rng.uniform()], size=3)
        if trial % 2:  # the worst case: sure parts, a whole the model cannot place at all
            probs[[0, 2]], not_digit[[0, 2]] = np.eye(10)[[1, 7]], 0.0
            probs[1], not_digit[1] = 0.1, 0.5
        min_size = rng.choice([0.0, 2 * w, 4 * h])
        parts = choose(full, np.zeros((3, 28, 28)), probs, not_digit, min_size)
        again = choose(pruned, np.zeros((1, 28, 28)), probs[1:2], not_digit[1:2], min_size)
        assert len(again) == 1 and np.array_equal(again[0].probabilities, probs[1])
        if not np.array_equal(parts[0].probabilities, probs[1]):  # the split won: two "?" parts, merged
            split_wins += 1
        shown = [reading(np.array([q.probabilities for q in ps]), THRESHOLD, np.array([q.not_digit for q in ps])).digits
                 for ps in (parts, again)]
        assert shown[0] == shown[1], (shown, probs, not_digit)
        checked += 1
    assert checked > 200 and split_wins < checked / 4


def test_empty_and_pointless_drawings_read_nothing():
    assert segment([], lambda x: (np.zeros((0, 10)), np.zeros(0))) == []
    assert segment([[], [[float("nan"), 1.0]]], lambda x: (np.zeros((0, 10)), np.zeros(0))) == []


@pytest.mark.slow
def test_the_shipped_model_reads_tight_numbers_of_unseen_writers(pen_path):
    """Real pen digits of validation writers, written with gaps of -5..10 % of their height."""
    from player.model import Model
    from training.pen_drawings import number_drawing
    from training.pendigits import holdout_splits, load_unipen

    model = Model()
    if not model.has_not_digit:
        pytest.skip("the model has no not_digit output")
    val = holdout_splits(load_unipen(pen_path))[1]
    rng = np.random.default_rng(7)
    by_writer = {}
    for d in val:
        by_writer.setdefault(d.writer, []).append(d)
    right = 0
    for i in range(40):
        pool = list(by_writer.values())[i % len(by_writer)]
        digits = [pool[j] for j in rng.choice(len(pool), 2 + i % 3, replace=False)]
        drawing = number_drawing(digits, rng, (-0.05, 0.10))
        right += model.read_strokes(drawing["strokes"], min_size=2 * drawing["brush"]).digits == drawing["label"]
    assert right >= 34, f"{right}/40 tight numbers read exactly"


def test_one_candidate_is_the_reading_whatever_the_model_says():
    rng = np.random.default_rng(3)
    single = plan([[(10, 10), (12, 90)]])
    assert single.runs == [(0, 1)]
    for _ in range(20):
        probs, not_digit = rng.dirichlet(np.ones(10), size=1), rng.uniform(size=1)
        (part,) = choose(single, np.zeros((1, 28, 28)), probs, not_digit)
        assert np.array_equal(part.probabilities, probs[0]) and part.not_digit == not_digit[0]
    (dot,) = choose(single, np.zeros((1, 28, 28)), probs, not_digit, min_size=200)
    assert dot.not_digit == 1.0  # smaller than min_size: a click, never a digit
