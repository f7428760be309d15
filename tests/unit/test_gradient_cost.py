"""Expected deploy-network cost under α, against fvcore's count of the decoded genotype's whole network."""
import pytest
import torch

from genocompile.cost.counting import count_multiadds, count_params
from genocompile.genotype.network import network_from_dict
from genocompile.models import build_reference
from genocompile.ops.table import DARTS_SEARCH_OPS
from genocompile.searchers.gradient.decode import decode_argmax, one_hot_alphas
from genocompile.searchers.gradient.deploy_cost import DeployCost

OPS = DARTS_SEARCH_OPS


class PerOpLatency:
    """A toy per-op latency table: ms proportional to the op's MultiAdds plus a fixed part."""

    def op_ms(self, op, channels, stride, size):
        from genocompile.searchers.gradient.deploy_cost import op_multiadds

        return 1e-6 * op_multiadds(op, channels, stride, size) + 0.01

    def predict_ms(self, genotype):
        from genocompile.searchers.gradient.deploy_cost import cell_shapes

        total = 1.0
        for kind, c, size_in, size_node in cell_shapes(genotype.network, genotype.steps("normal")):
            for op, j in genotype.cell(kind)[0]:
                stride = 2 if kind == "reduce" and j < 2 else 1
                total += self.op_ms(op, c, stride, size_in if j < 2 else size_node)
        return total


@pytest.fixture(scope="module")
def cost():
    return DeployCost(network_from_dict({"skeleton": "darts-cifar"}, "cell", "darts-cifar"), OPS, 4)


def test_expected_cost_of_a_one_hot_alpha_is_the_fvcore_count_of_its_genotype(cost):
    torch.manual_seed(3)
    alphas = {k: torch.randn(14, len(OPS)) for k in ("normal", "reduce")}
    genotype = decode_argmax(alphas, OPS, 4, cost.network)
    model = build_reference(genotype, seed=0)
    independent = count_multiadds(model, (1, 3, 32, 32)).total
    expected = cost.expected(one_hot_alphas(genotype, OPS, 4))
    assert expected["multiadds"].item() == pytest.approx(independent, rel=1e-9)
    assert expected["params"].item() == pytest.approx(count_params(model), rel=1e-9)
    assert cost.of_genotype(genotype)["multiadds"] == pytest.approx(independent, rel=1e-12)


def test_expected_cost_is_differentiable_and_tracks_alpha(cost):
    alphas = {k: torch.zeros(14, len(OPS), requires_grad=True) for k in ("normal", "reduce")}
    expected = cost.expected(alphas)["multiadds"]
    expected.backward()
    conv, pool = OPS.index("sep_conv_5x5"), OPS.index("max_pool_3x3")
    g = alphas["normal"].grad
    assert (g[:, conv] > 0).all() and (g[:, pool] < 0).all()  # more conv weight costs more
    heavier = {k: torch.zeros(14, len(OPS)) for k in ("normal", "reduce")}
    heavier["normal"][:, conv] = 2.0
    assert cost.expected(heavier)["multiadds"] > expected


def test_expected_latency_through_a_per_op_table():
    network = network_from_dict({"skeleton": "darts-cifar", "layers": 5, "init_channels": 8}, "cell", "darts-cifar")
    lat = PerOpLatency()
    cost = DeployCost(network, OPS, 4, latency=lat)
    assert "latency_ms" in cost.dims
    torch.manual_seed(4)
    genotype = decode_argmax({k: torch.randn(14, len(OPS)) for k in ("normal", "reduce")}, OPS, 4, network)
    got = cost.expected(one_hot_alphas(genotype, OPS, 4))["latency_ms"].item()
    assert got == pytest.approx(lat.predict_ms(genotype), rel=1e-9)
