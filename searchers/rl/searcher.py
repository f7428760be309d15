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
  policy is updated (REINFORCE or PPO). A result the searcher did not ask for is a journal row replayed on
  a rerun: it only records the reward (for reuse) and the metrics; the policy's state that followed from it
  comes from `load_state_dict`, so no update is run twice.
- `state_dict()` is JSON (the driver stores it with every journal row, atomically): the RNG, the baseline,
  the unfinished batch, the early-stopping gate and counters. With a `state_dir` (the search's DIR/rl_state,
  `update_store.py`) the controller's weights and the reward history are written once per policy update
  there and the state only names the update; without one (library use, tests) the state carries them
  itself. The driver restores it after replaying the journal, so a rerun continues with exactly the
  policy that was interrupted.

The controller runs on the cell space built from the settings (DARTS / NASNet cells) or on any space given
(`space=`, e.g. the decoder layout of `decoder_space.py`) that lists its decisions.
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
from genocompile.searchers.rl.controller import OP_SETS, CellSpace, Controller
from genocompile.searchers.rl.early_stop import EarlyStopGate
from genocompile.searchers.rl.policy import PolicySettings, Sample, make_policy
from genocompile.searchers.rl.update_store import UpdateStore

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
                 constraints: Any = None, gate: EarlyStopGate | None = None, seed: int = 0, space: Any = None,
                 state_dir: Any = None):
        self.settings, self.rng, self.constraints = settings, rng, constraints
        self.space = space if space is not None else CellSpace(
            ops=OP_SETS[settings.ops], steps=settings.steps, network=dict(network or {"skeleton": "darts-cifar"}))
        self.store = UpdateStore(state_dir) if state_dir is not None else None
        with torch.random.fork_rng():  # the controller's initial weights, without touching the global RNG
            torch.manual_seed(seed)
            self.controller = Controller(self.space, settings.lstm_size, settings.temperature,
                                         settings.tanh_constant)
        self.policy = make_policy(settings.algo, self.controller, settings.policy)
        self.gate = gate if gate is not None else EarlyStopGate(enabled=False)
        self.buffer: list[Sample] = []
        self.sources: list[str] = []  # the source of each buffered sample (its history entry)
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
            reward = float(result.fitness)
            if key not in self.pending:  # not asked by this process: a journal row replayed on resume
                try:
                    self.space.to_actions(genotype)
                except GenotypeError as exc:
                    raise SearchError(f"a journalled genotype is outside the controller's space ({exc}); "
                                      f"use a new --out directory") from None
                # Only what the state does not hold: the policy, gate and history come from load_state_dict.
                self.rewards[key] = reward
                self.metrics.append(dict(result.metrics))
                continue
            actions, log_prob = self.pending.pop(key)
            self.rewards[key] = reward
            if result.metrics.get("early_reward") is not None:
                self.gate.observe(result.metrics["early_reward"])
            self.metrics.append(dict(result.metrics))
            self._learn(Sample(actions, reward, log_prob), "evaluated")

    def _learn(self, sample: Sample, source: str) -> None:
        self.history.append((sample.reward, source))
        self.buffer.append(sample)
        self.sources.append(source)
        if len(self.buffer) >= self.settings.batch:
            batch, self.buffer = self.buffer, []
            sources, self.sources = self.sources, []
            stats = self.policy.update(batch)
            self.curve.append({"update": self.policy.updates, "samples": len(self.history),
                               "mean_reward": sum(s.reward for s in batch) / len(batch), **stats})
            if self.store is not None:
                self.store.save(self.policy.updates, self._weights(), {
                    "history": [[s.reward, src] for s, src in zip(batch, sources)], "curve": self.curve[-1]})
            log.info("policy update %d (%s): mean reward %.4f, baseline %s, entropy %.2f", self.policy.updates,
                     self.settings.algo, self.curve[-1]["mean_reward"], stats["baseline"], stats["entropy"])

    # --- resume --------------------------------------------------------------------------------
    def _weights(self) -> dict[str, Any]:
        return {"controller": self.controller.state_dict(), "optimizer": self.policy.optimizer.state_dict()}

    def state_dict(self) -> dict[str, Any]:
        state = {"rng": rng_state(self.rng), "baseline": self.policy.baseline, "updates": self.policy.updates,
                 "buffer": [[list(s.actions), s.reward, s.old_log_prob, s.rejected, src]
                            for s, src in zip(self.buffer, self.sources)],
                 "gate": self.gate.state_dict(), "rejected": self.rejected,
                 "settings": _jsonable(asdict(self.settings))}
        if self.store is not None:
            return {**state, "store": True}  # weights, history and curve: in DIR/rl_state, per update
        if self._encoded is None or self._encoded[0] != self.policy.updates:
            self._encoded = (self.policy.updates, _encode(self._weights()))
        return {**state, "weights": self._encoded[1], "history": [list(h) for h in self.history],
                "curve": self.curve}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("settings") != _jsonable(asdict(self.settings)):
            raise SearchError("the RL state in DIR was written with other controller settings; use the original "
                              "--rl-* options to resume, or a new --out directory")
        set_rng_state(self.rng, state["rng"])
        if state.get("store"):
            if self.store is None:
                raise SearchError("this RL state keeps its weights in DIR/rl_state; resume it through the search")
            weights, deltas = self.store.load(state["updates"])
            history = [tuple(h) for d in deltas for h in d["history"]]
            curve = [d["curve"] for d in deltas]
        else:
            weights, history, curve = _decode(state["weights"]), state["history"], state["curve"]
            self._encoded = (state["updates"], state["weights"])
            if self.store is not None:  # a DIR from before the store: from now on its state lives there
                self.store.migrate(weights, history[:len(history) - len(state["buffer"])], curve)
        if weights is not None:
            self.controller.load_state_dict(weights["controller"])
            self.policy.optimizer.load_state_dict(weights["optimizer"])
        self.policy.baseline, self.policy.updates = state["baseline"], state["updates"]
        self.buffer = [Sample(tuple(row[0]), row[1], row[2], row[3]) for row in state["buffer"]]
        # Rows saved before sources were stored have four fields: their samples were evaluated or rejected.
        self.sources = [row[4] if len(row) > 4 else ("rejected" if row[3] else "evaluated") for row in state["buffer"]]
        self.gate.load_state_dict(state["gate"])
        self.history = [(r, s) for r, s in history]
        if state.get("store"):
            self.history += [(s.reward, src) for s, src in zip(self.buffer, self.sources)]
        self.curve = list(curve)
        self.rejected = state["rejected"]
        self.pending.clear()  # evaluations in flight when the run stopped are asked again


def _jsonable(value: Any) -> Any:
    """Settings as they read back from JSON (tuples become lists), so a stored copy compares equal."""
    import json

    return json.loads(json.dumps(value))
