"""The evolutionary searchers, registered as `evolution` (`--ea aging|detnas`).

- `aging`: regularized evolution (Real et al. 2019, AmoebaNet). A population of the P most recent
  candidates; each child is a mutation of the best of S candidates drawn from it; the oldest dies.
- `detnas`: the EA of Single Path One-Shot / DetNAS (megvii `search.py`): a random initial population,
  then children bred from the top-k candidates seen so far, part by mutation, part by crossover. Here it is
  steady-state (each ask breeds from the current top-k) so that parallel workers never wait for a whole
  generation; with one worker it is the generational EA with generations of one.

Both are pure ask/tell: constraint violators are dropped and replaced by the driver before evaluation.
"""
from __future__ import annotations

import heapq
import random
from collections import deque
from typing import Any, Sequence

from genocompile.genotype import Genotype
from genocompile.searchers.protocol import EvalResult, rng_state, set_rng_state
from genocompile.searchers.spaces import SearchSpace


class AgingEvolution:
    name = "evolution"

    def __init__(self, space: SearchSpace, rng: random.Random, population: int = 10, sample_size: int = 3):
        self.space, self.rng = space, rng
        self.population_size, self.sample_size = population, min(sample_size, population)
        self.population: deque[tuple[Genotype, float]] = deque(maxlen=population)  # oldest on the left
        self.told = 0

    def ask(self, n: int) -> list[Genotype]:
        return [self._one() for _ in range(n)]

    def _one(self) -> Genotype:
        if self.told < self.population_size:
            return self.space.sample(self.rng)
        contenders = self.rng.sample(list(self.population), self.sample_size)
        parent = max(contenders, key=lambda c: c[1])[0]
        return self.space.mutate(parent, self.rng)

    def tell(self, genotypes: Sequence[Genotype], results: Sequence[EvalResult]) -> None:
        for genotype, result in zip(genotypes, results):
            self.population.append((genotype, result.fitness))  # deque(maxlen) drops the oldest
            self.told += 1

    def state_dict(self) -> dict[str, Any]:
        return {"rng": rng_state(self.rng)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        set_rng_state(self.rng, state["rng"])


class DetNASEvolution:
    name = "evolution"

    def __init__(self, space: SearchSpace, rng: random.Random, population: int = 10, top_k: int = 3,
                 crossover_fraction: float = 0.5):
        self.space, self.rng = space, rng
        self.population_size, self.top_k, self.crossover_fraction = population, top_k, crossover_fraction
        self.seen: list[tuple[Genotype, float]] = []

    def ask(self, n: int) -> list[Genotype]:
        # The top-k only change in tell(): pick them once per ask (ties: the earlier evaluation first).
        parents = [g for g, _ in heapq.nlargest(self.top_k, self.seen, key=lambda c: c[1])]
        return [self._one(parents) for _ in range(n)]

    def _one(self, parents: list[Genotype]) -> Genotype:
        if len(self.seen) < self.population_size:
            return self.space.sample(self.rng)
        if len(parents) > 1 and self.rng.random() < self.crossover_fraction:
            a, b = self.rng.sample(parents, 2)
            return self.space.crossover(a, b, self.rng)
        return self.space.mutate(self.rng.choice(parents), self.rng)

    def tell(self, genotypes: Sequence[Genotype], results: Sequence[EvalResult]) -> None:
        self.seen.extend((g, r.fitness) for g, r in zip(genotypes, results))

    def state_dict(self) -> dict[str, Any]:
        return {"rng": rng_state(self.rng)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        set_rng_state(self.rng, state["rng"])


EAS = {"aging": AgingEvolution, "detnas": DetNASEvolution}
