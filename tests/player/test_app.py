"""The drawing app without a window of its own: the Board state directly, and the main loop
under SDL's dummy video driver (tests/conftest.py sets it), fed synthetic pygame events."""

import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pygame
import pytest

from player import app as player_app
from player.app import App, Options, main
from player.board import Board
from player.drawing import Drawing, parse_drawing
from player.model import Model, ModelError, Result, find_model
from player.session import EventLog, ModelLoader, model_notes, save_board

ROOT = Path(__file__).resolve().parents[2]


class FakeModel:
    """Reads every candidate digit the segmenter asks about as a sure "1": the app's plumbing is
    tested here, not the model."""

    metadata = {"model_version": "fake-1", "mnist_test_accuracy": "0.991", "pen_val_accuracy": "0.97"}
    has_not_digit = False
    read_strokes = Model.read_strokes  # the real paths from strokes to an answer, over the fake below
    read_parts = Model.read_parts

    def __init__(self):
        self.calls = []

    def predict_parts(self, images):
        self.calls.append(images)
        n = len(images)
        probs = np.full((n, 10), 0.01, np.float32)
        probs[:, 1] = 0.91
        return probs, np.zeros(n, np.float32)


ONE = [[(300, 150), (300, 420)]]
ELEVEN = [[(200, 150), (200, 420)], [(420, 150), (420, 420)]]


@pytest.fixture
def app(tmp_path):
    """An open app (dummy video driver) with a fake model, saving under tmp_path."""
    a = open_app(FakeModel(), tmp_path)
    yield a
    pygame.quit()


def open_app(model, tmp_path) -> App:
    """An open app (dummy video driver) reading with `model` (also at a.fake), saving under tmp_path."""
    options = Options(size=(1000, 640), events=True, save_dir=tmp_path / "drawings",
                      corrections_dir=tmp_path / "corrections")
    a = App(options, loader=ModelLoader.of(model), log=EventLog(True, io.StringIO()))
    a.fake = model
    a.open()
    a.step()
    return a


def events(a):
    return [json.loads(line) for line in a.log.stream.getvalue().splitlines()]


def post_stroke(a, stroke):
    """Mouse down, moves, up along `stroke` (canvas pixels)."""
    x0, y0 = a.window.layout.canvas.topleft
    pts = [(int(x0 + x), int(y0 + y)) for x, y in stroke]
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pts[0], button=1))
    for p in pts[1:]:
        pygame.event.post(pygame.event.Event(pygame.MOUSEMOTION, pos=p, rel=(0, 0), buttons=(1, 0, 0)))
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=pts[-1], button=1))


def settle(a):
    """A frame, then more until the reader (a background thread) has answered what was asked."""
    a.step()
    for _ in range(1000):
        if a.reader.idle:
            return
        a.reader.wait(0.01)
        a.step()
    pytest.fail("the reader did not answer within 1000 frames")


def draw(a, strokes):
    for s in strokes:
        post_stroke(a, s)
        settle(a)


def key(a, k, mod=0):
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=k, mod=mod, unicode="", scancode=0))
    settle(a)


# -- the Board, no window


def test_strokes_are_added_and_far_points_interpolated():
    b = Board(brush=14)
    b.pen_down(10, 10)
    b.pen_move(10.2, 10.1)  # jitter: no new point
    b.pen_move(110, 10)  # a fast mouse: 100 px in one event
    b.pen_up()
    (stroke,) = b.strokes
    assert stroke[0] == (10, 10) and stroke[-1] == (110, 10)
    gaps = np.hypot(*np.diff(np.array(stroke), axis=0).T)
    assert gaps.max() <= 7 + 1e-9 and len(stroke) >= 15
    assert b.current is None


