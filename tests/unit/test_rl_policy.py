"""REINFORCE and PPO on a synthetic task whose best cell is known: the reward is the fraction of op choices
that are `sep_conv_3x3`, so a random controller scores 1/8 and the optimum is 1. The controller's mean
reward must rise well above chance within a few hundred samples (seconds on one CPU thread)."""
import random

import pytest
import torch

from genocompile.errors import SearchError
from genocompile.searchers.rl.controller import CellController, CellSpace
from genocompile.searchers.rl.policy import PolicySettings, Sample, make_policy
from genocompile.searchers.rl.synthetic import train_on_target_op


@pytest.mark.parametrize("algo", ["reinforce", "ppo"])
def test_mean_reward_rises_on_a_known_best_cell(algo):
    rewards = train_on_target_op(algo, samples=240, batch=8, seed=0)
    early, late = rewards[:48], rewards[-48:]
    early_mean, late_mean = sum(early) / len(early), sum(late) / len(late)
    assert early_mean < 0.25  # about chance (1/8) at the start
    assert late_mean > early_mean + 0.2, (early_mean, late_mean)


def test_ppo_clips_the_ratio_and_reuses_the_batch():
    space = CellSpace()
    controller = CellController(space)
    policy = make_policy("ppo", controller, PolicySettings(lr=0.05, ppo_epochs=8, ppo_clip=0.2))
    with torch.no_grad():
        rollout = controller.sample(8, random.Random(0))
    samples = [Sample(tuple(a), float(i % 2), float(lp)) for i, (a, lp) in
               enumerate(zip(rollout.actions.tolist(), rollout.log_prob))]
    stats = policy.update(samples)
    assert stats["clipped"] > 0  # a large step over 8 epochs moves some ratios past 1 +- eps


def test_baseline_is_an_exponential_moving_average():
    policy = make_policy("reinforce", CellController(CellSpace()), PolicySettings(baseline_decay=0.5))
    actions = tuple(CellSpace().to_actions(CellSpace().to_genotype([0] * 32)))
    policy.update([Sample(actions, 1.0, 0.0)])
    policy.update([Sample(actions, 0.0, 0.0), Sample(actions, 0.5, 0.0)])
    assert policy.baseline == pytest.approx(0.5 * (0.5 * 1.0 + 0.5 * 0.0) + 0.5 * 0.5)


def test_unknown_algorithm_names_the_known_ones():
    with pytest.raises(SearchError, match="reinforce, ppo"):
        make_policy("a2c", CellController(CellSpace()))


def test_rejections_are_measured_against_the_baseline_without_moving_it():
    policy = make_policy("reinforce", CellController(CellSpace()))
    actions = tuple([0] * 32)
    assert policy._advantages([Sample(actions, 0.0, 0.0, rejected=True)]).tolist() == [0.0]  # nothing to compare
    advantages = policy._advantages([Sample(actions, 0.8, 0.0), Sample(actions, 0.0, 0.0, rejected=True)])
    assert policy.baseline == 0.8 and advantages.tolist() == pytest.approx([0.0, -0.8])
