"""Random valid decoder genotypes for property-style tests (independent of the searchers' samplers)."""
from __future__ import annotations

import random

from genocompile.genotype.decoder import ENCODERS, DecoderGenotype
from genocompile.ops.decoder_ops import DECODER_OPS


def random_decoder(rng: random.Random, nodes: int = 3, blocks: int = 3, network=None, encoder: str = "mobilenetv2",
                   name: str = "random") -> DecoderGenotype:
    """A uniform op per cell pair and a uniform input per pair and per block, over every index the layout
    rules allow (the cell's inputs 0 .. 3k-2 for node k; block b reads any encoder output or earlier block)."""
    cell = [[rng.choice(DECODER_OPS), 0]]
    for k in range(1, nodes + 1):
        cell += [[rng.choice(DECODER_OPS), rng.randint(0, 3 * k - 2)] for _ in range(2)]
    n_enc = len(ENCODERS[encoder].out_channels)
    connections = [[rng.randrange(n_enc + b), rng.randrange(n_enc + b)] for b in range(blocks)]
    return DecoderGenotype(cell=cell, connections=connections, encoder=encoder, network=network, name=name)
