"""Keras model -> ONNX ModelProto: loaded and its interface checked, converted with tf2onnx,
simplified, its outputs in the player's order, checked by onnx.checker.

TensorFlow, tf2onnx and onnx are imported late (import_converters): digits-export answers
--help and bad input at once, and the player, which imports none of this, needs none of them.
"""

from __future__ import annotations

import contextlib
import copy
import os
import sys
import tempfile
from pathlib import Path

from player.errors import first_line
from player.model import INPUT_NAME, OUTPUT_NAME
from player.preprocess import IMAGE_SIZE

NUM_CLASSES = 10
# The outputs a model may have, in the order the ONNX file lists them: the player and the
# benchmarks read probabilities, by name or as output 0.
OUTPUT_ORDER = (OUTPUT_NAME, "not_digit", "features")
# Opset 17 with IR version 8 (what tf2onnx writes for it): every op this CNN needs exists there,
# and onnxruntime 1.17, the oldest the player accepts (pyproject), runs opsets <= 20 and IR <= 9.
# A newer opset would buy nothing and could lock out players on an older onnxruntime.
OPSET = 17
MAX_IR_VERSION = 9
TRAIN_HINT = "pip install 'digits[train]'"


class ExportError(Exception):
    """Why the export stopped: one line (naming the file when a file is at fault) and an exit status."""

    def __init__(self, message: str, status: int = 2):
        super().__init__(" ".join(str(message).split()))  # one line, whatever a library put in it
        self.status = status


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
    """(model, the names Keras gives its outputs, the ONNX name of each): shapes checked."""
    import keras

    try:
        model = keras.models.load_model(path, compile=False)  # compile=False: no optimizer state needed
    except Exception as e:  # Keras raises many types for a bad file; the first line says which problem
        raise ExportError(f"{path}: cannot load as a Keras model ({first_line(e)})") from None
    ins, outs = getattr(model, "inputs", None) or [], getattr(model, "outputs", None) or []
    got_in, got_out = [tuple(t.shape) for t in ins], [tuple(t.shape) for t in outs]
    keras_names = list(getattr(model, "output_names", None) or [])
    names = [OUTPUT_NAME] if len(outs) == 1 else keras_names
    want = {OUTPUT_NAME: (None, NUM_CLASSES), "not_digit": (None, 1)}
    shapes = dict(zip(names, got_out, strict=False))
    if (got_in != [(None, IMAGE_SIZE, IMAGE_SIZE, 1)] or len(names) != len(got_out) or len(set(names)) != len(names)
            or not set(names) <= set(OUTPUT_ORDER) or OUTPUT_NAME not in names
            or any(shapes[n] != s for n, s in want.items() if n in shapes)
            or any(len(s) != 2 or s[0] is not None for s in got_out)):
        raise ExportError(f"{path}: expected a model (None, {IMAGE_SIZE}, {IMAGE_SIZE}, 1) -> probabilities "
                          f"(None, {NUM_CLASSES}) [, not_digit (None, 1)] [, features (None, k)], this one is "
                          f"{got_in} -> {dict(zip(keras_names, got_out, strict=False)) or got_out}")
    return model, keras_names, names


def named_outputs(result, keras_names: list[str], names: list[str]) -> dict:
    """What Keras returns (one tensor, a list, or a dict) -> {ONNX output name: values} in OUTPUT_ORDER."""
    if isinstance(result, dict):
        result = [result[k] for k in keras_names]
    elif not isinstance(result, list | tuple):
        result = [result]
    by_name = dict(zip(names, result, strict=True))
    return {name: by_name[name] for name in OUTPUT_ORDER if name in by_name}


def convert(model, keras_names, names, tf, tf2onnx):
    """Keras model -> ONNX ModelProto with input `image` and the outputs in OUTPUT_ORDER.

    tf2onnx.convert.from_keras breaks on Keras 3 models; a tf.function with an explicit
    signature works, and names the graph's input and outputs after the TensorSpec and dict keys
    (but lists a dict's outputs sorted by key: reordered below).
    """
    spec = tf.TensorSpec((None, IMAGE_SIZE, IMAGE_SIZE, 1), tf.float32, name=INPUT_NAME)

    @tf.function(input_signature=[spec])
    def serve(image):
        return named_outputs(model(image, training=False), keras_names, names)

    from export.simplify import simplify  # needs onnx, which only the `train` extra installs

    proto, _ = tf2onnx.convert.from_function(serve, input_signature=[spec], opset=OPSET)
    by_name = {o.name: copy.deepcopy(o) for o in proto.graph.output}
    order = [name for name in OUTPUT_ORDER if name in names]
    if sorted(by_name) != sorted(order):
        raise ValueError(f"tf2onnx named the outputs {sorted(by_name)}, not {order}")
    del proto.graph.output[:]
    proto.graph.output.extend(by_name[name] for name in order)
    simplify(proto)  # what tf2onnx leaves of Flatten and the dense batch norm: 31 nodes -> 23, same function
    # tf2onnx names the dynamic batch "unk__123"; N reads better in Netron and in session.get_inputs()
    for value in (*proto.graph.input, *proto.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "N"
    prune_opsets(proto)
    proto.graph.name = "digits"
    shapes = ", ".join(f"{o.name} float32 [N,{o.type.tensor_type.shape.dim[1].dim_value}]" for o in proto.graph.output)
    proto.doc_string = f"digits CNN: image float32 [N,28,28,1], pixels 0-1, white digit on black -> {shapes}"
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
