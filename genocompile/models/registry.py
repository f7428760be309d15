"""Skeleton name -> reference-model builder. Each skeleton of `genocompile.genotype.network`
registers exactly one builder here (a test checks the two registries agree)."""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from genocompile.errors import GenotypeError

BUILDERS: dict[str, Callable[..., nn.Module]] = {}


def register_builder(skeleton: str):
    def wrap(builder):
        if skeleton in BUILDERS:
            raise RuntimeError(f"builder for skeleton {skeleton!r} registered twice")
        BUILDERS[skeleton] = builder
        return builder

    return wrap


def build_reference(genotype, seed: int | None = 0) -> nn.Module:
    """The reference (unfused, eager) model of a genotype, in eval mode.

    Weights come from PyTorch's default initialisation under `seed` (the global RNG is left as it was);
    `seed=None` draws from the global RNG instead.
    """
    import genocompile.models  # noqa: F401  (registers every builder)

    name = genotype.network.skeleton
    if name not in BUILDERS:
        raise GenotypeError(f"no model builder for skeleton {name!r}; known: {', '.join(sorted(BUILDERS))}")
    if seed is None:
        model = BUILDERS[name](genotype)
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = BUILDERS[name](genotype)
    return model.eval()
