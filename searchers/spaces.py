"""Search spaces: what a searcher may propose, and the sampling, mutation and crossover on it.

A space is one registry entry (`register_space(space)`), an object with `name`, `sample(rng)`,
`mutate(genotype, rng)` and `crossover(a, b, rng)`; every genotype it returns is valid and carries the
deploy network the search result is meant for (constraints are checked on that network).

`darts-cifar` / `darts-imagenet`: DARTS cells (quark0/darts `genotypes.PRIMITIVES` minus `none`, which the
derived DARTS genotype never holds), 4 intermediate nodes, each reading two distinct earlier states, all
nodes concatenated. Mutation follows AmoebaNet (Real et al. 2019) and DetNAS: pick the normal or the
reduction cell, one node, one of its two inputs, then change either its op or the state it reads.
Crossover takes each node (its two [op, input] pairs) from one parent or the other.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Protocol

from genocompile.errors import SearchError
from genocompile.genotype import CellGenotype, Genotype
from genocompile.genotype.network import network_from_dict
from genocompile.ops.table import DARTS_SEARCH_OPS
from genocompile.registry import Registry


class SearchSpace(Protocol):
    name: str

    def sample(self, rng: random.Random) -> Genotype: ...

    def mutate(self, genotype: Genotype, rng: random.Random) -> Genotype: ...

    def crossover(self, a: Genotype, b: Genotype, rng: random.Random) -> Genotype: ...


SPACES: Registry[SearchSpace] = Registry("search space", SearchError)


def register_space(space: SearchSpace) -> SearchSpace:
    return SPACES.add(space.name, space)


def get_space(name: str) -> SearchSpace:
    import genocompile.searchers  # noqa: F401  (spaces defined elsewhere register on import)

    return SPACES.get_or_raise(name)


CELL_KINDS = ("normal", "reduce")


@dataclass(frozen=True)
class DartsCellSpace:
    """DARTS cells of `steps` nodes from `ops`, deployed in `skeleton` with its default settings."""

    name: str
    skeleton: str
    ops: tuple[str, ...] = tuple(op for op in DARTS_SEARCH_OPS if op != "none")
    steps: int = 4

    @property
    def network(self) -> Any:
        return network_from_dict({"skeleton": self.skeleton}, "cell", self.skeleton)

    @property
    def concat(self) -> list[int]:
        return list(range(2, 2 + self.steps))

    def _genotype(self, normal: list, reduce: list, name: str = "searched") -> CellGenotype:
        return CellGenotype(normal=normal, normal_concat=self.concat, reduce=reduce, reduce_concat=self.concat,
                            network=self.network, name=name)

    def _sample_cell(self, rng: random.Random) -> list[tuple[str, int]]:
        edges = []
        for node in range(2, 2 + self.steps):
            for index in rng.sample(range(node), 2):  # two distinct predecessors, as DARTS derives them
                edges.append((rng.choice(self.ops), index))
        return edges

    def sample(self, rng: random.Random) -> CellGenotype:
        return self._genotype(self._sample_cell(rng), self._sample_cell(rng))

    def check(self, genotype: Genotype) -> CellGenotype:
        """The genotype if it belongs to this space, else SearchError naming why."""
        if not isinstance(genotype, CellGenotype) or genotype.network.skeleton != self.skeleton:
            raise SearchError(f"space {self.name}: expects cell genotypes in the {self.skeleton} network")
        for kind in CELL_KINDS:
            edges = getattr(genotype, kind)
            if len(edges) != 2 * self.steps or any(op not in self.ops for op, _ in edges):
                raise SearchError(f"space {self.name}: {kind} cell must have {self.steps} nodes of ops "
                                  f"{', '.join(self.ops)}")
        return genotype

    def mutate(self, genotype: Genotype, rng: random.Random) -> CellGenotype:
        g = self.check(genotype)
        cells = {kind: list(getattr(g, kind)) for kind in CELL_KINDS}
        kind = rng.choice(CELL_KINDS)
        edges = cells[kind]
        position = rng.randrange(len(edges))
        node, other = 2 + position // 2, edges[position ^ 1][1]
        op, index = edges[position]
        inputs = [i for i in range(node) if i not in (index, other)]
        if rng.random() < 0.5 or not inputs:  # op mutation (node 2 has no other input to move to)
            edges[position] = (rng.choice([o for o in self.ops if o != op]), index)
        else:  # input mutation: another earlier state, still distinct from the node's other input
            edges[position] = (op, rng.choice(inputs))
        return self._genotype(cells["normal"], cells["reduce"])

    def crossover(self, a: Genotype, b: Genotype, rng: random.Random) -> CellGenotype:
        a, b = self.check(a), self.check(b)
        cells = {}
        for kind in CELL_KINDS:
            ea, eb = getattr(a, kind), getattr(b, kind)
            cells[kind] = [pair for n in range(self.steps) for pair in (ea if rng.random() < 0.5 else eb)[2 * n:2 * n + 2]]
        return self._genotype(cells["normal"], cells["reduce"])


register_space(DartsCellSpace(name="darts-cifar", skeleton="darts-cifar"))
register_space(DartsCellSpace(name="darts-imagenet", skeleton="darts-imagenet"))
