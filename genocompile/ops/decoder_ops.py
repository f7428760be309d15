"""The `decoder` family's cell ops (Nekrasov et al., CVPR 2019), registered in THE op table.

Signature `decoder`:

    reference(C, repeats) -> module mapping (N, C, H, W) to (N, C, H, W)

Every decoder-cell op keeps channels and resolution; `repeats` is how many times a separable conv is
stacked (the published decoders use 2; other ops ignore it). The names carry a `seg_` prefix because the
original's `sep_conv_3x3`, `skip_connect`, `none` ... are different modules from the DARTS ops of those
names already in the table. `DECODER_OPS` lists them in the original's `OP_NAMES` order (CVPR 2019), so
index i of a nas-segm-pytorch layout is `DECODER_OPS[i]`.
"""
from __future__ import annotations

from genocompile.ops import decoder_lowering as lw
from genocompile.ops import decoder_modules as m
from genocompile.ops.table import op_set, register_op, register_signature, with_signature

register_signature("decoder", "reference(C, repeats) -> module mapping (N, C, H, W) to (N, C, H, W); "
                              "repeats = how many separable convs are stacked")

_CONVS = {  # name -> (kernel, dilation), each conv -> BN -> ReLU
    "seg_conv1x1": (1, 1), "seg_conv3x3": (3, 1), "seg_conv3x3_dil3": (3, 3), "seg_conv3x3_dil12": (3, 12),
}
_SEPARABLE = {  # name -> (kernel, dilation), repeats x (depthwise -> 1x1 -> BN -> ReLU)
    "seg_sep_conv_3x3": (3, 1), "seg_sep_conv_5x5": (5, 1), "seg_sep_conv_3x3_dil3": (3, 3),
    "seg_sep_conv_5x5_dil6": (5, 6),
}


def _conv(kernel: int, dilation: int):
    return lambda C, repeats: m.conv_bn_relu(C, C, kernel, dilation)


def _separable(kernel: int, dilation: int):
    return lambda C, repeats: m.SepConvRepeated(C, kernel, dilation, repeats)


for _name, (_k, _d) in _CONVS.items():
    register_op(_name, "conv", f"{_k}x{_k} conv{f' rate {_d}' if _d > 1 else ''} -> BN -> ReLU",
                signature="decoder", lower=lw.conv(_k, _d))(_conv(_k, _d))
for _name, (_k, _d) in _SEPARABLE.items():
    register_op(_name, "conv", f"repeats x separable {_k}x{_k}{f' rate {_d}' if _d > 1 else ''} (depthwise -> "
                f"1x1 -> BN -> ReLU)", signature="decoder", lower=lw.separable(_k, _d))(_separable(_k, _d))
register_op("seg_global_average_pool", "conv", "global average pool -> 1x1 conv -> BN -> ReLU -> upsample",
            signature="decoder", lower=lw.global_pool_conv)(lambda C, repeats: m.GlobalPoolConv(C))
register_op("seg_skip_connect", "identity", "identity", signature="decoder", lower=lw.identity)(
    lambda C, repeats: m.Identity())
register_op("seg_none", "zero", "zeros of the input's shape", signature="decoder", lower=lw.zero)(
    lambda C, repeats: m.Zero())

# nas-segm-pytorch `rl/genotypes.py` OP_NAMES (CVPR 2019), in its order.
DECODER_OPS = with_signature(op_set(
    "seg_conv1x1", "seg_conv3x3", "seg_sep_conv_3x3", "seg_sep_conv_5x5", "seg_global_average_pool",
    "seg_conv3x3_dil3", "seg_conv3x3_dil12", "seg_sep_conv_3x3_dil3", "seg_sep_conv_5x5_dil6",
    "seg_skip_connect", "seg_none"), "decoder")
