"""The search supernet: built from the op table, and its batched forward computes DARTS' loop exactly."""
import pytest
import torch

from genocompile.ops.table import DARTS_SEARCH_OPS, get_op
from genocompile.searchers.gradient.supernet import SuperNet, SupernetSpec, edge_index


def _net(spec, seed=0):
    torch.manual_seed(seed)
    net = SuperNet(spec).double()
    with torch.no_grad():
        for a in net.arch_parameters():
            a.normal_()
    return net


@pytest.mark.parametrize("spec", [SupernetSpec(channels=4, layers=3, steps=3),
                                  SupernetSpec(channels=6, layers=5, steps=4),
                                  SupernetSpec(channels=4, layers=3, steps=2,
                                               ops=("none", "skip_connect", "conv_7x1_1x7", "sep_conv_7x7"))])
@pytest.mark.parametrize("mode", [True, "per-edge"])
@pytest.mark.parametrize("channels_last", [False, True])
def test_batched_forward_equals_the_darts_loop_with_gradients(spec, mode, channels_last):
    net = _net(spec)
    x = torch.randn(3, 3, 16, 16, dtype=torch.float64)
    params = list(net.parameters())
    loop = net(x, fast=False)
    g_loop = torch.autograd.grad(loop.square().sum(), params)
    if channels_last:
        net, x = net.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    fast = net(x, fast=mode)
    g_fast = torch.autograd.grad(fast.square().sum(), params)
    torch.testing.assert_close(fast, loop, rtol=1e-10, atol=1e-10)
    for a, b in zip(g_fast, g_loop):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-10)


def test_supernet_shape_follows_darts():
    spec = SupernetSpec()
    net = SuperNet(spec)
    assert spec.num_edges == 14 and net.alphas_normal.shape == (14, len(DARTS_SEARCH_OPS))
    assert [c.reduction for c in net.cells] == [i in (2, 5) for i in range(8)]
    assert {id(p) for p in net.weights()}.isdisjoint({id(a) for a in net.arch_parameters()})
    assert len(net.weights()) + 2 == len(list(net.parameters()))
    cell = net.cells[2]
    # Reduction stride only on edges reading the cell inputs; each mixed op holds the table's modules.
    assert [cell._ops[edge_index(3, j)].stride for j in range(5)] == [2, 2, 1, 1, 1]
    sep = cell._ops[0]._ops[DARTS_SEARCH_OPS.index("sep_conv_3x3")]
    assert type(sep) is type(get_op("sep_conv_3x3").reference(4, 1, False))
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
