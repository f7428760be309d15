"""The RL controller: decisions in NASNet's order, genotype <-> actions, sampling vs scoring, clipping."""
import random

import pytest
import torch

from genocompile.errors import GenotypeError
from genocompile.genotype import zoo_genotype
from genocompile.ops.table import NASNET_OPS, OPS
from genocompile.searchers.rl.controller import CellController, CellSpace


def test_sampled_genotypes_are_valid_and_round_trip():
    space = CellSpace()
    rollout = CellController(space).sample(6, random.Random(0))
    assert rollout.actions.shape == (6, space.length) == (6, 2 * 4 * 4)
    for actions in rollout.actions.tolist():
        genotype = space.to_genotype(actions)  # CellGenotype validates inputs and ops
        assert space.to_actions(genotype) == actions
    assert len({tuple(a) for a in rollout.actions.tolist()}) > 1


def test_score_reproduces_the_sampling_log_prob_and_entropy():
    controller = CellController(CellSpace())
    rollout = controller.sample(4, random.Random(1))
    scored = controller.score(rollout.actions)
    assert torch.allclose(scored.log_prob, rollout.log_prob, atol=1e-5)
    assert torch.allclose(scored.entropy, rollout.entropy, atol=1e-5)
    scored.log_prob.sum().backward()  # differentiable: the policy gradient flows into the LSTM
    assert controller.lstm.weight_hh.grad.abs().sum() > 0


def test_same_rng_seed_same_samples():
    controller = CellController(CellSpace())
    a = controller.sample(3, random.Random(7)).actions
    b = controller.sample(3, random.Random(7)).actions
    assert torch.equal(a, b)


def test_tanh_clipping_bounds_every_choice_probability():
    # A controller pushed hard towards one op still gives every op at least e^-2c / sum > 0.
    space = CellSpace()
    controller = CellController(space, temperature=None, tanh_constant=1.5)
    with torch.no_grad():
        controller.op_logits.bias.fill_(0).index_fill_(0, torch.tensor([3]), 1e4)
    rollout = controller.sample(200, random.Random(0))
    ops = rollout.actions[:, 2::4].flatten().tolist() + rollout.actions[:, 3::4].flatten().tolist()
    # the favoured op's logit saturates at 1.5, the others stay near 0: p = e^1.5 / (e^1.5 + 7) = 0.39
    assert 0.3 < ops.count(3) / len(ops) < 0.5
    assert set(ops) == set(range(len(space.ops)))  # every op is still sampled


def test_nasnet_op_set_is_in_the_table_and_usable():
    assert all(op in OPS for op in NASNET_OPS)
    space = CellSpace(ops=NASNET_OPS, steps=5)
    genotype = space.to_genotype(CellController(space).sample(1, random.Random(0)).actions[0])
    assert {op for op, _ in genotype.normal + genotype.reduce} <= set(NASNET_OPS)
    assert len(genotype.normal) == 10


def test_distinct_inputs_never_reads_one_state_twice():
    space = CellSpace(distinct_inputs=True)
    actions = CellController(space).sample(50, random.Random(0)).actions
    assert (actions[:, 0::4] != actions[:, 1::4]).all()


def test_to_actions_refuses_a_cell_outside_the_space():
    with pytest.raises(GenotypeError, match="not in the controller's op set"):
        CellSpace().to_actions(zoo_genotype("darts_v2").renamed("x").__class__.from_dict(
            {**zoo_genotype("darts_v2").to_dict(), "normal": [["conv_7x1_1x7", 0]] * 8}))
