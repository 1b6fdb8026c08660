"""footprint.py: disk size of what end users install versus an install with TensorFlow, and of each model file.

End user: a fresh `python -m venv` in /tmp with `pip install .` of this checkout (no extras: the
player, digits-predict, onnxruntime), measured whole like `du -s` (disk blocks, each file once).
With TensorFlow: not installed a second time (it is ~2 GB); instead the distributions that
`digits[train]` needs, followed through their requirements in the environment running this
script (the project's .venv), are summed file by file from their RECORDs, plus a bare venv.
The same sum for plain `digits` is shown too, so both sides are also compared by one method.
`--fresh-train` installs `.[train]` into a second venv and measures it instead of estimating.

    python benchmarks/footprint.py                       # ~1-2 minutes (downloads from PyPI); appends to RESULTS.md
    python benchmarks/footprint.py --quick --no-record   # model files and the .venv sums only, no installs
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import common

TARGET = 5  # the end-user env at most 1/5 of the TensorFlow one
MODELS = ["models/digits.onnx", "models/digits.int8.onnx", "models/digits.keras", "runs/tutorial/model_Mnist.h5"]
SOURCES = ["pyproject.toml", "README.md", "LICENSE", "player", "training", "export"]


def parse_args(argv=None):
    p = common.parser(__doc__)
    p.add_argument("--keep", action="store_true", help="keep the venvs made in /tmp (their paths are printed)")
    p.add_argument("--fresh-train", action="store_true", help="also install .[train] into a fresh venv and "
                                                              "measure it (slow, ~2 GB)")
    p.add_argument("--models", nargs="*", type=Path, help=f"model files to size (default: {' '.join(MODELS)})")
    args = p.parse_args(argv)
    args.models = args.models if args.models is not None else [common.ROOT / m for m in MODELS]
    return args


def disk_usage(paths) -> int:
    """Bytes on disk (st_blocks, like du) of the files under `paths`, each inode counted once,
    symlinks not followed."""
    seen, total = set(), 0
    stack = [Path(p) for p in paths]
    while stack:
        path = stack.pop()
        try:
            st = path.lstat()
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in seen:
            continue
        seen.add((st.st_dev, st.st_ino))
        total += st.st_blocks * 512
        if path.is_dir() and not path.is_symlink():
            stack.extend(path.iterdir())
    return total


def requirement_closure(name: str, extras: set[str]) -> tuple[dict[str, metadata.Distribution], list[str]]:
    """The installed distributions that `name[extras]` needs, directly or not (itself excluded),
    and the requirements that are not installed."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    found: dict[str, metadata.Distribution] = {}
    missing, seen = [], set()
    todo = [(name, frozenset(extras))]
    while todo:
        dist_name, dist_extras = todo.pop()
        if (canonicalize_name(dist_name), dist_extras) in seen:
            continue
        seen.add((canonicalize_name(dist_name), dist_extras))
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError:
            missing.append(dist_name)
            continue
        if canonicalize_name(dist_name) != canonicalize_name(name):
            found[canonicalize_name(dist_name)] = dist
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker and not any(req.marker.evaluate({"extra": e}) for e in dist_extras | {""}):
                continue
            todo.append((req.name, frozenset(req.extras)))
    return found, sorted(set(missing))


def distributions_size(dists) -> int:
    files = []
    for dist in dists:
        for f in dist.files or []:
            files.append(Path(dist.locate_file(f)))
    return disk_usage(files)


def copy_sources(dest: Path) -> None:
    """The checkout's files a `pip install .` reads; models/ without checkpoints or Keras files."""
    for name in SOURCES:
        src = common.ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif src.is_file():
            shutil.copy2(src, dest / name)
    (dest / "models").mkdir()
    for f in (common.ROOT / "models").glob("*"):
        if f.is_file() and f.suffix in (".onnx", ".json", ".py"):
            shutil.copy2(f, dest / "models" / f.name)


