"""IR lowerings of the Auto-DeepLab op set's own modules (`autodeeplab_modules.py`), and of its fixed-factor
bilinear resize; the separable ops reuse the DARTS SepConv lowering with TF's BatchNorm epsilon.

Same contract as `darts_lowering`: append to a GraphBuilder, name weights by the reference module's
state_dict keys under `prefix`, never import the IR.
"""
from __future__ import annotations

from fractions import Fraction

from genocompile.errors import GenotypeError
from genocompile.ops.autodeeplab_modules import BN_EPS
from genocompile.ops.darts_lowering import relu_conv_bn


def bilinear(b, x: str, scale: float, name: str) -> str:
    """`autodeeplab_modules.bilinear(scale)`: nn.Upsample(scale_factor=scale, bilinear, align_corners=False),
    nothing for scale 1. Lowered as a resize to the exact output size, which is the same map only when the
    size scales exactly (torch maps coordinates by 1/scale, the IR by in/out size); refused otherwise."""
    if scale == 1:
        return x
    c, h, w = b.shape(x)
    factor = Fraction(scale).limit_denominator(64)
    oh, ow = h * factor, w * factor
    if oh.denominator != 1 or ow.denominator != 1:
        raise GenotypeError(f"{name}: resizing a {h}x{w} map by {scale} is not exact; use an input size divisible "
                            f"by the path's deepest rate")
    return b.add("resize", [x], {"size": (int(oh), int(ow))}, name=name)


def atrous_conv(kernel: int):
    """AtrousConv: `relu`, `resize` (bilinear /2 on stride-2 edges), full kxk `conv` (rate 2, or 1 after the
    resize), `bn` (eps 1e-3)."""
    def lower(b, x, c, stride, prefix):
        if stride not in (1, 2):
            raise GenotypeError(f"{prefix}: atrous_{kernel}x{kernel} supports stride 1 or 2, got {stride}")
        rate = 1 if stride == 2 else 2
        h = b.add("relu", [x], name=f"{prefix}.relu")
        h = bilinear(b, h, 0.5 if stride == 2 else 1, f"{prefix}.resize")
        h = b.conv(h, c, kernel, 1, rate * (kernel // 2), rate, weight=f"{prefix}.conv.weight")
        return b.batchnorm(h, f"{prefix}.bn", BN_EPS)
    return lower


def identity(b, x, c, stride, prefix):
    """TF's skip: the value itself; on stride-2 edges ReLU, 1x1 conv stride 2, BN (`op.0..2`, eps 1e-3)."""
    if stride == 1:
        return b.add("identity", [x], name=prefix)
    return relu_conv_bn(b, x, c, 1, stride, 0, prefix, BN_EPS)
