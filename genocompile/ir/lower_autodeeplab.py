"""Skeleton lowering of the Auto-DeepLab segmentation network, mirroring `genocompile.models.autodeeplab`
module by module (stem, the path's cells with their resizes and 1x1 preprocessing, ASPP, DeepLabv3+ decoder,
logits, the final x4 resize), with the same state_dict keys.

The layer-by-layer facts (stem strides, filters per rate, which layer feeds the decoder, the head's
BatchNorm epsilon) are imported from the reference builder, so the two cannot drift apart; the parity
sweep checks the numbers.
"""
from __future__ import annotations

from genocompile.genotype.hierarchical import STEM_RATE
from genocompile.ir.graph import GraphBuilder
from genocompile.ir.lower import lower_op, register_skeleton_lowering
from genocompile.models.autodeeplab import HEAD_BN_EPS, STEM_STRIDES, low_level_layer
from genocompile.ops.autodeeplab_lowering import bilinear
from genocompile.ops.autodeeplab_modules import BN_EPS
from genocompile.ops.darts_lowering import relu_conv_bn


def _conv_bn_relu(b: GraphBuilder, x: str, c_out: int, kernel: int, prefix: str, dilation: int = 1,
                  first: int = 0) -> str:
    """`models.autodeeplab.conv_bn_relu` (keys `.0` conv, `.1` BN eps 1e-5, `.2` ReLU; from `.first` when it is
    unpacked into a longer nn.Sequential)."""
    h = b.conv(x, c_out, kernel, 1, dilation * (kernel // 2), dilation, weight=f"{prefix}.{first}.weight")
    return b.add("relu", [b.batchnorm(h, f"{prefix}.{first + 1}", HEAD_BN_EPS)], name=f"{prefix}.{first + 2}")


def _stem(b: GraphBuilder, x: str, channels: tuple[int, int, int]) -> tuple[str, str]:
    c0, c1, c2 = channels
    h = b.conv(x, c0, 3, STEM_STRIDES[0], 1, weight="stem0.0.weight")
    h = b.add("relu", [b.batchnorm(h, "stem0.1", BN_EPS)], name="stem0.2")
    s0 = b.batchnorm(b.conv(h, c1, 3, STEM_STRIDES[1], 1, weight="stem0.3.weight"), "stem0.4", BN_EPS)
    h = b.add("relu", [s0], name="stem1.0")
    s1 = b.batchnorm(b.conv(h, c2, 3, STEM_STRIDES[2], 1, weight="stem1.1.weight"), "stem1.2", BN_EPS)
    return s0, s1


def _cell(b: GraphBuilder, genotype, layer: int, s0: str, s1: str, c: int, scale0: float, scale1: float,
          downsample: bool) -> str:
    """`models.autodeeplab.Cell`: resize both inputs to the cell's input rate, 1x1 them to `c` (H^{l-2} only
    when its channels differ), then the blocks (stride 2 on edges from the inputs when the rate doubles)."""
    prefix = f"cells.{layer}"
    h0 = bilinear(b, s0, scale0, f"{prefix}.resize0")
    if b.shape(h0)[0] != c:
        h0 = relu_conv_bn(b, h0, c, 1, 1, 0, f"{prefix}.preprocess0", BN_EPS)
    h1 = relu_conv_bn(b, bilinear(b, s1, scale1, f"{prefix}.resize1"), c, 1, 1, 0, f"{prefix}.preprocess1", BN_EPS)
    states = [h0, h1]
    for block in range(genotype.blocks):
        hs = []
        for j in (2 * block, 2 * block + 1):
            op, index = genotype.cell[j]
            stride = 2 if downsample and index < 2 else 1
            hs.append(lower_op(b, op, states[index], c, stride, f"{prefix}._ops.{j}"))
        states.append(b.add("add", hs, name=f"{prefix}.block{block}"))
    return b.add("concat", states[2:], name=f"{prefix}.out")


def _aspp(b: GraphBuilder, x: str, depth: int, rates: tuple[int, ...]) -> str:
    """`models.autodeeplab.ASPP`: image pooling (broadcast back), 1x1, atrous 3x3s, concat, 1x1 projection."""
    branches = [_conv_bn_relu(b, x, depth, 1, "aspp.branches.0")]
    branches += [_conv_bn_relu(b, x, depth, 3, f"aspp.branches.{i}", rate) for i, rate in enumerate(rates, 1)]
    pooled = b.add("global_avg_pool", [x], name="aspp.image_pooling.0")
    pooled = _conv_bn_relu(b, pooled, depth, 1, "aspp.image_pooling", first=1)
    pooled = b.add("expand", [pooled], {"size": b.shape(branches[0])[1:]}, name="aspp.image_pooling.expand")
    cat = b.add("concat", [pooled, *branches], name="aspp.cat")
    return _conv_bn_relu(b, cat, depth, 1, "aspp.projection")  # dropout (.3) is the identity in eval


@register_skeleton_lowering("autodeeplab")
def lower_autodeeplab(genotype, b: GraphBuilder) -> str:
    net = genotype.network
    x = b.add("input", [], {"shape": (3, *net.input_size)}, name="input")
    s0, s1 = _stem(b, x, tuple(net.stem_channels))
    rates = [STEM_STRIDES[0] * STEM_STRIDES[1], STEM_RATE]  # of H^{l-2} and H^{l-1}
    low_layer, low_level = low_level_layer(genotype.path), s1
    for layer, rate in enumerate(genotype.path):
        rate_pp, rate_p = rates
        rate_in = min(rate_p, rate)  # a halving layer resizes H^{l-1} first; a doubling one strides inside
        c = net.filter_multiplier * rate // STEM_RATE
        s0, s1 = s1, _cell(b, genotype, layer, s0, s1, c, rate_pp / rate_in, rate_p / rate_in, rate > rate_p)
        rates = [rate_p, rate]
        if layer == low_layer:
            low_level = s1
    rate_last = rates[1]
    features = _aspp(b, b.add("relu", [s1], name="relu"), net.aspp_channels,
                     tuple(r * 16 // rate_last for r in net.aspp_rates))
    high = bilinear(b, features, rate_last / STEM_RATE, "decoder.resize")
    low = _conv_bn_relu(b, low_level, net.low_level_channels, 1, "decoder.feature_projection")
    h = b.add("concat", [high, low], name="decoder.cat")
    h = _conv_bn_relu(b, _conv_bn_relu(b, h, net.decoder_channels, 3, "decoder.convs.0"), net.decoder_channels, 3,
                      "decoder.convs.1")
    logits = b.conv(h, net.num_classes, 1, weight="logits.weight", bias="logits.bias")
    return bilinear(b, logits, STEM_RATE, "upsample")