def test_the_board_takes_no_more_ink_than_a_drawing_file_may_hold():
    from player.board import FULL
    from player.drawing import MAX_POINTS, MAX_STROKES

    b = Board(size=(640, 560), brush=14)
    for i in range(MAX_STROKES):  # clicks: one point each
        b.pen_down(i % 600, 10)
        b.pen_up()
    b.pen_down(300, 300)
    assert b.current is None and len(b.strokes) == MAX_STROKES and b.message == FULL and b.error
    b.undo()
    b.pen_down(300, 300)  # room again
    assert b.current is not None
    b.clear()
    b.pen_down(0, 0)
    for k in range(MAX_POINTS // 40 + 5):  # back and forth across the canvas: ~90 points per pass
        b.pen_move(600 * (k % 2 == 0), 5 + k % 500)
    b.pen_up()
    assert b.points() == MAX_POINTS and b.message == FULL
    b.pen_down(10, 10)  # full: a new stroke is refused too
    assert b.current is None
    # what the user sees can always be saved and read again
    assert parse_drawing(json.loads(json.dumps(b.to_drawing("7").to_json()))).label == "7"


def test_undo_and_clear():
    b = Board()
    for x in (10, 50):
        b.pen_down(x, 10)
        b.pen_move(x, 90)
        b.pen_up()
    b.pen_down(90, 10)
    b.undo()  # the stroke being drawn goes first
    assert len(b.strokes) == 2 and b.current is None
    b.undo()
    assert len(b.strokes) == 1 and b.strokes[0][0] == (10, 10)
    b.clear()
    assert b.empty and b.result is None
    b.undo()
    assert b.message == "nothing to undo"


def test_to_drawing_round_trips_through_the_stroke_json_format():
    b = Board(size=(500, 400), brush=12)
    b.pen_down(10.123, 20)
    b.pen_move(60, 80.5)
    b.pen_up()
    b.pen_down(200, 200)  # a single click: a dot
    b.pen_up()
    back = parse_drawing(json.loads(json.dumps(b.to_drawing("4").to_json())))
    assert back.canvas == (500, 400) and back.brush == 12 and back.label == "4"
    assert len(back.strokes) == 2 and back.strokes[1] == [(200, 200)]
    np.testing.assert_allclose(np.array(back.strokes[0]), np.array(b.strokes[0]), atol=0.006)


def test_load_and_resize_keep_the_drawing_in_view():
    b = Board(size=(600, 300))
    b.load(Drawing(canvas=(100, 100), strokes=[[(0, 0), (100, 100)]]))
    assert b.strokes == [[(150.0, 0.0), (450.0, 300.0)]]  # scaled 3x, centred
    b.resize((300, 300))
    assert b.strokes == [[(75.0, 0.0), (225.0, 150.0)]]  # evenly scaled by the smaller ratio
    assert b.size == (300, 300)


def test_a_resize_undone_gives_the_drawing_back_as_it_was():
    # each resize scaled by the smaller ratio from the canvas before it: a window made half as
    # wide and then as wide again kept the drawing at half its size, and a trip through a tiny
    # window left a dot in the corner, read as a click
    b = Board(size=(600, 500))
    b.pen_down(100, 100)
    b.pen_move(500, 450)
    b.pen_up()
    drawn = [list(s) for s in b.strokes]
    for sizes in ([(300, 500), (600, 500)], [(1, 1), (2000, 64), (64, 1900), (600, 500)],
                  [(1200, 500), (1200, 1000), (600, 500)]):
        for size in sizes:
            b.resize(size)
            for x, y in b.strokes[0]:  # in view at every size on the way
                assert 0 <= x <= size[0] + 1e-9 and 0 <= y <= size[1] + 1e-9, (size, x, y)
        np.testing.assert_allclose(np.array(b.strokes), np.array(drawn), atol=1e-6, err_msg=str(sizes))
    b.resize((1200, 1000))  # twice as large: twice the drawing
    np.testing.assert_allclose(np.array(b.strokes), 2 * np.array(drawn), atol=1e-6)
    b.resize((2400, 1000))  # only wider: no larger
    np.testing.assert_allclose(np.array(b.strokes), 2 * np.array(drawn), atol=1e-6)
    b.pen_down(2300, 900)  # ink where the wide canvas has room: shrinking keeps it in view too
    b.pen_up()
    b.resize((1200, 1000))
    assert max(x for s in b.strokes for x, _ in s) <= 1200


def test_correction_labels_for_one_and_several_digits():
    b = Board()
    assert b.type_digit("7") is None and b.error  # no answer yet: nothing to correct
    b.pen_down(10, 10)
    b.pen_up()
    b.set_result(Result("1", np.zeros((1, 10)), 0.9), [])
    assert b.type_digit("7") == "7"
    b.set_result(Result("11", np.zeros((2, 10)), 0.9), [])
    assert b.type_digit("4") is None and "4_" in b.message
    assert b.type_digit("2") == "42"
    b.pen_down(50, 50)  # the drawing changed: the answer is stale, a label would not match it
    assert b.type_digit("3") is None


def test_save_never_overwrites(tmp_path):
    b = Board()
    b.pen_down(10, 10)
    b.pen_move(10, 60)
    b.pen_up()
    paths = [save_board(b, tmp_path, "1") for _ in range(3)]
    assert len(set(paths)) == 3 and all(p.exists() and p.with_suffix(".png").exists() for p in paths)
    assert parse_drawing(json.loads(paths[2].read_text())).label == "1"
    assert paths[0].with_suffix(".png").read_bytes()[:4] == b"\x89PNG"


# -- the main loop, headless


def test_draw_and_enter_recognises_in_one_batched_call(app):
    draw(app, ELEVEN)
    assert len(app.board.strokes) == 2
    key(app, pygame.K_RETURN)
    assert app.board.result.digits == "11" and len(app.fake.calls) == 1
    assert len(app.board.groups) == 2  # outlines of the digits found
    assert events(app)[-1] == {"event": "recognised", "digits": "11", "confidence": 0.8281, "live": False}
    assert events(app)[0]["event"] == "ready" and len(events(app)[0]["canvas"]) == 4


def test_enter_on_an_empty_drawing(app):
    key(app, pygame.K_RETURN)
    assert app.board.message == "draw a digit first" and not app.fake.calls


@pytest.mark.parametrize("k,mod", [(pygame.K_BACKSPACE, 0), (pygame.K_z, pygame.KMOD_LCTRL)])
def test_undo_keys(app, k, mod):
    draw(app, ELEVEN)
    key(app, k, mod)
    assert len(app.board.strokes) == 1


@pytest.mark.parametrize("k", [pygame.K_ESCAPE, pygame.K_DELETE, pygame.K_c])
def test_clear_keys(app, k):
    draw(app, ONE)
    key(app, pygame.K_RETURN)
    key(app, k)
    assert app.board.empty and app.board.result is None


def test_live_recognition_while_drawing_and_on_mouse_up(app):
    key(app, pygame.K_l)
    assert app.board.live
    x0, y0 = app.window.layout.canvas.topleft
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(x0 + 300, y0 + 100), button=1))
    pygame.event.post(pygame.event.Event(pygame.MOUSEMOTION, pos=(x0 + 300, y0 + 300), rel=(0, 0), buttons=(1, 0, 0)))
    settle(app)
    assert events(app)[-1]["live"] is True and app.board.current  # read while the pen is still down
    settle(app)
    assert len(app.fake.calls) == 1  # throttled: the drawing has not changed
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=(x0 + 300, y0 + 300), button=1))
    settle(app)
    # read again on mouse-up, but the ink is the same: nothing drawn or asked of the model again
    assert [e["live"] for e in events(app) if e["event"] == "recognised"] == [True, False]
    assert len(app.fake.calls) == 1
    key(app, pygame.K_l)
    assert not app.board.live


