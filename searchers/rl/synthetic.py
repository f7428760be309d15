"""A synthetic task whose best cell is known, to check that a policy update learns (tests, benchmarks).

The reward of a cell is the fraction of its op choices that are `target`: a uniform controller scores
1 / len(ops), the best cell (every op the target) scores 1. No network is trained, so hundreds of policy
samples take seconds.
"""
from __future__ import annotations

import random
from typing import Sequence

import torch

from genocompile.searchers.rl.controller import DECISIONS_PER_NODE, CellController, CellSpace
from genocompile.searchers.rl.policy import PolicySettings, Sample, make_policy


def target_fraction(space: CellSpace, actions: Sequence[int], target: str = "sep_conv_3x3") -> float:
    ops = [a for i, a in enumerate(actions) if i % DECISIONS_PER_NODE >= 2]  # decisions 3 and 4: the ops
    return sum(space.ops[o] == target for o in ops) / len(ops)


def train_on_target_op(algo: str, samples: int = 240, batch: int = 8, seed: int = 0,
                       settings: PolicySettings = PolicySettings(baseline_decay=0.9)) -> list[float]:
    """Every sample's reward, in order, for a controller with ENAS' defaults trained by `algo`."""
    space = CellSpace()
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        controller = CellController(space)
    policy = make_policy(algo, controller, settings)
    rng, rewards = random.Random(seed), []
    for _ in range(samples // batch):
        with torch.no_grad():
            rollout = controller.sample(batch, rng)
        batch_samples = [Sample(tuple(a), target_fraction(space, a), float(lp))
                         for a, lp in zip(rollout.actions.tolist(), rollout.log_prob)]
        rewards += [s.reward for s in batch_samples]
        policy.update(batch_samples)
    return rewards
