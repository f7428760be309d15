"""Decoding α: DARTS' rule, and the bounded walk when the argmax genotype breaks a bound."""
import pytest
import torch

from genocompile.cost.constraints import Constraints
from genocompile.cost.counting import count_multiadds
from genocompile.genotype.network import network_from_dict
from genocompile.models import build_reference
from genocompile.ops.table import DARTS_SEARCH_OPS
from genocompile.searchers.gradient.decode import argmax_edges, decode_argmax, decode_bounded
from genocompile.searchers.gradient.deploy_cost import DeployCost
from genocompile.errors import SearchError
from genocompile.searchers.gradient.supernet import edge_index

OPS = DARTS_SEARCH_OPS
NETWORK = network_from_dict({"skeleton": "darts-cifar", "layers": 5, "init_channels": 8, "input_size": [16, 16]},
                            "cell", "darts-cifar")


def _darts_parse(weights, steps):
    """quark0/darts Network.genotype()._parse, transcribed as the oracle."""
    none = OPS.index("none")
    gene, start, n = [], 0, 2
    for _ in range(steps):
        W = weights[start:start + n]
        edges = sorted(range(n), key=lambda x: -max(W[x][k] for k in range(len(W[x])) if k != none))[:2]
        for j in edges:
            k_best = None
            for k in range(len(W[j])):
                if k != none and (k_best is None or W[j][k] > W[j][k_best]):
                    k_best = k
            gene.append((OPS[k_best], j))
        start, n = start + n, n + 1
    return gene


@pytest.mark.parametrize("seed", range(5))
def test_argmax_decoding_is_darts_rule(seed):
    alpha = torch.randn(14, len(OPS), generator=torch.Generator().manual_seed(seed))
    alpha[:, OPS.index("none")] += 3.0  # `none` is strongest on every edge, and must never be picked
    assert argmax_edges(alpha, OPS, 4) == _darts_parse(torch.softmax(alpha, -1).tolist(), 4)


def test_edge_rows_follow_darts_order():
    assert [edge_index(i, j) for i in range(4) for j in range(2 + i)] == list(range(14))


@pytest.fixture(scope="module")
def heavy():
    """α that strongly prefers 5x5 separable convs everywhere, and its deploy-cost tables."""
    alphas = {k: torch.zeros(14, len(OPS)) for k in ("normal", "reduce")}
    for k in alphas:
        alphas[k][:, OPS.index("sep_conv_5x5")] = 2.0
        alphas[k][:, OPS.index("skip_connect")] = 1.0
    return alphas, DeployCost(NETWORK, OPS, 4)


def test_bounded_decoding_returns_the_argmax_when_it_fits(heavy):
    alphas, cost = heavy
    argmax = decode_argmax(alphas, OPS, 4, NETWORK)
    loose = Constraints(max_multiadds=10 * cost.of_genotype(argmax)["multiadds"])
    decoded = decode_bounded(alphas, OPS, 4, NETWORK, loose, cost)
    assert decoded.genotype == argmax and not decoded.constrained


def test_bounded_decoding_walks_down_to_a_feasible_genotype(heavy):
    alphas, cost = heavy
    argmax = decode_argmax(alphas, OPS, 4, NETWORK)
    full = cost.of_genotype(argmax)["multiadds"]
    bound = int(0.7 * full)
    decoded = decode_bounded(alphas, OPS, 4, NETWORK, Constraints(max_multiadds=bound), cost)
    assert decoded.constrained and decoded.changes
    independent = count_multiadds(build_reference(decoded.genotype, seed=0), (1, 3, 16, 16)).total
    assert independent <= bound < full
    assert decoded.costs["multiadds"] == independent
    # It walked down by α strength: the cheap op α favours next (skip_connect) replaced the convs.
    ops = [op for kind in ("normal", "reduce") for op, _ in decoded.genotype.cell(kind)[0]]
    assert set(ops) <= {"sep_conv_5x5", "skip_connect"}


def test_bounded_decoding_refuses_an_impossible_bound(heavy):
    alphas, cost = heavy
    with pytest.raises(SearchError, match="no genotype of this search space satisfies"):
        decode_bounded(alphas, OPS, 4, NETWORK, Constraints(max_multiadds=1000), cost)


def test_bounded_decoding_with_a_whole_network_latency_predictor(heavy):
    from test_gradient_cost import PerOpLatency

    class WholeNetwork:  # predict_ms only: no per-op table for the walk to use
        predict_ms = PerOpLatency().predict_ms

    alphas, cost = heavy  # tables without latency
    argmax = decode_argmax(alphas, OPS, 4, NETWORK)
    bound = 0.8 * WholeNetwork().predict_ms(argmax)
    decoded = decode_bounded(alphas, OPS, 4, NETWORK, Constraints(max_latency_ms=bound, latency=WholeNetwork()), cost)
    assert decoded.constrained and WholeNetwork().predict_ms(decoded.genotype) <= bound
