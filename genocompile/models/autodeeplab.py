"""The Auto-DeepLab segmentation network, built from a `hierarchical` genotype.

Backbone: tensorflow/models `research/deeplab/core/nas_network.py` (`_build_nas_base`, `hnasnet`) and
`nas_cell.py` (`NASBaseCell`), followed layer by layer:

- stem: conv 3x3/2 (64) BN ReLU conv 3x3 (64) BN | ReLU conv 3x3/2 (128) BN; the two tapped outputs are
  H^{-2} (rate 2) and H^{-1} (rate 4), as TF's `cell_outputs`.
- layer l at rate s = path[l] has F * s / 4 filters per block and outputs B blocks concatenated. If the
  path doubles the rate, the cell's ops on its inputs stride 2; if it halves it, H^{l-1} is first
  resized x2 (bilinear). H^{l-1} then goes through ReLU, 1x1 conv, BN; H^{l-2} is resized to H^{l-1}'s
  (resized) resolution and gets ReLU, 1x1 conv, BN only when its filter count differs (TF `_cell_base`).
- ReLU on the last layer's output.

Head: DeepLabv3+ as in `research/deeplab/model.py` (`_extract_features`, `refine_by_decoder`):
image pooling + 1x1 + three 3x3 atrous branches (each conv, BN, ReLU; 256 filters), concatenated,
1x1 projection, BN, ReLU, dropout 0.1 (training only); then the decoder projects the rate-4 features
to 48 channels (1x1, BN, ReLU), resizes the ASPP output to rate 4, concatenates, applies two 3x3 convs
(256, BN, ReLU) and a 1x1 conv with bias to the classes; logits are resized x4 to the input size.

Head settings the paper does not publish, and what we chose (all in the network settings):
- regular (not separable) 3x3 convs in ASPP and decoder: DeepLabv3+'s `aspp_with_separable_conv` and
  `decoder_use_separable_conv` are flags; fitting the published params/MultiAdds for F = 20/32/48 as
  a + b F + c F^2 gives a constant part (~1.76M params, ~212B MultiAdds) that only the regular 3x3
  decoder convs at rate 4 explain (separable ones would cost ~20B), and a linear part that matches
  regular 3x3 ASPP convs on the 10F-channel rate-8 features.
- ASPP rates 6, 12, 18 at output stride 16, scaled to the last layer's rate (12, 24, 36 at rate 8) as
  DeepLab does; rates do not change params or MultiAdds.
- decoder features: the last layer of the path's first run at rate 4 (`Cell_2` for the published path,
  TF's `networks_to_feature_maps['nas_hnasnet']`), or the stem's output if the path starts at rate 8.

Other deliberate differences from the TF code, none of which changes params or MultiAdds:
- resizes are bilinear with align_corners=False on exact factors (2, 4, 1/2) of maps whose sizes divide
  by the path's deepest rate; TF uses align_corners=True on odd 4k+1 sizes (ONNX Runtime and TensorRT
  reproduce half-pixel resizes exactly). The image-pooling branch is broadcast back (`expand_as`), which
  equals bilinear upsampling of a 1x1 map in any convention.
- stride-2 pools pad symmetrically; TF's pad bottom/right ('SAME'). Convs pad symmetrically in both.
- BatchNorm epsilon 1e-3 in the backbone and 1e-5 in the head, as TF; momentum is PyTorch's default.
- no drop-path (training only in TF, off by default there).

Module names are the contract (state_dict keys; the compiler lowers these modules):
`stem0`, `stem1`, `cells.{l}.{resize0,preprocess0,resize1,preprocess1}`, `cells.{l}._ops.{j}`, `relu`,
`aspp.{image_pooling,branches.{i},projection}`, `decoder.{feature_projection,resize,convs}`, `logits`,
`upsample`. `forward` has no data-dependent Python control flow and traces with torch.fx.
"""
from __future__ import annotations

import torch
from torch import nn

from genocompile.genotype.hierarchical import STEM_RATE, HierarchicalGenotype
from genocompile.models.registry import register_builder
from genocompile.ops.autodeeplab_modules import BN_EPS, bilinear
from genocompile.ops.darts_modules import ReLUConvBN
from genocompile.ops.table import get_op

