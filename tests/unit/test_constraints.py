"""Constraints check the deploy network against fvcore counts and refuse bounds they cannot check."""
import pytest

from genocompile.cost.constraints import Constraints
from genocompile.cost.inspect import reference_costs
from genocompile.errors import CostModelError
from genocompile.genotype import zoo_genotype

DARTS_V2 = zoo_genotype("darts_v2").with_network("darts-cifar", init_channels=8, layers=5)


class FixedLatency:
    def __init__(self, ms):
        self.ms = ms

    def predict_ms(self, genotype):
        return self.ms


def test_bounds_are_checked_on_the_deploy_networks_counts():
    counted = reference_costs(DARTS_V2)
    assert Constraints(max_multiadds=counted.multiadds).satisfies(DARTS_V2)
    tight = Constraints(max_multiadds=counted.multiadds - 1, max_params=counted.params)
    assert not tight.satisfies(DARTS_V2)
    assert tight.violations(DARTS_V2) == [f"MultiAdds {counted.multiadds:,.4g} over the limit "
                                          f"{counted.multiadds - 1:,.4g}"]
    half = Constraints(max_params=counted.params // 2)
    assert half.penalty(DARTS_V2) == pytest.approx(counted.params / (counted.params // 2) - 1)
    assert Constraints().penalty(DARTS_V2) == 0 and Constraints().satisfies(DARTS_V2)


def test_latency_bound_uses_the_latency_model():
    assert Constraints(max_latency_ms=2.0, latency=FixedLatency(1.5)).satisfies(DARTS_V2)
    slow = Constraints(max_latency_ms=2.0, latency=FixedLatency(3.0))
    assert slow.violations(DARTS_V2) == ["latency (ms) 3 over the limit 2"]
    assert slow.costs(DARTS_V2)["latency_ms"] == 3.0


@pytest.mark.parametrize("kwargs,message", [
    (dict(max_latency_ms=5.0), "needs a latency model"),
    (dict(max_multiadds=0), "--max-multiadds must be a positive number"),
    (dict(max_params=-3), "--max-params must be a positive number"),
])
def test_bounds_that_cannot_be_checked_are_refused(kwargs, message):
    with pytest.raises(CostModelError, match=message):
        Constraints(**kwargs)
