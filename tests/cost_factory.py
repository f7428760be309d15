"""Latency tables for tests: a tiny darts-cifar deploy network, entries made up (no timing) or profiled quickly."""
from __future__ import annotations

import random

from genocompile.cost.lut import LUT, lut_key
from genocompile.cost.profile import get_space, space_blocks
from genocompile.genotype.network import network_to_dict

TINY = {"init_channels": 4, "layers": 3, "input_size": [8, 8]}
# Timing settings that keep a profile of TINY to a few seconds (numbers are not asserted).
FAST = {"rounds": 2, "per_round": 1, "warmup": 1, "group": 8}


def synthetic_lut(path=None, network=TINY, seed=0) -> LUT:
    """Every block of the space at `network`, with a made-up time and node count (a fixed random function of
    the block), keyed for this machine."""
    space = get_space("darts-cifar")
    rng = random.Random(seed)
    entries = {k: {"ms": round(rng.uniform(0.01, 1.0), 6), "nodes": rng.randint(1, 6), "label": b.label}
               for k, b in space_blocks(space, network).items()}
    settings = network_to_dict(space.probe("sep_conv_3x3", network).network)
    lut = LUT(key=lut_key("cpu", "torch", 1), space="darts-cifar", network=settings, entries=entries,
              call_overhead_ms=0.0, complete=True)
    if path is not None:
        lut.save(path)
    return lut


def tiny_genotype(seed=0, name="random"):
    return get_space("darts-cifar").sample(random.Random(seed), TINY, name=name)
