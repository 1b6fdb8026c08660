"""The player in a real X window, for the tests and the benchmarks alike: a private Xvfb, the
player process on it, real X pointer and key events from xdotool, and its --events stream read
back. Also what it writes there: pen-like digit strokes.

The one home of this code. It lives beside the benchmarks, not in the `player` package, because
end users never need it; the benchmark scripts import it as a sibling module (their folder is on
sys.path), and tests/conftest.py puts benchmarks/ on sys.path for tests/player/test_window.py.
It imports nothing of the project, so both can load it before anything else.
"""

from __future__ import annotations

import json
import math
import os
import queue
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WINDOW_CLASS = "digits-player"  # player/app.py sets it through SDL_VIDEO_X11_WMCLASS
TIMEOUT = 30.0  # seconds for any one wait: generous, CI machines are slow and the model loads in the background


class WindowError(RuntimeError):
    """The X server or the player did not do what was expected; the message says what."""


def missing_tools() -> list[str]:
    """Which of the programs this needs are not installed."""
    return [tool for tool in ("Xvfb", "xdotool") if shutil.which(tool) is None]


class Xvfb:
    """A private X server for a `with` block, on a display number Xvfb picks itself (so that
    several can run at once). `display` stays None when Xvfb is not installed, not enabled or
    did not start; `why` then says which."""

    def __init__(self, enabled: bool = True, screen: str = "1280x1024x24"):
        self.enabled, self.screen, self.proc, self.display, self.why = enabled, screen, None, None, ""

    def __enter__(self) -> Xvfb:
        exe = shutil.which("Xvfb")
        if not exe or not self.enabled:
            self.why = "not enabled" if exe else "Xvfb not installed (apt-get install xvfb xdotool)"
            return self
        log = tempfile.TemporaryFile()  # its stderr, read only if it fails: a pipe could fill and block it
        r, w = os.pipe()
        try:
            self.proc = subprocess.Popen([exe, "-displayfd", str(w), "-screen", "0", self.screen, "-nolisten",
                                          "tcp"], pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=log)
            os.close(w)
            w = None
            # Xvfb writes the number once it accepts clients, the number and the newline
            # separately, and dies of SIGPIPE if the pipe is closed in between: read up to the newline.
            data, deadline = b"", time.monotonic() + 10
            while not data.endswith(b"\n") and select.select([r], [], [], max(0.0, deadline - time.monotonic()))[0]:
                chunk = os.read(r, 64)
                if not chunk:
                    break
                data += chunk
            number = data.decode(errors="replace").strip()
            if data.endswith(b"\n") and number.isdigit() and self.proc.poll() is None:
                self.display = f":{number}"
        finally:
            os.close(r)
            if w is not None:
                os.close(w)
        if self.display is None:
            self.__exit__()
            log.seek(0)
            self.why = log.read().decode(errors="replace").strip()[-2000:] or "no display number within 10 s"
        log.close()
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


