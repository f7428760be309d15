"""The ask/tell protocol every population searcher (evolution, rl) speaks, and what an evaluation returns.

A searcher sees genotypes and results only: it never trains, counts or compiles anything itself. The driver
(`genocompile.searchers.driver.drive`) asks it for candidates, drops the ones that break the constraints
before they are evaluated, evaluates the rest (locally or on Ray), journals each result and tells it back.

Resume: on a rerun the driver tells every journalled result back in the order it was committed, then hands
the searcher the `state_dict()` saved with the last commit (its RNG state and counters), so the search goes
on as if it had never stopped.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence, runtime_checkable

from genocompile.genotype import Genotype


@dataclass(frozen=True)
class EvalResult:
    fitness: float  # higher is better (validation accuracy for the evolution searchers)
    metrics: dict[str, Any] = field(default_factory=dict)  # e.g. {"valid_acc": .., "train_loss": .., "seconds": ..}
    costs: dict[str, float] = field(default_factory=dict)  # deploy network: {"multiadds": .., "params": ..}


@runtime_checkable
class Searcher(Protocol):
    """`name` identifies the searcher in the journal (a DIR holds one searcher's search)."""

    name: str

    def ask(self, n: int) -> list[Genotype]: ...

    def tell(self, genotypes: Sequence[Genotype], results: Sequence[EvalResult]) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def rng_state(rng: random.Random) -> list:
    """A JSON-able form of a `random.Random` state (searchers put it in their state_dict)."""
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def set_rng_state(rng: random.Random, state: list) -> None:
    version, internal, gauss = state
    rng.setstate((version, tuple(internal), gauss))
