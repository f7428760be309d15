"""Each pass on a tiny hand-built graph: what it rewrites, what it must leave alone, and that the graph
computes the same on the reference interpreter before and after."""
import pytest
import torch

from genocompile.ir import GraphBuilder, interpret, verify
from genocompile.passes import PASSES, PassError, optimize, pipeline_for
from genocompile.passes.dead_code import dead_code
from genocompile.passes.fold_bn import fold_bn
from genocompile.passes.fold_identity import fold_identity
from genocompile.passes.fuse_conv_relu import fuse_conv_relu
from genocompile.passes.fuse_dw_pw import fuse_dw_pw
from genocompile.passes.merge_duplicates import merge_duplicates
from genocompile.passes.prune_zero import prune_zero

C = 4


class Net:
    """A GraphBuilder that also makes the weights its convs and BNs read (BN statistics far from default)."""

    def __init__(self, shape=(C, 6, 6)):
        self.b = GraphBuilder("t")
        self.w: dict[str, torch.Tensor] = {}
        self.gen = torch.Generator().manual_seed(0)
        self.x = self.b.add("input", [], {"shape": shape}, name="x")

    def conv(self, x, out, k=3, groups=1, name="c", bias=False, **kw):
        c_in = self.b.shape(x)[0]
        self.w[f"{name}.weight"] = torch.randn(out, c_in // groups, k, k, generator=self.gen)
        if bias:
            self.w[f"{name}.bias"] = torch.randn(out, generator=self.gen)
        return self.b.conv(x, out, k, kw.get("stride", 1), kw.get("padding", k // 2), groups=groups,
                           weight=f"{name}.weight", bias=f"{name}.bias" if bias else None, name=name)

    def bn(self, x, name="bn"):
        c = self.b.shape(x)[0]
        self.w.update({f"{name}.weight": torch.rand(c, generator=self.gen) + 0.5,
                       f"{name}.bias": torch.rand(c, generator=self.gen) - 0.5,
                       f"{name}.running_mean": torch.rand(c, generator=self.gen) - 0.5,
                       f"{name}.running_var": torch.rand(c, generator=self.gen) + 0.5})
        return self.b.batchnorm(x, name)

    def op(self, kind, inputs, name=None, **attrs):
        return self.b.add(kind, inputs, attrs, name=name)

    def graph(self, *outputs):
        return verify(self.b.build(outputs, self.w))


def same_function(before, after, shape=(2, C, 6, 6)):
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1))
    a, b = interpret(before, x), interpret(after, x)
    assert a.shape == b.shape
    assert (a - b).abs().max() <= 1e-5 * max(a.abs().max(), 1)


def kinds(graph):
    return [n.kind for n in graph.nodes]


def test_prune_zero_drops_x_plus_zero_and_keeps_zero_plus_zero():
    n = Net()
    c = n.conv(n.x, C)
    z1 = n.op("zero", [n.x], "z1", stride=1)
    z2 = n.op("zero", [n.x], "z2", stride=1)
    a = n.op("add", [c, z1], "a")
    both = n.op("add", [z1, z2], "both")
    g = n.graph(n.op("concat", [a, both], "out"))
    after = dead_code(prune_zero(g))
    assert after.node("out").inputs == ("c", "z1")  # x + 0 -> x ; 0 + 0 -> 0 (still a zero tensor)
    assert "add" not in kinds(after) and after.count("zero") == 1
    same_function(g, after)


def test_dead_code_removes_unread_nodes_and_their_weights():
    n = Net()
    used = n.conv(n.x, C, name="used")
    n.conv(n.x, C, name="unused")
    g = n.graph(used)
    after = dead_code(g)
    assert [x.name for x in after.nodes] == ["x", "used"]
    assert set(after.weights) == {"used.weight"}


def test_fold_identity_rewires_readers():
    n = Net()
    i = n.op("identity", [n.x], "i")
    r = n.op("relu", [i], "r")
    g = n.graph(n.op("add", [r, i], "out"))
    after = fold_identity(g)
    assert "identity" not in kinds(after) and after.node("r").inputs == ("x",) and after.node("out").inputs == ("r", "x")
    same_function(g, after)


def test_merge_duplicates_keeps_one_relu_per_tensor():
    n = Net()
    r1, r2 = n.op("relu", [n.x], "r1"), n.op("relu", [n.x], "r2")
    other = n.op("relu", [n.conv(n.x, C)], "other")
    p1 = n.op("max_pool", [r1], "p1", kernel=(3, 3), stride=(1, 1), padding=(1, 1))
    p2 = n.op("max_pool", [r2], "p2", kernel=(3, 3), stride=(1, 1), padding=(1, 1))
    a1, a2 = n.op("add", [p1, other], "a1"), n.op("add", [other, p2], "a2")  # commutative: equal
    g = n.graph(n.op("concat", [a1, a2], "out"))
    after = merge_duplicates(g)
    assert after.count("relu") == 2 and after.count("max_pool") == 1 and after.count("add") == 1
    assert after.node("out").inputs == ("a1", "a1")
    same_function(g, after)


