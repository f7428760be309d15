"""Ranking measurement: stratified candidate sets span the weighted-op counts of the space with valid
genotypes, and the rank correlations are the textbook ones."""
import random

import pytest

from genocompile.genotype import genotype_from_dict
from genocompile.searchers.ranking import rank_correlation, stratified_cells, weighted_ops
from genocompile.searchers.spaces import get_space


@pytest.mark.parametrize("n", [2, 5, 12])
def test_stratified_cells_step_from_no_convolution_to_all(n):
    space = get_space("darts-cifar")
    cells = stratified_cells(space, random.Random(n), n)
    counts = [weighted_ops(g) for g in cells]
    assert counts[0] == 0 and counts[-1] == 16 and counts == sorted(counts) and len(set(counts)) == n
    for g in cells:
        space.check(g)
        assert genotype_from_dict(g.to_dict()) == g
        assert g.network.skeleton == "darts-cifar"


def test_weighted_ops_counts_convolutions_in_both_cells():
    space = get_space("darts-cifar")
    g = space.sample(random.Random(0))
    expected = sum(op.startswith(("sep_conv", "dil_conv")) for op, _ in g.normal + g.reduce)
    assert weighted_ops(g) == expected


def test_rank_correlation():
    same = rank_correlation([0.1, 0.5, 0.3, 0.9], [1, 3, 2, 4])
    assert same["tau"] == pytest.approx(1.0) and same["rho"] == pytest.approx(1.0)
    assert rank_correlation([1, 2, 3, 4], [4, 3, 2, 1])["tau"] == pytest.approx(-1.0)
    # one swapped pair of six: (5 concordant - 1 discordant) / 6; rho = 1 - 6 * 2 / (4 * 15)
    one_swap = rank_correlation([1, 2, 3, 4], [1, 3, 2, 4])
    assert one_swap["tau"] == pytest.approx(4 / 6) and one_swap["rho"] == pytest.approx(0.8)
    assert 0 < one_swap["tau_p"] <= 1 and 0 < one_swap["rho_p"] <= 1
