"""What every benchmark shares: the command line, medians, a table, and the dated RESULTS.md entry.

Imported by `python benchmarks/NAME.py` as a plain module (the script's folder is on sys.path);
it puts the repository root there too, so the checkout's `player` and `training` are used.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from datetime import datetime
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
MNIST = Path(os.environ.get("DIGITS_MNIST") or ROOT.parent / "shared" / "data" / "mnist.npz")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def parser(doc: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0], epilog=doc.split("\n\n", 1)[-1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds: a smoke run")
    p.add_argument("--no-record", action="store_true", help=f"do not append the results to {RESULTS.name}")
    return p


def median(values) -> float:
    return float(statistics.median(values))


def table(headers: list[str], rows: list[list]) -> str:
    """A Markdown table, columns padded so it reads in a terminal too; numbers right-aligned."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [all(_numeric(r[i]) for r in cells[1:]) for i in range(len(headers))]

    def line(row):
        return "| " + " | ".join(c.rjust(w) if n else c.ljust(w) for c, w, n in zip(row, widths, numeric,
                                                                                     strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 1) + ":" if n else "-" * (w + 2) for w, n in zip(widths, numeric,
                                                                                        strict=True)) + "|"
    return "\n".join([line(cells[0]), rule] + [line(r) for r in cells[1:]])


def _numeric(text: str) -> bool:
    t = text.strip().rstrip("×x%").replace(",", "").replace(" ms", "").replace(" MB", "").replace(" s", "")
    try:
        float(t)
        return True
    except ValueError:
        return text.strip() in ("-", "")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine() -> str:
    # the one reading of the CPU's vector instruction sets, which the int8 checks print too
    from export.quantize import cpu_features

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    return (f"{os.cpu_count()} cores ({usable} usable), {cpu_model()}, CPU features {cpu_features()}, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}{load}")


def versions(names: list[str]) -> str:
    """Installed versions, read from package metadata (nothing is imported)."""
    out = []
    for name in names:
        try:
            out.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(f"{name} (not installed)")
    return ", ".join(out)


def record(script: str, body: str, libraries: list[str], args: argparse.Namespace, at_start: str) -> None:
    """Print where the numbers come from and, unless --no-record, append them to RESULTS.md."""
    header = (f"machine: {at_start}\n\nversions: {versions(libraries)}\n\n"
              f"command: `{' '.join(['python', f'benchmarks/{script}', *sys.argv[1:]])}`\n")
    print(f"\n{header}")
    if args.no_record:
        return
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n\nAppended by `python benchmarks/NAME.py` (newest last); "
                           "see README.md in this folder.\n")
    with RESULTS.open("a") as f:
        f.write(f"\n## {datetime.now():%Y-%m-%d %H:%M} {script}\n\n{header}\n{body.rstrip()}\n")
    print(f"appended to {RESULTS}")


def digits_predict(paths: list[Path], model: Path, threshold: float = 0.0, root: Path = ROOT,
                   batch_files: int = 500) -> dict[str, dict]:
    """`python -m player.predict --json` from checkout `root` (the real command line) over all
    files, batch_files per process: file -> its JSON result ({"digits", ...} or {"error"}).
    RuntimeError (one line) when digits-predict itself fails."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    results = {}
    for i in range(0, len(paths), batch_files):
        command = [sys.executable, "-m", "player.predict", "--json", "--threshold", str(threshold), "--model",
                   str(model), *map(str, paths[i : i + batch_files])]
        done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
        if done.returncode not in (0, 1):
            last = (done.stderr.strip().splitlines() or ["no message"])[-1][:500]
            raise RuntimeError(f"digits-predict from {root} exited with {done.returncode}: {last}")
        for line in done.stdout.splitlines():
            result = json.loads(line)
            results[result["file"]] = result
    return results


def write_drawings(drawings: list[dict], folder: Path, prefix: str) -> list[Path]:
    """Drawings as the player saves them (stroke JSON), PREFIX-00000.json on: what digits-predict reads."""
    paths = [folder / f"{prefix}-{i:05d}.json" for i in range(len(drawings))]
    for path, drawing in zip(paths, drawings, strict=True):
        path.write_text(json.dumps(drawing))
    return paths


def pct(hits: int, n: int) -> str:
    return f"{hits / n:.2%}" if n else "-"


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms" if seconds < 0.01 else f"{seconds * 1e3:.1f} ms"


def mb(nbytes: float) -> str:
    return f"{nbytes / 1e6:.1f} MB" if nbytes >= 1e5 else f"{nbytes / 1e6:.3f} MB"


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"
