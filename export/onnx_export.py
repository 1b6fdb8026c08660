"""digits-export: the trained Keras model -> ONNX for the player, checked against Keras on MNIST's test set.

The story, as export() tells it: check the inputs (model file, output folder, data) before the
slow imports; measure fp32 (convert with tf2onnx, export/convert.py, then run Keras and
onnxruntime on every test image); measure int8 (--quantize: export/quantize.py, run on the same
images); gate (fp32 equals Keras on every output, int8 loses at most 0.1 points); write the
files, all or nothing. Each model measured is one record (a Variant), from which both the
printed table and metrics.json are made. Nothing at --out changes unless every check passed,
and files are replaced whole.

    digits-export                                  # models/digits.keras -> models/digits.onnx
    digits-export --quantize                       # also models/digits.int8.onnx
    digits-export --model runs/a/digits.keras --out runs/a/digits.onnx --data ../shared/data/mnist.npz

The ONNX outputs are the Keras model's, in the player's order: probabilities [N,10] first, then
not_digit [N,1] and features [N,k] (the penultimate layer) when the model has them. A one-output
model's output is probabilities, whatever Keras called it.

The int8 model has 7-bit weights (reduce_range), not the usual 8-bit ones: onnxruntime's int8
kernels on CPUs without VNNI add pairs of products into saturating 16-bit sums, and a model
with 8-bit weights read 99.43% of MNIST test on such a CPU (AVX2 only) and 99.61% on one with
VNNI (fp32 99.67%). With 7-bit weights no sum can overflow: every CPU computes the same, and
it is faster than fp32. The numbers and the alternatives: export/quantize.py.

Exit status: 0 exported; 1 a check failed (parity, size, int8 accuracy); 2 bad input (model,
data or output folder) or TensorFlow / tf2onnx not installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from export.convert import (
    OPSET,
    TRAIN_HINT,
    ExportError,
    check_proto,
    convert,
    first_line,
    import_converters,
    load_keras,
    named_outputs,
    prune_opsets,
    set_metadata,
)
from export.quantize import METHOD, cpu_features, quantize
from player.model import INPUT_NAME, OUTPUT_NAME, in_batches
from player.preprocess import PREPROCESS_VERSION
from training.data import DataError, load_mnist, sha256

DEFAULT_MODEL = Path("models/digits.keras")
DEFAULT_OUT = Path("models/digits.onnx")
INT8_SUFFIX = ".int8.onnx"  # digits.onnx -> digits.int8.onnx, the name the wheel ships
# Largest |keras - onnx| tolerated on an output, times the output's largest magnitude when that
# exceeds 1 (features are unbounded; probabilities and not_digit lie in 0..1). float32
# reassociation gives ~2e-6 on the probabilities and ~1e-6 of the largest feature.
PARITY_ATOL = 1e-5
MAX_ONNX_BYTES = 1_000_000  # the fp32 model ships in the wheel; 178k float32 weights are ~0.7 MB
MAX_INT8_LOSS = 0.001  # int8 may lose at most 0.1 percentage points of MNIST test accuracy
INT8_CALIBRATION_IMAGES = 1000  # training images (never test ones) that set the int8 activation ranges
INT8_CALIBRATION_SEED = 0
BATCH = 500  # images per inference call in the checks: bounded memory, few calls
MODEL_VERSION_MAJOR = 1  # model_version = 1.<yyyymmdd>-<sha256 of the .keras, 8 hex>
KERAS_SUFFIXES = {".keras": b"PK", ".h5": b"\x89HDF\r\n\x1a\n", ".hdf5": b"\x89HDF\r\n\x1a\n"}
CONVERTERS = ("tensorflow", "tf2onnx", "onnx")  # the `train` extra; the player needs none of them


def min_int8_images() -> int:
    """Fewest test images on which the int8 gate can tell 0.1 points: below 1,000, losing a single
    image is already more than the gate allows, so a good int8 model would fail on one unlucky digit."""
    return math.ceil(1 / MAX_INT8_LOSS - 1e-9)


def too_few_for_int8(n: int) -> str:
    return (f"--quantize needs at least {min_int8_images()} test images: one image of {n} is "
            f"{100 / n:.2f} points, more than the {100 * MAX_INT8_LOSS:.1f} points int8 may lose")


def parse_args(argv=None) -> argparse.Namespace:
    from player import __version__

    p = argparse.ArgumentParser(prog="digits-export", description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 2)[2],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL,
                   help=f"Keras model, .keras or .h5 (default {DEFAULT_MODEL})")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help=f"ONNX file to write, or a folder (default {DEFAULT_OUT})")
    p.add_argument("--data", help="MNIST .npz or folder of IDX files for the checks; default $DIGITS_MNIST, "
                                  "else keras.datasets.mnist.load_data() (as digits-train)")
    p.add_argument("--quantize", action="store_true",
                   help=f"also write an int8 model beside --out (digits{INT8_SUFFIX}), checked against fp32")
    p.add_argument("--limit", type=int, metavar="N", help="check on the first N test images only (quick runs; "
                                                           "a model to ship is checked on all)")
    args = p.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        p.error("--limit must be at least 1")
    if args.quantize and args.limit is not None and args.limit < min_int8_images():
        p.error(f"{too_few_for_int8(args.limit)}; use --limit {min_int8_images()} or more")
    if args.out.is_dir():
        args.out = args.out / DEFAULT_OUT.name
    if args.out.suffix != ".onnx":  # also keeps `--out models/digits.keras` from replacing the source
        p.error(f"--out must name an .onnx file or a folder, not {args.out}")
    return args


# ---------------------------------------------------------------- inputs, checked before the slow imports


def check_model_file(path: Path) -> None:
    """A Keras file by name and by its first bytes: a clear answer without waiting for TensorFlow."""
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "no such file"
        raise ExportError(f"{path}: {what}; train a model with digits-train or pass --model PATH")
    magic = KERAS_SUFFIXES.get(path.suffix.lower())
    if magic is None:
        raise ExportError(f"{path}: not a Keras model file (expected .keras or .h5, got '{path.suffix}')")
    try:
        with path.open("rb") as f:
            head = f.read(len(magic))
    except OSError as e:
        raise ExportError(f"{path}: cannot read ({e.strerror or e})") from None
    if head != magic:
        kind = "a zip archive" if magic == b"PK" else "an HDF5 file"
        raise ExportError(f"{path}: not a Keras model (a {path.suffix} file is {kind}; this one is not: corrupt?)")


def check_out_dir(out: Path) -> None:
    """Create the output folder and prove we can write there, before minutes of work."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".probe")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise ExportError(f"{out}: cannot write to {out.parent} ({e.strerror or e})") from None


