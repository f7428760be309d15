"""Helpers for compiler tests: small networks of both skeletons and reference models whose BatchNorm
statistics and affine parameters are far from their defaults (so folding them is actually exercised)."""
from __future__ import annotations

import torch

from genocompile.models import build_reference

# Prefix for `python -c` scripts that must run without genocompile: any import of it fails there.
WITHOUT_GENOCOMPILE = """
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] == 'genocompile':
            raise ImportError('genocompile is blocked in this process')
sys.meta_path.insert(0, Block())
"""

SKELETONS = ("darts-cifar", "darts-imagenet")

# Reduced settings per skeleton: few channels and small inputs, every structural feature still present
# (both reduction cells, every stage, every resolution of a path). A chain's repeats stay: its choices
# are one per block.
SMALL = {
    "darts-cifar": lambda c: dict(init_channels=c, layers=3, input_size=(16, 16)),
    "darts-imagenet": lambda c: dict(init_channels=c, layers=2, input_size=(224, 224)),
    "spos-imagenet": lambda c: dict(stage_out_channels=[c, 2 * c, 3 * c, 4 * c, 6 * c, 8 * c], num_classes=10,
                                    input_size=(64, 64)),
    "detnas-imagenet": lambda c: dict(stage_out_channels=[c, 2 * c, 3 * c, 4 * c, 6 * c, 8 * c], num_classes=10,
                                      input_size=(64, 64)),
    "proxylessnas-imagenet": lambda c: dict(first_channels=c, first_block_channels=c, stage_widths=[c, c, 2 * c,
                                            2 * c, 3 * c, 4 * c], last_channels=8 * c, num_classes=10,
                                            input_size=(64, 64)),
    "nas-segm": lambda c: dict(num_classes=5, agg_size=2 * c, input_size=(64, 64)),
    "autodeeplab": lambda c: dict(filter_multiplier=c // 2, num_classes=5, input_size=(64, 64),
                                  stem_channels=[c, c, 2 * c], aspp_channels=2 * c, decoder_channels=2 * c,
                                  low_level_channels=c),
}


def skeletons_of(genotype) -> tuple[str, ...]:
    """The skeletons a genotype is swept over: both DARTS networks for a cell, its own network otherwise
    (a chain's choices, a path or a decoder layout belong to one network)."""
    return SKELETONS if genotype.family == "cell" else (genotype.network.skeleton,)


def small(genotype, skeleton: str | None = None, channels: int = 8):
    """The genotype in a reduced network of `skeleton` (default: its own)."""
    skeleton = skeleton or genotype.network.skeleton
    return genotype.with_network(skeleton, **SMALL[skeleton](channels))


def randomize_bn(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for bn in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):
            c = bn.num_features
            bn.running_mean.copy_(torch.rand(c, generator=gen) * 2 - 1)
            bn.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.5)
            if bn.affine:
                bn.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                bn.bias.copy_(torch.rand(c, generator=gen) - 0.5)
    return model


def reference(genotype, seed: int = 0) -> torch.nn.Module:
    return randomize_bn(build_reference(genotype, seed=seed), seed)


def rel_err(out, ref) -> float:
    from genocompile.build import rel_err as measure

    return measure(torch.as_tensor(out), ref)


def inputs(genotype, batch: int = 2, seed: int = 1) -> torch.Tensor:
    return torch.randn((batch, 3, *genotype.network.input_size), generator=torch.Generator().manual_seed(seed))
