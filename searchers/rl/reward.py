"""The reward the controller maximises: accuracy shaped by the deploy network's cost, as in MnasNet.

MnasNet (Tan et al. 2019, eq. 2): reward = ACC(m) * (COST(m) / T)^w, with w = alpha when COST(m) <= T and
w = beta otherwise. Two regimes from the paper:

- soft: alpha = beta = -0.07 -- a 2x cheaper network may be ~5% less accurate for the same reward, so the
  search trades accuracy against cost smoothly around the target;
- hard: alpha = 0, beta = -1 -- no reward for being under the target, a steep fall over it.

The cost is any figure of `Constraints.costs` (MultiAdds, params, or latency from a latency model).
Without a target the reward is the accuracy itself.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from genocompile.errors import SearchError

# regime -> (alpha: exponent at or under the target, beta: exponent over it)
REGIMES: dict[str, tuple[float, float]] = {"soft": (-0.07, -0.07), "hard": (0.0, -1.0)}
COSTS = ("multiadds", "params", "latency_ms")


@dataclass(frozen=True)
class RewardShaping:
    cost: str = "multiadds"
    target: float | None = None  # None: no shaping, reward = accuracy
    regime: str = "soft"

    def __post_init__(self) -> None:
        if self.regime not in REGIMES:
            raise SearchError(f"--reward-regime {self.regime!r}: choose one of {', '.join(REGIMES)}")
        if self.cost not in COSTS:
            raise SearchError(f"--reward-cost {self.cost!r}: choose one of {', '.join(COSTS)}")
        if self.target is not None and not self.target > 0:
            raise SearchError(f"--reward-target must be positive, got {self.target!r}")

    def exponent(self, cost: float) -> float:
        alpha, beta = REGIMES[self.regime]
        return alpha if cost <= self.target else beta  # type: ignore[operator]

    def __call__(self, accuracy: float, costs: Mapping[str, float]) -> float:
        if self.target is None:
            return float(accuracy)
        if self.cost not in costs:
            raise SearchError(f"reward shaping by {self.cost} needs that cost; for latency pass --latency-model")
        cost = float(costs[self.cost])
        return float(accuracy) * (cost / self.target) ** self.exponent(cost)
