"""The window at every size: nothing hangs, text stays inside its box, nothing overlaps.

Runs the app's own frame (App.step) under SDL's dummy video driver at window sizes from 1x1 px
up, with the longest things the app shows: a 12-digit answer, an outdated one ("drawing
changed"), a long error on the status line, the help card with a model error. The draw
functions return the rectangles of the texts they wrote; the assertions are on those.
"""

import contextlib
import io
import signal

import numpy as np
import pygame
import pytest

from player import view
from player.app import HELP, App, Options
from player.board import BRUSH
from player.model import Result
from player.session import EventLog, Learning, ModelLoader
from player.view import Fonts, fit, wrap

MINIMUM = (320, 240)  # digits-player --size refuses less; a running window can still be made smaller
BELOW_MINIMUM = [(1, 1), (2, 2), (7, 5), (40, 30), (100, 80), (200, 150), (319, 239)]
FROM_MINIMUM = [MINIMUM, (321, 241), (400, 300), (480, 320), (640, 400), (800, 500), (1000, 640), (1280, 800),
                (1920, 1080), (320, 1000), (1920, 240)]
LONG_ERROR = ("/home/someone/a/rather/long/path/to/models/my-own-digits-model-retrained-on-corrections.onnx: "
              "made for preprocessing version '7', this player has '1': re-export the model or update the player")


@contextlib.contextmanager
def no_hang(seconds: float = 20.0):
    """A hang becomes a test failure (the text-fitting loops once never ended in a small window),
    not a test run that never ends. Generous: this is a deadline, not a speed test."""
    def expire(signum, frame):
        raise TimeoutError(f"still running after {seconds} s: a loop that does not end")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def twelve_digits() -> Result:
    probs = np.full((12, 10), 0.001, np.float32)
    probs[np.arange(12), [int(c) for c in "123456789012"]] = 0.991
    return Result("123456789012", probs, 1.0)


def open_app(size, state: str) -> App:
    """The app at `size`: "empty" (the canvas hints), "answered" (a 12-digit answer the drawing
    has since changed from, a long error below, help open with a model error), or "help"."""
    if state == "empty":
        loader = ModelLoader.of(None)
    else:
        loader = ModelLoader(lambda: None)
        loader.error, loader.model = LONG_ERROR, None
        loader.done.set()
    app = App(Options(size=size), loader=loader, log=EventLog(False, io.StringIO()))
    app.open()
    app.step()
    if state != "empty":
        board = app.board
        board.pen_down(10, 10)
        board.pen_move(10, 60)
        board.pen_up()
        board.set_result(twelve_digits(), [(5.0, 5.0, 15.0, 65.0)])
        board.pen_down(30, 10)  # the drawing changed since: "drawing changed: Enter"
        board.pen_up()
        board.focus = 11
        board.say("cannot save to " + "/very/long/folder" * 12 + ": Permission denied", error=True)
        app.show_help = True
    app.step()
    return app


def resize(app: App, size) -> None:
    pygame.display.set_mode(size, pygame.RESIZABLE)
    app.step()


def overlapping(rects):
    return [(a, b) for i, a in enumerate(rects) for b in rects[i + 1:] if a.colliderect(b)]


@pytest.mark.parametrize("state", ["empty", "answered"])
def test_every_window_size_draws_and_text_fits_its_box(state):
    with no_hang():
        app = open_app(MINIMUM, state)
        try:
            for size in BELOW_MINIMUM:  # must not hang; too small for the text to fit
                resize(app, size)
                assert app.window.size == size
            for size in FROM_MINIMUM:
                resize(app, size)
                screen = pygame.Rect((0, 0), size)
                parts = app.window.parts
                assert set(parts) == ({"canvas", "panel", "status"} | ({"help"} if state != "empty" else set()))
                for name, part in parts.items():
                    assert screen.contains(part.box), (size, name, part.box)
                    if name != "canvas" or state == "empty":  # each says something at every size
                        assert part.texts, (size, name)
                    for rect in part.texts:
                        assert part.box.contains(rect), (size, name, rect, part.box)
                    if name != "canvas":  # the canvas's digit labels follow the ink
                        assert not overlapping(part.texts), (size, name, overlapping(part.texts))
                if state == "answered":
                    answer = parts["panel"].hits
                    assert len(answer) == 12 and all(parts["panel"].box.contains(r) for r in answer), size
        finally:
            pygame.quit()