def test_s_saves_the_drawing(app, tmp_path):
    key(app, pygame.K_s)
    assert "nothing to save" in app.board.message
    draw(app, ONE)
    key(app, pygame.K_s)
    key(app, pygame.K_s)
    saved = [e for e in events(app) if e["event"] == "saved"]
    assert len(saved) == 2 and saved[0]["path"] != saved[1]["path"]
    drawing = parse_drawing(json.loads(Path(saved[0]["path"]).read_text()))
    assert drawing.label is None and len(drawing.strokes) == 1
    assert sorted(p.suffix for p in (tmp_path / "drawings").iterdir()) == [".json", ".json", ".png", ".png"]


def test_digit_key_saves_a_correction_for_a_one_digit_drawing(app, tmp_path):
    draw(app, ONE)
    key(app, pygame.K_7)
    assert "Enter first" in app.board.message  # no answer yet
    key(app, pygame.K_RETURN)
    key(app, pygame.K_KP7)
    (saved,) = [e for e in events(app) if e["event"] == "saved"]
    assert saved["label"] == "7" and Path(saved["path"]).parent == tmp_path / "corrections"
    assert parse_drawing(json.loads(Path(saved["path"]).read_text())).label == "7"


def test_digit_keys_build_the_label_of_a_number(app, tmp_path):
    draw(app, ELEVEN)
    key(app, pygame.K_RETURN)
    key(app, pygame.K_5)
    assert app.board.label == "5" and "5_" in app.board.message
    key(app, pygame.K_BACKSPACE)  # fixes the label, not the drawing
    assert len(app.board.strokes) == 2 and app.board.label == ""
    key(app, pygame.K_4)
    key(app, pygame.K_2)
    (saved,) = [e for e in events(app) if e["event"] == "saved"]
    assert saved["label"] == "42"
    assert parse_drawing(json.loads(Path(saved["path"]).read_text())).label == "42"


