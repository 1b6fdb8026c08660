"""The README screenshot, made the way a user makes one: the player in a real X window (Xvfb),
a number written with real mouse events (xdotool), Enter, and the window saved once it has
read the number. Also times the launch (process start -> window ready to draw).

    PYTHONPATH=. python benchmarks/screenshot.py [--text 2025] [--out docs/screenshot.png]
                                                 [--model PATH] [--launches 5]

Needs Xvfb and xdotool (apt-get install xvfb xdotool). The picture comes from the player's
hidden --screenshot flag (pygame saves its own window surface), so no screen grabber is needed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import common  # benchmarks/common.py: ROOT, medians, the private X server

ROOT = common.ROOT
WINDOW_CLASS = "digits-player"
TIMEOUT = 60.0


def arc(cx, cy, rx, ry, a0, a1, n=28):
    return [(cx + rx * math.cos(math.radians(a0 + (a1 - a0) * i / n)),
             cy + ry * math.sin(math.radians(a0 + (a1 - a0) * i / n))) for i in range(n + 1)]


def line(a, b, n=10):
    return [(a[0] + (b[0] - a[0]) * i / n, a[1] + (b[1] - a[1]) * i / n) for i in range(n + 1)]


# Pen-like strokes in a 60x100 box (y down), written the way people write them: a "2" in one
# go, a "0" that starts at the top and overshoots its start, a "5" as a hook plus a flag.
GLYPHS = {
    "0": [arc(30, 50, 26, 48, -100, -460)],
    "1": [line((24, 14), (38, 0), 4) + line((38, 0), (32, 100))],
    "2": [arc(30, 30, 27, 27, 195, 370) + line((56, 35), (8, 96))[1:] + line((8, 96), (62, 95))[1:]],
    "3": [arc(28, 26, 25, 24, -160, 90), arc(28, 74, 28, 26, -90, 160)],
    "4": [line((16, 0), (4, 62)) + line((4, 62), (62, 60))[1:], line((46, 16), (46, 100))],
    "5": [line((14, 4), (10, 44)) + arc(31, 69, 28, 29, -125, 155)[1:], line((14, 3), (58, 0))],
    "7": [line((2, 3), (60, 0)) + line((60, 0), (24, 100))[1:]],
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


class Player:
    def __init__(self, display: str, args: list[str]):
        self.env = {k: v for k, v in os.environ.items() if k != "SDL_VIDEODRIVER"}
        self.env.update(DISPLAY=display, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
        self.started = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-m", "player", "--events", "--size", "1000x640", *args],
                                     cwd=ROOT, env=self.env, stdout=subprocess.PIPE, text=True)

    def wait_for(self, name: str) -> dict:
        for raw in self.proc.stdout:  # the player flushes every event line
            event = json.loads(raw)
            if event["event"] == "error":
                raise SystemExit(f"screenshot: player error: {event['message']}")
            if event["event"] == name:
                return event
        raise SystemExit(f"screenshot: the player exited (status {self.proc.wait()}) before {name!r}")

    def xdotool(self, *args) -> str:
        return subprocess.run(["xdotool", *map(str, args)], env=self.env, capture_output=True, text=True,
                              check=True, timeout=TIMEOUT).stdout

    def window(self) -> str:
        w = self.xdotool("search", "--sync", "--all", "--pid", self.proc.pid, "--class", WINDOW_CLASS).split()[0]
        self.xdotool("windowfocus", w)  # no window manager under Xvfb to do it
        return w

    def quit(self) -> int:
        try:
            self.xdotool("key", "--window", self.window(), "q")
            return self.proc.wait(TIMEOUT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--text", default="2025", help="the number to write (digits of: " + "".join(sorted(GLYPHS)) + ")")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png")
    p.add_argument("--model", help="ONNX model (default: the shipped one)")
    p.add_argument("--launches", type=int, default=5, help="extra launches to time (process start -> ready)")
    args = p.parse_args()
    for tool in ("Xvfb", "xdotool"):
        if shutil.which(tool) is None:
            raise SystemExit(f"screenshot: {tool} not found (apt-get install xvfb xdotool)")
    if set(args.text) - set(GLYPHS):
        raise SystemExit(f"screenshot: no strokes for {sorted(set(args.text) - set(GLYPHS))}")
    model = ["--model", args.model] if args.model else []
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with common.Xvfb(screen="1280x800x24") as x:
        if x.display is None:
            raise SystemExit("screenshot: Xvfb did not start")
        player = Player(x.display, [*model, "--screenshot", str(args.out.resolve())])
        ready = player.wait_for("ready")
        launch = time.monotonic() - player.started
        window = player.window()
        cx, cy, cw, ch = ready["canvas"]
        for stroke in number_strokes(args.text, (cw, ch)):
            moves = ["mousemove", "--window", window, cx + stroke[0][0], cy + stroke[0][1], "mousedown", "1"]
            for px, py in stroke[1:]:
                moves += ["mousemove", "--window", window, cx + px, cy + py]
            player.xdotool(*moves, "mouseup", "1")
        pressed = time.monotonic()
        player.xdotool("key", "--window", window, "Return")
        read = player.wait_for("recognised")
        answered = time.monotonic() - pressed
        shot = player.wait_for("screenshot")
        status = player.quit()
        times, statuses = [launch], [status]
        for _ in range(args.launches):
            again = Player(x.display, model)
            again.wait_for("ready")
            times.append(time.monotonic() - again.started)
            statuses.append(again.quit())  # quit at once, the model still loading: must exit cleanly too
    print(f"wrote {shot['path']}: drew {args.text!r}, read {read['digits']!r} "
          f"(confidence {read['confidence']:.1%}), player exit statuses {sorted(set(statuses))}")
    print(f"launch -> ready: median {common.median(times):.3f} s, max {max(times):.3f} s "
          f"over {len(times)} launches; Enter -> answer {answered:.3f} s")
    return 0 if read["digits"] == args.text and set(statuses) == {0} else 1


if __name__ == "__main__":
    sys.exit(main())