def make_venv(path: Path, source: Path, spec: str) -> tuple[int, int]:
    """(bare venv size, size after pip install spec) in bytes."""
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    bare = disk_usage([path])
    pip = [str(path / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    print(f"pip install {spec} into {path} ...", flush=True)
    subprocess.run(pip + [spec], check=True, cwd=source)
    return bare, disk_usage([path])


def main(argv=None) -> int:
    args = parse_args(argv)
    at_start = common.machine()
    notes = []

    # ---- model files
    sizes = {path: path.stat().st_size if path.is_file() else None for path in args.models}
    onnx_size = next((size for path, size in sizes.items() if path.name == "digits.onnx"), None)
    rows = [[path.relative_to(common.ROOT) if path.is_relative_to(common.ROOT) else path,
             common.mb(size) if size is not None else "missing", size if size is not None else "-",
             f"{size / onnx_size:.2f}×" if size and onnx_size else "-"] for path, size in sizes.items()]
    model_table = "model files:\n\n" + common.table(["file", "size", "bytes", "vs digits.onnx"], rows)

    # ---- environments
    try:
        user_dists, user_missing = requirement_closure("digits", set())
        train_dists, train_missing = requirement_closure("digits", {"train"})
    except metadata.PackageNotFoundError:
        print("footprint.py: the digits distribution is not installed here; run with the project's venv "
              "(pip install -e '.[train,dev]')", file=sys.stderr)
        return 2
    except ImportError:
        print("footprint.py: needs `packaging` (installed with the [train] extra)", file=sys.stderr)
        return 2
    for what, missing in (("digits", user_missing), ("digits[train]", train_missing)):
        if missing:
            notes.append(f"not installed here, so not counted in {what}: {', '.join(missing)}")
    user_sum, train_sum = distributions_size(user_dists.values()), distributions_size(train_dists.values())
    tf_only = {k: d for k, d in train_dists.items() if k not in user_dists}
    biggest = sorted(((distributions_size([d]), k) for k, d in tf_only.items()), reverse=True)[:5]
    env_rows = [
        ["digits (end user): its dependencies in this environment", "sum of RECORD files", common.mb(user_sum),
         len(user_dists)],
        ["digits[train]: its dependencies in this environment", "sum of RECORD files", common.mb(train_sum),
         len(train_dists)],
    ]
    lines = [f"end user / with TensorFlow, dependencies only, same method: {user_sum / train_sum:.3f} "
             f"(1/{train_sum / user_sum:.1f}); target <= 1/{TARGET}: {common.verdict(user_sum * TARGET <= train_sum)}",
             "largest of what [train] adds: " + ", ".join(f"{k} {common.mb(s)}" for s, k in biggest)]

    if not args.quick:
        tmp = Path(tempfile.mkdtemp(prefix="digits-footprint-"))
        try:
            source = tmp / "src"
            source.mkdir()
            copy_sources(source)
            if not (source / "models" / "digits.onnx").exists():
                notes.append("models/digits.onnx missing: the end-user install has no model in it")
            bare, user_env = make_venv(tmp / "user", source, ".")
            tf_estimate = bare + train_sum
            env_rows[:0] = [
                ["bare venv (python -m venv, with pip)", "installed, du", common.mb(bare), "-"],
                ["end user: pip install . (fresh venv)", "installed, du", common.mb(user_env), "-"],
            ]
            env_rows.append(["with TensorFlow: bare venv + digits[train] dependencies", "estimate",
                             common.mb(tf_estimate), "-"])
            tf_env, tf_method = tf_estimate, "bare venv + the [train] dependencies summed from this environment"
            if args.fresh_train:
                _, tf_env = make_venv(tmp / "train", source, ".[train]")
                env_rows.append(["with TensorFlow: pip install .[train] (fresh venv)", "installed, du",
                                 common.mb(tf_env), "-"])
                tf_method = "a fresh venv with pip install .[train]"
            lines.insert(0, f"end-user venv / TensorFlow venv: {user_env / tf_env:.3f} (1/{tf_env / user_env:.1f}); "
                            f"target <= 1/{TARGET}: {common.verdict(user_env * TARGET <= tf_env)} "
                            f"(TensorFlow side: {tf_method})")
        finally:
            if args.keep:
                notes.append(f"kept {tmp}")
            else:
                shutil.rmtree(tmp, ignore_errors=True)
    else:
        notes.append("--quick: no venv installed; dependency sums only")

    env_table = "installed size of each environment:\n\n" + common.table(["environment", "method", "size",
                                                                          "distributions"], env_rows)
    body = "\n\n".join([env_table, model_table, "\n".join(f"- {line}" for line in lines + notes)])
    print(body)
    common.record("footprint.py", body, ["pip", "onnxruntime", "numpy", "pygame", "pillow", "tensorflow"], args,
                  at_start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