def test_failed_save_reports_and_keeps_the_drawing(app, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    app.options.save_dir = blocker / "drawings"
    draw(app, ONE)
    key(app, pygame.K_s)
    assert app.board.error and "cannot save" in app.board.message and len(app.board.strokes) == 1
    assert events(app)[-1]["event"] == "error"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot save" in err


def test_focus_keys_and_click_on_the_answer(app):
    draw(app, ELEVEN)
    key(app, pygame.K_RETURN)
    key(app, pygame.K_RIGHT)
    assert app.board.focus == 1
    key(app, pygame.K_RIGHT)
    assert app.board.focus == 0  # wraps
    key(app, pygame.K_LEFT)
    assert app.board.focus == 1
    answer = app.window.parts["panel"].hits  # the answer's digits, as drawn
    assert len(answer) == 2
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=answer[0].center, button=1))
    app.step()
    assert app.board.focus == 0 and not app.board.current  # a click on the panel draws nothing


@pytest.mark.parametrize("k", [pygame.K_h, pygame.K_F1])
def test_help_overlay(app, k):
    draw(app, ONE)
    key(app, k)
    assert app.show_help
    notes = model_notes(app.loader, app.options.threshold, app.options.save_dir, app.options.corrections_dir)
    assert "fake-1" in notes[0] and "99.1%" in notes[0]
    key(app, pygame.K_ESCAPE)  # closes the help, keeps the drawing
    assert not app.show_help and app.board.strokes


@pytest.mark.parametrize("event", [pygame.event.Event(pygame.QUIT),
                                   pygame.event.Event(pygame.KEYDOWN, key=pygame.K_q, mod=0)])
def test_quit(app, event):
    pygame.event.post(event)
    assert app.run(max_frames=100) == 0 and not app.running and app.frames < 100


def test_resize_keeps_the_strokes(app):
    draw(app, ONE)
    before = app.board.strokes[0][-1]
    pygame.display.set_mode((700, 500), pygame.RESIZABLE)
    app.step()
    assert app.window.layout.canvas.size == app.board.size and app.window.layout.canvas.right < 700 - 200
    assert len(app.board.strokes) == 1 and app.board.strokes[0][-1] != before


def test_a_drawing_given_to_open_is_fitted_and_read():
    drawing = Drawing(canvas=(100, 100), brush=4, strokes=[[(50, 10), (50, 90)]])
    a = App(Options(size=(1000, 640), drawing=drawing), loader=ModelLoader.of(FakeModel()),
            log=EventLog(True, io.StringIO()))
    a.open()
    try:
        a.step()
        (stroke,) = a.board.strokes
        w, h = a.window.layout.canvas.size
        assert stroke[0] == pytest.approx((w / 2, h * 0.1)) and stroke[-1] == pytest.approx((w / 2, h * 0.9))
        assert [e["event"] for e in events(a)] == ["ready"]  # the window first, then the work
        settle(a)
        assert [e["event"] for e in events(a)] == ["ready", "recognised"] and a.board.result.digits == "1"
    finally:
        pygame.quit()


def test_enter_before_the_model_is_loaded_is_queued(tmp_path):
    gate = threading.Event()
    model = FakeModel()
    loader = ModelLoader(lambda: gate.wait(10) and model)
    a = App(Options(), loader=loader, log=EventLog(True, io.StringIO()))
    a.open()
    try:
        a.step()
        draw(a, ONE)
        key(a, pygame.K_RETURN)
        assert a.reading.pending and "loading" in a.board.message and a.board.result is None
        gate.set()
        loader.wait(10)
        settle(a)
        assert not a.reading.pending and a.board.result.digits == "1"
    finally:
        pygame.quit()


def test_a_model_failing_to_load_is_shown_and_exits_2(capsys):
    def load():
        raise ModelError("m.onnx: model file not found")

    loader = ModelLoader(load)
    a = App(Options(), loader=loader, log=EventLog(True, io.StringIO()))
    a.open()
    try:
        assert a.run(max_frames=3) == 2
        assert a.board.error and a.board.message == "m.onnx: model file not found"
        assert events(a)[-1] == {"event": "error", "message": "m.onnx: model file not found"}
        assert capsys.readouterr().err == "digits-player: m.onnx: model file not found\n"
    finally:
        pygame.quit()


# -- the command line


