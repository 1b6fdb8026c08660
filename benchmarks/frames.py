"""frames.py: the player's frame time as the ink grows, live recognition on and off.

The app's own frame (App.step: events, update, draw) runs under SDL's dummy video driver with
the shipped model, paced like App.run (pygame's clock at 60 frames a second). Drawings are
replayed into it as mouse events, POINTS_PER_FRAME points a frame (a quick hand with a mouse
reporting at ~500 Hz, 2-3 px apart), in 1 to 50 strokes laid out over the canvas like
digits; every frame is timed, and frames are grouped by the ink already on the canvas. Live
mode reads the drawing while the pen moves (in the app's reader thread, at most every
LIVE_INTERVAL), and reads it again at each pen-up. The target, live on: p95 <= 16.7 ms (60
frames a second) and worst <= 50 ms at every amount of ink up to 10,000 points. The frame
that redraws all ink (an undo) is timed once at the end of each run, as a note.

    python benchmarks/frames.py                      # 1, 10 and 50 strokes, up to 10,000 points, ~3 min
    python benchmarks/frames.py --quick --no-record  # up to 2,000 points, a few seconds per run
"""

from __future__ import annotations

import io
import math
import os
import sys
import time

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import common  # noqa: E402  benchmarks/common.py: ROOT on sys.path, tables, RESULTS.md

POINTS_PER_FRAME = 8
FRAME_BUDGET = 1 / 60  # seconds
TARGET_P95, TARGET_WORST = 16.7e-3, 50e-3  # seconds, live mode on
BUCKETS = [100, 300, 1_000, 3_000, 10_000]  # ink already on the canvas, points: (previous, this]
HEADERS = ["strokes", "live", "ink so far (points)", "frames", "median", "p95", "worst", "p95 CPU", "worst CPU",
           "target"]


def parse_args(argv=None):
    p = common.parser(__doc__)
    p.add_argument("--model", default=str(common.ROOT / "models" / "digits.onnx"), help="ONNX model")
    p.add_argument("--points", type=int, help="ink per drawing (default 10,000; --quick 2,000)")
    p.add_argument("--strokes", type=int, nargs="+", help="strokes per drawing (default 1 10 50; --quick 1 10)")
    args = p.parse_args(argv)
    args.points = args.points or (2_000 if args.quick else 10_000)
    args.strokes = args.strokes or ([1, 10] if args.quick else [1, 10, 50])
    if args.points < 1 or min(args.strokes) < 1:
        p.error("--points and --strokes must be at least 1")
    return args


def drawing(points: int, strokes: int, canvas: tuple[int, int]) -> list[list[tuple[float, float]]]:
    """`strokes` strokes of points // strokes points each, in a grid of cells over the canvas:
    each an oval scribble that goes round as often as it needs to keep its points 2-3 px apart
    (one stroke: one long scribble over the whole canvas)."""
    columns = math.ceil(math.sqrt(strokes * canvas[0] / canvas[1]))
    rows = math.ceil(strokes / columns)
    cw, ch = canvas[0] / columns, canvas[1] / rows
    out = []
    for k in range(strokes):
        n = points // strokes + (k < points % strokes)
        cx, cy = (k % columns + 0.5) * cw, (k // columns + 0.5) * ch
        rx, ry = 0.4 * cw, 0.4 * ch
        turns = max(1.0, n * 2.5 / (math.pi * (rx + ry)))  # the oval's perimeter, about, 2.5 px a point
        shrink = 0.8 / turns  # each turn a little smaller, so the ink does not pile up on one line
        out.append([(cx + rx * (1 - shrink * t) * math.sin(2 * math.pi * t),
                     cy + ry * (1 - shrink * t) * math.cos(2 * math.pi * t))
                    for t in (turns * i / max(n - 1, 1) for i in range(n))])
    return out


def replay(app, strokes, pygame) -> list[tuple[int, float, float]]:
    """(points on the canvas before the frame, seconds the frame took, seconds of CPU the
    window's thread spent in it) for every frame. The CPU time tells the frame's own work
    from waiting: for the reader thread's turn with the interpreter lock, or for a busy machine."""
    clock = pygame.time.Clock()
    x0, y0 = app.window.layout.canvas.topleft
    frames = []

    def frame():
        ink = sum(len(s) for s in app.board.all_strokes())
        t0, c0 = time.perf_counter(), time.thread_time()
        app.step()
        frames.append((ink, time.perf_counter() - t0, time.thread_time() - c0))
        clock.tick(60)  # as App.run paces its frames

    for stroke in strokes:
        pts = [(round(x0 + x), round(y0 + y)) for x, y in stroke]
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pts[0], button=1))
        for i in range(1, len(pts), POINTS_PER_FRAME):
            for p in pts[i : i + POINTS_PER_FRAME]:
                pygame.event.post(pygame.event.Event(pygame.MOUSEMOTION, pos=p, rel=(0, 0), buttons=(1, 0, 0)))
            frame()
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=pts[-1], button=1))
        frame()
    return frames


