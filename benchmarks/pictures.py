"""pictures.py: digits-predict on pictures of real-looking paper: MNIST test digits laid on
clean, grey and noisy, unevenly lit, JPEG-compressed and dark (chalkboard) backgrounds.

Each MNIST test digit (writers the model never trained on) is enlarged 2-5x and laid on a
sheet as ink (its grey level is the ink's coverage), alone or as two digits side by side with
a gap of 10-50% of the digit height and a slightly different baseline. The pictures are
written as PNG (JPEG for the JPEG rows) and read by `python -m player.predict --json`, exactly
as a user would run it. A single is right when exactly one digit is read and it is the true
one; a pair when exactly two are, both right. Then digits that touch or overlap side to side
(gaps of -15% to +5% of the digit height: no empty column between them), as pairs reported
per gap range of 5 points, and as numbers of 3-4 digits; these come from their own random
stream, so the rows above stay the same pictures as before they were added. `--baseline DIR`
also runs digits-predict from another checkout (e.g. the main branch) on the same files.
Fixed seed.

    python benchmarks/pictures.py                       # ~8 minutes per checkout; appends to benchmarks/RESULTS.md
    python benchmarks/pictures.py --quick --no-record   # seconds, nothing written
"""

from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path

import common
import numpy as np

from player.model import find_model

TARGET_SINGLE, TARGET_PAIR = 0.99, 0.97  # on grey paper with noise of standard deviation 12


# name -> (paper level, ink level, noise std, uneven light, JPEG quality or None)
SHEETS = {
    "white paper": (245, 20, 2, False, None),
    "grey 170, noise 12": (170, 0, 12, False, None),
    "grey 170, noise 25": (170, 0, 25, False, None),
    "uneven light, noise 8": (180, 20, 8, True, None),
    "grey 170, noise 12, JPEG q25": (170, 0, 12, False, 25),
    "chalkboard (light ink), noise 12": (40, 230, 12, False, None),
}
HEADLINE = "grey 170, noise 12"
# touching and overlapping digits: gap ranges (fraction of the digit height; < 0: overlapping),
# a pair's gap drawn evenly within one of them, pictures spread evenly over them
CLOSE = [(-0.15, -0.10), (-0.10, -0.05), (-0.05, 0.0), (0.0, 0.05)]
NUMBER = "3-4 digits"


