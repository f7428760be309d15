"""IR lowerings of the DARTS op set: one function per reference module of `darts_modules.py`.

Each mirrors its module exactly (same layer order, same strides and paddings) and names every weight by
the module's state_dict key under `prefix`, so `attach_weights` finds trained tensors by name. They
append to a `genocompile.ir.graph.GraphBuilder` (`b`) and return the output value's name; they never
import the IR themselves (the op table stays below the IR in the dependency order).
"""
from __future__ import annotations


def relu_conv_bn(b, x: str, c_out: int, kernel: int, stride: int, padding: int, prefix: str,
                 eps: float = 1e-5) -> str:
    """ReLUConvBN: `op.0` ReLU, `op.1` conv, `op.2` BN (epsilon `eps`)."""
    h = b.add("relu", [x], name=f"{prefix}.op.0")
    h = b.conv(h, c_out, kernel, stride, padding, weight=f"{prefix}.op.1.weight")
    return b.batchnorm(h, f"{prefix}.op.2", eps)


def factorized_reduce(b, x: str, c_in: int, c_out: int, prefix: str) -> str:
    """FactorizedReduce: relu -> [conv_1(x), conv_2(x[:, :, 1:, 1:])] (1x1, stride 2) -> concat -> bn."""
    r = b.add("relu", [x], name=f"{prefix}.relu")
    a = b.conv(r, c_out // 2, 1, 2, 0, weight=f"{prefix}.conv_1.weight")
    shifted = b.add("slice", [r], {"start": (1, 1), "step": (1, 1)}, name=f"{prefix}.shift")
    c = b.conv(shifted, c_out // 2, 1, 2, 0, weight=f"{prefix}.conv_2.weight")
    cat = b.add("concat", [a, c], name=f"{prefix}.cat")
    return b.batchnorm(cat, f"{prefix}.bn")


def _relu_dw_pw_bn(b, x: str, c_in: int, c_out: int, k: int, stride: int, padding: int, dilation: int,
                   prefix: str, first: int, eps: float = 1e-5) -> str:
    h = b.add("relu", [x], name=f"{prefix}.op.{first}")
    h = b.conv(h, c_in, k, stride, padding, dilation, groups=c_in, weight=f"{prefix}.op.{first + 1}.weight")
    h = b.conv(h, c_out, 1, weight=f"{prefix}.op.{first + 2}.weight")
    return b.batchnorm(h, f"{prefix}.op.{first + 3}", eps)


def sep_conv(kernel: int, padding: int, eps: float = 1e-5):
    """SepConv: two (ReLU, depthwise, pointwise, BN) layers, `op.0..3` and `op.4..7`; only the first strides.
    `eps`: BatchNorm's epsilon (1e-3 for the TensorFlow NAS ops)."""
    def lower(b, x, c, stride, prefix):
        h = _relu_dw_pw_bn(b, x, c, c, kernel, stride, padding, 1, prefix, 0, eps)
        return _relu_dw_pw_bn(b, h, c, c, kernel, 1, padding, 1, prefix, 4, eps)
    return lower


def dil_conv(kernel: int, padding: int, dilation: int):
    """DilConv: ReLU, dilated depthwise, pointwise, BN (`op.0..3`)."""
    return lambda b, x, c, stride, prefix: _relu_dw_pw_bn(b, x, c, c, kernel, stride, padding, dilation, prefix, 0)


def conv_7x1_1x7(b, x, c, stride, prefix):
    """ReLU, 1x7 (stride (1, s)), 7x1 (stride (s, 1)), BN: a bare nn.Sequential, so keys `0..3` (no `op.`)."""
    h = b.add("relu", [x], name=f"{prefix}.0")
    h = b.conv(h, c, (1, 7), (1, stride), (0, 3), weight=f"{prefix}.1.weight")
    h = b.conv(h, c, (7, 1), (stride, 1), (3, 0), weight=f"{prefix}.2.weight")
    return b.batchnorm(h, f"{prefix}.3")


def pool(kind: str, **extra):
    """3x3 pool with padding 1 (avg: count_include_pad=False, as nn.AvgPool2d in the DARTS table)."""
    return lambda b, x, c, stride, prefix: b.add(kind, [x], {"kernel": (3, 3), "stride": (stride, stride),
                                                            "padding": (1, 1), **extra}, name=prefix)


def zero(b, x, c, stride, prefix):
    return b.add("zero", [x], {"stride": stride}, name=prefix)


def skip_connect(b, x, c, stride, prefix):
    if stride == 1:
        return b.add("identity", [x], name=prefix)
    return factorized_reduce(b, x, c, c, prefix)
