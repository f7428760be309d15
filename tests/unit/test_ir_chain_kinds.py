"""The IR kinds the chain family added: `relu6` (and ReLU6 as a fused activation) and `channel_slice`
(ShuffleNetV2's channel shuffle + split). Interpreter, fx module, torch.export and ONNX Runtime agree with
the torch modules the reference networks use, at any batch."""
import pytest
import torch

from genocompile.emit.onnx import session, simplify, to_onnx
from genocompile.emit.torch import export_program, to_module
from genocompile.ir import GraphBuilder, IRError, interpret, verify
from genocompile.ops.chain_blocks import channel_split_shuffle
from model_helpers import rel_err


def _graph(c=6):
    b = GraphBuilder("kinds")
    x = b.add("input", [], {"shape": (c, 5, 5)}, name="x")
    even = b.add("channel_slice", [x], {"start": 0, "step": 2}, name="even")
    odd = b.add("channel_slice", [x], {"start": 1, "step": 2}, name="odd")
    y = b.add("relu6", [odd], name="r6")
    c_out = b.shape(odd)[0]
    conv = b.conv(even, c_out, 1, weight="w.weight", bias="w.bias", name="w")
    one = (1, 1)
    fused = b.add("conv", [even], {"out_channels": c_out, "kernel": one, "stride": one, "padding": (0, 0),
                                   "dilation": one, "groups": 1, "act": "relu6"},  # as fuse_conv_relu leaves it
                  {"weight": "w.weight", "bias": "w.bias"}, name="w_fused")
    weights = {"w.weight": 4 * torch.randn(c_out, c_out, 1, 1), "w.bias": torch.randn(c_out)}
    return verify(b.build([b.add("concat", [y, conv, fused], name="out")], weights))


def test_kinds_equal_the_reference_torch_modules_on_every_path():
    graph = _graph()
    x = 8 * torch.randn(2, 6, 5, 5)
    even, odd = channel_split_shuffle(x, 6)  # the reference blocks' split
    w = graph.weights
    conv = torch.nn.functional.conv2d(even, w["w.weight"], w["w.bias"])
    expected = torch.cat([torch.nn.ReLU6()(odd), conv, torch.nn.ReLU6()(conv)], 1)
    assert graph.node("even").shape == graph.node("odd").shape == (3, 5, 5)
    assert torch.equal(interpret(graph, x), expected)
    module = to_module(graph)
    assert torch.equal(module(x), expected)
    assert torch.equal(export_program(module, x, dynamic_batch=True).module()(x), expected)
    model = simplify(to_onnx(graph, batch=None))
    assert {"Clip", "Slice"} <= {n.op_type for n in model.graph.node}
    ort = session(model.SerializeToString())
    for batch in (1, 3):
        xb = 8 * torch.randn(batch, 6, 5, 5)
        assert rel_err(ort.run(None, {"input": xb.numpy()})[0], interpret(graph, xb)) < 1e-6
    fp16 = session(to_onnx(graph, None, "fp16").SerializeToString())
    assert rel_err(fp16.run(None, {"input": x.numpy()})[0], expected) < 2e-3


@pytest.mark.parametrize("attrs,message", [({"start": 6, "step": 2}, "select nothing of 6 channels"),
                                           ({"start": 0, "step": 0}, "select nothing of 6 channels")])
def test_channel_slice_refuses_empty_selections(attrs, message):
    b = GraphBuilder("bad")
    x = b.add("input", [], {"shape": (6, 4, 4)})
    with pytest.raises(IRError, match=message):
        b.add("channel_slice", [x], attrs)