def run(model: str, points: int, strokes: int, live: bool) -> tuple[list[tuple[int, float, float]], float, int]:
    """One drawing replayed into a fresh app: its frames, the time of an undo frame at the end,
    and how many answers the app showed."""
    import pygame

    from player.app import App, Options
    from player.session import EventLog, ModelLoader

    app = App(Options(size=(1000, 640), model=model), loader=ModelLoader.from_path(model),
              log=EventLog(False, io.StringIO()))
    app.open()
    try:
        app.step()
        if not app.settle(60) or app.loader.error:
            raise SystemExit(f"frames.py: {app.loader.error or 'the model did not load within 60 s'}")
        if live:
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_l, mod=0, unicode="l", scancode=0))
            app.step()
        frames = replay(app, drawing(points, strokes, app.window.layout.canvas.size), pygame)
        app.settle(60)
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_BACKSPACE, mod=0, unicode="", scancode=0))
        t0 = time.perf_counter()
        app.step()
        undo = time.perf_counter() - t0
        return frames, undo, app.reading.count
    finally:
        app.reader.stop(10)
        pygame.quit()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def main(argv=None) -> int:
    args = parse_args(argv)
    at_start, load_start = common.machine(), os.getloadavg()[0]
    print(f"machine: {at_start}\n", flush=True)  # machine() names the CPU's vector features too
    rows, notes, met = [], [], True
    buckets = [b for b in BUCKETS if b < args.points] + [args.points]
    for strokes in args.strokes:
        for live in (False, True):
            frames, undo, answers = run(args.model, args.points, strokes, live)
            for low, high in zip([-1, *buckets], buckets, strict=False):
                times = [t for ink, t, _ in frames if low < ink <= high]
                cpu = [c for ink, _, c in frames if low < ink <= high]
                if not times:
                    continue
                p95, worst = percentile(times, 0.95), max(times)
                ok = p95 <= TARGET_P95 and worst <= TARGET_WORST
                met &= ok or not live
                rows.append([strokes, "on" if live else "off", f"{max(low, 0):,}-{high:,}", len(times),
                             common.ms(common.median(times)), common.ms(p95), common.ms(worst),
                             common.ms(percentile(cpu, 0.95)), common.ms(max(cpu)),
                             common.verdict(ok) if live else "-"])
            notes.append(f"{strokes} stroke(s), live {'on' if live else 'off'}: {answers} answers shown; "
                         f"undo with {args.points:,} points on the canvas (all ink drawn again): {common.ms(undo)}")
            print(common.table(HEADERS, rows[-len(buckets):]), flush=True)
    body = (f"load average {load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} "
            f"cores; this process at niceness {os.nice(0)} (other work on the machine shows in the wall times, not "
            "in the CPU columns)\n\n"
            f"frame times of App.step under SDL dummy, {POINTS_PER_FRAME} points a frame, "
            f"paced at 60 frames a second; target with live on: p95 <= {TARGET_P95 * 1e3:.1f} ms and worst <= "
            f"{TARGET_WORST * 1e3:.0f} ms at every amount of ink:\n\n"
            + common.table(HEADERS, rows)
            + "\n\n" + "\n".join(f"- {line}" for line in notes)
            + f"\n- target (live on, every row): {common.verdict(met)}")
    print("\n" + body)
    common.record("frames.py", body, ["pygame", "onnxruntime", "numpy"], args, at_start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
