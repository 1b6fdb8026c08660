"""Graph clean-up after tf2onnx: fewer nodes on the one-image path the player runs.

tf2onnx translates Keras' Flatten literally: it transposes the last feature map back to NHWC
and computes the reshape target from the runtime batch size (Shape, Gather, Cast, Slice,
Concat, Cast), and it leaves the dense layer's batch norm as a Mul and an Add. For one
28x28 image the whole model takes ~0.2 ms, and each of those small nodes costs microseconds.
Each rewrite below computes exactly the same function (export's parity check over the MNIST
test set proves it on every export); a graph that does not match a pattern is left as it is.
"""

from __future__ import annotations

import numpy as np
from onnx import ModelProto, numpy_helper, shape_inference


def simplify(proto: ModelProto) -> ModelProto:
    """Rewrite `proto` in place: constant reshape targets, the NHWC transpose folded into the
    dense weights, the dense batch norm folded into them too; then drop what nothing uses."""
    constant_reshape_targets(proto)
    remove_unused(proto)  # the run-time shape arithmetic, so the transpose has one reader left
    fold_transpose_into_matmul(proto)
    fold_scale_into_matmul(proto)
    remove_unused(proto)
    return proto


def _initializers(proto: ModelProto) -> dict:
    return {init.name: init for init in proto.graph.initializer}


def _consumers(proto: ModelProto) -> dict[str, list]:
    users: dict[str, list] = {}
    for node in proto.graph.node:
        for name in node.input:
            users.setdefault(name, []).append(node)
    for output in proto.graph.output:
        users.setdefault(output.name, []).append(None)  # a graph output is a user too
    return users


def _add_initializer(proto: ModelProto, name: str, value: np.ndarray) -> str:
    proto.graph.initializer.append(numpy_helper.from_array(value, name))
    return name


def _shapes(proto: ModelProto) -> dict[str, list]:
    """Inferred shape of every tensor: ints where known, None where symbolic (the batch)."""
    inferred = shape_inference.infer_shapes(proto, data_prop=True)  # data_prop: shapes computed from shapes
    shapes = {}
    for value in (*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output):
        dims = value.type.tensor_type.shape.dim
        shapes[value.name] = [d.dim_value if d.HasField("dim_value") else None for d in dims]
    return shapes


def constant_reshape_targets(proto: ModelProto) -> None:
    """Reshape to [batch, k...] with the target computed at run time -> a constant [-1, k...]."""
    inits, shapes = _initializers(proto), _shapes(proto)
    for node in proto.graph.node:
        if node.op_type != "Reshape" or node.input[1] in inits:
            continue
        out = shapes.get(node.output[0])
        if out and out[0] is None and all(isinstance(d, int) and d > 0 for d in out[1:]):
            node.input[1] = _add_initializer(proto, f"{node.name}/target", np.array([-1, *out[1:]], np.int64))


def fold_transpose_into_matmul(proto: ModelProto) -> None:
    """Transpose NCHW->NHWC, Reshape [-1, HWC], MatMul W  ->  Reshape [-1, CHW], MatMul W'
    with W's rows put in NCHW order: the same products, without moving the feature map."""
    inits, users, shapes = _initializers(proto), _consumers(proto), _shapes(proto)
    for transpose in list(proto.graph.node):
        perm = [list(a.ints) for a in transpose.attribute if a.name == "perm"]
        if transpose.op_type != "Transpose" or perm != [[0, 2, 3, 1]]:
            continue
        nchw = shapes.get(transpose.input[0])
        after = users.get(transpose.output[0], [])
        if not nchw or len(nchw) != 4 or None in nchw[1:] or len(after) != 1 or after[0] is None:
            continue
        reshape = after[0]
        if reshape.op_type != "Reshape" or reshape.input[1] not in inits:
            continue
        target = numpy_helper.to_array(inits[reshape.input[1]]).tolist()
        after = users.get(reshape.output[0], [])
        _, c, h, w = nchw
        if target != [-1, c * h * w] or len(after) != 1 or after[0] is None or after[0].op_type != "MatMul":
            continue
        matmul = after[0]
        if matmul.input[1] not in inits:
            continue
        weights = numpy_helper.to_array(inits[matmul.input[1]])
        nchw_rows = weights.reshape(h, w, c, -1).transpose(2, 0, 1, 3).reshape(c * h * w, -1)
        matmul.input[1] = _add_initializer(proto, f"{matmul.name}/weights_nchw", np.ascontiguousarray(nchw_rows))
        reshape.input[0] = transpose.input[0]
        proto.graph.node.remove(transpose)


def fold_scale_into_matmul(proto: ModelProto) -> None:
    """MatMul W, then Mul by a per-column constant s (an inference-time batch norm) -> MatMul W*s."""
    inits, users = _initializers(proto), _consumers(proto)
    for matmul in list(proto.graph.node):
        if matmul.op_type != "MatMul" or matmul.input[1] not in inits:
            continue
        after = users.get(matmul.output[0], [])
        if len(after) != 1 or after[0] is None or after[0].op_type != "Mul":
            continue
        mul = after[0]
        scale_name = mul.input[1] if mul.input[0] == matmul.output[0] else mul.input[0]
        if scale_name not in inits:
            continue
        weights, scale = numpy_helper.to_array(inits[matmul.input[1]]), numpy_helper.to_array(inits[scale_name])
        if weights.ndim != 2 or scale.shape not in ((weights.shape[1],), (1, weights.shape[1])):
            continue
        scaled = (weights * scale.reshape(1, -1)).astype(weights.dtype)
        matmul.input[1] = _add_initializer(proto, f"{matmul.name}/weights_scaled", scaled)
        # the MatMul now writes what the Mul wrote; its consumers follow unchanged
        matmul.output[0] = mul.output[0]
        proto.graph.node.remove(mul)


def remove_unused(proto: ModelProto) -> None:
    """Drop nodes whose outputs nothing reads (repeatedly, so whole dead chains go), then
    initializers nothing reads."""
    graph_outputs = {o.name for o in proto.graph.output}
    while True:
        used = {name for node in proto.graph.node for name in node.input} | graph_outputs
        dead = [node for node in proto.graph.node if not any(out in used for out in node.output)]
        if not dead:
            break
        for node in dead:
            proto.graph.node.remove(node)
    used = {name for node in proto.graph.node for name in node.input}
    for init in [i for i in proto.graph.initializer if i.name not in used]:
        proto.graph.initializer.remove(init)
