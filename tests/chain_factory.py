"""Random valid chain genotypes for property-style tests (independent of the searchers' samplers)."""
from __future__ import annotations

import random

from genocompile.genotype.chain import ChainGenotype
from genocompile.genotype.chain_spaces import get_chain_space
from genocompile.genotype.network import network_from_dict


def random_chain(rng: random.Random, space: str = "shufflenetv2-oneshot", network=None, scales: bool = False,
                 name="random") -> ChainGenotype:
    """A uniform block per position (respecting the space's restrictions), optionally random channel scales."""
    spec = get_chain_space(space)
    net = network_from_dict(network, "chain", spec.skeletons[0])
    choices = []
    for slot in net.slots():
        allowed = [i for i, op in enumerate(spec.blocks)
                   if op not in spec.restrictions or spec.restrictions[op].allows(slot)]
        choices.append(rng.choice(allowed))
    channel_scales = [rng.choice(spec.channel_scales) for _ in choices] if scales else None
    return ChainGenotype(space=space, choices=choices, channel_scales=channel_scales, network=net, name=name)
