"""The graph IR: shape inference, the verifier, the text dump, and the lowering registries."""
import pytest
import torch

from genocompile.genotype import SKELETONS, zoo_genotype
from genocompile.ir import IR_OPS, SKELETON_LOWERINGS, GraphBuilder, IRError, dump, interpret, lower, verify
from genocompile.ir.graph import GraphBuilder as Builder
from genocompile.ops import OPS, get_op
from model_helpers import randomize_bn


def tiny():
    b = GraphBuilder("tiny")
    x = b.add("input", [], {"shape": (4, 8, 8)}, name="x")
    r = b.add("relu", [x], name="r")
    c = b.conv(r, 6, 3, 2, 1, weight="c.weight")
    bn = b.batchnorm(c, "bn")
    p = b.add("max_pool", [r], {"kernel": (3, 3), "stride": (2, 2), "padding": (1, 1)}, name="p")
    cat = b.add("concat", [bn, p], name="cat")
    weights = {"c.weight": torch.randn(6, 4, 3, 3), "bn.weight": torch.ones(6), "bn.bias": torch.zeros(6),
               "bn.running_mean": torch.zeros(6), "bn.running_var": torch.ones(6)}
    return b.build([cat], weights)


GOLDEN = """graph tiny
  %x = input() {shape=4x8x8} -> 4x8x8
  %r = relu(%x) -> 4x8x8
  %c = conv(%r) {dilation=1x1 groups=1 kernel=3x3 out_channels=6 padding=1x1 stride=2x2} -> 6x4x4 [weight=c.weight]
  %bn = batchnorm(%c) {eps=1e-05} -> 6x4x4 [bias=bn.bias running_mean=bn.running_mean running_var=bn.running_var weight=bn.weight]
  %p = max_pool(%r) {kernel=3x3 padding=1x1 stride=2x2} -> 4x4x4
  %cat = concat(%bn, %p) -> 10x4x4
  return %cat
"""


def test_shapes_are_inferred_and_the_dump_is_stable():
    g = verify(tiny())
    assert g.node("cat").shape == (10, 4, 4)
    assert dump(g) == GOLDEN


def test_weights_are_not_part_of_the_structure():
    a, b = tiny(), tiny()
    assert a == b and dump(a) == dump(b)
    assert not torch.equal(a.weights["c.weight"], b.weights["c.weight"])


@pytest.mark.parametrize("mutate,message", [
    (lambda g: g.replace(outputs=["nope"]), "graph output 'nope' is not defined"),
    (lambda g: g.replace([n.with_(shape=(1, 1, 1)) if n.name == "p" else n for n in g.nodes]),
     "stored shape (1, 1, 1) but inputs give (4, 4, 4)"),
    (lambda g: g.replace(weights={**g.weights, "c.weight": torch.randn(6, 4, 1, 1)}),
     "weight 'c.weight' is [6, 4, 1, 1], expected [6, 4, 3, 3]"),
    (lambda g: g.replace([n.with_(params=()) if n.name == "c" else n for n in g.nodes]), "lacks its 'weight' tensor"),
    (lambda g: g.replace([n.with_(inputs=("cat",)) if n.name == "r" else n for n in g.nodes]),
     "reads 'cat', which is not defined before it"),
    (lambda g: g.replace([n.with_(inputs=("x", "x")) if n.name == "r" else n for n in g.nodes]),
     "takes 1 input(s), has 2"),
])
def test_verifier_names_the_broken_node(mutate, message):
    with pytest.raises(IRError) as e:
        verify(mutate(tiny()))
    assert message in str(e.value)


def test_builder_refuses_shapes_that_do_not_fit():
    b = Builder("bad")
    x = b.add("input", [], {"shape": (3, 8, 8)})
    y = b.add("input", [], {"shape": (3, 4, 4)})
    with pytest.raises(IRError, match="inputs must have equal shapes"):
        b.add("add", [x, y])
    with pytest.raises(IRError, match="not divisible by groups=2"):
        b.conv(x, 4, 3, groups=2, weight="w")


def test_every_op_and_skeleton_has_a_lowering():
    assert all(spec.lower is not None for spec in OPS.values()), [n for n, s in OPS.items() if s.lower is None]
    assert set(SKELETONS) <= set(SKELETON_LOWERINGS)
    assert {"conv", "batchnorm", "relu", "max_pool", "avg_pool", "add", "concat", "slice", "zero", "linear", "relu6",
            "channel_slice", "resize"} <= set(IR_OPS)


# Per op signature: (input channels, the reference constructor's arguments, the lowering's arguments before
# the prefix). Cell ops: C, stride (+ affine). Chain blocks: c_in, c_out, stride, mid_scale: a stride-1 block
# keeping its width (ShuffleNet split, MBConv shortcut), one widening without striding (no shortcut), a
# stride-2 one and a scaled hidden width. Decoder ops: C, repeats.
SIGNATURE_CASES = {
    "cell": [(6, (6, s, True), (6, s)) for s in (1, 2)],
    "chain": [(c_in, args, args) for c_in, args in ((8, (8, 8, 1, 1.0)), (8, (8, 12, 1, 1.0)),
                                                    (8, (8, 20, 2, 1.0)), (8, (8, 8, 1, 0.6)))],
    "decoder": [(6, (6, r), (6, r)) for r in (1, 2)],
}
OP_CASES = [(name, k) for name in sorted(OPS) for k in range(len(SIGNATURE_CASES[OPS[name].signature]))]


@pytest.mark.parametrize("name,case", OP_CASES)
def test_each_op_lowering_equals_its_reference_module(name, case):
    c_in, ref_args, lower_args = SIGNATURE_CASES[get_op(name).signature][case]
    try:
        module = get_op(name).reference(*ref_args)
    except ValueError as e:  # a block that only exists in some places (mbconv_skip: stride 1, equal widths)
        pytest.skip(f"the reference refuses these arguments: {e}")
    module = randomize_bn(module.eval(), seed=3)
    b = GraphBuilder(name)
    x = b.add("input", [], {"shape": (c_in, 10, 10)}, name="x")
    out = get_op(name).lower(b, x, *lower_args, "op")
    graph = b.build([out], {f"op.{k}": v for k, v in module.state_dict().items()})
    verify(graph)
    assert {key for n in graph.nodes for _, key in n.params} == \
        {f"op.{k}" for k in module.state_dict() if not k.endswith("num_batches_tracked")}
    x = torch.randn(2, c_in, 10, 10)
    assert torch.allclose(interpret(graph, x), module(x), rtol=0, atol=1e-6)


def test_lowered_network_keeps_state_dict_keys_and_computes_the_reference():
    g = zoo_genotype("amoebanet").with_network(init_channels=8, layers=3, input_size=(16, 16))
    from genocompile.models import build_reference

    model = randomize_bn(build_reference(g))
    graph = lower(g, model.state_dict())
    used = {key for n in graph.nodes for _, key in n.params}
    assert used == {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}
    x = torch.randn(2, 3, 16, 16)
    assert torch.equal(interpret(graph, x), model(x))  # same ops in the same order: bit-identical
