"""Auto-DeepLab's hierarchical search pieces: the supernet, its cell against the reference cell, the expected
deploy cost against fvcore, the bi-level step on α and β, decoding (plain and bounded)."""
import pytest
import torch
from torch import nn

from genocompile.cost.constraints import Constraints
from genocompile.cost.counting import count_multiadds, count_params
from genocompile.genotype import zoo_genotype
from genocompile.genotype.hierarchical import RATES, HierarchicalGenotype, validate_path
from genocompile.genotype.network import network_from_dict
from genocompile.models import build_reference
from genocompile.models.autodeeplab import Cell
from genocompile.ops.table import AUTODEEPLAB_OPS
from genocompile.searchers.gradient.bilevel import Architect, Hyper
from genocompile.searchers.gradient.hierarchical_cost import HierarchicalCost
from genocompile.searchers.gradient.hierarchical_decode import decode_argmax, decode_bounded
from genocompile.searchers.gradient.hierarchical_supernet import (HierarchicalCell, HierarchicalSpec,
                                                                  HierarchicalSuperNet)
from genocompile.searchers.gradient.supernet import edge_index
from genocompile.searchers.gradient.trellis import STEM_LEVEL, viterbi

OPS = AUTODEEPLAB_OPS
SMALL_NET = {"skeleton": "autodeeplab", "filter_multiplier": 4, "input_size": [64, 64], "num_classes": 4,
             "stem_channels": [8, 8, 16], "aspp_channels": 16, "decoder_channels": 16, "low_level_channels": 8}


@pytest.fixture(scope="module")
def network():
    return network_from_dict(SMALL_NET, "hierarchical", "autodeeplab")


@pytest.fixture(scope="module")
def cost(network):
    return HierarchicalCost(network, OPS, 5, 4)


