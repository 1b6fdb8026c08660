"""The drawing app: draw a digit or a whole number with the mouse, press Enter, read the answer.

    digits-player [FILE.json] [--model PATH] [--threshold P] [--brush PX] [--size WxH] [--events]

The main loop is the usual three steps, once per frame (App.step):

    handle_events()  mouse and keys -> changes to the Board (the drawing and what was read)
    update()         the model arriving from its loading thread, asked-for and live readings
    draw()           the Board -> pixels (player/view.py)

The rooms: player/board.py holds the state (no pygame: the tests drive it without a window),
player/view.py the pixels (player/ink.py the drawing's), player/session.py the threads that
load the model and read the drawing, the --events stream and saving; this module the loop,
the keys and the command line. App.step() runs one frame so the tests can feed it synthetic
pygame events.

Exit status: 0; 2 when the model cannot be loaded (the window says why, and stays open until
the user has read it and quits; --events also gets an "error" event at once), FILE.json is
unusable, or there is no display; 1 on an internal error. Each failure is one line on stderr.

Start-up is kept short: only pygame is imported before the first frame; onnxruntime is
imported by the model loader in a background thread, and Enter before the model is there
is queued, not refused.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# Before pygame is imported: its greeting would corrupt the --events stream on stdout, and
# a window class of our own lets window managers and test drivers (xdotool) find us.
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
os.environ.setdefault("SDL_VIDEO_X11_WMCLASS", "digits-player")


def _import_pygame_lean() -> None:
    """Import pygame without the optional extras it pulls in on import: numpy (for surfarray,
    unused here) and pkg_resources (a slow fallback for its data files). Together they are
    most of pygame's import time, and so of the time to the first frame. numpy still comes,
    with the model, in the loading thread. A None in sys.modules makes an import fail, which
    pygame handles (both are optional to it); the entries are removed right after."""
    skipped = [name for name in ("numpy", "pkg_resources") if name not in sys.modules]
    if "pygame" in sys.modules:
        return
    for name in skipped:
        sys.modules[name] = None
    try:
        import pygame  # noqa: F401
    finally:
        for name in skipped:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


_import_pygame_lean()

import pygame  # noqa: E402

from player import DEFAULT_THRESHOLD, __version__, brush_width, probability, window_size  # noqa: E402
from player.board import BRUSH, Board, Point, Reading  # noqa: E402
from player.drawing import Drawing, DrawingError, load_drawing  # noqa: E402
from player.session import (  # noqa: E402
    Answer,
    EventLog,
    Learning,
    ModelLoader,
    Reader,
    default_dir,
    model_notes,
    save_board,
    seconds_since_process_start,
    warn,
)
from player.view import (  # noqa: E402
    BG,
    NO_DISPLAY,
    Layout,
    NoDisplay,
    Window,
    draw_canvas,
    draw_help,
    draw_panel,
    draw_status,
    open_display,
)

DEFAULT_SIZE = (1000, 640)
LIVE_INTERVAL = 0.25  # seconds between live recognitions while the pen moves: enough to feel live, cheap on CPU
FPS = 60
WINDOW_TITLE = "digits"

# keys that only change what another key means: pressed on their own they answer nothing (Shift
# before the Y of "forget? Y: yes")
MODIFIER_KEYS = {pygame.K_LSHIFT, pygame.K_RSHIFT, pygame.K_LCTRL, pygame.K_RCTRL, pygame.K_LALT, pygame.K_RALT,
                 pygame.K_LMETA, pygame.K_RMETA, pygame.K_LSUPER, pygame.K_RSUPER, pygame.K_CAPSLOCK,
                 pygame.K_NUMLOCK, pygame.K_MODE}
# the number row and the keypad (whose codes are not in digit order: SDL puts KP_0 after KP_9)
DIGIT_KEYS = {getattr(pygame, f"K_{prefix}{d}"): str(d) for d in range(10) for prefix in ("", "KP")}

HELP = [
    ("draw", "with the mouse: one digit or a whole number"),
    ("Enter", "read the drawing"),
    ("L", "live: read while drawing"),
    ("Backspace, Ctrl+Z", "undo the last stroke"),
    ("Esc, Delete, C", "clear (an answer you did not correct is learned as right)"),
    ("Left, Right", "digit shown in the bars (or click it)"),
    ("0-9", "after an answer: it was N (saves a correction, learned at once)"),
    ("A, F", "learning from your corrections on/off; forget it (asks first)"),
    ("S", "save the drawing"),
    ("H, F1", "this help"),
    ("Q", "quit"),
]


@dataclass
class Options:
    model: str | None = None
    threshold: float = DEFAULT_THRESHOLD
    brush: float = BRUSH
    size: tuple[int, int] = DEFAULT_SIZE
    events: bool = False
    save_dir: Path | None = None
    corrections_dir: Path | None = None
    learning: bool = True  # learn from the corrections in corrections_dir (player/adapt.py)
    drawing: Drawing | None = None
    screenshot: Path | None = None


class App:
    def __init__(self, options: Options, loader: ModelLoader | None = None, log: EventLog | None = None):
        self.options = options
        # the drawing, when it is read next (a drawing given to open: as soon as the model is there),
        # and the thread that reads it
        self.board = Board(brush=options.brush)
        self.reading = Reading(pending=options.drawing is not None)
        self.reader = Reader()
        # the model, arriving from its loading thread, and the --events stream
        self.loader = loader or ModelLoader.from_path(options.model)
        self.model_reported = False  # its arrival (or failure) was told to the user
        self.log = log or EventLog(options.events)
        self.learning = Learning(options.corrections_dir, options.learning)  # read once the model is there
        self.forget_asked = False  # F was pressed: the next key answers "forget?"
        # the window (None until open), and what is shown over it
        self.window: Window | None = None
        self.show_help = False
        self.screenshot_due = False
        # the loop
        self.running = True
        self.exit_code = 0
        self.frames = 0

    @property
    def model(self):
        return self.loader.model if self.loader.done.is_set() else None

    # -- window

    def open(self) -> None:
        """Open the window; NoDisplay (its message one line for the user) if there is no display."""
        screen = open_display(self.options.size, WINDOW_TITLE)
        # The reader thread shares the interpreter lock with this one: have it handed over every
        # millisecond (Python's default is 5), so that a frame never waits long for it.
        sys.setswitchinterval(0.001)
        self.window = Window(screen, Layout.of(screen.get_size()))
        self.fit_board()
        if self.options.drawing is not None:
            self.board.load(self.options.drawing)  # fitted into the canvas as it is now
        self.board.say("loading the model..." if not self.loader.done.is_set() else "draw a digit or a number")

    def fit_board(self) -> None:
        """The drawing and the pen follow the canvas: --brush is in pixels of the default window's
        canvas, so a small window gets a thin pen instead of blobs, and a large one a bolder one."""
        size = self.window.layout.canvas.size
        self.board.resize(size)
        reference = Layout.of(DEFAULT_SIZE).canvas.size
        self.board.brush = max(self.options.brush * min(size[0] / reference[0], size[1] / reference[1]), 1.0)

    def run(self, max_frames: int | None = None) -> int:
        clock = pygame.time.Clock()
        while self.running:
            self.step()
            if max_frames is not None and self.frames >= max_frames:
                # a smoke run: the exit status and --events say whether the model loads and reads
                self.settle(30)
                break
            clock.tick(FPS)
        return self.exit_code

    def settle(self, timeout: float = 30) -> bool:
        """Wait until the model is there (or failed) and every reading asked for has been shown,
        at most `timeout` seconds; whether it all finished. For smoke runs and tests: the window
        itself never waits."""
        deadline = time.monotonic() + timeout
        self.loader.wait(timeout)
        while True:
            self.update()
            if not self.reading.pending and self.reader.idle:
                return True
            if time.monotonic() >= deadline:
                return False
            self.reader.wait(min(0.05, max(deadline - time.monotonic(), 0)))

    def step(self) -> None:
        """One frame."""
        had_events = self.handle_events()
        self.update()
        view = self.view_key()
        if had_events or view != self.window.shown:  # an idle window is not redrawn: no CPU burnt at rest
            self.draw()
            self.window.shown = view
        self.frames += 1
        if self.frames == 1:
            # The window is on screen and takes input now; only then fetch the model, so its
            # import (which holds the GIL for a while) cannot delay the first frame.
            self.loader.start()
            r = self.window.layout.canvas
            self.log.emit("ready", canvas=[r.x, r.y, r.w, r.h], startup_s=seconds_since_process_start())

    def report_error(self, message: str) -> None:
        """A failure the user must see: on the status line, on stderr, and as an --events line."""
        self.board.say(message, error=True)
        warn(message)
        self.log.emit("error", message=message)

    # -- 1. events

    def handle_events(self) -> bool:
        """Returns whether there were any (an exposed or resized window needs a redraw too)."""
        events = pygame.event.get()
        for event in events:
            if event.type == pygame.QUIT:
                self.running = False
            elif event.type == pygame.KEYDOWN:
                self.handle_key(event.key, getattr(event, "mod", 0))
            elif event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
                self.handle_click(event.pos)
            elif event.type == pygame.MOUSEMOTION and self.board.current is not None:
                self.board.pen_move(*self.to_canvas(event.pos))
            elif event.type == pygame.MOUSEBUTTONUP and event.button == 1 and self.board.current is not None:
                self.board.pen_up()
                if self.board.live:
                    self.reading.pending = True
            elif event.type == pygame.WINDOWFOCUSLOST and self.board.current is not None:
                self.board.pen_up()  # the button may come up elsewhere, unseen
        return bool(events)

    def handle_click(self, pos: tuple[int, int]) -> None:
        if self.show_help:
            self.show_help = False
        elif self.window.layout.canvas.collidepoint(pos):
            self.board.pen_down(*self.to_canvas(pos))
        elif "panel" in self.window.parts:
            for i, rect in enumerate(self.window.parts["panel"].hits):  # the answer's digits, as last drawn
                if rect.collidepoint(pos):
                    self.board.focus = i

    def to_canvas(self, pos: tuple[int, int]) -> Point:
        """Window pixels -> canvas pixels, kept inside the canvas (the pen may leave it)."""
        r = self.window.layout.canvas
        return (min(max(pos[0] - r.x, 0), r.w - 1), min(max(pos[1] - r.y, 0), r.h - 1))

    def handle_key(self, key: int, mod: int = 0) -> None:
        board = self.board
        ctrl = bool(mod & pygame.KMOD_CTRL)
        if key in MODIFIER_KEYS:
            return
        if self.forget_asked:  # F asked "forget?": Y forgets, D deletes too, any other key keeps (Enter reads again)
            self.forget_asked = False
            board.say(self.learning.answer(pygame.key.name(key)))
        elif self.show_help and key in (pygame.K_ESCAPE, pygame.K_h, pygame.K_F1):
            self.show_help = False  # Esc closes the help before it would clear the drawing
        elif key in (pygame.K_RETURN, pygame.K_KP_ENTER):
            self.reading.pending = True
        elif key == pygame.K_BACKSPACE and board.label:
            board.label = board.label[:-1]  # fixing a label being typed, not the drawing
            board.say(f"this was {board.label}..." if board.label else "label cleared")
        elif key == pygame.K_BACKSPACE or (key == pygame.K_z and ctrl):
            board.undo()
        elif key in (pygame.K_ESCAPE, pygame.K_DELETE) or (key == pygame.K_c and not ctrl):
            self.learning.accepted(self.model, board)  # going on without a correction: the answer was right
            board.clear()
            self.reading.pending = False
        elif key == pygame.K_l:
            board.live = not board.live
            board.say(f"live recognition {'on' if board.live else 'off'}")
            if board.live and not board.empty:
                self.reading.pending = True
        elif key in (pygame.K_a, pygame.K_f):  # learning on/off; forget (asks first)
            self.forget_asked, self.reading.pending = key == pygame.K_f, key == pygame.K_a and board.result is not None
            board.say(self.learning.QUESTION if key == pygame.K_f else self.learning.switch(self.model))
        elif key == pygame.K_s:
            self.save()
        elif key in (pygame.K_h, pygame.K_F1):
            self.show_help = not self.show_help
        elif key == pygame.K_q:
            self.running = False
        elif key == pygame.K_LEFT:
            board.move_focus(-1)
        elif key == pygame.K_RIGHT:
            board.move_focus(1)
        elif key in DIGIT_KEYS:
            label = board.type_digit(DIGIT_KEYS[key])
            if label is not None:
                self.save(label)

    def save(self, label: str | None = None) -> Path | None:
        """S saves the drawing; a label saves it as a correction. A failure loses nothing: the
        drawing stays on the canvas and the user can fix the folder and press S again."""
        board = self.board
        if not board.strokes:
            board.say("nothing to save: draw something first")
            return None
        if label is None:
            folder = self.options.save_dir or default_dir("drawings")
        else:
            folder = self.options.corrections_dir or default_dir("corrections")
        try:
            path = save_board(board, folder, label)
        except (OSError, pygame.error) as e:
            self.report_error(f"cannot save to {folder}: {getattr(e, 'strerror', None) or e}")
            return None
        board.say(f"saved {path.name} ({'correction: ' + label if label else 'drawing'})")
        fields = {"label": label} if label is not None else {}
        self.log.emit("saved", path=str(path), **fields)
        if label is not None:  # learned at once (in place of this drawing's last correction), read again
            try:
                self.reading.pending = self.learning.correction_saved(self.model, board, path, label) > 0
            except Exception as e:  # the file is saved; only learning from it failed
                self.report_error(f"cannot learn from {path.name}: {type(e).__name__}: {e}")
        return path

    # -- 2. update

    def update(self) -> None:
        window, board, reading = self.window, self.board, self.reading
        if window is not None and window.screen.get_size() != window.size:
            # the user resized the window: pygame already resized the surface
            window.layout = Layout.of(window.screen.get_size())
            self.fit_board()
        if self.loader.done.is_set() and not self.model_reported:
            self.model_reported = True
            self.learning.start(self.model)
            if self.loader.error:
                self.exit_code = 2  # shown until the user quits, then reported by the exit status
                self.report_error(self.loader.error)
            elif not reading.pending and board.message.startswith("loading"):
                board.say("model ready: draw a digit or a number")
        if self.learning.caught_up() and board.correction is not None:
            reading.pending = True  # corrected while the corrections folder was being read: learned now
        if self.frames == 0:
            return  # nothing slow before the first frame is on screen (and "ready" comes first)
        for answer in self.reader.take():
            self.show_answer(answer)
        if reading.pending:
            if self.model is not None:
                reading.pending = False
                self.ask()
            elif self.loader.error:
                reading.pending = False
                board.say(self.loader.error, error=True)
            elif board.empty:
                reading.pending = False
                board.say("draw a digit first")
            else:
                board.say("loading the model... it reads the drawing as soon as it is ready")
        elif (board.live and board.current and self.model is not None and board.version != reading.live_version
              and time.monotonic() >= reading.live_due and self.reader.idle):
            self.ask(live=True)  # at most every LIVE_INTERVAL while the pen moves, one at a time

    def ask(self, live: bool = False) -> None:
        """Hand the drawing as it is now to the reader; show_answer tells the user when it is read."""
        board, reading = self.board, self.reading
        if board.empty:
            board.say("draw a digit first")
            return
        reading.live_version, reading.live_due = board.version, time.monotonic() + LIVE_INTERVAL
        self.reader.ask(self.model, board, self.options.threshold, live, self.learning.in_use())

    def show_answer(self, answer: Answer) -> None:
        """An answer from the reader: on the board and the status line, as an --events line, and
        in a screenshot if one was asked for. The digits found are outlined on the canvas, so
        the user sees how a number was split."""
        board, reading = self.board, self.reading
        if answer.error:
            self.report_error(answer.error)
            return
        if answer.rewrites != board.rewrites:  # read before an undo, clear or resize: about ink that is gone
            reading.pending = not answer.live and not board.empty  # asked for with Enter: read what is there now
            return
        if answer.result is None:
            board.say("draw a digit first")
            return
        result, live = answer.result, answer.live
        board.set_result(result, answer.boxes, stale=answer.version != board.version)
        reading.count += 1
        hint = "" if live else ": wrong? type the right digits"
        board.say(f"read {result.digits} ({result.confidence:.0%} sure){hint}")
        self.log.emit("recognised", digits=result.digits, confidence=round(float(result.confidence), 4),
                      live=live)
        if self.options.screenshot is not None and not live:
            self.screenshot_due = True

    # -- 3. draw

    def view_key(self) -> tuple:
        """Everything the picture depends on: when it has not changed, the frame is not redrawn."""
        b = self.board
        return (b.version, b.rewrites, b.message, b.error, b.focus, b.live, self.reading.count, b.stale, b.label,
                self.show_help, self.window.screen.get_size(), self.loader.done.is_set(), self.screenshot_due,
                self.learning.status())

    def draw(self) -> None:
        window, board = self.window, self.board
        screen, layout, fonts = window.screen, window.layout, window.fonts
        screen.fill(BG)
        window.parts = {
            "canvas": draw_canvas(screen, layout.canvas, board, window.ink.update(board), fonts),
            "panel": draw_panel(screen, layout.panel, board, fonts, self.options.threshold),
            "status": draw_status(screen, layout.status, board, fonts, self.learning.status()),
        }
        if self.show_help:
            options = self.options
            notes = model_notes(self.loader, options.threshold, options.save_dir, options.corrections_dir,
                                self.learning.status())
            window.parts["help"] = draw_help(screen, fonts, f"digits {__version__}", HELP, notes)
        pygame.display.flip()
        if self.screenshot_due:
            self.screenshot_due = False
            path = self.options.screenshot
            try:
                pygame.image.save(screen, str(path))
                self.log.emit("screenshot", path=str(path))
            except (OSError, pygame.error) as e:
                warn(f"cannot write {path}: {e}")
                self.log.emit("error", message=f"cannot write {path}: {e}")


# ---------------------------------------------------------------------------------------------
# Command line


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="digits-player", description="Draw a digit or a number, press Enter, read it.")
    p.add_argument("drawing", nargs="?", metavar="FILE.json", help="open a saved stroke drawing and read it")
    p.add_argument("--model", metavar="PATH", help="ONNX model (default: the shipped one, or $DIGITS_MODEL)")
    p.add_argument("--threshold", type=probability, default=DEFAULT_THRESHOLD, metavar="P",
                   help=f"digits less sure than this read '?' (default {DEFAULT_THRESHOLD})")
    p.add_argument("--brush", type=brush_width, default=BRUSH, metavar="PX",
                   help=f"brush width in pixels at the default window size; it follows the window (default {BRUSH})")
    p.add_argument("--size", type=window_size, default=DEFAULT_SIZE, metavar="WxH",
                   help=f"window size (default {DEFAULT_SIZE[0]}x{DEFAULT_SIZE[1]})")
    p.add_argument("--save-dir", type=Path, metavar="DIR",
                   help="where S saves drawings (default: the user data folder)")
    p.add_argument("--corrections-dir", type=Path, metavar="DIR",
                   help="where corrections go, learned from at once (default: the user data folder)")
    p.add_argument("--no-learning", action="store_true", help="do not learn from the corrections (key A toggles)")
    p.add_argument("--events", action="store_true", help="print JSON lines on stdout: ready, recognised, saved, error")
    p.add_argument("--max-frames", type=int, metavar="N", help="quit after N frames (smoke tests)")
    p.add_argument("--screenshot", type=Path, help=argparse.SUPPRESS)  # save the window after the next reading
    p.add_argument("--version", action="version", version=f"digits-player {__version__}")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    drawing = None
    if args.drawing:
        try:
            drawing = load_drawing(args.drawing)
        except DrawingError as e:
            warn(str(e))
            return 2
    options = Options(model=args.model, threshold=args.threshold, brush=args.brush, size=args.size,
                      events=args.events, save_dir=args.save_dir, corrections_dir=args.corrections_dir,
                      learning=not args.no_learning,
                      drawing=drawing, screenshot=args.screenshot)
    app = App(options)
    try:
        try:
            app.open()
        except NoDisplay as e:
            warn(str(e))
            return 2
        except pygame.error:  # a display that then fails to give us a window
            warn(NO_DISPLAY)
            return 2
        return app.run(args.max_frames)
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # a user gets one line, never a traceback
        if os.environ.get("DIGITS_DEBUG"):
            raise
        warn(f"internal error: {type(e).__name__}: {e} (set DIGITS_DEBUG=1 for details)")
        return 1
    finally:
        pygame.quit()  # the window goes at once; then a model still loading or reading is let finish,
        app.loader.join(10)  # since exiting under onnxruntime's threads can abort ("terminate called")
        app.reader.stop(10)
        app.learning.join(10)  # the corrections folder being read runs the model too


if __name__ == "__main__":
    sys.exit(main())
