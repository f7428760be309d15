"""The ONNX emitter: a rule per IR op kind, full checker, what ONNX Runtime sees, static and dynamic batch."""
import numpy as np
import onnx
import pytest
import torch

from genocompile.emit.onnx import ONNX_RULES, OnnxError, check, session, simplify, to_onnx
from genocompile.genotype import zoo_genotype
from genocompile.ir import IR_OPS, interpret, lower
from genocompile.passes import optimize
from model_helpers import inputs, reference, rel_err, small


def test_every_ir_op_kind_has_an_onnx_rule():
    assert set(IR_OPS) <= set(ONNX_RULES)


@pytest.fixture(scope="module")
def case():
    g = small(zoo_genotype("darts_v1"), "darts-cifar")  # avg/max pools, skip, sep conv, FactorizedReduce
    model = reference(g)
    lowered = lower(g, model.state_dict())
    return g, model, lowered, optimize(lowered)


def run(model, x):
    return session(model.SerializeToString()).run(None, {"input": x.numpy()})[0]


def test_optimized_onnx_has_no_batchnorm_and_one_relu_per_tensor(case):
    g, model, lowered, graph = case
    m = to_onnx(graph, batch=2)
    check(m)
    ops = [n.op_type for n in m.graph.node]
    assert "BatchNormalization" not in ops and "Identity" in ops  # (Identity only names the output)
    relu_inputs = [n.input[0] for n in m.graph.node if n.op_type == "Relu"]
    assert len(relu_inputs) == len(set(relu_inputs))
    unoptimized = [n.op_type for n in to_onnx(lowered, batch=2).graph.node]
    assert unoptimized.count("BatchNormalization") > 0 and unoptimized.count("Relu") > ops.count("Relu")


@pytest.mark.parametrize("batch", [2, None])
def test_onnx_runs_in_onnxruntime_equal_to_the_reference(case, batch):
    g, model, lowered, graph = case
    m = to_onnx(graph, batch=batch)
    check(m)
    dim = m.graph.input[0].type.tensor_type.shape.dim[0]
    assert (dim.dim_value == 2) if batch else (dim.dim_param == "batch")
    for n in ([2] if batch else [1, 3]):
        x = inputs(g, n)
        assert rel_err(run(m, x), model(x)) < 1e-5


def test_unoptimized_graph_and_simplified_model_agree(case):
    g, model, lowered, graph = case
    x = inputs(g)
    slim = simplify(to_onnx(graph, batch=None))
    assert rel_err(run(slim, x), model(x)) < 1e-5
    assert rel_err(run(to_onnx(lowered, batch=None), x), interpret(lowered, x)) < 1e-5


def test_fp16_model_keeps_float32_io_and_stores_fp16_weights(case):
    g, model, lowered, graph = case
    m = to_onnx(graph, batch=None, precision="fp16")
    check(m)
    assert {i.data_type for i in m.graph.initializer if i.data_type != onnx.TensorProto.INT64} == {onnx.TensorProto.FLOAT16}
    assert m.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert [n.op_type for n in m.graph.node][0] == "Cast" and m.graph.node[-1].op_type == "Cast"
    x = inputs(g)
    assert rel_err(run(m, x), model(x)) < 1e-2


def test_bf16_is_refused_with_the_alternative():
    g = small(zoo_genotype("darts_v2"), "darts-cifar")
    graph = optimize(lower(g, reference(g).state_dict()))
    with pytest.raises(OnnxError, match="no bfloat16 Conv.*--precision fp16"):
        to_onnx(graph, precision="bf16")


def test_checker_failure_is_a_typed_error(case):
    m = to_onnx(case[3], batch=1)
    m.graph.node[3].input[0] = "undefined_tensor"
    with pytest.raises(OnnxError, match="does not pass onnx.checker"):
        check(m)


def test_zero_op_is_x_times_zero_after_striding():
    from genocompile.ir import GraphBuilder

    b = GraphBuilder("z")
    x = b.add("input", [], {"shape": (2, 6, 6)})
    z = b.add("zero", [x], {"stride": 2})
    graph = b.build([b.add("concat", [z, b.add("max_pool", [x], {"kernel": (3, 3), "stride": (2, 2), "padding": (1, 1)})])])
    import torch

    x = torch.randn(1, 2, 6, 6)
    out = run(to_onnx(graph, batch=1), x)
    assert out.shape == (1, 4, 3, 3) and np.all(out[:, :2] == 0)
    assert np.allclose(out, interpret(graph, x).numpy())


def test_int8_puts_qdq_on_every_conv_input_and_weight(case):
    from genocompile.emit.quantize import activation_ranges

    g, model, lowered, graph = case
    with pytest.raises(OnnxError, match="needs calibrated activation ranges"):
        to_onnx(graph, None, "int8")
    ranges = activation_ranges(graph, [inputs(g, 4, seed=20)])
    m = to_onnx(graph, None, "int8", ranges=ranges)
    check(m)
    produced_by = {out: n for n in m.graph.node for out in n.output}
    convs = [n for n in m.graph.node if n.op_type == "Conv"]
    assert convs and all(produced_by[c.input[0]].op_type == "DequantizeLinear" and
                         produced_by[c.input[1]].op_type == "DequantizeLinear" for c in convs)
    int8 = {i.name for i in m.graph.initializer if i.data_type == onnx.TensorProto.INT8}
    assert all(produced_by[c.input[1]].input[0] in int8 for c in convs)
    x = inputs(g)
    err = rel_err(run(simplify(m), x), model(x))
    assert 1e-6 < err < 5e-2  # quantised for real, and still the same function


def test_ir_values_named_like_the_models_input_or_output_are_renamed():
    from genocompile.ir import GraphBuilder

    b = GraphBuilder("clash")
    x = b.add("input", [], {"shape": (2, 4, 4)}, name="x")
    r = b.add("relu", [x], name="input")  # would shadow the ONNX input
    out = b.conv(r, 3, 1, weight="logits.weight", bias="logits.bias")  # a segmentation head: node `logits`
    graph = b.build([out], {"logits.weight": torch.randn(3, 2, 1, 1), "logits.bias": torch.randn(3)})
    m = to_onnx(graph, batch=None)
    check(m)
    xs = torch.randn(2, 2, 4, 4)
    assert rel_err(run(m, xs), interpret(graph, xs)) < 1e-6