def test_a_12_digit_answer_fits_at_640x400_beside_drawing_changed():
    with no_hang():
        app = open_app((640, 400), "answered")
        try:
            app.show_help = False
            app.step()
            panel = app.window.parts["panel"]
            assert len(panel.hits) == 12 and all(panel.box.contains(r) for r in panel.hits)
            assert panel.hits[-1].right <= 640
            assert not overlapping(panel.texts)  # "confidence 100%" used to run into "drawing changed: Enter"
        finally:
            pygame.quit()


def test_the_model_error_is_on_the_help_card_at_the_smallest_window():
    with no_hang():
        app = open_app(MINIMUM, "answered")
        try:
            card = app.window.parts["help"]
            assert all(card.box.contains(r) for r in card.texts)
            # the title, the error wrapped over a few lines (not cut off), maybe fewer keys
            assert len(card.texts) >= 3 and card.texts[-1].bottom <= card.box.bottom
        finally:
            pygame.quit()


@pytest.fixture
def cut(monkeypatch) -> list[str]:
    """The texts view.fit had to shorten to fit (cut with "..."), recorded as the window draws."""
    shortened = []

    def fit_recording(font, words, width):
        shown = fit(font, words, width)
        if shown != words:
            shortened.append(words)
        return shown

    monkeypatch.setattr(view, "fit", fit_recording)
    return shortened


@pytest.mark.parametrize("size", [(640, 400), (800, 500), (1000, 640), (1280, 800), (1920, 1080)])
def test_the_help_card_says_what_every_key_does_in_full(cut, size):
    # the card was 640 px wide at every window size: "clear (an answer you did not correct is
    # learned as rig...", "after an answer: it was N (saves a correction, learned...", "forget
    # it (asks f..." even in a 1920x1080 window
    with no_hang():
        app = open_app(size, "empty")
        try:
            app.show_help = True
            app.step()
            card = app.window.parts["help"]
            assert pygame.Rect((0, 0), size).contains(card.box)
            assert len(card.texts) >= 1 + 2 * len(HELP)  # the title, every key and what it does
            assert not [words for words in cut if words in {what for _, what in HELP}], (size, cut)
        finally:
            pygame.quit()


@pytest.mark.parametrize("learning", [True, False])
def test_the_forget_question_fits_the_status_line_of_the_default_window(cut, learning):
    with no_hang():
        app = open_app((1000, 640), "empty")
        try:
            for k in ([] if learning else [pygame.K_a]) + [pygame.K_f]:  # learning off: a longer key hint
                pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=k, mod=0, unicode="", scancode=0))
                app.step()
            assert app.forget_asked and app.board.message == Learning.QUESTION
            assert "any other key: no" in Learning.QUESTION and Learning.QUESTION not in cut
        finally:
            pygame.quit()


def test_the_pen_follows_the_window():
    with no_hang():
        app = open_app((1000, 640), "empty")
        try:
            assert app.board.brush == BRUSH  # --brush is in pixels of the default window
            resize(app, MINIMUM)
            small = app.board.brush
            assert small < BRUSH / 2
            resize(app, (1920, 1080))
            assert app.board.brush > BRUSH
            resize(app, (1000, 640))
            assert app.board.brush == pytest.approx(BRUSH)
        finally:
            pygame.quit()


@pytest.mark.parametrize("width", [-3, 0, 1, 2, 5, 11, 40, 120, 2000])
def test_fit_and_wrap_end_and_fit_any_width(width):
    pygame.font.init()
    font = Fonts().get(15)
    with no_hang(5):
        for words in ["", "...", "a", LONG_ERROR, "x" * 500]:
            cut = fit(font, words, width)
            assert font.size(cut)[0] <= max(width, 0) or cut == ""
            assert cut == words or cut.endswith("...") or cut == ""
            for line in wrap(font, words, width):
                assert font.size(line)[0] <= max(width, 0) or line == ""
