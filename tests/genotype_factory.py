"""Random valid genotypes (cell and hierarchical families) for property-style tests, independent of the
searchers' samplers."""
from __future__ import annotations

import random

from genocompile.genotype import CellGenotype, HierarchicalGenotype
from genocompile.ops import AUTODEEPLAB_OPS, CELL_OPS


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


def random_path(rng: random.Random, layers: int) -> list[int]:
    """A valid Auto-DeepLab path: starts at 4 or 8, each layer keeps, halves or doubles the rate (4..32)."""
    path = [rng.choice([4, 8])]
    while len(path) < layers:
        path.append(rng.choice([r for r in (path[-1] // 2, path[-1], path[-1] * 2) if 4 <= r <= 32]))
    return path


def random_hierarchical(rng: random.Random, blocks: int | None = None, layers: int | None = None,
                        ops=AUTODEEPLAB_OPS, network=None, name="random") -> HierarchicalGenotype:
    b = blocks or rng.randint(1, 5)
    cell = [(rng.choice(ops), rng.randrange(node)) for node in range(2, 2 + b) for _ in range(2)]
    return HierarchicalGenotype(cell=cell, path=random_path(rng, layers or rng.randint(1, 12)), network=network,
                                name=name)
