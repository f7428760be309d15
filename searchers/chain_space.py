"""The `shufflenetv2-oneshot` search space (Single Path One-Shot, DetNAS): one of four ShuffleNetV2 blocks
per position of the SPOS backbone, deployed in `spos-imagenet` (its defaults: repeats [4, 4, 8, 4]).

Sampling draws each choice uniformly; mutation changes one choice and crossover takes each choice from
either parent (megvii `search.py` mutates each gene with probability 0.1 and crosses over uniformly; one
change keeps the child next to its parent, as in the DARTS spaces). The proxy and the supernet keep the
backbone's repeats (the choices are one per block) with narrow stages on 32x32 inputs, the smallest the
five stride-2 steps allow. Block weights in the supernet: one set per (position, block), as in SPOS.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from genocompile.errors import SearchError
from genocompile.genotype import Genotype
from genocompile.genotype.chain import ChainGenotype
from genocompile.genotype.chain_spaces import get_chain_space
from genocompile.genotype.network import network_from_dict
from genocompile.ops.table import get_op
from genocompile.searchers.spaces import register_space


@dataclass(frozen=True)
class ChainSearchSpace:
    name: str
    skeleton: str
    evaluation_defaults: dict = field(default_factory=lambda: {"input_size": 32})

    @property
    def blocks(self) -> tuple[str, ...]:
        return get_chain_space(self.name).blocks

    @property
    def network(self) -> Any:
        return network_from_dict({"skeleton": self.skeleton}, "chain", self.skeleton)

    def _genotype(self, choices: list[int]) -> ChainGenotype:
        return ChainGenotype(space=self.name, choices=choices, network=self.network, name="searched")

    def check(self, genotype: Genotype) -> ChainGenotype:
        if not isinstance(genotype, ChainGenotype) or genotype.space != self.name or genotype.channel_scales:
            raise SearchError(f"space {self.name}: expects {self.name} chain genotypes without channel scales")
        return genotype

    def sample(self, rng: random.Random) -> ChainGenotype:
        return self._genotype([rng.randrange(len(self.blocks)) for _ in self.network.slots()])

    def mutate(self, genotype: Genotype, rng: random.Random) -> ChainGenotype:
        choices = list(self.check(genotype).choices)
        i = rng.randrange(len(choices))
        choices[i] = rng.choice([c for c in range(len(self.blocks)) if c != choices[i]])
        return self._genotype(choices)

    def crossover(self, a: Genotype, b: Genotype, rng: random.Random) -> ChainGenotype:
        a, b = self.check(a), self.check(b)
        return self._genotype([x if rng.random() < 0.5 else y for x, y in zip(a.choices, b.choices)])

    def proxy_genotype(self, genotype: Genotype, init_channels: int, layers: int, input_size: int,
                       num_classes: int) -> ChainGenotype:
        """The same choices in a narrow backbone (first conv C, stages 2C..16C, conv_last 32C); `layers` does
        not apply: a chain has one choice per block of the deploy backbone."""
        c = init_channels
        return self.check(genotype).with_network(stage_out_channels=[c, 2 * c, 4 * c, 8 * c, 16 * c, 32 * c],
                                                 num_classes=num_classes, input_size=(input_size, input_size))

    def supernet(self, settings: Any, num_classes: int) -> nn.Module:
        probe = self.proxy_genotype(self._genotype([0] * len(self.network.slots())), settings.init_channels,
                                    settings.layers, settings.input_size, num_classes)
        return ChainSupernet(self.blocks, probe.network)


class ChainSupernet(nn.Module):
    """SPOS' supernet: every block choice at every position; `path` (a chain genotype) picks one per position."""

    def __init__(self, blocks: tuple[str, ...], network: Any):
        super().__init__()
        widths = network.stage_out_channels
        self.first_conv = nn.Sequential(nn.Conv2d(3, widths[0], 3, 2, 1, bias=False), nn.BatchNorm2d(widths[0]),
                                        nn.ReLU())
        self.features = nn.ModuleList(
            nn.ModuleList(get_op(op).reference(slot.c_in, slot.c_out, slot.stride, 1.0) for op in blocks)
            for slot in network.slots())
        self.conv_last = nn.Sequential(nn.Conv2d(widths[-2], widths[-1], 1, bias=False), nn.BatchNorm2d(widths[-1]),
                                       nn.ReLU())
        self.classifier = nn.Linear(widths[-1], network.num_classes, bias=False)
        self.path: ChainGenotype | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.path is None:
            raise RuntimeError("set ChainSupernet.path to a genotype of the space before running it")
        x = self.first_conv(x)
        for choices, choice in zip(self.features, self.path.choices):
            x = choices[choice](x)
        return self.classifier(self.conv_last(x).mean((2, 3)))


register_space(ChainSearchSpace(name="shufflenetv2-oneshot", skeleton="spos-imagenet"))
