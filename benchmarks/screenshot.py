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
import sys
import time
from pathlib import Path

import common  # benchmarks/common.py: ROOT, medians
import realwindow  # benchmarks/realwindow.py: the private X server, the player driver, the strokes

ROOT = common.ROOT
TIMEOUT = 60.0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--text", default="2025",
                   help="the number to write (digits of: " + "".join(sorted(realwindow.GLYPHS)) + ")")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png")
    p.add_argument("--model", help="ONNX model (default: the shipped one)")
    p.add_argument("--launches", type=int, default=5, help="extra launches to time (process start -> ready)")
    args = p.parse_args()
    if realwindow.missing_tools():
        raise SystemExit(f"screenshot: {' and '.join(realwindow.missing_tools())} not found "
                         "(apt-get install xvfb xdotool)")
    if set(args.text) - set(realwindow.GLYPHS):
        raise SystemExit(f"screenshot: no strokes for {sorted(set(args.text) - set(realwindow.GLYPHS))}")
    model = ["--model", args.model] if args.model else []
    args.out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with realwindow.Xvfb(screen="1280x800x24") as x:
            if x.display is None:
                raise SystemExit(f"screenshot: Xvfb did not start: {x.why}")
            player = realwindow.Player(x.display, *model, "--screenshot", str(args.out.resolve()), timeout=TIMEOUT)
            ready = player.wait_for("ready")
            launch = time.monotonic() - player.started
            window = player.find_window()
            cx, cy, cw, ch = ready["canvas"]
            player.draw(window, (cx, cy), realwindow.number_strokes(args.text, (cw, ch)))
            pressed = time.monotonic()
            player.xdotool("key", "--window", window, "Return")
            read = player.wait_for("recognised")
            answered = time.monotonic() - pressed
            shot = player.wait_for("screenshot")
            status = player.quit()
            times, statuses = [launch], [status]
            for _ in range(args.launches):
                again = realwindow.Player(x.display, *model, timeout=TIMEOUT)
                again.wait_for("ready")
                times.append(time.monotonic() - again.started)
                statuses.append(again.quit())  # quit at once, the model still loading: must exit cleanly too
    except realwindow.WindowError as e:
        raise SystemExit(f"screenshot: {e}") from None
    print(f"wrote {shot['path']}: drew {args.text!r}, read {read['digits']!r} "
          f"(confidence {read['confidence']:.1%}), player exit statuses {sorted(set(statuses))}")
    print(f"launch -> ready: median {common.median(times):.3f} s, max {max(times):.3f} s "
          f"over {len(times)} launches; Enter -> answer {answered:.3f} s")
    return 0 if read["digits"] == args.text and set(statuses) == {0} else 1


if __name__ == "__main__":
    sys.exit(main())