def test_bad_drawing_file_exits_2_naming_it(tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text('{"canvas": [10, 10], "strokes": "nope"}')
    assert main([str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and "Traceback" not in err
    assert main([str(tmp_path / "missing.json")]) == 2
    assert "missing.json" in capsys.readouterr().err


@pytest.mark.parametrize("content", [None, b"not an onnx model"])
def test_missing_or_corrupt_model_exits_2(tmp_path, capsys, content):
    path = tmp_path / "model.onnx"
    if content is not None:
        path.write_bytes(content)
    assert main(["--model", str(path), "--max-frames", "2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err


@pytest.mark.parametrize("driver", ["no-such-driver", None])
def test_no_display_exits_2(monkeypatch, capsys, driver):
    if driver is None:  # nothing set at all: SDL would fall back to an invisible offscreen window
        if not sys.platform.startswith("linux"):
            pytest.skip("the DISPLAY check is for Linux")
        for name in ("SDL_VIDEODRIVER", "DISPLAY", "WAYLAND_DISPLAY"):
            monkeypatch.delenv(name, raising=False)
    else:
        monkeypatch.setenv("SDL_VIDEODRIVER", driver)
    assert main(["--max-frames", "1"]) == 2
    assert capsys.readouterr().err == f"digits-player: {player_app.NO_DISPLAY}\n"


def test_quitting_lets_the_corrections_being_learned_finish(monkeypatch, tmp_path):
    # the corrections folder is read, through the model, in a thread of its own once the model is
    # there; quitting while it ran left onnxruntime working under an exiting interpreter, and the
    # player aborted ("terminate called without an active exception", exit status 134)
    from player import adapt

    started, finished = threading.Event(), threading.Event()

    def load(model, folder, stop=None):
        started.set()
        time.sleep(0.5)
        finished.set()
        return adapt.Memory(), []

    monkeypatch.setattr(adapt, "load", load)
    monkeypatch.setattr(ModelLoader, "from_path", classmethod(lambda cls, path: ModelLoader.of(FakeModel())))
    assert main(["--max-frames", "2", "--corrections-dir", str(tmp_path)]) == 0
    assert started.is_set() and finished.is_set()


@pytest.mark.parametrize("size", ["99999x99999", "16385x300"])
def test_a_window_too_large_is_refused_naming_the_size(capsys, size):
    # SDL refuses windows over 16384 px a side: that was reported as "no display available"
    with pytest.raises(SystemExit) as e:
        main(["--size", size, "--max-frames", "1"])
    assert e.value.code == 2 and f"window too large: {size} (at most 16384x16384)" in capsys.readouterr().err


def test_a_window_the_display_refuses_is_not_called_no_display(monkeypatch, capsys):
    def refuse(size, flags=0):
        raise pygame.error("Window is too large.")

    monkeypatch.setattr(pygame.display, "set_mode", refuse)
    assert main(["--size", "800x600", "--max-frames", "1"]) == 2
    assert capsys.readouterr().err == "digits-player: cannot open a 800x600 window (Window is too large.)\n"


def run_player(*args: str, timeout: float = 60, **env: str | None) -> subprocess.CompletedProcess:
    """`python -m player ARGS` in a fresh process; a hang is a failure, not a test run that never ends."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "SDL_VIDEODRIVER": "dummy", **env}
    for name in [name for name, value in env.items() if value is None]:
        del environment[name]
    try:
        return subprocess.run([sys.executable, "-m", "player", *args], capture_output=True, text=True, cwd=ROOT,
                              timeout=timeout, env=environment)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"digits-player {' '.join(args)} still running after {timeout} s (stderr: {e.stderr!r})")


def test_the_smallest_window_becomes_ready():
    # --size 320x240, the documented minimum, used to hang for good fitting the status line
    proc = run_player("--size", "320x240", "--events", "--max-frames", "5")
    events = [json.loads(line)["event"] for line in proc.stdout.splitlines()]
    assert events[0] == "ready", proc.stderr
    if find_model().exists():
        assert proc.returncode == 0, proc.stderr


def test_no_x_server_at_display_is_one_line(tmp_path):
    # SDL falls back to Wayland when X fails, and libwayland printed a stray XDG_RUNTIME_DIR line
    if not sys.platform.startswith("linux"):
        pytest.skip("X11 displays are a Linux matter here")
    number = next(n for n in range(917, 999) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    proc = run_player("--max-frames", "1", DISPLAY=f":{number}", SDL_VIDEODRIVER=None, WAYLAND_DISPLAY=None,
                      XDG_RUNTIME_DIR=None)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith(f"digits-player: cannot open the X display :{number}")


@pytest.mark.parametrize("magic", [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"RIFF\x10\x00\x00\x00WEBPVP8 "])
def test_a_picture_is_sent_to_digits_predict(tmp_path, capsys, magic):
    path = tmp_path / "drawing.png"
    path.write_bytes(magic + bytes(64))
    assert main([str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and "digits-predict reads pictures" in err


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.startswith("digits-player ")


def test_importing_the_app_loads_neither_onnxruntime_nor_tensorflow():
    # what makes the window come up fast, and the end-user install work without TensorFlow
    code = ("import sys, player.app; bad = [m for m in ('onnxruntime', 'numpy', 'tensorflow', 'keras', 'tf2onnx') "
            "if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
    assert out.strip() == "[]"


def test_the_board_needs_no_pygame():
    # the state the tests drive without a window, and that the coming features build on
    code = "import sys, player.board; print('pygame' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
    assert out.strip() == "False"


# -- with the shipped model


def trained_model():
    path = find_model()
    if not path.exists():
        pytest.skip(f"no model at {path}")
    from player.model import Model

    model = Model(path)
    if float(model.metadata.get("mnist_test_accuracy", 0) or 0) < 0.9:
        pytest.skip(f"{path} is a stand-in, not a trained model")
    return model


def test_smoke_run_with_a_drawing_file(tmp_path):
    path = trained_model().path
    drawing = tmp_path / "one.json"
    drawing.write_text((ROOT / "tests" / "data" / "one.json").read_text())
    proc = subprocess.run([sys.executable, "-m", "player", str(drawing), "--events", "--max-frames", "5",
                           "--model", str(path)], capture_output=True, text=True, cwd=ROOT, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "SDL_VIDEODRIVER": "dummy"})
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [e["event"] for e in events] == ["ready", "recognised"]
    assert events[1]["digits"] == "1" and events[1]["live"] is False  # tests/data/one.json is a "1"


def test_a_drawn_one_reads_one_with_the_shipped_model(tmp_path):
    model = trained_model()
    a = App(Options(), loader=ModelLoader.of(model), log=EventLog(True, io.StringIO()))
    a.open()
    try:
        a.step()
        draw(a, [[(320, 120), (316, 250), (312, 430)]])
        key(a, pygame.K_RETURN)
        assert a.board.result.digits == "1"
    finally:
        pygame.quit()


# -- learning from corrections (player/adapt.py) in the app


class LearningModel(FakeModel):
    """The fake model with a features output: each image's own pixels (28 x 28 -> 16 x 49 sums),
    so a correction pulls exactly the drawings that look like it."""

    has_features = True

    def predict_features(self, images):
        probs, not_digit = self.predict_parts(images)
        return probs, not_digit, np.asarray(images, np.float32).reshape(len(images), 16, 49).sum(axis=2)


@pytest.fixture
def learning_app(tmp_path):
    a = open_app(LearningModel(), tmp_path)
    a.learning.done.wait(10)
    yield a
    pygame.quit()


def correct(a, strokes, digit_key):
    draw(a, strokes)
    key(a, pygame.K_RETURN)
    key(a, digit_key)


def test_a_correction_is_learned_at_once_and_read_again(learning_app):
    a = learning_app
    correct(a, ONE, pygame.K_7)  # the fake reads every digit as 1
    assert a.board.result.digits == "7"  # read again at once, with what was learned
    assert a.learning.status() == "learning from 1 correction"
    key(a, pygame.K_c)
    draw(a, [[(x + 40, y) for x, y in ONE[0]]])  # the same style elsewhere on the canvas
    key(a, pygame.K_RETURN)
    assert a.board.result.digits == "7"
    key(a, pygame.K_a)  # learning off: the model alone again
    assert a.learning.status() == "learning off" and a.board.result.digits == "1"


def test_a_correction_saved_while_the_corrections_folder_is_read_does_not_wait_for_it(tmp_path, monkeypatch):
    """Saving a correction while the folder is still being read (hundreds of files: seconds)
    waited for it, and the window froze; now it is learned once the folder is read, and the
    corrected drawing is read again with it."""
    from player import adapt

    gate, load = threading.Event(), adapt.load
    monkeypatch.setattr(adapt, "load", lambda model, folder, stop=None: (gate.wait(20), load(model, folder, stop))[1])
    a = open_app(LearningModel(), tmp_path)
    try:
        settle(a)  # the model is there: the folder's reading starts, and waits at the gate
        assert a.learning._thread is not None and not a.learning.done.is_set()
        start = time.monotonic()
        correct(a, ONE, pygame.K_7)  # the fake reads every digit as 1
        key(a, pygame.K_3)  # "no, 3": replaces the 7, also before the folder is read
        assert time.monotonic() - start < 5 and not gate.is_set()  # not frozen until the gate opened
        assert a.board.result.digits == "1"  # not learned yet
        gate.set()
        assert a.learning.done.wait(10)
        for _ in range(100):
            settle(a)
            if a.board.result.digits == "3":
                break
        assert a.board.result.digits == "3" and a.learning.memory.labels.tolist() == [3]
        assert [p.name[:7] for p in (tmp_path / "corrections").glob("*.json")] == ["label-3"]
    finally:
        gate.set()
        pygame.quit()


def test_typing_again_replaces_the_correction_of_the_same_drawing(learning_app, tmp_path):
    a = learning_app
    correct(a, ONE, pygame.K_7)
    key(a, pygame.K_3)  # "no, it was 3": the same drawing, a new correction in place of the first
    files = sorted(p.name for p in (tmp_path / "corrections").iterdir())
    assert len(files) == 2 and files[0].startswith("label-3") and {Path(f).suffix for f in files} == {".json", ".png"}
    assert a.learning.memory.labels.tolist() == [3] and a.board.result.digits == "3"
    key(a, pygame.K_c)
    correct(a, ONE, pygame.K_5)  # a new drawing: a new file
    assert len(list((tmp_path / "corrections").glob("*.json"))) == 2


def test_a_correction_replaced_with_learning_off_is_not_learned_when_it_is_on_again(learning_app, tmp_path):
    # 7 typed (learned), learning off, 3 typed: the 7's files were deleted but it stayed in the
    # memory, and with learning on again the drawing read 7, the answer the user had taken back
    a = learning_app
    correct(a, ONE, pygame.K_7)
    assert a.board.result.digits == "7"
    key(a, pygame.K_a)
    key(a, pygame.K_3)
    assert [p.name[:7] for p in (tmp_path / "corrections").glob("*.json")] == ["label-3"]
    key(a, pygame.K_a)
    assert a.learning.memory.corrections() == 0 and a.board.result.digits == "1"


def test_an_answer_cleared_without_a_correction_is_learned_in_memory_only(learning_app, tmp_path):
    a = learning_app
    draw(a, ONE)
    key(a, pygame.K_RETURN)
    key(a, pygame.K_c)  # the "1" shown was right: going on accepts it
    assert a.learning.status() == "learning from 0 corrections and 1 accepted answer"
    assert a.learning.memory.labels.tolist() == [1] and not (tmp_path / "corrections").exists()
    correct(a, ONE, pygame.K_7)
    key(a, pygame.K_c)  # a corrected drawing is a correction, not also an accepted answer
    draw(a, ONE)
    key(a, pygame.K_ESCAPE)  # never read: nothing to accept
    assert a.learning.status() == "learning from 1 correction and 1 accepted answer"
    draw(a, ONE)
    key(a, pygame.K_RETURN)
    assert a.board.result.digits == "7"  # the correction outweighs the accepted answer in the same place
    key(a, pygame.K_a)  # learning off: nothing is accepted
    key(a, pygame.K_DELETE)
    key(a, pygame.K_a)
    assert a.learning.memory.accepted() == 1
    key(a, pygame.K_f)
    key(a, pygame.K_y)  # forgetting forgets accepted answers too
    assert len(a.learning.memory) == 0


def test_an_answer_whose_correction_was_begun_is_not_learned_as_right(learning_app, tmp_path):
    # "11" read; the user types "4" of "42" (so it was wrong), then clears: that was learned as
    # an accepted answer, teaching the player the very reading the user had started to correct
    a = learning_app
    draw(a, ELEVEN)
    key(a, pygame.K_RETURN)
    assert a.board.result.digits == "11"
    key(a, pygame.K_4)
    assert a.board.label == "4"
    key(a, pygame.K_ESCAPE)
    assert a.learning.memory.accepted() == 0 and a.learning.status() == "learning from 0 corrections"
    assert not (tmp_path / "corrections").exists()


def test_a_corrections_folder_that_may_not_be_read_is_one_line_not_a_crash(tmp_path, monkeypatch, capsys):
    # --corrections-dir under a folder without read permission: Path.exists/is_dir raise
    # PermissionError. Reading it said "[Errno 13] Permission denied: '...'", and F, Y ended the
    # player with "internal error: PermissionError"
    folder = tmp_path / "corrections"
    exists, is_dir = Path.exists, Path.is_dir

    def locked(real):
        def check(path):
            if path == folder:
                raise PermissionError(13, "Permission denied", str(path))
            return real(path)
        return check

    monkeypatch.setattr(Path, "exists", locked(exists))
    monkeypatch.setattr(Path, "is_dir", locked(is_dir))
    a = open_app(LearningModel(), tmp_path)
    try:
        a.learning.done.wait(10)
        assert capsys.readouterr().err == (f"digits-player: cannot learn from {folder}: Permission denied "
                                           "(correction not used)\n")
        draw(a, ONE)
        key(a, pygame.K_RETURN)
        key(a, pygame.K_f)
        key(a, pygame.K_y)
        assert a.running and a.board.message == (f"forgot the corrections learned; their files in {folder} "
                                                 "cannot be read (Permission denied)")
    finally:
        pygame.quit()


@pytest.mark.parametrize("answer, deleted", [(pygame.K_y, False), (pygame.K_d, True)])
def test_forget_answered_with_shift_held(learning_app, tmp_path, answer, deleted):
    # the question says "Y: ..., D: ...": typed as capitals, the Shift key came first and was
    # taken as "any other key: no"
    a, folder = learning_app, tmp_path / "corrections"
    correct(a, ONE, pygame.K_7)
    key(a, pygame.K_f)
    key(a, pygame.K_LSHIFT, pygame.KMOD_LSHIFT)
    assert a.forget_asked and "forget" in a.board.message
    key(a, answer, pygame.KMOD_LSHIFT)
    assert len(a.learning.memory) == 0 and not list(folder.glob("*.json"))
    assert (folder / "forgotten").exists() != deleted


def test_forget_asks_first_and_keeps_the_files_unless_told(learning_app, tmp_path):
    a, folder = learning_app, tmp_path / "corrections"
    correct(a, ONE, pygame.K_7)
    key(a, pygame.K_f)
    assert "forget" in a.board.message
    key(a, pygame.K_n)  # any other key: nothing happens
    assert a.board.message == "nothing forgotten" and len(a.learning.memory) == 1
    key(a, pygame.K_f)
    key(a, pygame.K_y)
    assert len(a.learning.memory) == 0 and not list(folder.glob("*.json"))
    assert sorted(p.suffix for p in (folder / "forgotten").iterdir()) == [".json", ".png"]
    assert "kept in" in a.board.message
    key(a, pygame.K_RETURN)
    assert a.board.result.digits == "1"  # read again without what was forgotten
    key(a, pygame.K_c)
    correct(a, ONE, pygame.K_4)
    key(a, pygame.K_f)
    key(a, pygame.K_d)
    assert not list(folder.glob("*.*")) and len(list((folder / "forgotten").iterdir())) == 2


def test_corrections_in_the_folder_are_learned_at_start_unless_turned_off(tmp_path):
    folder = tmp_path / "corrections"
    folder.mkdir()
    (folder / "label-7.json").write_text(json.dumps({"canvas": [640, 560], "brush": 14, "strokes": ONE,
                                                     "label": "7"}))
    for flag, expected in (([], "7"), (["--no-learning"], "1")):
        args = player_app.parse_args(["--corrections-dir", str(folder), *flag])
        a = App(Options(size=(1000, 640), corrections_dir=args.corrections_dir, learning=not args.no_learning),
                loader=ModelLoader.of(LearningModel()), log=EventLog(True, io.StringIO()))
        a.open()
        try:
            a.step()
            if not flag:
                a.learning.done.wait(10)
                assert a.learning.status() == "learning from 1 correction"
                assert any("learning from 1 correction" in n for n in model_notes(
                    a.loader, 0.5, None, folder, a.learning.status()))
            draw(a, ONE)
            key(a, pygame.K_RETURN)
            assert a.board.result.digits == expected
        finally:
            pygame.quit()


def test_forget_with_learning_off_still_moves_the_files(tmp_path):
    folder = tmp_path / "corrections"
    folder.mkdir()
    (folder / "label-7.json").write_text(json.dumps({"canvas": [640, 560], "strokes": ONE, "label": "7"}))
    a = App(Options(size=(1000, 640), corrections_dir=folder, learning=False),
            loader=ModelLoader.of(LearningModel()), log=EventLog(True, io.StringIO()))
    a.open()
    try:
        a.step()
        key(a, pygame.K_f)
        key(a, pygame.K_y)
        assert a.board.message.startswith("forgot 1 correction") and a.learning.status() == "learning off"
        assert [p.name for p in (folder / "forgotten").iterdir()] == ["label-7.json"]
    finally:
        pygame.quit()


def test_tests_never_read_or_write_the_users_own_corrections():
    # tests/conftest.py points the user data folder at a temporary one for the whole run
    from player.session import default_dir

    folder = default_dir("corrections")
    assert Path(os.environ["XDG_DATA_HOME"]) in folder.parents
    assert Path.home() / ".local" / "share" not in folder.parents