def test_fold_bn_into_conv():
    n = Net()
    g = n.graph(n.bn(n.conv(n.x, C)))
    after = fold_bn(g)
    assert kinds(after) == ["input", "conv"] and after.node("c").param("bias")
    assert not any(k.startswith("bn.") for k in after.weights)
    same_function(g, after)


def test_fold_bn_splits_a_concat_into_its_convs():
    n = Net((C, 8, 8))
    r = n.op("relu", [n.x], "r")
    a = n.conv(r, C // 2, k=1, name="conv_1", stride=2, padding=0)
    s = n.op("slice", [r], "shift", start=(1, 1), step=(1, 1))
    b = n.conv(s, C // 2, k=1, name="conv_2", stride=2, padding=0)
    g = n.graph(n.bn(n.op("concat", [a, b], "cat")))
    after = fold_bn(g)
    assert after.count("batchnorm") == 0 and after.outputs == ("cat",)
    same_function(g, after, (2, C, 8, 8))


def test_fold_bn_leaves_a_conv_whose_output_is_read_elsewhere():
    n = Net()
    c = n.conv(n.x, C)
    g = n.graph(n.op("add", [n.bn(c), c], "out"))
    assert fold_bn(g) == g
    n = Net()  # a concat with a non-conv input: the BN stays too
    g = n.graph(n.bn(n.op("concat", [n.conv(n.x, C), n.op("relu", [n.x], "r")], "cat")))
    assert fold_bn(g).count("batchnorm") == 1


def test_fuse_conv_relu_only_when_the_relu_is_the_only_reader():
    n = Net()
    c1 = n.conv(n.x, C, name="c1", bias=True)
    c2 = n.conv(n.x, C, name="c2")
    r1, r2 = n.op("relu", [c1], "r1"), n.op("relu", [c2], "r2")
    g = n.graph(n.op("add", [r1, r2, c2], "out"))
    after = fuse_conv_relu(g)
    assert after.node("c1").attr["act"] == "relu" and "act" not in after.node("c2").attr
    assert [x.name for x in after.nodes if x.kind == "relu"] == ["r2"]
    same_function(g, after)


def test_fuse_conv_relu_fuses_relu6_after_a_folded_depthwise_conv():
    # MBConv's depth_conv: depthwise -> BN -> ReLU6; inputs scaled so that the clip at 6 is exercised.
    n = Net()
    dw = n.conv(n.x, C, k=3, groups=C, name="dw")
    g = n.graph(n.op("relu6", [n.bn(dw)], "r6"))
    after = optimize(g)
    assert kinds(after) == ["input", "conv"] and after.node("dw").attr["act"] == "relu6"
    x = 10 * torch.randn(2, C, 6, 6, generator=torch.Generator().manual_seed(1))
    ref = interpret(g, x)
    assert ref.max() == 6 and torch.allclose(interpret(after, x), ref, atol=1e-5)


def test_fuse_dw_pw():
    n = Net()
    dw = n.conv(n.x, C, k=3, groups=C, name="dw")
    pw = n.conv(dw, 2 * C, k=1, name="pw", bias=True)
    g = n.graph(pw)
    after = fuse_dw_pw(g)
    assert kinds(after) == ["input", "dwpw_conv"] and dict(after.node("pw").params)["dw_weight"] == "dw.weight"
    same_function(g, after)
    assert pipeline_for({"dwpw"}).index("fuse_dw_pw") < pipeline_for({"dwpw"}).index("fuse_conv_relu")
    assert "fuse_dw_pw" not in pipeline_for()


def test_pipeline_names_the_failing_pass_and_what_ran_before(monkeypatch):
    n = Net()
    g = n.graph(n.op("relu", [n.x], "r"))

    def broken(graph):
        return graph.replace(outputs=["ghost"])
    monkeypatch.setitem(PASSES, "broken", broken)
    with pytest.raises(PassError, match=r"pass 'broken' \(step 3 of 3, after prune_zero, dead_code\) failed: "
                                        r"IRError: graph output 'ghost' is not defined"):
        optimize(g, ["prune_zero", "dead_code", "broken"])


def test_debug_dumps_the_ir_after_each_step(monkeypatch, capsys):
    n = Net()
    g = n.graph(n.op("relu", [n.op("identity", [n.x], "i")], "r"))
    monkeypatch.setenv("GENOCOMPILE_DEBUG", "1")
    optimize(g, ["fold_identity", "dead_code"])
    err = capsys.readouterr().err
    assert "# IR after step 1: fold_identity (2 nodes)" in err and "# IR after step 2: dead_code" in err
    assert "%r = relu(%x)" in err
