"""digits-export: the trained Keras model -> ONNX for the player, checked against Keras on MNIST's test set.

The story: check the inputs, load the Keras model, convert it with tf2onnx, label it with its
metadata, check it (onnx.checker, size, Keras vs onnxruntime on all 10,000 MNIST test images),
optionally make an int8 copy and check its accuracy, and only then write the files and the
numbers. Nothing at --out changes unless every check passed, and files are replaced whole.

    digits-export                                  # models/digits.keras -> models/digits.onnx
    digits-export --quantize                       # also models/digits.int8.onnx
    digits-export --model runs/a/digits.keras --out runs/a/digits.onnx --data ../shared/data/mnist.npz

Exit status: 0 exported; 1 a check failed (parity, size, int8 accuracy); 2 bad input (model,
data or output folder) or TensorFlow / tf2onnx not installed.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from player.errors import first_line
from player.model import INPUT_NAME, OUTPUT_NAME
from player.preprocess import IMAGE_SIZE, PREPROCESS_VERSION
from training.data import DataError, load_mnist

DEFAULT_MODEL = Path("models/digits.keras")
DEFAULT_OUT = Path("models/digits.onnx")
INT8_SUFFIX = ".int8.onnx"  # digits.onnx -> digits.int8.onnx, the name the wheel ships
NUM_CLASSES = 10
# Opset 17 with IR version 8 (what tf2onnx writes for it): every op this CNN needs exists there,
# and onnxruntime 1.17, the oldest the player accepts (pyproject), runs opsets <= 20 and IR <= 9.
# A newer opset would buy nothing and could lock out players on an older onnxruntime.
OPSET = 17
MAX_IR_VERSION = 9
PARITY_ATOL = 1e-5  # largest |p_keras - p_onnx| tolerated; float32 reassociation gives ~1e-7
MAX_ONNX_BYTES = 1_000_000  # the fp32 model ships in the wheel; 178k float32 weights are ~0.7 MB
MAX_INT8_LOSS = 0.001  # int8 may lose at most 0.1 percentage points of MNIST test accuracy
CALIBRATION_IMAGES = 1000  # training images (never test ones) that set the int8 activation ranges
CALIBRATION_SEED = 0
BATCH = 500  # images per inference call in the checks: bounded memory, few calls
MODEL_VERSION_MAJOR = 1  # model_version = 1.<yyyymmdd>-<sha256 of the .keras, 8 hex>
KERAS_SUFFIXES = {".keras": b"PK", ".h5": b"\x89HDF\r\n\x1a\n", ".hdf5": b"\x89HDF\r\n\x1a\n"}
TRAIN_HINT = "pip install 'digits[train]'"
CONVERTERS = ("tensorflow", "tf2onnx", "onnx")  # the `train` extra; the player needs none of them


class ExportError(Exception):
    """Why the export stopped: one line (naming the file when a file is at fault) and an exit status."""

    def __init__(self, message: str, status: int = 2):
        super().__init__(" ".join(str(message).split()))  # one line, whatever a library put in it
        self.status = status


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


def file_sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


# ---------------------------------------------------------------- conversion


@contextlib.contextmanager
def quiet_stderr():
    """Silence file descriptor 2 for a while; replay what was said if an exception escapes.

    TensorFlow 2.21 logs from C++ at import and at device set-up (oneDNN, "no CUDA drivers",
    cuInit) before it reads TF_CPP_MIN_LOG_LEVEL, so the variable alone leaves ~7 lines.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def import_converters():
    """TensorFlow, tf2onnx and onnx, imported late: --help, --version and bad-input errors stay instant."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's Python-side and later C++ chatter
    try:
        with quiet_stderr():
            import onnx
            import tensorflow as tf
            import tf2onnx

            tf.config.list_physical_devices()  # device set-up logs now, while silenced
    except ImportError as e:
        raise ExportError(f"cannot import {e.name} ({e}); exporting needs TensorFlow, tf2onnx and onnx: "
                          f"{TRAIN_HINT}") from None
    tf.get_logger().setLevel("ERROR")
    tf2onnx.logging.getLogger("tf2onnx").setLevel("ERROR")  # its INFO lines narrate every optimizer pass
    return tf, tf2onnx, onnx


def load_keras(path: Path):
    import keras

    try:
        model = keras.models.load_model(path, compile=False)  # compile=False: no optimizer state needed
    except Exception as e:  # Keras raises many types for a bad file; the first line says which problem
        raise ExportError(f"{path}: cannot load as a Keras model ({first_line(e)})") from None
    want_in, want_out = (None, IMAGE_SIZE, IMAGE_SIZE, 1), (None, NUM_CLASSES)
    ins, outs = getattr(model, "inputs", None) or [], getattr(model, "outputs", None) or []
    got_in = [tuple(t.shape) for t in ins]
    got_out = [tuple(t.shape) for t in outs]
    if got_in != [want_in] or got_out != [want_out]:
        raise ExportError(f"{path}: expected a model {want_in} -> {want_out}, this one is {got_in} -> {got_out}")
    return model


def convert(model, tf, tf2onnx):
    """Keras model -> ONNX ModelProto with input `image` and output `probabilities`.

    tf2onnx.convert.from_keras breaks on Keras 3 models; a tf.function with an explicit
    signature works, and names the graph's input and output after the TensorSpec and dict key.
    """
    spec = tf.TensorSpec((None, IMAGE_SIZE, IMAGE_SIZE, 1), tf.float32, name=INPUT_NAME)

    @tf.function(input_signature=[spec])
    def serve(image):
        return {OUTPUT_NAME: model(image, training=False)}

    from export.simplify import simplify  # needs onnx, which only the `train` extra installs

    proto, _ = tf2onnx.convert.from_function(serve, input_signature=[spec], opset=OPSET)
    simplify(proto)  # what tf2onnx leaves of Flatten and the dense batch norm: 31 nodes -> 23, same function
    # tf2onnx names the dynamic batch "unk__123"; N reads better in Netron and in session.get_inputs()
    for value in (*proto.graph.input, *proto.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "N"
    prune_opsets(proto)
    proto.graph.name = "digits"
    proto.doc_string = ("digits CNN: image float32 [N,28,28,1], pixels 0-1, white digit on black "
                        "-> probabilities float32 [N,10]")
    return proto


def set_metadata(proto, metadata: dict[str, str]) -> None:
    del proto.metadata_props[:]
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, str(value)


def prune_opsets(proto) -> None:
    """Drop opset imports no node uses: onnxruntime's optimizer declares a dozen (com.microsoft,
    org.pytorch.aten, ...) in every model it writes, which only makes readers wonder."""
    used = {node.domain or "" for node in proto.graph.node}
    keep = [o for o in proto.opset_import if (o.domain or "") in used or o.domain in ("", "ai.onnx")]
    del proto.opset_import[:]
    proto.opset_import.extend(keep)


def check_proto(proto, onnx, what: str) -> None:
    try:
        onnx.checker.check_model(proto, full_check=True)
    except Exception as e:
        raise ExportError(f"{what}: onnx.checker rejects the converted model ({e})", 1) from None
    opset = max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx"))
    if proto.ir_version > MAX_IR_VERSION or opset > OPSET:
        raise ExportError(f"{what}: IR version {proto.ir_version}, opset {opset}: more than onnxruntime 1.17 "
                          f"(IR {MAX_IR_VERSION}, opset {OPSET} chosen) can load", 1)


def onnx_predict(model_bytes: bytes, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # warnings about unused initializers are not for the user
    session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    return np.concatenate([session.run([OUTPUT_NAME], {INPUT_NAME: x[i:i + BATCH]})[0]
                           for i in range(0, len(x), BATCH)])


# ---------------------------------------------------------------- int8


def quantize(fp32_bytes: bytes, calibration: np.ndarray) -> bytes:
    """Static int8 quantization, calibrated on training images.

    Measured on a 97.5% model, all 10,000 MNIST test images (fp32 97.50%):
      QDQ per-channel MinMax       97.49%   QDQ per-tensor      97.42%   QOperator per-channel  97.49%
      QDQ per-channel Entropy      97.49%   Percentile          97.47%   reduce_range           97.44%
    So: QDQ (onnxruntime's recommended format, and half QOperator's latency here), per-channel
    weights (BatchNorm folded into the convolutions gives each filter its own range), uint8
    activations, MinMax (as good as Entropy, 3x faster). The softmax stays float: quantized,
    its rows summed to 1 +- 0.016 only; float, they sum to 1 +- 2e-7 at no cost in accuracy.
    """
    import onnxruntime as ort
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    ort.set_default_logger_severity(3)

    class Images(CalibrationDataReader):
        def __init__(self):
            self.batches = iter(np.array_split(calibration, max(1, len(calibration) // 100)))

        def get_next(self):
            batch = next(self.batches, None)
            return None if batch is None else {INPUT_NAME: batch}

    with tempfile.TemporaryDirectory(prefix="digits-export-") as tmp:
        fp32, prepared, int8 = Path(tmp, "fp32.onnx"), Path(tmp, "prepared.onnx"), Path(tmp, "int8.onnx")
        fp32.write_bytes(fp32_bytes)
        # shape inference + graph fusions first, as onnxruntime recommends: the quantizer then sees
        # Conv with its BatchNorm folded in, and knows every tensor's shape
        # (symbolic shape inference needs sympy, which we do not install; ONNX's own shape
        # inference suffices for a graph whose only dynamic dimension is the batch)
        quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
        import onnx

        softmax = [n.name for n in onnx.load(prepared).graph.node if n.op_type == "Softmax"]
        quantize_static(str(prepared), str(int8), Images(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax, nodes_to_exclude=softmax)
        return int8.read_bytes()


# ---------------------------------------------------------------- output


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


def accuracy(probs: np.ndarray, y: np.ndarray) -> float:
    return float((probs.argmax(1) == y).mean())


def print_summary(rows: dict[str, list[str]], n: int) -> None:
    """The numbers side by side: keras | onnx fp32 [| onnx int8]."""
    headers = ["", "keras", "onnx fp32", "onnx int8"][: 1 + len(rows["accuracy"])]
    table = [headers] + [[name, *values] for name, values in rows.items()]
    widths = [max(len(row[i]) for row in table) for i in range(len(headers))]
    print(f"MNIST test images: {n}")
    for row in table:
        print("  ".join([row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]))


def export(args) -> int:
    t0 = time.time()
    out, model_path = args.out, args.model
    int8_out = out.with_name(out.name.removesuffix(".onnx") + INT8_SUFFIX)
    check_model_file(model_path)
    check_out_dir(out)
    training = read_json(model_path.parent / "metrics.json") or {}
    metrics_file = out.parent / "metrics.json"
    # the metrics beside the .onnx describe it: start from the training metrics when there are none yet
    existing = read_json(metrics_file)
    metrics = existing if existing is not None else dict(training)

    missing = [name for name in CONVERTERS if importlib.util.find_spec(name) is None]
    if missing:  # said now, not after loading 50 MB of MNIST
        raise ExportError(f"{' and '.join(missing)} not installed; exporting needs TensorFlow, tf2onnx and onnx: "
                          f"{TRAIN_HINT}")
    try:  # before TensorFlow: a bad --data is reported at once (only a download needs Keras)
        x_train, _, x_test, y_test = load_mnist(args.data)
    except DataError as e:
        raise ExportError(str(e)) from None

    tf, tf2onnx, onnx = import_converters()
    import keras
    import onnxruntime as ort

    all_test = len(y_test)
    if args.limit:
        x_test, y_test = x_test[: args.limit], y_test[: args.limit]
    x_test = x_test.astype(np.float32)[..., None] / 255.0
    model = load_keras(model_path)

    try:
        proto = convert(model, tf, tf2onnx)
    except Exception as e:  # tf2onnx fails on layers it has no ONNX for, with many exception types
        raise ExportError(f"{model_path}: tf2onnx cannot convert this model ({first_line(e)})") from None
    check_proto(proto, onnx, str(out))
    keras_probs = model.predict(x_test, batch_size=BATCH, verbose=0)
    onnx_probs = onnx_predict(proto.SerializeToString(), x_test)
    diff = float(np.abs(keras_probs - onnx_probs).max())
    mismatches = int((keras_probs.argmax(1) != onnx_probs.argmax(1)).sum())
    keras_acc, onnx_acc = accuracy(keras_probs, y_test), accuracy(onnx_probs, y_test)
    sums = onnx_probs.sum(1)

    sha = file_sha256(model_path)
    now = datetime.now(UTC)
    metadata = {
        "model_version": f"{MODEL_VERSION_MAJOR}.{now:%Y%m%d}-{sha[:8]}",
        "preprocess_version": str(training.get("preprocess_version", PREPROCESS_VERSION)),
        "mnist_test_accuracy": f"{onnx_acc:.6f}",
        "mnist_test_images": str(len(y_test)),
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
    metadata = {k: str(v) for k, v in metadata.items() if v is not None}  # absent, not "None"
    set_metadata(proto, metadata)
    fp32_bytes = proto.SerializeToString()

    rows = {
        "accuracy": [f"{keras_acc:.4%}", f"{onnx_acc:.4%}"],
        "max |p - keras|": ["-", f"{diff:.1e}"],
        "class mismatches": ["-", str(mismatches)],
        "size": [f"{model_path.stat().st_size / 1e3:.1f} kB", f"{len(fp32_bytes) / 1e3:.1f} kB"],
    }
    section = {
        "onnx": out.name,
        "size_bytes": len(fp32_bytes),
        "opset": OPSET,
        "model_version": metadata["model_version"],
        "created": metadata["created"],
        "source_sha256": sha,
        "mnist_test_images": len(y_test),
        "parity": {"max_abs_diff": diff, "class_mismatches": mismatches, "atol": PARITY_ATOL},
        "keras_mnist_test_accuracy": round(keras_acc, 6),
        "onnx_mnist_test_accuracy": round(onnx_acc, 6),
    }

    int8_bytes = None
    if args.quantize:
        # a random, fixed sample: the first images of a file may not cover all ten digits evenly
        pick = np.random.default_rng(CALIBRATION_SEED).permutation(len(x_train))[:CALIBRATION_IMAGES]
        calibration = x_train[np.sort(pick)].astype(np.float32)[..., None] / 255.0
        try:
            int8_proto = onnx.load_from_string(quantize(fp32_bytes, calibration))
        except Exception as e:  # onnxruntime.quantization has no error type of its own
            raise ExportError(f"{int8_out}: int8 quantization failed ({first_line(e)}); nothing written", 1) from None
        int8_probs = onnx_predict(int8_proto.SerializeToString(), x_test)
        int8_acc = accuracy(int8_probs, y_test)
        # same metadata, so the player accepts it, except what is measured on this file
        prune_opsets(int8_proto)
        set_metadata(int8_proto, {**metadata, "mnist_test_accuracy": f"{int8_acc:.6f}",
                                  "quantization": "int8 static QDQ, per-channel weights, uint8 activations, "
                                                  f"MinMax on {len(calibration)} training images"})
        check_proto(int8_proto, onnx, str(int8_out))
        int8_bytes = int8_proto.SerializeToString()
        int8_diff = float(np.abs(keras_probs - int8_probs).max())
        int8_mismatch = int((keras_probs.argmax(1) != int8_probs.argmax(1)).sum())
        rows["accuracy"].append(f"{int8_acc:.4%}")
        rows["max |p - keras|"].append(f"{int8_diff:.1e}")
        rows["class mismatches"].append(str(int8_mismatch))
        rows["size"].append(f"{len(int8_bytes) / 1e3:.1f} kB")
        section["int8"] = {
            "onnx": int8_out.name,
            "size_bytes": len(int8_bytes),
            "mnist_test_accuracy": round(int8_acc, 6),
            "accuracy_loss_vs_fp32": round(onnx_acc - int8_acc, 6),
            "max_abs_diff_vs_keras": int8_diff,
            "class_mismatches_vs_keras": int8_mismatch,
            "calibration_images": len(calibration),
            "method": "quantize_static QDQ per-channel, QUInt8 activations, QInt8 weights, MinMax",
        }

    print_summary(rows, len(y_test))

    # the checks, after the table so that a failure comes with its numbers
    if not diff <= PARITY_ATOL or mismatches:  # `not <=`: a NaN must fail too
        raise ExportError(f"{out}: parity check failed: max |p_keras - p_onnx| = {diff:.2e} (limit {PARITY_ATOL:.0e}), "
                          f"{mismatches} predicted classes differ; nothing written", 1)
    if not (np.all(onnx_probs >= 0) and np.abs(sums - 1).max() <= 1e-4):
        raise ExportError(f"{model_path}: outputs are not probabilities (row sums {sums.min():.4f}..{sums.max():.4f}); "
                          "the last layer must be a softmax", 2)
    if len(fp32_bytes) > MAX_ONNX_BYTES:
        raise ExportError(f"{out}: {len(fp32_bytes)} bytes, more than the {MAX_ONNX_BYTES} allowed for the shipped "
                          "model; nothing written", 1)
    if int8_bytes is not None and not onnx_acc - int8_acc <= MAX_INT8_LOSS:
        raise ExportError(f"{int8_out}: int8 MNIST test accuracy {int8_acc:.4%} is {100 * (onnx_acc - int8_acc):.2f} "
                          f"points below fp32 {onnx_acc:.4%} (at most {100 * MAX_INT8_LOSS:.1f} allowed); "
                          "nothing written", 1)

    # everything passed: write temporary files beside the targets, then swap them in whole
    temps = []
    try:
        temps.append((write_atomic(out, fp32_bytes), out))
        if int8_bytes is not None:
            temps.append((write_atomic(int8_out, int8_bytes), int8_out))
        metrics["export"] = section
        temps.append((write_atomic(metrics_file, (json.dumps(metrics, indent=2) + "\n").encode()), metrics_file))
        for tmp, target in temps:
            os.replace(tmp, target)
    except OSError as e:
        raise ExportError(f"{out}: cannot write ({e.strerror or e})") from None
    finally:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)

    written = [out] + ([int8_out] if int8_bytes is not None else [])
    print(f"wrote {', '.join(map(str, written))} and {metrics_file} (opset {OPSET}, "
          f"{metadata['model_version']}) in {time.time() - t0:.0f} s")
    if int8_bytes is None and int8_out.exists():
        print(f"note: {int8_out} is from an earlier export; run again with --quantize or delete it", file=sys.stderr)
    if len(y_test) < all_test:
        print(f"note: checked on {len(y_test)} of {all_test} test images (--limit); check a model to ship on all",
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
