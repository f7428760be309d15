"""The ProxylessNAS backbone (mit-han-lab/proxylessnas `ProxylessNASNets`), built from an `mbconv` chain.

Module names, hence state_dict keys, as there: `first_conv.conv|bn` (3x3/2 -> BN -> ReLU6),
`blocks.0` (the fixed MBConv1 3x3 block), `blocks.{i}.mobile_inverted_conv.{inverted_bottleneck,
depth_conv,point_linear}.{conv,bn}`, `feature_mix_layer.conv|bn` (1x1 -> BN -> ReLU6),
`classifier.linear`. BatchNorm eps is 1e-3 as in its configs. A skipped block has no parameters (the
original's Zero op plus identity shortcut), so `proxyless_*.pth` checkpoints map key for key.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from genocompile.genotype.chain import ChainGenotype
from genocompile.models.registry import register_builder
from genocompile.models.shufflenetv2_oneshot import build_blocks
from genocompile.ops.chain_blocks import PROXYLESS_BN_EPS, MBConvBlock


class ConvLayer(nn.Sequential):
    """conv (no bias) -> BN -> ReLU6, named `conv`, `bn`, `activation` as ProxylessNAS' ConvLayer."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int):
        super().__init__(OrderedDict([
            ("conv", nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False)),
            ("bn", nn.BatchNorm2d(c_out, eps=PROXYLESS_BN_EPS)),
            ("activation", nn.ReLU6()),
        ]))


class LinearLayer(nn.Module):
    """ProxylessNAS' classifier wrapper (key `classifier.linear`)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.linear = nn.Linear(c_in, c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


@register_builder("proxylessnas-imagenet")
class ProxylessNASNet(nn.Module):
    def __init__(self, genotype: ChainGenotype):
        super().__init__()
        net = genotype.network
        self.genotype = genotype
        self.first_conv = ConvLayer(3, net.first_channels, 3, 2)
        # The first block is fixed (3x3, expansion 1) and never has a shortcut in the original.
        first = MBConvBlock(net.first_channels, net.first_block_channels, 3, 1, 1, shortcut=False)
        self.blocks = nn.ModuleList([first, *build_blocks(genotype)])
        self.feature_mix_layer = ConvLayer(net.stage_widths[-1], net.last_channels, 1, 1)
        self.global_avg_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = LinearLayer(net.last_channels, net.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.first_conv(x)
        for block in self.blocks:
            x = block(x)
        x = self.global_avg_pooling(self.feature_mix_layer(x))
        return self.classifier(x.flatten(1))

    def block_labels(self) -> dict[str, str]:
        labels = {"first_conv": "stem", "blocks.0": "first_block"}
        labels.update({f"blocks.{i + 1}": op for i, op in enumerate(self.genotype.blocks())})
        labels.update({"feature_mix_layer": "conv_last", "global_avg_pooling": "global_pool",
                       "classifier": "classifier"})
        return labels
