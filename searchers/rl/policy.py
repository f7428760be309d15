"""Policy updates for the controller: REINFORCE with a moving-average baseline, and PPO's clipped surrogate.

REINFORCE (Williams 1992) as NASNet / ENAS use it: the advantage of a sample is its reward minus an
exponential moving average of past rewards (the baseline), and the loss is -log p(a) * advantage, one
Adam step per batch. PPO (Schulman et al. 2017) as the auxiliary-cell paper uses it
(DrSleep/nas-segm-pytorch `rl/gradient_estimators.py`): the same EMA-baseline advantages, then several
epochs over the batch on -min(r A, clip(r, 1-eps, 1+eps) A), where r is the probability ratio of the
current policy to the policy that sampled. Both add an entropy bonus and clip the gradient norm.

A policy is one registry entry (`POLICIES`), chosen with `--rl-algo`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch
from torch import nn

from genocompile.errors import SearchError
from genocompile.registry import Registry
from genocompile.searchers.rl.controller import Controller


@dataclass(frozen=True)
class Sample:
    actions: tuple[int, ...]
    reward: float
    old_log_prob: float  # log-probability under the policy that sampled it (PPO's ratio denominator)
    rejected: bool = False  # over a hard bound, never evaluated: learns from the baseline, does not move it


@dataclass(frozen=True)
class PolicySettings:
    lr: float = 3.5e-3  # ENAS controller learning rate (Adam)
    entropy_weight: float = 1e-4  # ENAS
    baseline_decay: float = 0.99  # ENAS bl_dec
    max_grad_norm: float = 2.0  # nas-segm
    ppo_epochs: int = 4
    ppo_clip: float = 0.2


class PolicyUpdate:
    """Shared parts: the optimizer, the EMA baseline and the update statistics."""

    def __init__(self, controller: Controller, settings: PolicySettings = PolicySettings()):
        self.controller, self.settings = controller, settings
        self.optimizer = torch.optim.Adam(controller.parameters(), lr=settings.lr)
        self.baseline: float | None = None
        self.updates = 0

    def _advantages(self, samples: Sequence[Sample]) -> torch.Tensor:
        """Move the baseline over the batch's rewards (in order), then advantage = reward - baseline.

        Rejected samples do not move the baseline: it stays the expected reward of an evaluated cell, so a
        rejection's penalty is measured against what a feasible cell earns, a strong push away from it."""
        for s in samples:
            if s.rejected:
                continue
            self.baseline = s.reward if self.baseline is None else (
                self.settings.baseline_decay * self.baseline + (1 - self.settings.baseline_decay) * s.reward)
        if self.baseline is None:  # only rejections so far: nothing to measure them against yet
            return torch.zeros(len(samples))
        return torch.tensor([s.reward - self.baseline for s in samples])

    def _step(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(self.controller.parameters(), self.settings.max_grad_norm)
        self.optimizer.step()

    def update(self, samples: Sequence[Sample]) -> dict[str, float]:
        stats = self._update(samples)
        self.updates += 1
        return {**stats, "baseline": self.baseline}

    def _update(self, samples: Sequence[Sample]) -> dict[str, float]:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "baseline": self.baseline, "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.baseline, self.updates = state["baseline"], state["updates"]


POLICIES: Registry[Callable[..., PolicyUpdate]] = Registry("RL algorithm (--rl-algo)", SearchError)


@POLICIES.decorator("reinforce")
class Reinforce(PolicyUpdate):
    def _update(self, samples: Sequence[Sample]) -> dict[str, float]:
        advantages = self._advantages(samples)
        rollout = self.controller.score([s.actions for s in samples])
        loss = -(rollout.log_prob * advantages).mean() - self.settings.entropy_weight * rollout.entropy.mean()
        self._step(loss)
        return {"loss": loss.item(), "entropy": rollout.entropy.mean().item()}


@POLICIES.decorator("ppo")
class PPO(PolicyUpdate):
    def _update(self, samples: Sequence[Sample]) -> dict[str, float]:
        advantages = self._advantages(samples)
        old = torch.tensor([s.old_log_prob for s in samples])
        eps = self.settings.ppo_clip
        for _ in range(self.settings.ppo_epochs):
            rollout = self.controller.score([s.actions for s in samples])
            ratio = torch.exp(rollout.log_prob - old)
            surrogate = torch.min(ratio * advantages, ratio.clamp(1 - eps, 1 + eps) * advantages)
            loss = -surrogate.mean() - self.settings.entropy_weight * rollout.entropy.mean()
            self._step(loss)
        return {"loss": loss.item(), "entropy": rollout.entropy.mean().item(),
                "clipped": float(((ratio - 1).abs() > eps).float().mean())}


def make_policy(algo: str, controller: Controller, settings: PolicySettings = PolicySettings()) -> PolicyUpdate:
    return POLICIES.get_or_raise(algo)(controller, settings)