HEAD_BN_EPS = 1e-5  # research/deeplab/model.py batch_norm_params
STEM_STRIDES = (2, 1, 2)  # the stem's three convs; H^{-2} is at rate 2, H^{-1} at rate 4


def conv_bn_relu(c_in: int, c_out: int, kernel_size: int, dilation: int = 1) -> nn.Sequential:
    """slim.conv2d under DeepLab's arg_scope: conv without bias, BN (eps 1e-5), ReLU."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel_size, padding=dilation * (kernel_size // 2), dilation=dilation, bias=False),
        nn.BatchNorm2d(c_out, eps=HEAD_BN_EPS),
        nn.ReLU(inplace=False),
    )


class Cell(nn.Module):
    """One layer of the path (TF `NASBaseCell`), with the resizes that bring its inputs to one resolution.

    `scale0` / `scale1` resize H^{l-2} / H^{l-1} to the cell's input resolution; `downsample` strides
    the ops that read the inputs (TF: stride 2 only on edges from hidden states 0 and 1)."""

    def __init__(self, cell: tuple[tuple[str, int], ...], c_prev_prev: int, c_prev: int, c: int, scale0: float,
                 scale1: float, downsample: bool):
        super().__init__()
        self.resize0 = bilinear(scale0)
        self.preprocess0 = ReLUConvBN(c_prev_prev, c, 1, 1, 0, eps=BN_EPS) if c_prev_prev != c else nn.Identity()
        self.resize1 = bilinear(scale1)
        self.preprocess1 = ReLUConvBN(c_prev, c, 1, 1, 0, eps=BN_EPS)
        self.op_names = tuple(op for op, _ in cell)
        self._indices = tuple(index for _, index in cell)
        self._ops = nn.ModuleList(
            get_op(op).reference(c, 2 if downsample and index < 2 else 1, True) for op, index in cell)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(self.resize0(s0)), self.preprocess1(self.resize1(s1))]
        for block in range(len(self._ops) // 2):
            left, right = 2 * block, 2 * block + 1
            states.append(self._ops[left](states[self._indices[left]])
                          + self._ops[right](states[self._indices[right]]))
        return torch.cat(states[2:], dim=1)


class ASPP(nn.Module):
    """DeepLabv3+ atrous spatial pyramid pooling: image pooling, 1x1, 3x3 atrous branches, 1x1 projection."""

    def __init__(self, c_in: int, depth: int, rates: tuple[int, ...]):
        super().__init__()
        self.image_pooling = nn.Sequential(nn.AdaptiveAvgPool2d(1), *conv_bn_relu(c_in, depth, 1))
        self.branches = nn.ModuleList([conv_bn_relu(c_in, depth, 1)]
                                      + [conv_bn_relu(c_in, depth, 3, dilation=rate) for rate in rates])
        self.projection = nn.Sequential(*conv_bn_relu(depth * (len(rates) + 2), depth, 1), nn.Dropout(0.1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [branch(x) for branch in self.branches]
        # Bilinear upsampling of a 1x1 map is a broadcast in every align_corners convention.
        pooled = self.image_pooling(x).expand_as(branches[0])
        return self.projection(torch.cat([pooled, *branches], dim=1))


class Decoder(nn.Module):
    """DeepLabv3+ decoder: project the rate-4 features, resize the ASPP output to rate 4, two 3x3 convs."""

    def __init__(self, c_high: int, c_low: int, low_level_channels: int, depth: int, scale: float):
        super().__init__()
        self.feature_projection = conv_bn_relu(c_low, low_level_channels, 1)
        self.resize = bilinear(scale)
        self.convs = nn.Sequential(conv_bn_relu(c_high + low_level_channels, depth, 3), conv_bn_relu(depth, depth, 3))

    def forward(self, x: torch.Tensor, low_level: torch.Tensor) -> torch.Tensor:
        return self.convs(torch.cat([self.resize(x), self.feature_projection(low_level)], dim=1))


def low_level_layer(path: tuple[int, ...]) -> int:
    """The layer whose output feeds the decoder: the end of the path's first run at rate 4, or -1 (the stem)."""
    layer = -1
    while layer + 1 < len(path) and path[layer + 1] == STEM_RATE:
        layer += 1
    return layer