def read_json(path: Path) -> dict | None:
    """A metrics.json as a dict, None when absent; an unreadable one stops us rather than being overwritten."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ExportError(f"{path}: not readable JSON ({e}); fix or delete it") from None
    if not isinstance(data, dict):
        raise ExportError(f"{path}: expected a JSON object, got {type(data).__name__}; fix or delete it")
    return data


def load_test_data(args) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(calibration images, test images, test labels, all test images): pixels 0-1, [N,28,28,1]."""
    missing = [name for name in CONVERTERS if importlib.util.find_spec(name) is None]
    if missing:  # said now, not after loading 50 MB of MNIST
        raise ExportError(f"{' and '.join(missing)} not installed; exporting needs TensorFlow, tf2onnx and onnx: "
                          f"{TRAIN_HINT}")
    try:  # before TensorFlow: a bad --data is reported at once (only a download needs Keras)
        x_train, _, x_test, y_test = load_mnist(args.data)
    except DataError as e:
        raise ExportError(str(e)) from None
    all_test = len(y_test)
    x_test, y_test = x_test[: args.limit], y_test[: args.limit]
    if args.quantize and len(y_test) < min_int8_images():
        raise ExportError(f"{args.data or 'MNIST'}: {len(y_test)} test images; {too_few_for_int8(len(y_test))}")
    # a random, fixed sample: the first images of a file may not cover all ten digits evenly
    pick = np.random.default_rng(INT8_CALIBRATION_SEED).permutation(len(x_train))[:INT8_CALIBRATION_IMAGES]
    return x_train[np.sort(pick)][..., None] / np.float32(255), x_test[..., None] / np.float32(255), y_test, all_test


