"""Random valid cell genotypes for property-style tests (independent of the searchers' samplers)."""
from __future__ import annotations

import random

from genocompile.genotype import CellGenotype
from genocompile.ops import CELL_OPS


def random_cell(rng: random.Random, steps: int | None = None, ops=CELL_OPS, network=None, name="random") -> CellGenotype:
    def one_cell():
        n = steps or rng.randint(1, 5)
        edges = [(rng.choice(ops), rng.randrange(node)) for node in range(2, 2 + n) for _ in range(2)]
        concat = sorted(rng.sample(range(2, 2 + n), rng.randint(1, n)))
        return edges, concat

    normal, normal_concat = one_cell()
    reduce, reduce_concat = one_cell()
    return CellGenotype(normal=normal, normal_concat=normal_concat, reduce=reduce, reduce_concat=reduce_concat,
                        network=network, name=name)


def random_chain(rng: random.Random, space: str = "shufflenetv2-oneshot", network=None, scales: bool = False,
                 name="random"):
    """A random valid chain genotype: a uniform block per position (respecting the space's restrictions),
    optionally random channel scales. Independent of the searchers' samplers."""
    from genocompile.genotype import ChainGenotype
    from genocompile.genotype.chain_spaces import get_chain_space
    from genocompile.genotype.network import network_from_dict

    spec = get_chain_space(space)
    net = network_from_dict(network, "chain", spec.skeletons[0])
    choices = []
    for slot in net.slots():
        allowed = [i for i, op in enumerate(spec.blocks)
                   if op not in spec.restrictions or spec.restrictions[op].allows(slot)]
        choices.append(rng.choice(allowed))
    channel_scales = [rng.choice(spec.channel_scales) for _ in choices] if scales else None
    return ChainGenotype(space=space, choices=choices, channel_scales=channel_scales, network=net, name=name)
