"""Progressive early stopping (Nekrasov et al. 2019, "Fast Neural Architecture Search of Compact Semantic
Segmentation Models via Auxiliary Cells", section 3.3).

Training a candidate runs in stages. After the first stage its early reward is compared with the running
average of the early rewards seen so far: if below, training stops with probability 1 - p, and the early
reward is the candidate's reward. p starts at `p0` and decays by `decay` per gated candidate, so the search
explores while the average means little and saves more compute as it becomes a fair bar.

The gate is plain data: the searcher owns it (and its state is part of the searcher's state_dict), and
every evaluation carries a snapshot of it to wherever it runs. The coin is a hash of the genotype and the
seed, so a candidate's fate does not depend on which worker ran it or when.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass
class EarlyStopGate:
    p0: float = 1.0
    decay: float = 0.95
    enabled: bool = True
    total: float = 0.0  # sum of the early rewards seen
    count: int = 0

    @property
    def average(self) -> float | None:
        return self.total / self.count if self.count else None

    @property
    def p(self) -> float:
        """The probability that a below-average candidate still trains to the end."""
        return self.p0 * self.decay ** self.count

    def observe(self, early_reward: float) -> None:
        self.total += float(early_reward)
        self.count += 1

    def should_stop(self, early_reward: float, coin: float) -> bool:
        average = self.average
        return self.enabled and average is not None and early_reward < average and coin >= self.p

    def state_dict(self) -> dict:
        return {"total": self.total, "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        self.total, self.count = float(state["total"]), int(state["count"])


def coin(genotype_hash: str, seed: int) -> float:
    """A uniform number in [0, 1) fixed by the genotype and the search seed."""
    digest = hashlib.sha256(f"{seed}:{genotype_hash}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64


def saved_compute(metrics: list[dict], unit: str = "epochs") -> dict[str, float]:
    """Training the gate saved over the evaluations' metrics (`{unit}_run`, `{unit}_full`: epochs, or steps
    for the decoder search)."""
    run = sum(m.get(f"{unit}_run", 0) for m in metrics)
    full = sum(m.get(f"{unit}_full", 0) for m in metrics)
    stopped = sum(1 for m in metrics if m.get("stopped_early"))
    return {"stopped_early": stopped, f"{unit}_run": run, f"{unit}_full": full,
            "saved_fraction": (1 - run / full) if full else 0.0}
