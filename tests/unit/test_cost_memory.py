"""Peak activation memory by a liveness walk, against a hand count; the Constraints bound on it."""
import pytest

from genocompile.cost.constraints import Constraints
from genocompile.cost.memory import deploy_activation_bytes, peak_activation_bytes
from genocompile.ir.graph import GraphBuilder
from cost_factory import tiny_genotype


def test_peak_against_a_hand_count():
    b = GraphBuilder("tiny")
    x = b.add("input", [], {"shape": (3, 4, 4)}, name="x")           # 48 elements
    c1 = b.conv(x, 8, 3, padding=1, weight="c1.weight")               # 128
    c2 = b.conv(x, 8, 3, padding=1, weight="c2.weight")               # 128; x dies after this
    s = b.add("add", [c1, c2], name="s")                               # 128; c1, c2 die after this
    r = b.add("relu", [s], name="r")                                   # 128; s dies
    g = b.build([r])
    # live while each node runs: x 48 | x+c1 176 | x+c1+c2 304 | c1+c2+s 384 | s+r 256
    assert peak_activation_bytes(g) == 384 * 4
    assert peak_activation_bytes(g, batch=2, bytes_per_element=2) == 384 * 2 * 2


def test_activation_bound_in_constraints():
    g = tiny_genotype(0)
    peak = deploy_activation_bytes(g)
    assert peak > 3 * 8 * 8 * 4
    assert Constraints(max_activation_bytes=peak).satisfies(g)
    tight = Constraints(max_activation_bytes=peak - 1)
    assert tight.violations(g) == [f"peak activation bytes {peak:,.4g} over the limit {peak - 1:,.4g}"]
    assert tight.penalty(g) == pytest.approx(peak / (peak - 1) - 1)


def test_activation_bound_with_costs_counted_elsewhere():
    g = tiny_genotype(1)
    peak = deploy_activation_bytes(g)
    tight = Constraints(max_activation_bytes=peak - 1)
    assert not tight.satisfies(g, costs={"multiadds": 1, "params": 1})  # a driver's own count lacks the figure