def parse_args(argv=None):
    p = common.parser(__doc__)
    p.add_argument("--model", type=Path, help="ONNX model (default: $DIGITS_MODEL or models/digits.onnx)")
    p.add_argument("--data", type=Path, default=common.MNIST, help="MNIST .npz (default $DIGITS_MNIST or "
                                                                   "../shared/data/mnist.npz)")
    p.add_argument("--singles", type=int, help="single-digit pictures per sheet (default 1000; --quick 40)")
    p.add_argument("--pairs", type=int, help="two-digit pictures per sheet (default 500; --quick 20)")
    p.add_argument("--close", type=int, help="touching or overlapping pairs per sheet (default 500, spread "
                                             "over the gap ranges; --quick 20)")
    p.add_argument("--numbers", type=int, help="touching or overlapping numbers of 3-4 digits per sheet "
                                               "(default 200; --quick 10)")
    p.add_argument("--baseline", type=Path, metavar="DIR", help="also run digits-predict from this checkout")
    p.add_argument("--out", type=Path, help="keep the pictures in DIR (default: a temporary folder)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    args.singles = args.singles if args.singles is not None else (40 if args.quick else 1000)
    args.pairs = args.pairs if args.pairs is not None else (20 if args.quick else 500)
    args.close = args.close if args.close is not None else (20 if args.quick else 500)
    args.numbers = args.numbers if args.numbers is not None else (10 if args.quick else 200)
    return args


def coverage(digits: list[np.ndarray], rng, gaps: list[float] | None = None) -> np.ndarray:
    """Ink coverage 0-1 of MNIST digits, enlarged and side by side, with margins; `gaps`
    between them as fractions of the digit height (default: drawn from 10-50%)."""
    from PIL import Image

    factor = rng.uniform(2, 5)
    side = round(28 * factor)
    pieces = []
    for d in digits:
        big = np.asarray(Image.fromarray(d).resize((side, side), Image.BICUBIC), np.float64) / 255
        cols = np.flatnonzero(big.max(axis=0) > 0.1)
        pieces.append(big[:, cols[0] : cols[-1] + 1])  # the ink's own width: gaps are set below
    height = side  # MNIST digits are 20 px of 28: the ink is ~70% of this
    gaps = [round((rng.uniform(0.1, 0.5) if gaps is None else gaps[i]) * 0.7 * height)
            for i in range(len(pieces) - 1)]
    margin_x, margin_y = round(rng.uniform(0.2, 0.8) * height), round(rng.uniform(0.1, 0.5) * height)
    width = sum(p.shape[1] for p in pieces) + sum(gaps) + 2 * margin_x
    sheet = np.zeros((height + 2 * margin_y, width))
    x = margin_x
    for i, p in enumerate(pieces):
        y = margin_y + (round(rng.uniform(-0.05, 0.05) * height) if i else 0)  # a hand's baseline
        sheet[y : y + height, x : x + p.shape[1]] = np.maximum(sheet[y : y + height, x : x + p.shape[1]], p)
        x += p.shape[1] + (gaps[i] if i < len(gaps) else 0)
    return sheet


def picture(alpha: np.ndarray, sheet: tuple, rng) -> bytes:
    """Ink coverage on a sheet -> PNG or JPEG bytes."""
    from PIL import Image

    paper, ink, noise, uneven, quality = sheet
    h, w = alpha.shape
    level = np.full(alpha.shape, float(paper))
    if uneven:  # light falling across the sheet: a slope in a random direction and a dim corner
        angle = rng.uniform(0, 2 * np.pi)
        ys, xs = np.mgrid[0:h, 0:w]
        t = ((xs / w - 0.5) * np.cos(angle) + (ys / h - 0.5) * np.sin(angle))
        level = level + 80 * t - 25 * ((xs / w - rng.uniform(0, 1)) ** 2 + (ys / h - rng.uniform(0, 1)) ** 2)
    pixels = level * (1 - alpha) + ink * alpha + rng.normal(0, noise, alpha.shape)
    image = Image.fromarray(np.clip(np.round(pixels), 0, 255).astype(np.uint8))
    out = io.BytesIO()
    if quality:
        image.save(out, "JPEG", quality=quality)
    else:
        image.save(out, "PNG")
    return out.getvalue()


def close_group(lo: float, hi: float) -> str:
    return f"gap {lo:+.0%}..{hi:+.0%}"


def write_pictures(x_test, y_test, folder: Path, singles: int, pairs: int, close: int, numbers: int, seed: int):
    """path -> (sheet name, true digits, group: "single", "pair", a close_group or NUMBER)"""
    rng = np.random.default_rng(seed)
    truth = {}
    for s, (name, sheet) in enumerate(SHEETS.items()):
        for kind, count, n in (("single", singles, 1), ("pair", pairs, 2)):
            for i in range(count):
                idx = rng.choice(len(x_test), n, replace=False)
                ext = "jpg" if sheet[4] else "png"
                path = folder / f"{s}-{kind}-{i:04d}.{ext}"
                path.write_bytes(picture(coverage([x_test[j] for j in idx], rng), sheet, rng))
                truth[path] = (name, "".join(str(int(y_test[j])) for j in idx), kind)
    rng = np.random.default_rng([seed, 1])  # its own stream: the pictures above stay as they were
    for s, (name, sheet) in enumerate(SHEETS.items()):
        for kind, count in (("close", close), ("number", numbers)):
            for i in range(count):
                n = 2 if kind == "close" else int(rng.integers(3, 5))
                lo, hi = CLOSE[i % len(CLOSE)] if kind == "close" else (CLOSE[0][0], CLOSE[-1][1])
                idx = rng.choice(len(x_test), n, replace=False)
                path = folder / f"{s}-{kind}-{i:04d}.{'jpg' if sheet[4] else 'png'}"
                gaps = list(rng.uniform(lo, hi, n - 1))
                path.write_bytes(picture(coverage([x_test[j] for j in idx], rng, gaps), sheet, rng))
                truth[path] = (name, "".join(str(int(y_test[j])) for j in idx),
                               close_group(lo, hi) if kind == "close" else NUMBER)
    return truth


def main(argv=None) -> int:
    args = parse_args(argv)
    at_start = common.machine()
    from training.data import DataError, load_mnist

    try:
        _, _, x_test, y_test = load_mnist(args.data)
    except DataError as e:
        print(f"pictures.py: {e}", file=sys.stderr)
        return 2
    model = (args.model or find_model()).resolve()
    if not model.is_file():
        print(f"pictures.py: {model}: model not found", file=sys.stderr)
        return 2
    roots = {"this checkout": common.ROOT}
    if args.baseline:
        roots[f"baseline ({args.baseline})"] = args.baseline.resolve()
    with tempfile.TemporaryDirectory(prefix="pictures-") as tmp:
        folder = args.out or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        truth = write_pictures(x_test, y_test, folder, args.singles, args.pairs, args.close, args.numbers,
                               args.seed)
        try:  # file -> the digits read, or "error: ..." (never equal to a label)
            read = {name: {file: r.get("digits", "error: " + r.get("error", ""))
                           for file, r in common.digits_predict(list(truth), model, root=root).items()}
                    for name, root in roots.items()}
        except RuntimeError as e:
            print(f"pictures.py: {e}", file=sys.stderr)
            return 1

    def score(name: str, sheet: str, group: str) -> tuple[float, float] | None:
        """(right, the right number of digits found) of one group of pictures, None if empty"""
        items = [(label, read[name].get(str(p), "")) for p, (s, label, g) in truth.items()
                 if s == sheet and g == group]
        if not items:
            return None
        return (sum(label == got for label, got in items) / len(items),
                sum(len(got) == len(label) for label, got in items) / len(items))

    rows, close_rows, verdicts = [], [], []
    groups = [close_group(lo, hi) for lo, hi in CLOSE] + [NUMBER]
    for sheet in SHEETS:
        row, close_row = [sheet], [sheet]
        for name in roots:
            for kind in ("single", "pair"):
                right, counted = score(name, sheet, kind) or (float("nan"), float("nan"))
                row += [f"{right:.2%}", f"{counted:.2%}"]
                if sheet == HEADLINE and name == "this checkout":
                    target = TARGET_SINGLE if kind == "single" else TARGET_PAIR
                    verdicts.append(f"{sheet}, {kind}s: {right:.2%} right; target >= {target:.0%}: "
                                    f"{common.verdict(right >= target)}")
            close_row += [f"{r[0]:.2%}" if r else "-" for r in (score(name, sheet, g) for g in groups)]
        rows.append(row)
        close_rows.append(close_row)
    headers = ["sheet"]
    for name in roots:
        prefix = "" if name == "this checkout" else "baseline: "
        headers += [f"{prefix}singles right", f"{prefix}singles, one digit found", f"{prefix}pairs right",
                    f"{prefix}pairs, two digits found"]
    close_headers = ["sheet"]
    for name in roots:
        prefix = "" if name == "this checkout" else "baseline: "
        close_headers += [f"{prefix}pairs, {g}" for g in groups[:-1]] + [f"{prefix}numbers of {NUMBER}"]
    body = (f"model: {model.name}; MNIST test digits, {args.singles} single-digit and {args.pairs} two-digit pictures "
            f"per sheet, seed {args.seed}\n\n" + common.table(headers, rows) + "\n\n"
            + "\n".join(f"- {v}" for v in verdicts) + "\n\n"
            + f"Touching and overlapping digits (gap: fraction of the digit height; < 0: overlapping side to side), "
              f"right: {args.close} pairs per sheet (spread evenly over the gap ranges) and {args.numbers} numbers "
              f"of {NUMBER} with gaps of {CLOSE[0][0]:+.0%}..{CLOSE[-1][1]:+.0%}\n\n"
            + common.table(close_headers, close_rows))
    print(body)
    common.record("pictures.py", body, ["onnxruntime", "numpy", "pillow"], args, at_start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
