"""The RL searcher as an ask/tell searcher (genocompile.searchers.protocol): the controller proposes, the
driver evaluates, the rewards train the controller in batches.

- `ask(n)` samples cells from the controller until it has n new ones. A cell the search has already
  evaluated is not evaluated again: its journalled reward is reused as a fresh sample for the policy
  (RL samples good cells repeatedly, and that repetition is the signal). A cell over a hard `--max-*`
  bound is never evaluated: it is told to the policy at once with `rejection_reward` (default 0, the
  worst accuracy), so the controller learns to avoid the infeasible region without spending budget on it.
  MultiAdds and params come from the exact fast count behind `Constraints.costs`, so a rejection costs
  milliseconds; the driver checks the bounds again before it evaluates a candidate.
- `tell` turns each result's fitness (the shaped reward) into a policy sample; every `batch` samples the
  policy is updated (REINFORCE or PPO). A result the searcher did not ask for (the driver replaying the
  journal on a rerun) is scored by the controller for its log-probability.
- `state_dict()` is JSON (the driver stores it with every journal row, atomically): the controller and
  optimizer (torch.save bytes, base64), the baseline, the unfinished batch, the RNG, the early-stopping gate
  and the reward history. The driver restores it after replaying the journal, so a rerun continues with
  exactly the policy that was interrupted.
"""
from __future__ import annotations

import base64
import io
import logging
import random
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import torch

from genocompile.errors import GenotypeError, SearchError
from genocompile.genotype import Genotype, genotype_hash
from genocompile.searchers.protocol import EvalResult, rng_state, set_rng_state
from genocompile.searchers.rl.controller import OP_SETS, CellController, CellSpace
from genocompile.searchers.rl.early_stop import EarlyStopGate
from genocompile.searchers.rl.policy import PolicySettings, Sample, make_policy

log = logging.getLogger("genocompile.search")


@dataclass(frozen=True)
class RLSettings:
    algo: str = "reinforce"  # a key of policy.POLICIES
    batch: int = 4  # samples per policy update
    ops: str = "darts"  # a key of controller.OP_SETS
    steps: int = 4  # intermediate nodes per cell
    lstm_size: int = 64
    temperature: float | None = 5.0  # ENAS
    tanh_constant: float | None = 1.5  # ENAS
    rejection_reward: float = 0.0
    max_resample: int = 20_000  # consecutive known / infeasible samples before giving up (the driver: 100,000)
    policy: PolicySettings = field(default_factory=PolicySettings)

    def __post_init__(self) -> None:
        if self.ops not in OP_SETS:
            raise SearchError(f"--rl-ops {self.ops!r}: choose one of {', '.join(OP_SETS)}")
        if self.batch < 1:
            raise SearchError(f"--rl-batch must be a positive integer, got {self.batch!r}")


def _encode(obj: Any) -> str:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _decode(text: str) -> Any:
    return torch.load(io.BytesIO(base64.b64decode(text)), weights_only=True)


