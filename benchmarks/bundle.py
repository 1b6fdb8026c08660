"""bundle.py: the standalone app (PyInstaller folder) beside the wheel install: size and start-up.

Size: the unpacked digits/ folder against the virtual environment a wheel install makes
(`python -m venv` + `pip install dist/digits-*.whl`, which is what pipx does), each the sum of
its files; and the download each needs (the tarball; the wheel plus its dependencies' wheels
are not measured, only the wheel itself). Start-up: fresh processes timed from before they
are spawned until the player prints {"event": "ready"} (window on screen, taking input) and
until it exits (--max-frames 1: the model loaded), under SDL's dummy video driver and, when
Xvfb is installed, on a real X server. The bundle runs with an empty environment (env -i:
no Python, no virtual environment), as on a machine without Python; the wheel install runs
its console script. Interleaved round after round; medians. Goals (issue 13): <= 150 MB
unpacked, window ready <= 0.5 s.

    bash packaging/build-app.sh && python -m build --wheel
    python benchmarks/bundle.py                    # 5 rounds; appends to benchmarks/RESULTS.md
    python benchmarks/bundle.py --quick --no-record --venv build/app-venv
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import common
import startup

SIZE_GOAL = 150e6  # bytes, unpacked
READY_GOAL = 0.5  # seconds to a window ready to draw in


def parse_args(argv=None):
    p = common.parser(__doc__)
    p.add_argument("--bundle", type=Path, help="the app: dist/digits-<os>-<arch>.tar.gz (the default) or an "
                                               "unpacked digits/ folder")
    p.add_argument("--wheel", type=Path, help="the wheel to install (default: the newest dist/digits-*.whl)")
    p.add_argument("--venv", type=Path, help="an existing environment with digits installed, instead of "
                                             "installing the wheel into a new one")
    p.add_argument("--runs", type=int, help="starts of each kind (default 5; --quick 2)")
    p.add_argument("--no-xvfb", action="store_true", help="only the dummy video driver")
    args = p.parse_args(argv)
    args.runs = args.runs or (2 if args.quick else 5)
    if args.runs < 1:
        p.error("--runs must be at least 1")
    name = f"digits-{platform.system().lower()}-{platform.machine()}.tar.gz"
    args.bundle = args.bundle or common.ROOT / "dist" / name
    if not args.bundle.exists():
        p.error(f"{args.bundle} not found: build it with `bash packaging/build-app.sh`")
    if not args.venv and not args.wheel:
        wheels = sorted((common.ROOT / "dist").glob("digits-*.whl"), key=lambda w: w.stat().st_mtime)
        if not wheels:
            p.error("no dist/digits-*.whl: build one with `python -m build --wheel`, or pass --venv")
        args.wheel = wheels[-1]
    return args


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def main(argv=None) -> int:
    args = parse_args(argv)
    at_start = common.machine()  # names the CPU's vector instruction sets
    with tempfile.TemporaryDirectory(prefix="digits-bundle-") as tmp:
        tmp = Path(tmp)
        if args.bundle.is_dir():
            app = args.bundle
        else:
            with tarfile.open(args.bundle) as tar:
                tar.extractall(tmp / "app", filter="data")
            app = tmp / "app" / "digits"
        venv = args.venv
        if venv is None:
            venv = tmp / "venv"
            print(f"installing {args.wheel.name} into a new virtual environment...", flush=True)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(args.wheel)], check=True)

        app_bytes = folder_size(app)
        sizes = [["standalone app, unpacked digits/", common.mb(app_bytes),
                  common.mb(args.bundle.stat().st_size) if args.bundle.is_file() else "-"],
                 [f"wheel install ({'--venv ' + str(args.venv) if args.venv else 'new venv'})",
                  common.mb(folder_size(venv)), common.mb(args.wheel.stat().st_size) if args.wheel else "-"]]

        bare = {"PATH": "/usr/bin:/bin"}  # env -i, plus PATH so that nothing is found by accident either way
        installed = {k: v for k, v in os.environ.items() if k not in ("SDL_VIDEODRIVER", "DISPLAY", "PYTHONPATH")}
        programs = {"standalone app (env -i)": ([str(app / "digits-player")], bare),
                    "wheel install": ([str(venv / "bin" / "digits-player")], installed)}
        notes = []
        with common.Xvfb(enabled=not args.no_xvfb) as xvfb:
            drivers = {"SDL dummy": {"SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}}
            if xvfb.display:
                drivers["Xvfb"] = {"DISPLAY": xvfb.display, "SDL_AUDIODRIVER": "dummy"}
            elif not args.no_xvfb:
                notes.append("Xvfb not available: timed under the dummy video driver only")
            cases = {f"{name}, {driver}": (cmd + ["--events", "--max-frames", "1"], {**env, **extra})
                     for name, (cmd, env) in programs.items() for driver, extra in drivers.items()}
            results = {name: [] for name in cases}
            try:
                for _ in range(args.runs):
                    for name, (cmd, env) in cases.items():
                        results[name].append(startup.run_once(cmd, env, wait_ready=True))
            except startup.StartError as e:
                print(f"bundle.py: {e}", file=sys.stderr)
                return 1

    med = {name: {k: common.median([r[k] for r in rs]) for k in ("ready", "exit", "rss")}
           for name, rs in results.items()}
    rows = [[name, f"{m['ready']:.3f} s", f"{m['exit']:.3f} s", common.mb(m["rss"])] for name, m in med.items()]
    body = ("size (sum of the files):\n\n" + common.table(["", "on disk", "download"], sizes)
            + f"\n\nstart-up, median of {args.runs} fresh processes each, interleaved:\n\n"
            + common.table(["start", "window ready", "process done (model loaded)", "peak RSS"], rows))
    worst_ready = max(m["ready"] for name, m in med.items() if name.startswith("standalone"))
    lines = [f"unpacked app {common.mb(app_bytes)}; goal <= {common.mb(SIZE_GOAL)}: "
             f"{common.verdict(app_bytes <= SIZE_GOAL)}",
             f"app window ready (slowest driver) {worst_ready:.3f} s; goal <= {READY_GOAL} s: "
             f"{common.verdict(worst_ready <= READY_GOAL)}"]
    body += "\n\n" + "\n".join(f"- {line}" for line in lines + notes)
    print(body)
    common.record("bundle.py", body, ["pyinstaller", "pygame", "onnxruntime", "numpy"], args, at_start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
