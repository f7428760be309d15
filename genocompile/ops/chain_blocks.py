"""Reference blocks of the `chain` family: ShuffleNetV2 one-shot blocks and MobileNetV2 inverted residuals.

ShuffleNetV2 blocks follow megvii-model/ShuffleNet-Series `OneShot/blocks.py` (the network Single Path
One-Shot evaluates; DetNAS' ImageNet backbones in `DetNAS/blocks.py` compute the same function): the
submodule names `branch_main.{i}` / `branch_proj.{i}` and their Sequential indices fix the state_dict
keys. MBConv blocks follow mit-han-lab/proxylessnas `proxyless_nas/layers.py` (`mobile_inverted_conv.`
`inverted_bottleneck|depth_conv|point_linear.conv|bn`).

Everything the forward pass branches on (stride, residual, expansion) is fixed at construction, so the
blocks trace with torch.fx into plain conv / batch_norm / relu / cat / slice nodes.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

# ProxylessNAS trains with BatchNorm eps 1e-3 (its net configs: "bn": {"momentum": 0.1, "eps": 0.001}).
PROXYLESS_BN_EPS = 1e-3


def channel_split_shuffle(x: torch.Tensor, channels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """ShuffleNetV2's channel shuffle (2 groups) followed by the channel split, in one step.

    The megvii code reshapes to (N*C/2, 2, H*W), permutes and reshapes back, which hands the even
    channels to the identity half and the odd channels to the convolution half. Viewing C as (C/2, 2)
    and taking index 0 / 1 of the pair axis is the same selection, with the channel count known at
    construction (no shape arithmetic in the trace, the batch axis left alone).
    """
    pairs = x.unflatten(1, (channels // 2, 2))
    return pairs[:, :, 0], pairs[:, :, 1]


def _bn(c: int, eps: float = 1e-5) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=eps)


def _dw(c: int, kernel: int, stride: int) -> nn.Conv2d:
    return nn.Conv2d(c, c, kernel, stride, kernel // 2, groups=c, bias=False)


def _pw(c_in: int, c_out: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 1, 1, 0, bias=False)


def _projection(c: int, kernel: int) -> nn.Sequential:
    """The stride-2 block's second branch: depthwise kxk / 2 -> BN -> 1x1 -> BN -> ReLU."""
    return nn.Sequential(_dw(c, kernel, 2), _bn(c), _pw(c, c), _bn(c), nn.ReLU())


class _ShuffleV2Block(nn.Module):
    """Shared wiring. Stride 1: split the input (even channels pass through, odd ones go through
    `branch_main`). Stride 2: both branches read the whole input, `branch_proj` downsamples it."""

    def __init__(self, c_in: int, c_out: int, stride: int, kernel: int, branch_main: nn.Sequential):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"ShuffleNetV2 block stride must be 1 or 2, got {stride}")
        self.stride = stride
        self.c_in = c_in
        self.branch_main = branch_main
        if stride == 2:
            self.branch_proj = _projection(c_in, kernel)

    @staticmethod
    def branch_channels(c_in: int, c_out: int, stride: int) -> tuple[int, int]:
        """(input, output) channels of `branch_main`: the concat with the other half must give c_out."""
        branch_in = c_in if stride == 2 else c_in // 2
        return branch_in, c_out - branch_in

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            x_proj, x_main = channel_split_shuffle(x, self.c_in)
            return torch.cat((x_proj, self.branch_main(x_main)), 1)
        return torch.cat((self.branch_proj(x), self.branch_main(x)), 1)


class ShuffleBlock(_ShuffleV2Block):
    """`Shuffle3x3/5x5/7x7`: 1x1 -> BN -> ReLU -> depthwise kxk -> BN -> 1x1 -> BN -> ReLU."""

    def __init__(self, c_in: int, c_out: int, c_mid: int, kernel: int, stride: int):
        b_in, b_out = self.branch_channels(c_in, c_out, stride)
        main = nn.Sequential(
            _pw(b_in, c_mid), _bn(c_mid), nn.ReLU(),
            _dw(c_mid, kernel, stride), _bn(c_mid),
            _pw(c_mid, b_out), _bn(b_out), nn.ReLU(),
        )
        super().__init__(c_in, c_out, stride, kernel, main)
        self.kernel = kernel


class ShuffleXceptionBlock(_ShuffleV2Block):
    """`Xception`: three (depthwise 3x3 -> BN -> 1x1 -> BN -> ReLU); only the first depthwise strides."""

    def __init__(self, c_in: int, c_out: int, c_mid: int, stride: int):
        b_in, b_out = self.branch_channels(c_in, c_out, stride)
        main = nn.Sequential(
            _dw(b_in, 3, stride), _bn(b_in), _pw(b_in, c_mid), _bn(c_mid), nn.ReLU(),
            _dw(c_mid, 3, 1), _bn(c_mid), _pw(c_mid, c_mid), _bn(c_mid), nn.ReLU(),
            _dw(c_mid, 3, 1), _bn(c_mid), _pw(c_mid, b_out), _bn(b_out), nn.ReLU(),
        )
        super().__init__(c_in, c_out, stride, 3, main)
        self.kernel = 3


class MBInvertedConv(nn.Module):
    """ProxylessNAS `MBInvertedConvLayer`: [1x1 expand -> BN -> ReLU6] -> depthwise kxk -> BN -> ReLU6
    -> 1x1 -> BN. With expansion 1 there is no expansion conv (`inverted_bottleneck` is None)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expand: int, mid_scale: float = 1.0):
        super().__init__()
        eps = PROXYLESS_BN_EPS
        c_mid = c_in if expand == 1 else round(c_in * expand * mid_scale)
        self.inverted_bottleneck = None if expand == 1 else nn.Sequential(OrderedDict([
            ("conv", _pw(c_in, c_mid)), ("bn", _bn(c_mid, eps)), ("relu", nn.ReLU6())]))
        self.depth_conv = nn.Sequential(OrderedDict([
            ("conv", _dw(c_mid, kernel, stride)), ("bn", _bn(c_mid, eps)), ("relu", nn.ReLU6())]))
        self.point_linear = nn.Sequential(OrderedDict([("conv", _pw(c_mid, c_out)), ("bn", _bn(c_out, eps))]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.inverted_bottleneck is not None:
            x = self.inverted_bottleneck(x)
        return self.point_linear(self.depth_conv(x))


class MBConvBlock(nn.Module):
    """ProxylessNAS `MobileInvertedResidualBlock` around one MBConv: an identity shortcut is added
    exactly where the original has one (stride 1 and equal channel counts, unless `shortcut` is off)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, expand: int, stride: int, mid_scale: float = 1.0,
                 shortcut: bool = True):
        super().__init__()
        self.kernel, self.expand = kernel, expand
        self.residual = shortcut and stride == 1 and c_in == c_out
        self.mobile_inverted_conv = MBInvertedConv(c_in, c_out, kernel, stride, expand, mid_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.residual:
            return x + self.mobile_inverted_conv(x)
        return self.mobile_inverted_conv(x)


class SkipBlock(nn.Module):
    """A skipped block (ProxylessNAS' `ZeroLayer` with an identity shortcut): the output is the input."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x
