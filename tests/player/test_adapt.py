"""Learning from corrections (player/adapt.py): the memory's rules, the corrections folder,
digits-predict --corrections, and, with the shipped model, real writers' handwriting.

The mechanics run on a tiny random ONNX model built here with the shipped model's interface
(`probabilities` and `features`); the behaviour on real handwriting needs the trained model.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from player import adapt
from player.model import Model, find_model
from player.predict import main
from player.preprocess import PREPROCESS_VERSION, digits_to_images

ROOT = Path(__file__).resolve().parents[2]
ONE = ROOT / "tests" / "data" / "one.json"
SEVEN = [[[100, 100], [300, 100], [160, 340]]]  # a "7" in one stroke, on a 400x400 canvas
ONE_STROKES = [[[200, 80], [200, 160], [201, 240], [200, 320]]]
# a 1 and a 7 further apart than the segmenter ever joins (segment.JOIN_GAP): always two digits
ONE_SEVEN = [*ONE_STROKES, [[x + 300, y] for x, y in SEVEN[0]]]


def tiny_model(path: Path, features: bool) -> Path:
    """Random weights, the player's interface; with `features`, a 32-wide ReLU layer is the
    features output, as the shipped model's penultimate layer is."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w1 = rng.normal(0, 0.1, (28 * 28, 32)).astype(np.float32)
    w2 = rng.normal(0, 0.5, (32, 10)).astype(np.float32)
    nodes = [helper.make_node("Reshape", ["image", "flat_shape"], ["flat"]),
             helper.make_node("MatMul", ["flat", "w1"], ["hidden"]),
             helper.make_node("Relu", ["hidden"], ["features"]),
             helper.make_node("MatMul", ["features", "w2"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1)]
    outputs = [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 10])]
    if features:
        outputs.append(helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 32]))
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("image", TensorProto.FLOAT,
                                                                            ["N", 28, 28, 1])], outputs,
                              initializer=[numpy_helper.from_array(np.array([-1, 28 * 28], np.int64), "flat_shape"),
                                           numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    helper.set_model_props(model, {"preprocess_version": PREPROCESS_VERSION})
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return tiny_model(tmp_path_factory.mktemp("model") / "tiny.onnx", features=True)


@pytest.fixture(scope="module")
def tiny_without_features(tmp_path_factory) -> Path:
    return tiny_model(tmp_path_factory.mktemp("model") / "plain.onnx", features=False)


def unit(*values) -> np.ndarray:
    v = np.asarray(values, np.float32)
    return (v / np.linalg.norm(v))[None]


def probs(*values) -> np.ndarray:
    return np.asarray([values], np.float32)


def adapt_probs(memory, p, signatures) -> np.ndarray:
    """The adapted probabilities alone (not-digit probabilities of zero)."""
    adapted, _ = memory.adapt(p, np.zeros(len(p), np.float32), signatures)
    return adapted


# -- the memory's rules, on hand-made signatures


def test_a_taught_example_pulls_its_own_drawing_to_its_label():
    memory = adapt.Memory()
    memory.add(unit(1, 0, 0), [3], "a")
    out = adapt_probs(memory, probs(0, 0, 0, 0.01, 0, 0, 0, 0.99, 0, 0), unit(1, 0, 0))
    assert out[0].argmax() == 3 and out[0].sum() == pytest.approx(1)


def test_digits_far_from_every_example_are_bit_identical():
    memory = adapt.Memory()
    memory.add(unit(1, 0, 0), [3], "a")
    p = np.random.default_rng(0).dirichlet(np.ones(10), 5).astype(np.float32)
    far = np.repeat(unit(0, 1, 0), 5, axis=0)
    out = adapt_probs(memory, p, far)
    assert out.tobytes() == p.tobytes()


def test_the_pull_fades_with_distance():
    memory = adapt.Memory()
    memory.add(unit(1, 0), [3], "a")
    base = probs(0.1, 0, 0, 0, 0, 0, 0, 0.9, 0, 0)
    angles = np.radians([0, 5, 15, 30, 60])
    taught = [adapt_probs(memory, base, unit(np.cos(a), np.sin(a)))[0, 3] for a in angles]
    assert taught[0] > 0.9 and all(a >= b for a, b in zip(taught, taught[1:], strict=False)) and taught[-1] == 0


def test_only_taught_labels_rise():
    rng = np.random.default_rng(1)
    memory = adapt.Memory()
    rows = rng.normal(size=(20, 8)).astype(np.float32)
    memory.add(rows / np.linalg.norm(rows, axis=1, keepdims=True), rng.choice([2, 5, 8], 20), "a")
    p = rng.dirichlet(np.ones(10), 200).astype(np.float32)
    queries = rows[rng.integers(0, 20, 200)] + rng.normal(0, 0.2, (200, 8)).astype(np.float32)
    out = adapt_probs(memory, p, queries / np.linalg.norm(queries, axis=1, keepdims=True))
    untaught = [c for c in range(10) if c not in (2, 5, 8)]
    assert (out[:, untaught] <= p[:, untaught] + 1e-7).all()
    assert (out.argmax(1) != p.argmax(1)).any()  # and the taught ones did pull somewhere


def test_a_drawing_like_a_taught_digit_is_a_digit():
    memory = adapt.Memory()
    memory.add(unit(1, 0, 0), [4], "a")
    p, not_digit = probs(0, 0.1, 0, 0, 0.2, 0, 0, 0.7, 0, 0), np.array([0.9], np.float32)
    near_p, near = memory.adapt(p, not_digit, unit(1, 0.05, 0))
    assert near[0] < 0.5 and near_p[0].argmax() == 4
    far_p, far = memory.adapt(p, not_digit, unit(0, 1, 0))
    assert far.tobytes() == not_digit.tobytes() and far_p.tobytes() == p.tobytes()


def test_contradicting_examples_cancel_out():
    memory = adapt.Memory()
    memory.add(unit(1, 0, 0), [3], "a")
    memory.add(unit(1, 0, 0), [5], "b")
    p = probs(0, 0, 0, 0.02, 0, 0.03, 0, 0.95, 0, 0)
    assert adapt_probs(memory, p, unit(1, 0, 0)).tobytes() == p.tobytes()
    memory.forget("b")
    assert adapt_probs(memory, p, unit(1, 0, 0))[0].argmax() == 3


def test_forget_one_correction_or_all():
    memory = adapt.Memory()
    memory.add(np.vstack([unit(1, 0), unit(0, 1)]), [4, 2], "number")
    memory.add(unit(1, 1), [7], "seven")
    assert (len(memory), memory.corrections()) == (3, 2)
    memory.forget("number")
    assert memory.labels.tolist() == [7] and memory.sources == ["seven"]
    memory.forget()
    assert len(memory) == 0 and memory.corrections() == 0


def test_rows_keep_their_source_when_grouped_by_label():
    memory = adapt.Memory()
    for i, label in enumerate([9, 1, 5, 1, 0]):
        memory.add(unit(i + 1, 1), [label], f"s{i}")
    assert memory.labels.tolist() == sorted(memory.labels.tolist())
    for row, label, source in zip(memory.signatures, memory.labels, memory.sources, strict=True):
        i = int(source[1:])
        assert label == [9, 1, 5, 1, 0][i]
        np.testing.assert_allclose(row, unit(i + 1, 1)[0])


# -- accepted answers: learned softly, in memory only


def test_an_accepted_answer_pulls_drawings_like_it():
    memory = adapt.Memory()
    memory.accept(unit(1, 0, 0), [1])
    unsure = probs(0, 0.3, 0, 0, 0, 0, 0, 0.7, 0, 0)
    assert adapt_probs(memory, unsure, unit(1, 0.05, 0))[0].argmax() == 1
    assert adapt_probs(memory, unsure, unit(0, 1, 0)).tobytes() == unsure.tobytes()  # far: untouched
    assert (memory.corrections(), memory.accepted()) == (0, 1)


def test_a_correction_outweighs_an_accepted_answer_in_the_same_place():
    """An answer accepted by mistake (the user did not look) loses to the correction given later."""
    memory = adapt.Memory()
    for _ in range(3):
        memory.accept(unit(1, 0, 0), [7])
    memory.add(unit(1, 0, 0), [1], "corrected")
    p = probs(0, 0.05, 0, 0, 0, 0, 0, 0.95, 0, 0)
    assert adapt_probs(memory, p, unit(1, 0.02, 0))[0].argmax() == 1
    accepted_only = adapt.Memory()
    accepted_only.add(unit(1, 0, 0), [7], "another", adapt.ACCEPTED_WEIGHT, adapt.ACCEPTED_REACH)
    accepted_only.accept(unit(1, 0, 0), [1])
    # two accepted answers that contradict each other cancel out, as two corrections do
    assert adapt_probs(accepted_only, p, unit(1, 0.02, 0)).tobytes() == p.tobytes()


def test_a_correction_does_not_take_over_the_users_own_digits_of_another_label():
    """A writer whose 3 looks like their 2 corrects the 3: their 2 (accepted as right before)
    still reads 2, the corrected 3 reads 3; forgetting the 2 gives the 3 its full reach again."""
    two, three = unit(1, 0.3, 0), unit(1, 0, 0)  # 0.042 apart: closer than a correction reaches
    reads_two = probs(0, 0, 0.9, 0.1, 0, 0, 0, 0, 0, 0)
    correction_only = adapt.Memory()
    correction_only.add(three, [3], "the 3")
    assert adapt_probs(correction_only, reads_two, two)[0].argmax() == 3  # what the limit prevents
    memory = adapt.Memory()
    memory.accept(two, [2])
    memory.add(three, [3], "the 3")
    assert adapt_probs(memory, reads_two, two)[0].argmax() == 2
    assert adapt_probs(memory, reads_two, three)[0].argmax() == 3
    assert memory.reaches[memory.labels == 3][0] < adapt.REACH
    memory.forget(f"{adapt.ACCEPTED}0")
    assert memory.reaches.tolist() == [pytest.approx(adapt.REACH)]
    assert adapt_probs(memory, reads_two, two)[0].argmax() == 3


def test_the_limits_do_not_depend_on_the_order_things_were_taught():
    rows = [(unit(1, 0, 0), 3, 1.0), (unit(1, 0.3, 0), 2, adapt.ACCEPTED_WEIGHT), (unit(1, 0.1, 0.2), 5, 1.0),
            (unit(0.9, 0.3, 0.1), 2, 1.0), (unit(0, 1, 0), 7, adapt.ACCEPTED_WEIGHT)]
    reaches = []
    for order in ([0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 0, 4, 1, 3]):
        memory = adapt.Memory()
        for i in order:
            sig, label, weight = rows[i]
            memory.add(sig, [label], f"row {i}", weight, adapt.REACH if weight == 1 else adapt.ACCEPTED_REACH)
        reaches.append([r for _, r in sorted(zip(memory.sources, memory.reaches.tolist(), strict=True))])
    assert reaches[0] == pytest.approx(reaches[1], rel=1e-5) and reaches[0] == pytest.approx(reaches[2], rel=1e-5)
    assert any(r < adapt.REACH for r in reaches[0])  # some row is limited: the test tests something


def test_accepted_answers_are_bounded_and_forgotten_with_the_rest(monkeypatch):
    monkeypatch.setattr(adapt, "MAX_ACCEPTED", 3)
    memory = adapt.Memory()
    memory.add(unit(0, 1), [4], "c")
    for i in range(5):
        memory.accept(unit(1, i), [i])
    assert memory.accepted() == 3 and memory.corrections() == 1
    assert sorted(memory.labels.tolist()) == [2, 3, 4, 4]  # the oldest two accepted answers dropped
    memory.forget()
    assert len(memory) == 0


def test_accept_learns_only_answers_all_of_digits(tiny):
    model = Model(tiny)
    memory = adapt.Memory()
    assert adapt.accept(model, memory, ONE_STROKES, "?") == 0 and len(memory) == 0
    assert adapt.accept(model, memory, ONE_STROKES, "4") == 1
    assert memory.accepted() == 1 and memory.weights.tolist() == pytest.approx([adapt.ACCEPTED_WEIGHT])


# -- corrections of drawings and numbers


def test_a_number_teaches_each_digit_only_when_the_split_agrees(tiny):
    predict = Model(tiny).predict_parts
    images = adapt.examples(ONE_SEVEN, "17", predict)
    assert images is not None and len(images) == 2
    np.testing.assert_array_equal(images, digits_to_images([ONE_STROKES, SEVEN]))
    assert adapt.examples(ONE_SEVEN, "171", predict) is None  # the split found two digits: no pairs at all
    assert adapt.examples(SEVEN, "17", predict) is None
    assert adapt.examples([], "1", predict) is None
    # one digit typed: the whole drawing is that digit, however the split cut it
    np.testing.assert_array_equal(adapt.examples(ONE_SEVEN, "1", predict), digits_to_images([ONE_SEVEN]))


def test_learn_replaces_what_the_same_correction_taught(tiny):
    model, memory = Model(tiny), adapt.Memory()
    assert adapt.learn(model, memory, SEVEN, "7", "drawing-1.json") == 1
    assert adapt.learn(model, memory, SEVEN, "1", "drawing-1.json") == 1  # the user typed again
    assert memory.labels.tolist() == [1] and memory.corrections() == 1
    assert adapt.learn(model, memory, SEVEN, "77", "drawing-1.json") == 0  # one digit drawn, two typed
    assert len(memory) == 0
    assert adapt.learn(model, memory, ONE_SEVEN, "17", "number.json") == 2
    assert memory.labels.tolist() == [1, 7] and memory.corrections() == 1


def test_no_corrections_or_no_features_output_reads_exactly_as_before(tiny, tiny_without_features):
    images = digits_to_images([SEVEN, ONE_STROKES])
    model = Model(tiny)
    for got, expected in zip(adapt.predict_parts(model, adapt.Memory(), images), model.predict_parts(images),
                             strict=True):
        assert got.tobytes() == expected.tobytes()
    plain, memory = Model(tiny_without_features), adapt.Memory()
    assert not plain.has_features and adapt.learn(plain, memory, SEVEN, "3", "x") == 0
    assert adapt.predict_parts(plain, memory, images)[0].tobytes() == plain.predict_parts(images)[0].tobytes()


def test_learned_drawing_reads_as_taught(tiny):
    model, memory = Model(tiny), adapt.Memory()
    before = model.read_strokes(SEVEN).digits
    wrong = str((int(before) + 1) % 10)
    adapt.learn(model, memory, SEVEN, wrong, "c")
    assert model.read_strokes(SEVEN, predict=adapt.predictor(model, memory)).digits == wrong
    assert model.read_strokes(SEVEN).digits == before  # the model itself is untouched


# -- the corrections folder


def write(path: Path, strokes, label=None) -> Path:
    data = {"canvas": [400, 400], "brush": 12, "strokes": strokes}
    if label is not None:
        data["label"] = label
    path.write_text(json.dumps(data))
    return path


def test_load_reads_corrections_and_names_each_unusable_file(tiny, tmp_path):
    write(tmp_path / "label-7.json", SEVEN, "7")
    write(tmp_path / "label-17.json", ONE_SEVEN, "17")
    write(tmp_path / "label-4-tight.json", SEVEN, "44")  # split disagrees: kept on disk, teaches nothing
    write(tmp_path / "drawing.json", SEVEN)  # no label
    (tmp_path / "broken.json").write_text('{"canvas": [400, 400], "strokes": [[[1, 2]]')
    (tmp_path / "label-7.png").write_bytes(b"\x89PNG not read")
    memory, problems = adapt.load(Model(tiny), tmp_path)
    assert sorted(memory.labels.tolist()) == [1, 7, 7] and memory.corrections() == 2
    assert len(problems) == 2
    assert any(p.startswith(str(tmp_path / "drawing.json")) and "label" in p for p in problems)
    assert any(p.startswith(str(tmp_path / "broken.json")) and "not JSON" in p for p in problems)
    assert all("\n" not in p and "Traceback" not in p for p in problems)


def test_load_of_a_missing_folder_is_an_empty_memory(tiny, tmp_path):
    memory, problems = adapt.load(Model(tiny), tmp_path / "none-yet")
    assert len(memory) == 0 and problems == []


def test_load_keeps_the_newest_corrections(tiny, tmp_path, monkeypatch):
    import os

    monkeypatch.setattr(adapt, "MAX_CORRECTIONS", 2)
    for i, label in enumerate("123"):
        path = write(tmp_path / f"c{i}.json", SEVEN, label)
        os.utime(path, (1000 + i, 1000 + i))
    memory, _ = adapt.load(Model(tiny), tmp_path)
    assert sorted(memory.labels.tolist()) == [2, 3]


def test_load_stops_at_the_next_file_when_the_player_quits(tiny, tmp_path):
    import threading

    for i, label in enumerate("123"):
        write(tmp_path / f"c{i}.json", SEVEN, label)
    stop, model = threading.Event(), Model(tiny)
    assert len(adapt.load(model, tmp_path, stop)[0]) == 3
    stop.set()
    assert len(adapt.load(model, tmp_path, stop)[0]) == 0


# -- digits-predict --corrections


def run(capsys, *args) -> tuple[int, list[str], list[str]]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def test_predict_reads_with_the_corrections_in_a_folder(tiny, tmp_path, capsys):
    seven = write(tmp_path / "seven.json", SEVEN)
    _, before, _ = run(capsys, "--model", tiny, "--threshold", 0, seven)
    taught = str((int(before[0].rsplit(": ", 1)[1]) + 1) % 10)
    folder = tmp_path / "corrections"
    folder.mkdir()
    assert run(capsys, "--model", tiny, "--threshold", 0, "--corrections", folder, seven) == (0, before, [])
    write(folder / "label.json", SEVEN, taught)
    assert run(capsys, "--model", tiny, "--threshold", 0, "--corrections", folder, seven) == (
        0, [f"{seven}: {taught}"], [])
    assert run(capsys, "--model", tiny, "--threshold", 0, seven) == (0, before, [])  # nothing without the flag


def test_predict_names_bad_corrections_and_still_reads(tiny, tmp_path, capsys):
    folder = tmp_path / "corrections"
    folder.mkdir()
    (folder / "bad.json").write_text("{")
    code, out, err = run(capsys, "--model", tiny, "--corrections", folder, ONE)
    assert code == 1 and len(out) == 1 and out[0].startswith(f"{ONE}: ")
    assert len(err) == 1 and str(folder / "bad.json") in err[0] and "not JSON" in err[0]


def test_predict_refuses_a_corrections_path_that_is_no_folder(tiny, tmp_path, capsys):
    code, out, err = run(capsys, "--model", tiny, "--corrections", tmp_path / "nowhere", ONE)
    assert code == 2 and out == [] and len(err) == 1 and "nowhere" in err[0]


def test_predict_says_a_corrections_path_it_may_not_look_at_in_one_line(tiny, tmp_path, capsys, monkeypatch):
    # --corrections under a folder without read permission: Path.is_dir raised PermissionError,
    # and digits-predict ended in a traceback
    folder = tmp_path / "locked" / "corrections"
    is_dir = Path.is_dir

    def locked(path):
        if path == folder:
            raise PermissionError(13, "Permission denied", str(path))
        return is_dir(path)

    monkeypatch.setattr(Path, "is_dir", locked)
    code, out, err = run(capsys, "--model", tiny, "--corrections", folder, ONE)
    assert (code, out, err) == (2, [], [f"digits-predict: {folder}: cannot read (Permission denied)"])


def test_predict_says_when_the_model_cannot_use_corrections(tiny_without_features, tmp_path, capsys):
    folder = tmp_path / "corrections"
    folder.mkdir()
    write(folder / "label.json", SEVEN, "3")
    _, before, _ = run(capsys, "--model", tiny_without_features, ONE)
    code, out, err = run(capsys, "--model", tiny_without_features, "--corrections", folder, ONE)
    assert code == 0 and out == before
    assert len(err) == 1 and "features" in err[0] and str(folder) in err[0]


# -- the shipped model on real handwriting: pen digits of the validation writers, never trained on


@pytest.fixture(scope="module")
def shipped() -> Model:
    path = find_model()
    if not path.is_file():
        pytest.skip(f"no trained model at {path}")
    model = Model(path)
    if not model.has_features:
        pytest.skip(f"{path} has no features output: it cannot learn from corrections")
    return model


@pytest.fixture(scope="module")
def writers(pen_path) -> dict:
    """Validation writer -> their pen digits, each drawn as a player drawing (fixed seed)."""
    from training.pen_drawings import single_drawing
    from training.pendigits import holdout_splits, load_unipen

    rng = np.random.default_rng(0)
    out = {}
    for digit in holdout_splits(load_unipen(pen_path))[1]:
        out.setdefault(digit.writer, []).append((digit, single_drawing(digit, rng)))
    return out


def shown(model, drawing, memory=None) -> str:
    return model.read_strokes(drawing["strokes"], 0.5, 2 * drawing["brush"], adapt.predictor(model, memory)).digits


def test_a_misread_digit_once_corrected_reads_right_when_drawn_again(shipped, writers):
    from training.pen_drawings import single_drawing

    rng = np.random.default_rng(1)
    misread = [(d, dr) for pairs in writers.values() for d, dr in pairs if shown(shipped, dr) != dr["label"]]
    assert misread, "the model reads every validation drawing right: nothing to correct"
    for digit, drawing in misread:
        memory = adapt.Memory()
        assert adapt.learn(shipped, memory, drawing["strokes"], drawing["label"], "c", 2 * drawing["brush"]) == 1
        again = single_drawing(digit, rng)  # the same digit elsewhere, at another size, with another brush
        assert shown(shipped, again, memory) == again["label"]


def test_one_correction_leaves_the_writers_other_digits_alone(shipped, writers):
    """Correcting one odd digit must not turn the writer's other digits into it: each misread
    drawing taught alone, the answers to every drawing of that writer's other digits compared."""
    from player.model import reading

    changed = total = 0
    for pairs in writers.values():
        images = digits_to_images([dr["strokes"] for _, dr in pairs])
        before = reading(shipped.predict_parts(images)[0], 0.5).digits
        for digit, drawing in pairs:
            if shown(shipped, drawing) == drawing["label"]:
                continue
            memory = adapt.Memory()
            adapt.learn(shipped, memory, drawing["strokes"], drawing["label"], "c", 2 * drawing["brush"])
            after = reading(adapt.predict_parts(shipped, memory, images)[0], 0.5).digits
            others = [i for i, (d, _) in enumerate(pairs) if d.label != digit.label]
            changed += sum(after[i] != before[i] for i in others)
            total += len(others)
    assert total and changed <= 0.01 * total, f"{changed} of {total} answers of untaught digits changed"


def test_a_scribble_labelled_8_and_a_contradiction_change_no_digit(shipped, writers):
    rng = np.random.default_rng(2)
    scribble = [(np.cumsum(rng.normal(0, 25, (40, 2)), axis=0) + 240).tolist() for _ in range(3)]
    pairs = [p for ps in writers.values() for p in ps[::5]]
    drawing = pairs[0][1]
    memory = adapt.Memory()
    assert adapt.learn(shipped, memory, scribble, "8", "scribble", 8.0) == 1
    adapt.learn(shipped, memory, drawing["strokes"], "3", "three", 2 * drawing["brush"])
    adapt.learn(shipped, memory, drawing["strokes"], "5", "five", 2 * drawing["brush"])
    images = digits_to_images([dr["strokes"] for _, dr in pairs])
    for got, expected in zip(adapt.predict_parts(shipped, memory, images), shipped.predict_parts(images), strict=True):
        assert got.tobytes() == expected.tobytes()


def test_a_writers_accepted_digits_fix_most_of_their_misread_ones(shipped, writers):
    """A session's accepted answers: each validation writer's drawings the model reads right,
    accepted; then most of their misread drawings (none of them taught) read right, and a
    writer's right answers stay right: the writer's own 1s pull their next 1 away from 7."""
    from player.model import reading

    fixed = misread = broken = right = 0
    for pairs in writers.values():
        images = digits_to_images([dr["strokes"] for _, dr in pairs])
        labels = "".join(dr["label"] for _, dr in pairs)
        before = reading(shipped.predict_parts(images)[0], 0.5).digits
        memory = adapt.Memory()
        ok = [i for i in range(len(pairs)) if before[i] == labels[i]]
        for half in (ok[0::2], ok[1::2]):  # learn from one half of the right ones, read the other
            memory.forget()
            for i in half:
                adapt.accept(shipped, memory, pairs[i][1]["strokes"], labels[i], 2 * pairs[i][1]["brush"])
            after = reading(adapt.predict_parts(shipped, memory, images)[0], 0.5).digits
            others = [i for i in ok if i not in half]
            broken += sum(after[i] != labels[i] for i in others)
            right += len(others)
            wrong = [i for i in range(len(pairs)) if before[i] != labels[i]]
            fixed += sum(after[i] == labels[i] for i in wrong)
            misread += len(wrong)
    assert misread and fixed >= misread / 2, f"{fixed} of {misread} misread drawings read right"
    assert broken <= 0.005 * right, f"{broken} of {right} right answers changed"
