"""Search spaces: samples, mutations and crossovers are valid genotypes of the space, in its deploy network."""
import random

import pytest

from genocompile.errors import SearchError
from genocompile.genotype import genotype_from_dict, zoo_genotype
from genocompile.searchers.spaces import SPACES, get_space


@pytest.mark.parametrize("name", ["darts-cifar", "darts-imagenet"])
def test_samples_mutations_crossovers_stay_in_the_space(name):
    space, rng = get_space(name), random.Random(0)
    g = space.sample(rng)
    for _ in range(200):
        child = space.mutate(g, rng)
        space.check(child)
        assert genotype_from_dict(child.to_dict()) == child  # round-trips: valid canonical data
        assert child.network.skeleton == name
        # one change: exactly one [op, input] pair differs between parent and child
        diffs = [(a, b) for kind in ("normal", "reduce") for a, b in zip(getattr(g, kind), getattr(child, kind))
                 if a != b]
        assert len(diffs) == 1
        for kind in ("normal", "reduce"):
            edges = getattr(child, kind)
            for n in range(len(edges) // 2):
                assert edges[2 * n][1] != edges[2 * n + 1][1], "a node reads two distinct states"
        g = child if rng.random() < 0.5 else space.sample(rng)


def test_crossover_takes_each_node_from_a_parent():
    space, rng = get_space("darts-cifar"), random.Random(1)
    a, b = space.sample(rng), space.sample(rng)
    seen_a = seen_b = False
    for _ in range(20):
        child = space.crossover(a, b, rng)
        for kind in ("normal", "reduce"):
            ca, pa, pb = getattr(child, kind), getattr(a, kind), getattr(b, kind)
            for n in range(4):
                node = ca[2 * n:2 * n + 2]
                assert node in (pa[2 * n:2 * n + 2], pb[2 * n:2 * n + 2])
                seen_a |= node == pa[2 * n:2 * n + 2] != pb[2 * n:2 * n + 2]
                seen_b |= node == pb[2 * n:2 * n + 2] != pa[2 * n:2 * n + 2]
    assert seen_a and seen_b


def test_sampling_is_seeded():
    space = get_space("darts-cifar")
    assert space.sample(random.Random(3)) == space.sample(random.Random(3))
    assert space.sample(random.Random(3)) != space.sample(random.Random(4))


def test_refusals():
    with pytest.raises(SearchError, match="unknown search space 'nope'; known: .*darts-cifar"):
        get_space("nope")
    with pytest.raises(SearchError, match="sep_conv_3x3"):
        get_space("darts-cifar").mutate(zoo_genotype("nasnet"), random.Random(0))  # 5 nodes, sep_conv_7x7
    assert {"darts-cifar", "darts-imagenet"} <= set(SPACES)
