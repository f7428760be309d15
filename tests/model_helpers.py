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


def small(genotype, skeleton: str, channels: int = 8):
    """Few cells, few channels, small inputs; both reduction cells still present."""
    if skeleton == "darts-cifar":
        return genotype.with_network(skeleton, init_channels=channels, layers=3, input_size=(16, 16))
    return genotype.with_network(skeleton, init_channels=channels, layers=2, input_size=(224, 224))


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