def run_onnx(model_bytes: bytes, x: np.ndarray) -> dict[str, np.ndarray]:
    """Every output of the ONNX model on every image, by name, in the file's order."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # warnings about unused initializers are not for the user
    session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, in_batches(lambda batch: session.run(names, {INPUT_NAME: batch}), x, BATCH), strict=True))


# ---------------------------------------------------------------- measuring: one record per model


@dataclass
class Variant:
    """One model measured on the test images: a column of the printed table and a section of metrics.json."""

    name: str  # "keras", "onnx fp32", "onnx int8"
    outputs: dict[str, np.ndarray]  # output name -> values on every test image
    correct: int  # test images whose most probable class is their label
    size_bytes: int
    diffs: dict[str, float] = field(default_factory=dict)  # output name -> max |this - keras|
    mismatches: int = 0  # test images where this model's class differs from Keras'
    model: bytes = b""  # the ONNX file to write
    metadata: dict[str, str] = field(default_factory=dict)  # what that file says about itself

    @property
    def accuracy(self) -> float:
        return self.correct / len(self.outputs[OUTPUT_NAME])


def measure(name: str, outputs: dict, y: np.ndarray, size_bytes: int, keras: Variant | None = None) -> Variant:
    classes = outputs[OUTPUT_NAME].argmax(1)
    variant = Variant(name, outputs, int((classes == y).sum()), size_bytes)
    if keras is not None:
        variant.diffs = {k: float(np.abs(v - keras.outputs[k]).max()) for k, v in outputs.items()}
        variant.mismatches = int((classes != keras.outputs[OUTPUT_NAME].argmax(1)).sum())
    return variant


def parity_limit(keras: Variant, output: str) -> float:
    return PARITY_ATOL * max(1.0, float(np.abs(keras.outputs[output]).max()))


def model_metadata(model_path: Path, training: dict, fp32_accuracy: float, n: int, tf, tf2onnx, onnx) -> dict:
    """What the player and a reader of the .onnx learn about it: versions, numbers, provenance."""
    import keras
    import onnxruntime as ort

    try:
        sha = sha256(model_path)
    except DataError as e:
        raise ExportError(str(e)) from None
    now = datetime.now(UTC)
    metadata = {
        "model_version": f"{MODEL_VERSION_MAJOR}.{now:%Y%m%d}-{sha[:8]}",
        "preprocess_version": str(training.get("preprocess_version", PREPROCESS_VERSION)),
        "mnist_test_accuracy": f"{fp32_accuracy:.6f}",
        "mnist_test_images": str(n),
        "pen_val_accuracy": training.get("pen_val_accuracy"),
        "source_file": model_path.name,
        "source_sha256": sha,
        "training_command": training.get("command"),
        "trained": training.get("created"),
        "created": now.isoformat(timespec="seconds"),
        "opset": str(OPSET),
        "converter": f"tf2onnx {tf2onnx.__version__}",
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
        "onnx_version": onnx.__version__,
        "onnxruntime_version": ort.__version__,
    }
    return {k: str(v) for k, v in metadata.items() if v is not None}  # absent, not "None"


def measure_fp32(args, x, y, training, tf, tf2onnx, onnx) -> tuple[Variant, Variant]:
    """(keras, onnx fp32): the model converted, both run on every test image."""
    model, keras_names, names = load_keras(args.model)
    try:
        proto = convert(model, keras_names, names, tf, tf2onnx)
    except Exception as e:  # tf2onnx fails on layers it has no ONNX for, with many exception types
        raise ExportError(f"{args.model}: tf2onnx cannot convert this model ({first_line(e)})") from None
    check_proto(proto, onnx, str(args.out))
    keras_outputs = named_outputs(model.predict(x, batch_size=BATCH, verbose=0), keras_names, names)
    keras = measure("keras", keras_outputs, y, args.model.stat().st_size)
    fp32 = measure("onnx fp32", run_onnx(proto.SerializeToString(), x), y, 0, keras)
    fp32.metadata = model_metadata(args.model, training, fp32.accuracy, len(y), tf, tf2onnx, onnx)
    set_metadata(proto, fp32.metadata)
    fp32.model = proto.SerializeToString()
    fp32.size_bytes = len(fp32.model)
    return keras, fp32


# ---------------------------------------------------------------- int8


def measure_int8(fp32: Variant, keras: Variant, calibration, x, y, int8_out: Path, onnx) -> Variant:
    """The fp32 model quantized and run on the same test images; its file has the fp32 metadata."""
    try:
        proto = onnx.load_from_string(quantize(fp32.model, calibration))
    except Exception as e:  # onnxruntime.quantization has no error type of its own
        raise ExportError(f"{int8_out}: int8 quantization failed ({first_line(e)}); nothing written", 1) from None
    prune_opsets(proto)
    check_proto(proto, onnx, str(int8_out))
    int8 = measure("onnx int8", run_onnx(proto.SerializeToString(), x), y, 0, keras)
    if list(int8.outputs) != list(fp32.outputs):
        raise ExportError(f"{int8_out}: the int8 model's outputs are {list(int8.outputs)}, "
                          f"not the fp32 model's {list(fp32.outputs)}; nothing written", 1)
    # the player checks the metadata: the same as fp32's, except what is measured on this file
    int8.metadata = {**fp32.metadata, "mnist_test_accuracy": f"{int8.accuracy:.6f}",
                     "quantization": f"{METHOD} on {len(calibration)} training images"}
    set_metadata(proto, int8.metadata)
    int8.model = proto.SerializeToString()
    int8.size_bytes = len(int8.model)
    return int8


# ---------------------------------------------------------------- the gates


def int8_allowed_loss(n: int) -> int:
    """Test images int8 may lose against fp32: MAX_INT8_LOSS of n, as a whole number of images
    (compared as counts: in floating point, 0.997 - 0.996 is more than 0.001)."""
    return math.floor(MAX_INT8_LOSS * n + 1e-9)


def check_fp32(keras: Variant, fp32: Variant, out: Path, model_path: Path) -> None:
    for name, diff in fp32.diffs.items():
        if not diff <= parity_limit(keras, name):  # `not <=`: a NaN must fail too
            raise ExportError(f"{out}: parity check failed: max |keras - onnx| on {name} = {diff:.2e} (limit "
                              f"{parity_limit(keras, name):.1e}), {fp32.mismatches} predicted classes differ; "
                              "nothing written", 1)
    if fp32.mismatches:
        raise ExportError(f"{out}: parity check failed: {fp32.mismatches} predicted classes differ from Keras; "
                          "nothing written", 1)
    probs = fp32.outputs[OUTPUT_NAME]
    sums = probs.sum(1)
    if not (np.all(probs >= 0) and np.abs(sums - 1).max() <= 1e-4):
        raise ExportError(f"{model_path}: outputs are not probabilities (row sums {sums.min():.4f}..{sums.max():.4f}); "
                          "the last layer must be a softmax", 2)
    if fp32.size_bytes > MAX_ONNX_BYTES:
        raise ExportError(f"{out}: {fp32.size_bytes} bytes, more than the {MAX_ONNX_BYTES} allowed for the shipped "
                          "model; nothing written", 1)


def check_int8(fp32: Variant, int8: Variant, int8_out: Path) -> None:
    n, lost = len(int8.outputs[OUTPUT_NAME]), fp32.correct - int8.correct
    if lost > int8_allowed_loss(n):
        raise ExportError(f"{int8_out}: int8 MNIST test accuracy {int8.accuracy:.4%} is {100 * lost / n:.2f} points "
                          f"below fp32 {fp32.accuracy:.4%} ({lost} of {n} images; at most {100 * MAX_INT8_LOSS:.1f} "
                          f"points, {int8_allowed_loss(n)} images, allowed) on {cpu_features()}; nothing written", 1)


# ---------------------------------------------------------------- output


def print_table(variants: list[Variant], n: int) -> None:
    """The numbers side by side: keras | onnx fp32 [| onnx int8]; the checks come after, so a failure
    comes with its numbers."""
    outputs = list(variants[0].outputs)
    rows = [["", *(v.name for v in variants)], ["accuracy", *(f"{v.accuracy:.4%}" for v in variants)]]
    rows += [[f"max |{name} - keras|", *(f"{v.diffs[name]:.1e}" if v.diffs else "-" for v in variants)]
             for name in outputs]
    rows += [["class mismatches", *(str(v.mismatches) if v.diffs else "-" for v in variants)],
             ["size", *(f"{v.size_bytes / 1e3:.1f} kB" for v in variants)]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print(f"MNIST test images: {n}")
    for row in rows:
        print("  ".join([row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]))
    if len(variants) > 2:
        print(f"int8 measured on: {cpu_features()}")


def metrics_section(keras: Variant, fp32: Variant, int8: Variant | None, out: Path, int8_out: Path) -> dict:
    """metrics.json's "export": the same records the table printed."""
    n = len(fp32.outputs[OUTPUT_NAME])
    section = {
        "onnx": out.name,
        "size_bytes": fp32.size_bytes,
        "opset": OPSET,
        "outputs": list(fp32.outputs),
        "model_version": fp32.metadata["model_version"],
        "created": fp32.metadata["created"],
        "source_sha256": fp32.metadata["source_sha256"],
        "mnist_test_images": n,
        "parity": {"max_abs_diff": fp32.diffs, "class_mismatches": fp32.mismatches,
                   "limit": {name: parity_limit(keras, name) for name in fp32.outputs}},
        "keras_mnist_test_accuracy": round(keras.accuracy, 6),
        "onnx_mnist_test_accuracy": round(fp32.accuracy, 6),
    }
    if int8 is not None:
        section["int8"] = {
            "onnx": int8_out.name,
            "size_bytes": int8.size_bytes,
            "mnist_test_accuracy": round(int8.accuracy, 6),
            "accuracy_loss_vs_fp32": round(fp32.accuracy - int8.accuracy, 6),
            "images_lost_vs_fp32": fp32.correct - int8.correct,
            "max_abs_diff_vs_keras": int8.diffs,
            "class_mismatches_vs_keras": int8.mismatches,
            "measured_on": cpu_features(),
            "method": int8.metadata["quantization"],
        }
    return section


