"""Random valid cell genotypes for property-style tests (independent of the searchers' samplers)."""
from __future__ import annotations

import random

from genocompile.genotype import CellGenotype
from genocompile.ops import CELL_OPS


def random_cell(rng: random.Random, steps: int | None = None, ops=CELL_OPS, network=None, name="random") -> CellGenotype:
    def one_cell():
        n = steps or rng.randint(1, 5)
        edges = [(rng.choice(ops), rng.randrange(node)) for node in range(2, 2 + n) for _ in range(2)]
        concat = sorted(rng.sample(range(2, 2 + n), rng.randint(1, n)))
        return edges, concat

    normal, normal_concat = one_cell()
    reduce, reduce_concat = one_cell()
    return CellGenotype(normal=normal, normal_concat=normal_concat, reduce=reduce, reduce_concat=reduce_concat,
                        network=network, name=name)
