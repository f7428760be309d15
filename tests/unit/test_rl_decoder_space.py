"""The decoder layout space of the RL search: nas-segm's decisions and order, genotype <-> actions round trip
(the published layouts and random ones), and a controller on it that only writes valid decoder genotypes."""
import random

import pytest
import torch

from genocompile.errors import GenotypeError, SearchError
from genocompile.genotype import zoo_genotype
from genocompile.genotype.decoder import DecoderGenotype
from genocompile.genotype.decoder_zoo import NAS_SEGM_VOC
from genocompile.ops.decoder_ops import DECODER_OPS
from genocompile.searchers.rl.controller import Controller
from genocompile.searchers.rl.decoder_space import DecoderLayoutSpace
from genocompile.searchers.spaces import get_space

SPACE = DecoderLayoutSpace()


def test_decisions_follow_nas_segm_sizes_and_order():
    # 3 blocks x 2 pool indices (4 encoder outputs + earlier blocks), the first op, then per node k two
    # inputs over 0..3k-2 and two ops: nas-segm's conn_fcs (4, 4, 5, 5, 6, 6) and ctx_fcs (2, 5, 8).
    n = len(DECODER_OPS)
    assert SPACE.decisions() == [("input", 4), ("input", 4), ("input", 5), ("input", 5), ("input", 6), ("input", 6),
                                 ("op", n), ("input", 2), ("input", 2), ("op", n), ("op", n), ("input", 5),
                                 ("input", 5), ("op", n), ("op", n), ("input", 8), ("input", 8), ("op", n), ("op", n)]
    assert SPACE.length == len(SPACE.decisions()) and get_space("nas-segm") == SPACE


@pytest.mark.parametrize("name", sorted(NAS_SEGM_VOC))
def test_published_layouts_round_trip_with_the_original_integers(name):
    genotype = zoo_genotype(name)
    actions = SPACE.to_actions(genotype)
    cell, connections = NAS_SEGM_VOC[name]
    # the same integers as the original's layout, in the controller's sampling order
    assert actions == [i for c in connections for i in c] + [cell[0]] + [v for node in cell[1:] for v in node]
    back = SPACE.to_genotype(actions)
    assert (back.cell, back.connections) == (genotype.cell, genotype.connections)
    assert back.network.skeleton == "nas-segm" and not back.network.auxiliary


def test_random_layouts_round_trip_and_the_operators_stay_in_the_space():
    rng = random.Random(0)
    for _ in range(200):
        genotype = SPACE.sample(rng)
        assert SPACE.to_genotype(SPACE.to_actions(genotype)) == genotype
        child = SPACE.mutate(genotype, rng)
        diff = [a != b for a, b in zip(SPACE.to_actions(child), SPACE.to_actions(genotype))]
        assert sum(diff) == 1  # exactly one decision changed
        assert isinstance(SPACE.crossover(genotype, child, rng), DecoderGenotype)


def test_layouts_outside_the_space_are_named():
    four_nodes = zoo_genotype("nekrasov_arch0")
    short = DecoderGenotype(cell=four_nodes.cell[:5], connections=four_nodes.connections)
    with pytest.raises(GenotypeError, match="2 cell nodes; the controller writes 3 and 3"):
        SPACE.to_actions(short)
    with pytest.raises(SearchError, match="space nas-segm"):
        SPACE.mutate(short, random.Random(0))
    with pytest.raises(GenotypeError, match="input 3 is out of range"):  # node 1 reads 0..1
        SPACE.to_genotype([0] * 7 + [3] + [0] * 11)


def test_controller_samples_only_valid_decoder_genotypes_and_scores_them_back():
    controller = Controller(SPACE)
    rollout = controller.sample(64, random.Random(3))
    assert rollout.actions.shape == (64, SPACE.length)
    for actions in rollout.actions.tolist():
        for (_, size), a in zip(SPACE.decisions(), actions):
            assert 0 <= a < size
        assert SPACE.to_actions(SPACE.to_genotype(actions)) == actions  # DecoderGenotype validates
    assert len({tuple(a) for a in rollout.actions.tolist()}) == 64
    scored = controller.score(rollout.actions)
    assert torch.allclose(scored.log_prob, rollout.log_prob, atol=1e-5)
    assert torch.allclose(scored.entropy, rollout.entropy, atol=1e-5)
    scored.log_prob.sum().backward()
    assert all(head.weight.grad.abs().sum() > 0 for head in controller.input_logits)  # each input head learns
    assert not hasattr(controller, "v_attn")  # the anchor attention belongs to the cell walk only
