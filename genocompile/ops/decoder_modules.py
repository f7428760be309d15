"""Reference modules of the `decoder` family's cell ops, following DrSleep/nas-segm-pytorch
`src/nn/layer_factory.py` (Nekrasov et al., CVPR 2019).

These are not the DARTS modules of the same idea: convs come first and every conv is followed by BN and
ReLU (`conv -> BN -> ReLU`, no leading ReLU), and a separable conv is `repeats` x (depthwise kxk ->
pointwise 1x1 -> BN -> ReLU), each named `op.sep_{i}`. The submodule names fix the state_dict keys, so
checkpoints of the original decoders load unchanged.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv_bn_relu(c_in: int, c_out: int, kernel: int, dilation: int = 1) -> nn.Sequential:
    """kxk conv (same padding, optional dilation) -> BN -> ReLU; keys `0.weight`, `1.*`."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, padding=dilation * (kernel // 2), dilation=dilation, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(),
    )


class SepConvRepeated(nn.Module):
    """`repeats` x (depthwise kxk (dilated) -> 1x1 -> BN -> ReLU), as nas-segm's `SepConv`."""

    def __init__(self, c: int, kernel: int, dilation: int, repeats: int):
        super().__init__()
        pad = dilation * (kernel // 2)
        self.op = nn.Sequential()
        for i in range(repeats):
            self.op.add_module(f"sep_{i}", nn.Sequential(
                nn.Conv2d(c, c, kernel, padding=pad, dilation=dilation, groups=c, bias=False),
                nn.Conv2d(c, c, 1, bias=False),
                nn.BatchNorm2d(c),
                nn.ReLU(),
            ))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class GlobalPoolConv(nn.Module):
    """Global average pooling -> 1x1 conv -> BN -> ReLU -> bilinear upsampling back to the input size
    (nas-segm's `GAPConv1x1`; the mean is taken over H then W, as there)."""

    def __init__(self, c: int):
        super().__init__()
        self.conv1x1 = conv_bn_relu(c, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.conv1x1(x.mean(2, keepdim=True).mean(3, keepdim=True))
        return F.interpolate(pooled, size=x.shape[-2:], mode="bilinear", align_corners=False)


class Identity(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class Zero(nn.Module):
    """The `none` op at stride 1: zeros of the input's shape (kept in the graph, as in the original)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)
