"""startup.py: time until the player's window is ready, versus TensorFlow's import and a tutorial-style start.

Each start is a fresh process, timed from before it is spawned: the player (`python -m player
--events --max-frames 1`) until it prints {"event": "ready"} on stdout (its first frame is on
screen and takes input; the model then loads in the background) and until it exits with the
model loaded; `python -c "import tensorflow"`; and the tutorial's start, `import tensorflow`
plus `keras.models.load_model("model_Mnist.h5")` (before it would even open a window). The
player runs under SDL's dummy video driver and, when Xvfb is installed, on a real X server.
Peak RSS is the process's own (wait4), the player's with the model loaded. The cases run
interleaved, round after round; the table shows medians and the ratios from this same run.

    python benchmarks/startup.py                       # 5 rounds, ~1 minute; appends to benchmarks/RESULTS.md
    python benchmarks/startup.py --quick --no-record   # 3 rounds, nothing written
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import common
import realwindow  # the private X server

TARGET_RATIO = 6  # `import tensorflow` / player ready
TIMEOUT = 120  # seconds for any one start


def parse_args(argv=None):
    p = common.parser(__doc__)
    p.add_argument("--onnx", type=Path, default=common.ROOT / "models" / "digits.onnx",
                   help="the model the player loads (default models/digits.onnx)")
    p.add_argument("--tutorial", type=Path, default=common.ROOT / "runs" / "tutorial" / "model_Mnist.h5",
                   help="the tutorial's model (default runs/tutorial/model_Mnist.h5)")
    p.add_argument("--runs", type=int, help="starts of each kind (default 5; --quick 3)")
    p.add_argument("--no-xvfb", action="store_true", help="only the dummy video driver")
    args = p.parse_args(argv)
    args.runs = args.runs or (3 if args.quick else 5)
    if args.runs < 1:
        p.error("--runs must be at least 1")
    return args


class StartError(RuntimeError):
    pass


def run_once(cmd: list[str], env: dict, wait_ready: bool, any_status: bool = False) -> dict:
    """Spawn cmd; seconds to the ready line (if wait_ready) and to exit, peak RSS (bytes), the
    app's own start-up figure. Raises StartError with its stderr if it fails (a non-zero exit
    status counts only without any_status)."""
    err = tempfile.TemporaryFile()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=common.ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=err)
    ready: dict = {}

    def read():
        for line in proc.stdout:
            if "ready" not in ready and line.lstrip().startswith(b"{"):
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("event") == "ready":
                    ready.update(ready=time.perf_counter() - t0, startup_s=event.get("startup_s"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    watchdog = threading.Timer(TIMEOUT, proc.kill)
    watchdog.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        watchdog.cancel()
    exited = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    reader.join(5)
    err.seek(0)
    stderr = err.read().decode(errors="replace").strip()
    err.close()
    if (proc.returncode != 0 and not any_status) or (wait_ready and "ready" not in ready):
        what = f"exit status {proc.returncode}" if proc.returncode else "no ready event on stdout"
        tail = "\n".join(stderr.splitlines()[-5:])
        raise StartError(f"{' '.join(cmd)}: {what}" + (f"\n{tail}" if tail else ""))
    return {"ready": ready.get("ready"), "exit": exited, "rss": usage.ru_maxrss * 1024,
            "startup_s": ready.get("startup_s")}


def main(argv=None) -> int:
    args = parse_args(argv)
    at_start = common.machine()
    py = sys.executable
    base = {k: v for k, v in os.environ.items() if k not in ("SDL_VIDEODRIVER", "DISPLAY", "WAYLAND_DISPLAY")}
    base["PYTHONPATH"] = os.pathsep.join(filter(None, [str(common.ROOT), os.environ.get("PYTHONPATH")]))
    dummy = {**base, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    player = [py, "-m", "player", "--events", "--max-frames", "1", "--model", str(args.onnx)]
    notes = []
    no_model = not args.onnx.is_file()
    if no_model:
        notes.append(f"{args.onnx} not found: the player started without a model (its exit status ignored; "
                     "only 'window ready' is meaningful)")

    with realwindow.Xvfb(enabled=not args.no_xvfb) as xvfb:
        cases = {"player, SDL dummy video": (player, dummy, True)}
        if not args.no_xvfb:
            if xvfb.display:
                cases["player, Xvfb (X11)"] = (player, {**base, "DISPLAY": xvfb.display, "SDL_AUDIODRIVER": "dummy"},
                                               True)
            else:
                notes.append("Xvfb not available: player timed under the dummy video driver only")
        cases["python -c pass"] = ([py, "-c", "pass"], base, False)
        cases["import tensorflow"] = ([py, "-c", "import tensorflow"], base, False)
        if args.tutorial.is_file():
            code = ("import tensorflow as tf\nfrom tensorflow import keras\n"
                    f"model = keras.models.load_model({str(args.tutorial)!r})\n")
            cases[f"tutorial: import tensorflow + load_model({args.tutorial.name})"] = ([py, "-c", code], base, False)
        else:
            notes.append(f"{args.tutorial} not found: tutorial start skipped "
                         "(train it: digits-train --arch tutorial --out runs/tutorial)")
        results: dict[str, list[dict]] = {name: [] for name in cases}
        try:
            for _ in range(args.runs):
                for name, (cmd, env, wait_ready) in cases.items():
                    results[name].append(run_once(cmd, env, wait_ready, any_status=wait_ready and no_model))
        except StartError as e:
            print(f"startup.py: {e}", file=sys.stderr)
            return 1

    med = {name: {k: common.median([r[k] for r in rs]) if rs[0][k] is not None else None for k in rs[0]}
           for name, rs in results.items()}
    player_ready = med["player, SDL dummy video"]["ready"]
    rows = []
    for name, m in med.items():
        done = m["ready"] if m["ready"] is not None else m["exit"]
        rows.append([name,
                     f"{done:.3f} s" if m["ready"] is not None else "-",
                     f"{m['exit']:.3f} s",
                     f"{m['startup_s']:.3f} s" if m["startup_s"] is not None else "-",
                     common.mb(m["rss"]),
                     f"{done / player_ready:.1f}×"])
    headers = ["start", "window ready", "process done", "app's own startup_s", "peak RSS",
               "ready/done vs player ready"]
    text = (f"median of {args.runs} fresh processes each, interleaved (player: --max-frames 1, so 'process done' "
            "includes loading the model in the background and quitting):\n\n" + common.table(headers, rows))
    tf = med["import tensorflow"]["exit"]
    lines = [f"`import tensorflow` / player window ready: {tf / player_ready:.1f}×; target >= {TARGET_RATIO}×: "
             f"{common.verdict(tf / player_ready >= TARGET_RATIO)}"]
    if "player, Xvfb (X11)" in med:
        x11 = med["player, Xvfb (X11)"]["ready"]
        lines.append(f"`import tensorflow` / player window ready under Xvfb: {tf / x11:.1f}×; target >= "
                     f"{TARGET_RATIO}×: {common.verdict(tf / x11 >= TARGET_RATIO)}")
    tutorial = next((m for n, m in med.items() if n.startswith("tutorial")), None)
    if tutorial:
        lines.append(f"tutorial start / player window ready: {tutorial['exit'] / player_ready:.1f}×; peak RSS "
                     f"{tutorial['rss'] / med['player, SDL dummy video']['rss']:.1f}× the player's")
    body = text + "\n\n" + "\n".join(f"- {line}" for line in lines + notes)
    print(body)
    common.record("startup.py", body, ["pygame", "onnxruntime", "numpy", "tensorflow", "keras"], args, at_start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
