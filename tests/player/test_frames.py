"""Frames that do not grow with the ink: the window's ink is drawn piece by piece and kept, and
the drawing is read in a background thread, newest first, with nothing rendered twice."""

import io
import threading

import numpy as np
import pygame
import pytest

import player.preprocess
from player import ink
from player.app import App, Options
from player.board import Board
from player.ink import Ink
from player.model import Model
from player.session import EventLog, ModelLoader, Reader


class GatedModel:
    """Reads every candidate digit as a sure "1", but only once `gate` is set: the test decides
    when the model is done. `reading` is set while a call waits at the gate; `calls` counts the
    images of each call."""

    metadata = {}
    has_not_digit = False
    read_parts = Model.read_parts  # the real path from the segmenter's parts to an answer

    def __init__(self):
        self.gate, self.reading, self.calls = threading.Event(), threading.Event(), []

    def predict_parts(self, images):
        self.reading.set()
        assert self.gate.wait(10), "the test never opened the gate"
        self.reading.clear()
        self.calls.append(len(images))
        probs = np.full((len(images), 10), 0.01, np.float32)
        probs[:, 1] = 0.91
        return probs, np.zeros(len(images), np.float32)


@pytest.fixture
def app():
    model = GatedModel()
    a = App(Options(size=(1000, 640), events=True), loader=ModelLoader.of(model), log=EventLog(True, io.StringIO()))
    a.model_under_test = model
    a.open()
    a.step()
    yield a
    a.reader.stop(1)
    pygame.quit()


def pen(a, kind, x, y):
    """A mouse event at canvas pixel (x, y)."""
    pos = (int(a.window.layout.canvas.x + x), int(a.window.layout.canvas.y + y))
    if kind == pygame.MOUSEMOTION:
        pygame.event.post(pygame.event.Event(kind, pos=pos, rel=(0, 0), buttons=(1, 0, 0)))
    else:
        pygame.event.post(pygame.event.Event(kind, pos=pos, button=1))


def stroke_events(a, stroke, up=True):
    pen(a, pygame.MOUSEBUTTONDOWN, *stroke[0])
    for point in stroke[1:]:
        pen(a, pygame.MOUSEMOTION, *point)
    if up:
        pen(a, pygame.MOUSEBUTTONUP, *stroke[-1])


def pixels(surface):
    return pygame.image.tostring(surface, "RGB")


def test_ink_drawn_piece_by_piece_equals_ink_drawn_at_once(app):
    app.model_under_test.gate.set()
    spiral = [(300 + 8 * t * np.cos(t), 280 + 8 * t * np.sin(t)) for t in np.linspace(0, 20, 120)]
    pen(app, pygame.MOUSEBUTTONDOWN, *spiral[0])
    for i in range(1, len(spiral), 7):  # a stroke arriving over many frames, as from a mouse
        for point in spiral[i : i + 7]:
            pen(app, pygame.MOUSEMOTION, *point)
        app.step()
    pen(app, pygame.MOUSEBUTTONUP, *spiral[-1])
    stroke_events(app, [(100, 100), (120, 300)])
    app.step()
    assert len(app.board.strokes) == 2
    at_once = Ink().update(app.board)  # a fresh layer draws it all in one go
    assert pixels(app.window.ink.surface) == pixels(at_once)
    assert pixels(at_once) != pixels(Ink().update(Board(size=app.board.size)))  # (and there is ink)


def test_a_button_release_missed_keeps_the_stroke():
    board = Board()
    board.pen_down(10, 10)
    board.pen_move(10, 80)
    board.pen_down(50, 10)  # the button came up outside the window: no pen_up
    (kept,) = board.strokes
    assert kept[0] == (10, 10) and kept[-1] == (10, 80) and board.current == [(50, 10)]


def test_a_frame_draws_only_the_new_points(app, monkeypatch):
    app.model_under_test.gate.set()
    stroke_events(app, [(100 + i, 100 + (i % 40)) for i in range(0, 400, 2)], up=False)
    app.step()
    drawn = []
    real = ink.draw_stroke
    monkeypatch.setattr(ink, "draw_stroke", lambda surface, stroke, *a, **k: (drawn.append(len(stroke)),
                                                                               real(surface, stroke, *a, **k)))
    pen(app, pygame.MOUSEMOTION, 500, 136)
    app.step()
    assert drawn == [2]  # the new point, joined to the one before: not the 200 already there
    pen(app, pygame.MOUSEBUTTONUP, 500, 136)
    app.step()
    assert drawn == [2]  # lifting the pen draws nothing again
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_BACKSPACE, mod=0, unicode="", scancode=0))
    app.step()
    assert drawn == [2]  # undo: the canvas is empty again, drawn afresh


def test_frames_go_on_while_the_model_reads(app):
    model = app.model_under_test
    stroke_events(app, [(300, 150), (300, 420)])
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RETURN, mod=0, unicode="", scancode=0))
    app.step()
    assert model.reading.wait(5)  # the reader thread is in the model now ...
    frames = app.frames
    for _ in range(3):
        app.step()  # ... and frames do not wait for it
    assert app.frames == frames + 3 and app.board.result is None and not model.calls
    model.gate.set()
    app.reader.wait(5)
    app.step()
    assert app.board.result.digits == "1" and model.calls == [1]


def test_an_answer_for_ink_since_cleared_is_dropped(app):
    model = app.model_under_test
    stroke_events(app, [(300, 150), (300, 420)])
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RETURN, mod=0, unicode="", scancode=0))
    app.step()
    assert model.reading.wait(5)
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_ESCAPE, mod=0, unicode="", scancode=0))
    app.step()
    model.gate.set()
    app.reader.wait(5)
    app.step()
    log = app.log.stream.getvalue()
    assert app.board.result is None and app.board.empty and '"recognised"' not in log


def drawn_board(*strokes) -> Board:
    board = Board()
    for stroke in strokes:
        board.pen_down(*stroke[0])
        for point in stroke[1:]:
            board.pen_move(*point)
        board.pen_up()
    return board


def test_the_newest_drawing_wins_and_nothing_is_drawn_or_read_twice(monkeypatch):
    drawn = []
    real = player.preprocess.digits_to_images
    monkeypatch.setattr(player.preprocess, "digits_to_images", lambda groups, *a, **k: (drawn.append(len(groups)),
                                                                                         real(groups, *a, **k))[1])
    model, reader = GatedModel(), Reader()
    try:
        board = drawn_board([(100, 100), (100, 300)])
        reader.ask(model, board, 0.5, live=False)  # read at once ...
        assert model.reading.wait(5)
        versions = []
        for x in (300, 500):  # ... while two more digits are written, each handed to the reader
            board.pen_down(x, 100)
            board.pen_move(x, 300)
            board.pen_up()
            versions.append(board.version)
            reader.ask(model, board, 0.5, live=True)
        model.gate.set()
        answers = []
        for _ in range(100):  # two answers, a few waits
            if reader.idle:
                break
            reader.wait(5)
            answers += reader.take()
        assert [a.version for a in answers] == [versions[0] - 3, versions[1]]  # the middle one was replaced
        assert [a.result.digits for a in answers] == ["1", "111"] and len(answers[1].boxes) == 3
        # candidates: each stroke alone (too far apart to be one digit); the first one's was kept
        assert drawn == [1, 2] and model.calls == [1, 2]
    finally:
        reader.stop(1)
