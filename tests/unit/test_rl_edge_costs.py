"""The exact per-edge cost table equals a full fvcore count of the deploy network, for random cells."""
import random

import pytest

from genocompile.cost.inspect import reference_costs
from genocompile.searchers.rl.controller import CellController, CellSpace
from genocompile.searchers.rl.edge_costs import EdgeCostTable

NETWORKS = [{"skeleton": "darts-cifar", "init_channels": 8, "layers": 5, "input_size": [16, 16]},
            {"skeleton": "darts-imagenet", "init_channels": 4, "layers": 3}]


@pytest.mark.parametrize("network", NETWORKS, ids=lambda n: n["skeleton"])
def test_table_sum_equals_the_full_count(network):
    space = CellSpace(network=network)
    table, controller, rng = EdgeCostTable(network), CellController(space), random.Random(0)
    genotypes = [space.to_genotype(a) for a in controller.sample(5, rng).actions]
    for genotype in genotypes:
        counted = reference_costs(genotype)
        if table.costs(genotype) is not None:
            assert table.costs(genotype) == {"multiadds": counted.multiadds, "params": counted.params}
    assert sum(table.costs(g) is not None for g in genotypes) >= 3


def test_cells_with_dead_layers_are_left_to_the_full_count():
    # The normal cell never reads input 0, the reduction cell never input 1: fvcore's trace drops dead
    # preprocessing (and through it whole cells), which a per-edge sum cannot see.
    network = NETWORKS[0]
    space = CellSpace(network=network)
    genotype = space.to_genotype([1, 1, 0, 4] + [2, 2, 5, 6] * 3 + [0, 0, 3, 3] + [2, 2, 1, 7] * 3)
    assert EdgeCostTable(network).costs(genotype) is None