class Player:
    """`python -m player --events` on an X display, started at once; its events are collected
    by a reader thread, its stderr kept in a file for the failure messages."""

    def __init__(self, display: str, *args: str, size: str = "1000x640", timeout: float = TIMEOUT):
        self.env = {k: v for k, v in os.environ.items() if k != "SDL_VIDEODRIVER"}
        self.env.update(DISPLAY=display, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
        self.timeout = timeout
        self._stderr = tempfile.TemporaryFile()
        self.started = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-m", "player", "--events", "--size", size, *args],
                                     cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self._stderr, text=True)
        self.events: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.events.put(json.loads(line))
        self.events.put(None)  # the player closed its stdout: it has exited

    def wait_for(self, name: str) -> dict:
        """The next event called `name`; WindowError on an "error" event, an exit, or a timeout."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                event = self.events.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise WindowError(f"no {name!r} event within {self.timeout:g} s; stderr: {self.stderr()}") from None
            if event is None:
                self.events.put(None)
                raise WindowError(f"the player exited (status {self.proc.wait()}) before {name!r}; "
                                  f"stderr: {self.stderr()}")
            if event["event"] == "error":
                raise WindowError(f"player error: {event['message']}")
            if event["event"] == name:
                return event

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-2000:]

    def xdotool(self, *args) -> str:
        return subprocess.run(["xdotool", *map(str, args)], env=self.env, capture_output=True, text=True,
                              check=True, timeout=self.timeout).stdout

    def find_window(self) -> str:
        """Our window (by class and process: another player may be open on the display), focused:
        there is no window manager under Xvfb to give it the keyboard."""
        window = self.xdotool("search", "--sync", "--all", "--pid", self.proc.pid, "--class", WINDOW_CLASS).split()[0]
        self.xdotool("windowfocus", window)
        return window

    def draw(self, window: str, origin: tuple[int, int], strokes) -> None:
        """Each stroke as one xdotool call: button down at its first point, moves along it, up.
        `strokes` are in canvas pixels, `origin` is the canvas's top left in the window."""
        x, y = origin
        for stroke in strokes:
            args = ["mousemove", "--window", window, x + stroke[0][0], y + stroke[0][1], "mousedown", "1"]
            for px, py in stroke[1:]:
                args += ["mousemove", "--window", window, x + px, y + py]
            self.xdotool(*args, "mouseup", "1")

    def quit(self) -> int:
        """Q, as a user quits; the exit status."""
        try:
            self.xdotool("key", "--window", self.find_window(), "q")
            return self.proc.wait(self.timeout)
        finally:
            self.close()

    def close(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        status = self.proc.wait(10)
        self._stderr.close()
        return status


def _arc(cx, cy, rx, ry, a0, a1, n=28):
    return [(cx + rx * math.cos(math.radians(a0 + (a1 - a0) * i / n)),
             cy + ry * math.sin(math.radians(a0 + (a1 - a0) * i / n))) for i in range(n + 1)]


def _line(a, b, n=10):
    return [(a[0] + (b[0] - a[0]) * i / n, a[1] + (b[1] - a[1]) * i / n) for i in range(n + 1)]


# Pen-like strokes in a 60x100 box (y down), written the way people write them: a "2" in one
# go, a "0" that starts at the top and overshoots its start, a "5" as a hook plus a flag.
GLYPHS = {
    "0": [_arc(30, 50, 26, 48, -100, -460)],
    "1": [_line((24, 14), (38, 0), 4) + _line((38, 0), (32, 100))],
    "2": [_arc(30, 30, 27, 27, 195, 370) + _line((56, 35), (8, 96))[1:] + _line((8, 96), (62, 95))[1:]],
    "3": [_arc(28, 26, 25, 24, -160, 90), _arc(28, 74, 28, 26, -90, 160)],
    "4": [_line((16, 0), (4, 62)) + _line((4, 62), (62, 60))[1:], _line((46, 16), (46, 100))],
    "5": [_line((14, 4), (10, 44)) + _arc(31, 69, 28, 29, -125, 155)[1:], _line((14, 3), (58, 0))],
    "7": [_line((2, 3), (60, 0)) + _line((60, 0), (24, 100))[1:]],
}


def number_strokes(text: str, canvas: tuple[int, int], slant: float = 0.12) -> list[list[tuple[int, int]]]:
    """`text` written left to right with a slight forward slant, centred, in canvas pixels."""
    advance = 86
    width = advance * len(text) - 26
    scale = min(0.45 * canvas[1] / 100, 0.75 * canvas[0] / width)
    ox, oy = (canvas[0] - width * scale) / 2, (canvas[1] - 100 * scale) / 2
    strokes = []
    for i, ch in enumerate(text):
        wobble = 3 * math.sin(1.7 * i)  # people do not write on a ruler
        for stroke in GLYPHS[ch]:
            strokes.append([(round(ox + (x + advance * i + slant * (100 - y)) * scale),
                             round(oy + (y + wobble) * scale)) for x, y in stroke])
    return strokes
