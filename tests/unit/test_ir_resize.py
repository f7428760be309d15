"""The `resize` (bilinear, align_corners=False) and `expand` IR op kinds: the interpreter, the fx module,
torch.export and ONNX Runtime agree on awkward sizes (up, down, odd, mixed), at any batch."""
import pytest
import torch
import torch.nn.functional as F

from genocompile.emit.onnx import session, simplify, to_onnx
from genocompile.emit.torch import export_program, to_module
from genocompile.ir import GraphBuilder, IRError, interpret, verify
from model_helpers import rel_err

# (input H, W) -> (output H, W): x2 and /2 (the network's factors), odd sizes, non-integer ratios both ways.
SIZES = [((8, 8), (16, 16)), ((8, 8), (4, 4)), ((7, 9), (15, 4)), ((5, 5), (2, 3)), ((9, 7), (3, 20)),
         ((1, 1), (5, 6)), ((6, 10), (6, 10))]


def resize_graph(size_in, size_out, channels=3):
    b = GraphBuilder("resize")
    x = b.add("input", [], {"shape": (channels, *size_in)}, name="x")
    y = b.add("resize", [x], {"size": size_out}, name="y")
    return verify(b.build([y]))


def x_of(shape, batch=2, seed=0):
    return torch.randn((batch, *shape), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("size_in,size_out", SIZES)
def test_resize_torch_fx_export_and_onnx_runtime_agree(size_in, size_out):
    graph = resize_graph(size_in, size_out)
    x = x_of(graph.input_shape)
    expected = F.interpolate(x, size=size_out, mode="bilinear", align_corners=False)
    assert graph.node("y").shape == (3, *size_out)
    assert torch.equal(interpret(graph, x), expected)
    module = to_module(graph)
    assert torch.equal(module(x), expected)
    assert torch.equal(export_program(module, x, dynamic_batch=True).module()(x), expected)
    ort = session(simplify(to_onnx(graph, batch=None)).SerializeToString())
    for batch in (1, 3):  # one model, any batch: the Resize sizes read the batch from the input
        xb = x_of(graph.input_shape, batch, seed=batch)
        assert rel_err(ort.run(None, {"input": xb.numpy()})[0], interpret(graph, xb)) < 1e-6


@pytest.mark.parametrize("scale,size_in", [(2, (6, 10)), (0.5, (6, 10)), (4, (3, 5))])
def test_resize_equals_the_reference_modules_fixed_factor_upsample(scale, size_in):
    # The reference network resizes with nn.Upsample(scale_factor=...); on exact factors it is the same map.
    size_out = (int(size_in[0] * scale), int(size_in[1] * scale))
    x = x_of((4, *size_in))
    ref = torch.nn.Upsample(scale_factor=scale, mode="bilinear", align_corners=False)(x)
    assert torch.allclose(interpret(resize_graph(size_in, size_out, 4), x), ref, rtol=0, atol=1e-6)


def test_resize_in_fp16_onnx():
    graph = resize_graph((7, 9), (15, 4))
    x = x_of(graph.input_shape)
    out = session(to_onnx(graph, None, "fp16").SerializeToString()).run(None, {"input": x.numpy()})[0]
    assert rel_err(out, interpret(graph, x)) < 2e-3


def test_expand_broadcasts_a_pooled_map_everywhere():
    b = GraphBuilder("expand")
    x = b.add("input", [], {"shape": (4, 6, 5)}, name="x")
    pooled = b.add("global_avg_pool", [x], name="pool")
    y = b.add("expand", [pooled], {"size": (6, 5)}, name="y")
    cat = b.add("concat", [y, x], name="cat")  # as in ASPP: the broadcast map is concatenated with features
    graph = verify(b.build([cat]))
    x = x_of(graph.input_shape)
    expected = torch.cat([x.mean((2, 3), keepdim=True).expand(-1, -1, 6, 5), x], 1)
    assert torch.allclose(interpret(graph, x), expected, atol=1e-6)
    # Bilinear upsampling of a 1x1 map is this broadcast, whatever the align_corners convention.
    up = F.interpolate(x.mean((2, 3), keepdim=True), size=(6, 5), mode="bilinear", align_corners=False)
    assert torch.allclose(interpret(graph, x)[:, :4], up, atol=1e-6)
    assert torch.allclose(to_module(graph)(x), expected, atol=1e-6)
    ort = session(simplify(to_onnx(graph, batch=None)).SerializeToString())
    for batch in (1, 3):
        xb = x_of(graph.input_shape, batch, seed=batch)
        assert rel_err(ort.run(None, {"input": xb.numpy()})[0], interpret(graph, xb)) < 1e-6


@pytest.mark.parametrize("kind,shape,attrs,message", [
    ("resize", (3, 4, 4), {"size": (0, 4)}, "output size must be positive"),
    ("resize", (3, 4, 4), {"size": (4, 4), "mode": "nearest"}, "unknown mode 'nearest'"),
    ("expand", (3, 4, 4), {"size": (8, 8)}, "broadcasts a (C, 1, 1) map"),
])
def test_bad_attributes_are_refused(kind, shape, attrs, message):
    b = GraphBuilder("bad")
    x = b.add("input", [], {"shape": shape})
    with pytest.raises(IRError, match=message.replace("(", r"\(").replace(")", r"\)")):
        b.add(kind, [x], attrs)