def write_atomic(path: Path, data: bytes) -> Path:
    """Write next to `path` under a temporary name; the caller os.replace()s it once all is written."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would have
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~umask)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except BaseException:
        os.unlink(tmp)
        raise
    return Path(tmp)


def write_all(files: dict[Path, bytes]) -> None:
    """Temporary files beside the targets first, then each swapped in whole."""
    temps = []
    try:
        for target, data in files.items():
            temps.append((write_atomic(target, data), target))
        for tmp, target in temps:
            os.replace(tmp, target)
    except OSError as e:
        raise ExportError(f"{next(iter(files))}: cannot write ({e.strerror or e})") from None
    finally:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)


def export(args) -> int:
    """check -> measure fp32 -> measure int8 -> gate -> write."""
    t0 = time.time()
    out = args.out
    int8_out = out.with_name(out.name.removesuffix(".onnx") + INT8_SUFFIX)
    # check: what can be wrong with the inputs is said before minutes of work
    check_model_file(args.model)
    check_out_dir(out)
    training = read_json(args.model.parent / "metrics.json") or {}
    metrics_file = out.parent / "metrics.json"
    # the metrics beside the .onnx describe it: start from the training metrics when there are none yet
    metrics = read_json(metrics_file)
    metrics = dict(training) if metrics is None else metrics
    calibration, x, y, all_test = load_test_data(args)
    tf, tf2onnx, onnx = import_converters()

    # measure fp32, then int8: one record each, all printed before the gates judge them
    keras, fp32 = measure_fp32(args, x, y, training, tf, tf2onnx, onnx)
    int8 = measure_int8(fp32, keras, calibration, x, y, int8_out, onnx) if args.quantize else None
    print_table([keras, fp32] + ([int8] if int8 else []), len(y))
    # gate
    check_fp32(keras, fp32, out, args.model)
    if int8 is not None:
        check_int8(fp32, int8, int8_out)
    # write: every file, or none
    metrics["export"] = metrics_section(keras, fp32, int8, out, int8_out)
    files = {out: fp32.model, **({int8_out: int8.model} if int8 else {}),
             metrics_file: (json.dumps(metrics, indent=2) + "\n").encode()}
    write_all(files)
    print(f"wrote {', '.join(map(str, list(files)[:-1]))} and {metrics_file} (opset {OPSET}, "
          f"{fp32.metadata['model_version']}) in {time.time() - t0:.0f} s")
    if int8 is None and int8_out.exists():
        print(f"note: {int8_out} is from an earlier export; run again with --quantize or delete it", file=sys.stderr)
    if len(y) < all_test:
        print(f"note: checked on {len(y)} of {all_test} test images (--limit); check a model to ship on all",
              file=sys.stderr)
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        return export(args)
    except ExportError as e:
        print(f"digits-export: {e}", file=sys.stderr)
        return e.status
    except KeyboardInterrupt:
        print("\ninterrupted; nothing written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