class RLSearcher:
    name = "rl"

    def __init__(self, settings: RLSettings, rng: random.Random, network: dict | None = None,
                 constraints: Any = None, gate: EarlyStopGate | None = None, seed: int = 0):
        self.settings, self.rng, self.constraints = settings, rng, constraints
        self.space = CellSpace(ops=OP_SETS[settings.ops], steps=settings.steps,
                               network=dict(network or {"skeleton": "darts-cifar"}))
        with torch.random.fork_rng():  # the controller's initial weights, without touching the global RNG
            torch.manual_seed(seed)
            self.controller = CellController(self.space, settings.lstm_size, settings.temperature,
                                             settings.tanh_constant)
        self.policy = make_policy(settings.algo, self.controller, settings.policy)
        self.gate = gate if gate is not None else EarlyStopGate(enabled=False)
        self.buffer: list[Sample] = []
        self.pending: dict[str, tuple[tuple[int, ...], float]] = {}  # asked, not yet told
        self.rewards: dict[str, float] = {}  # hash -> reward of every evaluated cell
        self.history: list[tuple[float, str]] = []  # (reward, "evaluated" | "cached" | "rejected") per sample
        self.curve: list[dict] = []  # one entry per policy update
        self.rejected = 0
        self.metrics: list[dict] = []  # every told result's metrics (rebuilt by the journal replay on resume)
        self._encoded: tuple[int, str] | None = None  # (updates, controller bytes): encode once per update

    # --- ask / tell ----------------------------------------------------------------------------
    def ask(self, n: int) -> list[Genotype]:
        out: list[Genotype] = []
        misses = 0
        while len(out) < n:
            with torch.no_grad():
                rollout = self.controller.sample(1, self.rng)
            actions = tuple(rollout.actions[0].tolist())
            log_prob = float(rollout.log_prob[0])
            genotype = self.space.to_genotype(actions)
            key = genotype_hash(genotype)
            if key in self.pending or any(genotype_hash(g) == key for g in out):
                misses += 1  # in flight: sample again
            elif key in self.rewards:
                misses += 1
                self._learn(Sample(actions, self.rewards[key], log_prob), "cached")
            elif self.constraints is not None and not self._feasible(genotype):
                misses += 1
                self.rejected += 1
                self._learn(Sample(actions, self.settings.rejection_reward, log_prob, rejected=True), "rejected")
            else:
                misses = 0
                self.pending[key] = (actions, log_prob)
                out.append(genotype)
            if misses >= self.settings.max_resample:
                raise SearchError(f"the controller proposed {misses} cells in a row that were already evaluated or "
                                  f"broke the constraints; loosen the limits, raise --rl-temperature, or stop: "
                                  f"the search has converged")
        return out

    def _feasible(self, genotype: Genotype) -> bool:
        """The constraints, on the driver's costs (the exact fast count for DARTS networks: milliseconds)."""
        if not hasattr(self.constraints, "violations"):  # any object with satisfies(genotype)
            return self.constraints.satisfies(genotype)
        return not self.constraints.violations(genotype, self.constraints.costs(genotype))

    def tell(self, genotypes: Sequence[Genotype], results: Sequence[EvalResult]) -> None:
        for genotype, result in zip(genotypes, results):
            key = genotype_hash(genotype)
            if key in self.pending:
                actions, log_prob = self.pending.pop(key)
            else:  # not asked by this process: a journal row replayed on resume
                try:
                    actions = tuple(self.space.to_actions(genotype))
                except GenotypeError as exc:
                    raise SearchError(f"a journalled cell is outside the controller's space ({exc}); "
                                      f"use a new --out directory") from None
                with torch.no_grad():
                    log_prob = float(self.controller.score([actions]).log_prob[0])
            reward = float(result.fitness)
            self.rewards[key] = reward
            if result.metrics.get("early_reward") is not None:
                self.gate.observe(result.metrics["early_reward"])
            self.metrics.append(dict(result.metrics))
            self._learn(Sample(actions, reward, log_prob), "evaluated")

    def _learn(self, sample: Sample, source: str) -> None:
        self.history.append((sample.reward, source))
        self.buffer.append(sample)
        if len(self.buffer) >= self.settings.batch:
            batch, self.buffer = self.buffer, []
            stats = self.policy.update(batch)
            self.curve.append({"update": self.policy.updates, "samples": len(self.history),
                               "mean_reward": sum(s.reward for s in batch) / len(batch), **stats})
            log.info("policy update %d (%s): mean reward %.4f, baseline %s, entropy %.2f", self.policy.updates,
                     self.settings.algo, self.curve[-1]["mean_reward"], stats["baseline"], stats["entropy"])

    # --- resume --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        if self._encoded is None or self._encoded[0] != self.policy.updates:
            self._encoded = (self.policy.updates, _encode({"controller": self.controller.state_dict(),
                                                           "optimizer": self.policy.optimizer.state_dict()}))
        return {"rng": rng_state(self.rng), "weights": self._encoded[1], "baseline": self.policy.baseline,
                "updates": self.policy.updates, "buffer": [[list(s.actions), s.reward, s.old_log_prob, s.rejected]
                                                           for s in self.buffer],
                "gate": self.gate.state_dict(), "history": [list(h) for h in self.history], "curve": self.curve,
                "rejected": self.rejected, "settings": _jsonable(asdict(self.settings))}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("settings") != _jsonable(asdict(self.settings)):
            raise SearchError("the RL state in DIR was written with other controller settings; use the original "
                              "--rl-* options to resume, or a new --out directory")
        set_rng_state(self.rng, state["rng"])
        weights = _decode(state["weights"])
        self.controller.load_state_dict(weights["controller"])
        self.policy.optimizer.load_state_dict(weights["optimizer"])
        self.policy.baseline, self.policy.updates = state["baseline"], state["updates"]
        self.buffer = [Sample(tuple(a), r, lp, rej) for a, r, lp, rej in state["buffer"]]
        self.gate.load_state_dict(state["gate"])
        self.history = [(r, s) for r, s in state["history"]]
        self.curve = list(state["curve"])
        self.rejected = state["rejected"]
        self.pending.clear()  # evaluations in flight when the run stopped are asked again
        self._encoded = (self.policy.updates, state["weights"])


def _jsonable(value: Any) -> Any:
    """Settings as they read back from JSON (tuples become lists), so a stored copy compares equal."""
    import json

    return json.loads(json.dumps(value))