def stem_states(net) -> list[tuple[int, int]]:
    """(channels, rate) of H^{-2} and H^{-1}, the stem's two outputs the first layers read."""
    return [(net.stem_channels[1], STEM_STRIDES[0] * STEM_STRIDES[1]), (net.stem_channels[2], STEM_RATE)]


def cell_arguments(net, state_pp: tuple[int, int], state_p: tuple[int, int], rate: int) -> tuple:
    """`Cell` arguments after the cell genotype for a layer at `rate` reading H^{l-2} and H^{l-1} given as
    (channels, rate): (c_prev_prev, c_prev, c, scale0, scale1, downsample). Also what the hierarchical
    searcher's cost tables count, so the two cannot drift apart."""
    (c_pp, rate_pp), (c_p, rate_p) = state_pp, state_p
    rate_in = min(rate_p, rate)  # a halving layer resizes H^{l-1} first; a doubling one strides inside
    c = net.filter_multiplier * rate // STEM_RATE
    return c_pp, c_p, c, rate_pp / rate_in, rate_p / rate_in, rate > rate_p


@register_builder("autodeeplab")
class AutoDeepLab(nn.Module):
    def __init__(self, genotype: HierarchicalGenotype):
        super().__init__()
        net = genotype.network
        self.genotype = genotype
        c0, c1, c2 = net.stem_channels
        self.stem0 = nn.Sequential(
            nn.Conv2d(3, c0, 3, stride=STEM_STRIDES[0], padding=1, bias=False),
            nn.BatchNorm2d(c0, eps=BN_EPS),
            nn.ReLU(inplace=False),
            nn.Conv2d(c0, c1, 3, stride=STEM_STRIDES[1], padding=1, bias=False),
            nn.BatchNorm2d(c1, eps=BN_EPS),
        )
        self.stem1 = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c1, c2, 3, stride=STEM_STRIDES[2], padding=1, bias=False),
            nn.BatchNorm2d(c2, eps=BN_EPS),
        )
        states = stem_states(net)
        self.cells = nn.ModuleList()
        for rate in genotype.path:
            self.cells.append(Cell(genotype.cell, *cell_arguments(net, states[0], states[1], rate)))
            states = [states[1], (genotype.blocks * net.filter_multiplier * rate // STEM_RATE, rate)]
        self._low_level_layer = low_level_layer(genotype.path)
        c_low = net.stem_channels[2] if self._low_level_layer < 0 else genotype.blocks * net.filter_multiplier
        c_last, rate_last = states[1]
        self.relu = nn.ReLU(inplace=False)
        self.aspp = ASPP(c_last, net.aspp_channels, tuple(r * 16 // rate_last for r in net.aspp_rates))
        self.decoder = Decoder(net.aspp_channels, c_low, net.low_level_channels, net.decoder_channels,
                               rate_last / STEM_RATE)
        self.logits = nn.Conv2d(net.decoder_channels, net.num_classes, 1, bias=True)
        self.upsample = bilinear(STEM_RATE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, classes, H, W) at the input's resolution; H and W must divide by the path's deepest rate."""
        s0 = self.stem0(x)
        s1 = self.stem1(s0)
        low_level = s1
        for layer, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1)
            if layer == self._low_level_layer:  # fixed at build time: unrolled by tracing
                low_level = s1
        features = self.aspp(self.relu(s1))
        return self.upsample(self.logits(self.decoder(features, low_level)))

    def block_labels(self) -> dict[str, str]:
        """{module name: what it is} covering every inference module once, for per-block cost breakdowns."""
        labels = {"stem0": "stem", "stem1": "stem"}
        for layer, cell in enumerate(self.cells):
            labels[f"cells.{layer}.resize0"] = labels[f"cells.{layer}.resize1"] = "resize"
            labels[f"cells.{layer}.preprocess0"] = labels[f"cells.{layer}.preprocess1"] = "preprocess"
            for j, op in enumerate(cell.op_names):
                labels[f"cells.{layer}._ops.{j}"] = op
        labels.update(aspp="aspp", decoder="decoder", logits="logits", upsample="upsample")
        return labels
