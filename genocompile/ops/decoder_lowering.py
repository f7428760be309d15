"""IR lowerings of the `decoder` family's cell ops: one function per reference module of `decoder_modules.py`.

Signature `decoder`: `lower(b, x, C, repeats, prefix) -> value` (the reference constructor's arguments, the
GraphBuilder and input value first, the state_dict prefix last). Keys as in nas-segm-pytorch, so its
checkpoints attach by name. They only append to the builder and never import the IR.
"""
from __future__ import annotations


def conv_bn_relu(b, x: str, c_out: int, kernel: int, prefix: str, dilation: int = 1) -> str:
    """`decoder_modules.conv_bn_relu`: conv (same padding, no bias) `0`, BN `1`, ReLU `2`."""
    h = b.conv(x, c_out, kernel, 1, dilation * (kernel // 2), dilation, weight=f"{prefix}.0.weight")
    return b.add("relu", [b.batchnorm(h, f"{prefix}.1")], name=f"{prefix}.2")


def conv(kernel: int, dilation: int):
    return lambda b, x, c, repeats, prefix: conv_bn_relu(b, x, c, kernel, prefix, dilation)


def separable(kernel: int, dilation: int):
    """`SepConvRepeated`: repeats x (depthwise `op.sep_i.0` -> 1x1 `.1` -> BN `.2` -> ReLU `.3`)."""
    def lower(b, x, c, repeats, prefix):
        pad = dilation * (kernel // 2)
        for i in range(repeats):
            key = f"{prefix}.op.sep_{i}"
            x = b.conv(x, c, kernel, 1, pad, dilation, groups=c, weight=f"{key}.0.weight")
            x = b.conv(x, c, 1, weight=f"{key}.1.weight")
            x = b.add("relu", [b.batchnorm(x, f"{key}.2")], name=f"{key}.3")
        return x
    return lower


def global_pool_conv(b, x, c, repeats, prefix):
    """`GlobalPoolConv`: mean over H and W -> `conv1x1` (conv -> BN -> ReLU) -> back to the input size. The
    bilinear upsampling of a 1x1 map is a broadcast (every output samples the one pixel): `expand`."""
    pooled = b.add("global_avg_pool", [x], name=f"{prefix}.pool")
    h = conv_bn_relu(b, pooled, c, 1, f"{prefix}.conv1x1")
    return b.add("expand", [h], {"size": b.shape(x)[1:]}, name=f"{prefix}.upsample")


def identity(b, x, c, repeats, prefix):
    return b.add("identity", [x], name=prefix)


def zero(b, x, c, repeats, prefix):
    return b.add("zero", [x], {"stride": 1}, name=prefix)
