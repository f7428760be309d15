"""Skeleton lowerings of the chain networks, mirroring `genocompile.models.shufflenetv2_oneshot` (SPOS, DetNAS)
and `genocompile.models.proxylessnas` module by module, with the same state_dict keys. Dropout is
training-only and has no node."""
from __future__ import annotations

from genocompile.ir.graph import GraphBuilder
from genocompile.ir.lower import lower_op, register_skeleton_lowering
from genocompile.ops.chain_blocks import PROXYLESS_BN_EPS
from genocompile.ops.chain_lowering import mbconv_block


def _input(b: GraphBuilder, genotype) -> str:
    return b.add("input", [], {"shape": (3, *genotype.network.input_size)}, name="input")


def _blocks(b: GraphBuilder, genotype, x: str, prefix: str, first: int = 0) -> str:
    """One lowered block per position, from the op table (the reference's `build_blocks`)."""
    for i, (op, slot, scale) in enumerate(zip(genotype.blocks(), genotype.slots(), genotype.scales())):
        x = lower_op(b, op, x, slot.c_in, slot.c_out, slot.stride, scale, f"{prefix}.{i + first}")
    return x


def _conv_bn_act(b: GraphBuilder, x: str, c_out: int, kernel: int, stride: int, conv: str, bn: str, act: str,
                 act_name: str, bias: bool = False, eps: float = 1e-5) -> str:
    h = b.conv(x, c_out, kernel, stride, kernel // 2, weight=f"{conv}.weight", bias=f"{conv}.bias" if bias else None)
    return b.add(act, [b.batchnorm(h, bn, eps)], name=act_name)


def _head(b: GraphBuilder, x: str, num_classes: int, pool: str, key: str, bias: bool) -> str:
    flat = b.add("flatten", [b.add("global_avg_pool", [x], name=pool)], name="flatten")
    return b.add("linear", [flat], {"out_features": num_classes},
                 {"weight": f"{key}.weight", **({"bias": f"{key}.bias"} if bias else {})}, name=key)


@register_skeleton_lowering("spos-imagenet")
def lower_spos(genotype, b: GraphBuilder) -> str:
    """ShuffleNetV2OneShot: first_conv.{0,1,2}, features.i, conv_last.{0,1,2}, globalpool, classifier.0."""
    widths = genotype.network.stage_out_channels
    x = _conv_bn_act(b, _input(b, genotype), widths[0], 3, 2, "first_conv.0", "first_conv.1", "relu", "first_conv.2")
    x = _blocks(b, genotype, x, "features")
    x = _conv_bn_act(b, x, widths[-1], 1, 1, "conv_last.0", "conv_last.1", "relu", "conv_last.2")
    return _head(b, x, genotype.network.num_classes, "globalpool", "classifier.0", bias=False)


@register_skeleton_lowering("detnas-imagenet")
def lower_detnas(genotype, b: GraphBuilder) -> str:
    """ShuffleNetV2DetNAS: first_conv.{conv,bn} (conv bias), features.i, last_conv.{conv,bn}, global_pool, fc.fc."""
    widths = genotype.network.stage_out_channels
    x = _conv_bn_act(b, _input(b, genotype), widths[0], 3, 2, "first_conv.conv", "first_conv.bn", "relu",
                     "first_conv.relu", bias=True)
    x = _blocks(b, genotype, x, "features")
    x = _conv_bn_act(b, x, widths[-1], 1, 1, "last_conv.conv", "last_conv.bn", "relu", "last_conv.relu", bias=True)
    return _head(b, x, genotype.network.num_classes, "global_pool", "fc.fc", bias=True)


@register_skeleton_lowering("proxylessnas-imagenet")
def lower_proxylessnas(genotype, b: GraphBuilder) -> str:
    """ProxylessNASNet: first_conv (ReLU6), blocks.0 (fixed MBConv1 3x3, no shortcut), blocks.1.., feature_mix_layer,
    global_avg_pooling, classifier.linear (BN eps 1e-3 throughout)."""
    net = genotype.network
    x = _conv_bn_act(b, _input(b, genotype), net.first_channels, 3, 2, "first_conv.conv", "first_conv.bn", "relu6",
                     "first_conv.activation", eps=PROXYLESS_BN_EPS)
    x = mbconv_block(b, x, net.first_block_channels, 3, 1, 1, 1.0, "blocks.0", shortcut=False)
    x = _blocks(b, genotype, x, "blocks", first=1)
    x = _conv_bn_act(b, x, net.last_channels, 1, 1, "feature_mix_layer.conv", "feature_mix_layer.bn", "relu6",
                     "feature_mix_layer.activation", eps=PROXYLESS_BN_EPS)
    return _head(b, x, net.num_classes, "global_avg_pooling", "classifier.linear", bias=True)
