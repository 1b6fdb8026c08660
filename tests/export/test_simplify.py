"""export.simplify on small hand-made graphs: the same function, fewer nodes; other graphs untouched."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from export.simplify import simplify  # noqa: E402

C, H, W, M = 3, 2, 2, 5


def flatten_dense_graph(perm=(0, 2, 3, 1), heads=False, outputs=("y",)) -> onnx.ModelProto:
    """What tf2onnx makes of Keras' Flatten + Dense(no bias) + BatchNorm on an NCHW feature map;
    with heads, also what a multi-output model adds: ReLU features and two dense heads on them."""
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.normal(size=(C * H * W, M)).astype(np.float32), "w"),
        numpy_helper.from_array(rng.uniform(0.5, 2, size=M).astype(np.float32), "scale"),
        numpy_helper.from_array(rng.normal(size=M).astype(np.float32), "shift"),
        numpy_helper.from_array(np.array([0], np.int64), "zero"),
        numpy_helper.from_array(np.array([1], np.int64), "one"),
        numpy_helper.from_array(np.array([C * H * W], np.int64), "width"),  # Keras knows it; only the batch is free
    ]
    nodes = [
        helper.make_node("Transpose", ["x"], ["nhwc"], perm=list(perm)),
        helper.make_node("Shape", ["nhwc"], ["shape"]),
        helper.make_node("Slice", ["shape", "zero", "one"], ["batch"]),
        helper.make_node("Concat", ["batch", "width"], ["target"], axis=0),
        helper.make_node("Reshape", ["nhwc", "target"], ["flat"], name="flatten"),
        helper.make_node("MatMul", ["flat", "w"], ["dense"], name="dense"),
        helper.make_node("Mul", ["dense", "scale"], ["scaled"]),
        helper.make_node("Add", ["scaled", "shift"], ["y"]),
    ]
    if heads:
        inits += [numpy_helper.from_array(rng.normal(size=(M, 10)).astype(np.float32), "w_probabilities"),
                  numpy_helper.from_array(rng.normal(size=(M, 1)).astype(np.float32), "w_not_digit")]
        nodes += [helper.make_node("Relu", ["y"], ["features"]),
                  helper.make_node("MatMul", ["features", "w_probabilities"], ["logits"]),
                  helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
                  helper.make_node("MatMul", ["features", "w_not_digit"], ["not_digit_logit"]),
                  helper.make_node("Sigmoid", ["not_digit_logit"], ["not_digit"])]
    width = {"probabilities": 10, "not_digit": 1}
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", C, H, W])],
                              [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", width.get(name, M)])
                               for name in outputs], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def run(proto, x):
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def run_all(proto, x) -> dict:
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, {"x": x}), strict=True))


@pytest.mark.parametrize("batch", [1, 4])
def test_same_function_fewer_nodes(batch):
    proto = flatten_dense_graph()
    x = np.random.default_rng(batch).normal(size=(batch, C, H, W)).astype(np.float32)
    expected = run(proto, x)
    simplify(proto)
    onnx.checker.check_model(proto, full_check=True)
    assert [n.op_type for n in proto.graph.node] == ["Reshape", "MatMul", "Add"]
    np.testing.assert_allclose(run(proto, x), expected, rtol=1e-5, atol=1e-5)
    assert {i.name for i in proto.graph.initializer} >= {"shift"}
    assert not {"zero", "one", "width", "w", "scale"} & {i.name for i in proto.graph.initializer}


def test_a_graph_outside_the_patterns_keeps_its_layout_shuffle():
    proto = flatten_dense_graph(perm=(0, 3, 2, 1))  # not NCHW -> NHWC: the weights cannot simply be reordered
    x = np.random.default_rng(0).normal(size=(2, C, H, W)).astype(np.float32)
    expected = run(proto, x)
    simplify(proto)
    assert "Transpose" in [n.op_type for n in proto.graph.node]
    np.testing.assert_allclose(run(proto, x), expected, rtol=1e-5, atol=1e-5)


def test_a_multi_output_graph_keeps_every_output_and_their_order():
    """probabilities, not_digit and features (the penultimate layer) after one batch-normed dense layer."""
    proto = flatten_dense_graph(heads=True, outputs=("probabilities", "not_digit", "features"))
    x = np.random.default_rng(0).normal(size=(3, C, H, W)).astype(np.float32)
    expected = run_all(proto, x)
    simplify(proto)
    onnx.checker.check_model(proto, full_check=True)
    assert [o.name for o in proto.graph.output] == ["probabilities", "not_digit", "features"]
    assert not {"Shape", "Slice", "Concat", "Transpose", "Mul"} & {n.op_type for n in proto.graph.node}
    got = run_all(proto, x)
    for name, values in expected.items():
        np.testing.assert_allclose(got[name], values, rtol=1e-5, atol=1e-5, err_msg=name)


def test_a_tensor_that_is_an_output_is_not_folded_away():
    """The dense layer's raw product is itself an output: folding the scale into it would change it."""
    proto = flatten_dense_graph(outputs=("y", "dense"))
    x = np.random.default_rng(1).normal(size=(2, C, H, W)).astype(np.float32)
    expected = run_all(proto, x)
    simplify(proto)
    assert "Mul" in [n.op_type for n in proto.graph.node]
    got = run_all(proto, x)
    for name in ("y", "dense"):
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-5, atol=1e-5, err_msg=name)