def one_hot(genotype, strength=40.0):
    """α and β that decode to `genotype` with certainty."""
    alpha = torch.zeros(20, len(OPS), dtype=torch.float64)
    alpha[:, OPS.index("none")] = strength
    for slot, (op, j) in enumerate(genotype.cell):
        row = edge_index(slot // 2, j)
        alpha[row] = 0.0
        alpha[row, OPS.index(op)] = strength
    beta = torch.zeros(len(genotype.path), 4, 3, dtype=torch.float64)
    s = STEM_LEVEL
    for layer, rate in enumerate(genotype.path):
        t = RATES.index(rate)
        beta[layer, s, t - s + 1] = strength
        s = t
    return {"alpha": alpha, "beta": beta}


def random_genotype(seed, network, layers=4):
    gen = torch.Generator().manual_seed(seed)
    arch = {"alpha": torch.randn(20, len(OPS), generator=gen), "beta": 3 * torch.randn(layers, 4, 3, generator=gen)}
    return decode_argmax(arch, OPS, 5, network), arch


def test_supernet_states_have_every_level_s_shape_and_logits_the_input_s():
    spec = HierarchicalSpec(filter_multiplier=2, layers=4, num_classes=3)
    torch.manual_seed(0)
    model = HierarchicalSuperNet(spec)
    seen = {}
    for layer, row in enumerate(model.nodes):
        for level, node in row.items():
            node.cell.register_forward_hook(lambda m, i, o, key=(layer, int(level)): seen.__setitem__(key, o.shape))
    out = model(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 3, 32, 32)
    expected = {(layer, s) for layer in range(4) for s in range(min(4, layer + 2))}
    assert set(seen) == expected
    for (layer, s), shape in seen.items():
        assert tuple(shape) == (2, 5 * 2 * RATES[s] // 4, 32 // RATES[s], 32 // RATES[s])


@pytest.mark.parametrize("fast", [False, True])
def test_supernet_cell_at_one_hot_alpha_is_the_reference_cell(fast):
    genotype = zoo_genotype("autodeeplab")  # every op has weights: no search-only BN after a pool
    c = 6
    torch.manual_seed(0)
    cell = HierarchicalCell(HierarchicalSpec(), c)
    reference = Cell(genotype.cell, c, c, c, 1, 1, False)
    reference.preprocess1 = nn.Identity()  # compare the blocks: both read the same two states
    weights = torch.zeros(20, len(OPS))
    for slot, (op, j) in enumerate(genotype.cell):
        row, k = edge_index(slot // 2, j), OPS.index(op)
        weights[row, k] = 1.0
        missing, unexpected = reference._ops[slot].load_state_dict(cell._ops[row]._ops[k].state_dict(), strict=False)
        assert not unexpected and all(name.split(".")[-1] in ("weight", "bias", "running_mean", "running_var",
                                                              "num_batches_tracked") for name in missing)
    reference.train()  # BatchNorm on batch statistics, as the supernet's
    s0, s1 = torch.randn(2, 4, c, 8, 8).unbind(0)
    with torch.no_grad():
        got, want = cell(s0, s1, weights, fast=fast), reference(s0, s1)
    assert got.shape == want.shape == (4, 5 * c, 8, 8)
    assert torch.allclose(got, want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("which", ["zoo", 0, 1, 2])
def test_expected_cost_at_one_hot_equals_fvcore_on_the_whole_deploy_network(which, network, cost):
    if which == "zoo":
        genotype = HierarchicalGenotype(cell=zoo_genotype("autodeeplab").cell, path=[8, 16, 32, 16], network=network)
    else:
        genotype, _ = random_genotype(which, network)
    model = build_reference(genotype, seed=0)
    counted = {"multiadds": count_multiadds(model, (1, 3, 64, 64)).total, "params": count_params(model)}
    assert cost.of_genotype(genotype) == {d: float(v) for d, v in counted.items()}
    expected = cost.expected(one_hot(genotype))
    for d, v in counted.items():
        assert float(expected[d]) == pytest.approx(v, rel=1e-9)


def test_expected_cost_is_differentiable_and_between_the_extremes(cost):
    arch = {k: v.clone().requires_grad_() for k, v in cost.uniform().items()}
    total = cost.expected(arch)["multiadds"]
    total.backward()
    assert all(float(a.grad.abs().sum()) > 0 for a in arch.values())


@pytest.mark.parametrize("order", [1, 2])
def test_the_bilevel_step_moves_alpha_and_beta(order):
    torch.manual_seed(0)
    model = HierarchicalSuperNet(HierarchicalSpec(filter_multiplier=2, layers=3, blocks=3, num_classes=3))
    before = [p.detach().clone() for p in model.arch_parameters()]
    x, y = torch.randn(4, 3, 32, 32), torch.randint(0, 3, (4, 32, 32))
    y[0, :4] = 255  # the ignore label takes no part
    w_opt = torch.optim.SGD(model.weights(), lr=0.01, momentum=0.9)
    Architect(model, Hyper(arch_lr=3e-3), order).step(x[:2], y[:2], x[2:], y[2:], 0.01, w_opt)
    for b, a in zip(before, model.arch_parameters()):
        assert float((a.detach() - b).abs().max()) > 1e-4


def test_decoded_genotypes_are_valid_and_their_first_block_reads_both_inputs(network):
    for seed in range(20):
        genotype, arch = random_genotype(seed, network, layers=6)
        validate_path(genotype.path)  # (the constructor validated the rest)
        assert list(genotype.path) == viterbi(arch["beta"])[0]
        assert {j for _, j in genotype.cell[:2]} == {0, 1}
        assert "none" not in {op for op, _ in genotype.cell}


def test_bounded_decoding_walks_down_under_a_multiadds_bound(network, cost):
    genotype, arch = random_genotype(3, network)
    argmax_cost = cost.of_genotype(genotype)["multiadds"]
    limit = int(argmax_cost * 0.8)
    decoded = decode_bounded(arch, OPS, 5, network, Constraints(max_multiadds=limit), cost)
    assert decoded.changes and decoded.argmax == genotype
    independent = count_multiadds(build_reference(decoded.genotype, seed=0), (1, 3, 64, 64)).total
    assert independent <= limit and decoded.costs["multiadds"] == independent
    from genocompile.errors import SearchError

    with pytest.raises(SearchError, match="no genotype of this search space satisfies"):
        decode_bounded(arch, OPS, 5, network, Constraints(max_multiadds=1000), cost)
