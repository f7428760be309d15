"""IR lowerings of the `chain` family's blocks: one function per reference module of `chain_blocks.py`.

Signature `chain`: `lower(b, x, c_in, c_out, stride, mid_scale, prefix) -> value`, the reference
constructor's arguments with the GraphBuilder and input value first and the state_dict prefix last. Each
mirrors its module layer by layer (Sequential indices / submodule names give the weight keys), so the
weights of a trained SPOS / DetNAS / ProxylessNAS checkpoint attach by name. Like `darts_lowering`, they
only append to the builder and never import the IR.
"""
from __future__ import annotations

from genocompile.ops.chain_blocks import PROXYLESS_BN_EPS


def _dw(b, x: str, kernel: int, stride: int, key: str) -> str:
    """Depthwise kxk, same padding, no bias (chain_blocks `_dw`)."""
    c = b.shape(x)[0]
    return b.conv(x, c, kernel, stride, kernel // 2, groups=c, weight=f"{key}.weight")


def _pw(b, x: str, c_out: int, key: str) -> str:
    return b.conv(x, c_out, 1, weight=f"{key}.weight")


def _layers(b, x: str, layers: list[tuple], prefix: str, eps: float = 1e-5) -> str:
    """A Sequential of (kind, args) layers at indices 0, 1, ... under `prefix`: ("pw", c_out),
    ("dw", kernel, stride), ("bn",), ("relu",)."""
    for i, (kind, *args) in enumerate(layers):
        key = f"{prefix}.{i}"
        if kind == "pw":
            x = _pw(b, x, args[0], key)
        elif kind == "dw":
            x = _dw(b, x, args[0], args[1], key)
        elif kind == "bn":
            x = b.batchnorm(x, key, eps)
        else:
            x = b.add(kind, [x], name=key)
    return x


def _shuffle_wiring(main_layers):
    """ShuffleNetV2 block wiring (chain_blocks `_ShuffleV2Block`): stride 1 splits the input into its even
    channels (passed through) and odd channels (`branch_main`); stride 2 feeds the whole input to both
    `branch_proj` (depthwise kxk / 2 -> BN -> 1x1 -> BN -> ReLU) and `branch_main`; then concat."""
    def lower(b, x, c_in, c_out, stride, mid_scale, prefix):
        c_mid = int(c_out // 2 * mid_scale)
        b_in = c_in if stride == 2 else c_in // 2
        kernel, layers = main_layers(c_mid, c_out - b_in, stride)
        if stride == 1:
            proj = b.add("channel_slice", [x], {"start": 0, "step": 2}, name=f"{prefix}.split_even")
            main_in = b.add("channel_slice", [x], {"start": 1, "step": 2}, name=f"{prefix}.split_odd")
        else:
            proj = _layers(b, x, [("dw", kernel, 2), ("bn",), ("pw", c_in), ("bn",), ("relu",)],
                           f"{prefix}.branch_proj")
            main_in = x
        main = _layers(b, main_in, layers, f"{prefix}.branch_main")
        return b.add("concat", [proj, main], name=f"{prefix}.cat")
    return lower


def shuffle_block(kernel: int):
    """`Shuffle{k}x{k}`: 1x1 -> BN -> ReLU -> depthwise kxk -> BN -> 1x1 -> BN -> ReLU."""
    return _shuffle_wiring(lambda c_mid, b_out, stride: (kernel, [
        ("pw", c_mid), ("bn",), ("relu",), ("dw", kernel, stride), ("bn",), ("pw", b_out), ("bn",), ("relu",)]))


def _xception(c_mid, b_out, stride):
    layers = []
    for g in range(3):
        layers += [("dw", 3, stride if g == 0 else 1), ("bn",), ("pw", b_out if g == 2 else c_mid), ("bn",), ("relu",)]
    return 3, layers


xception_block = _shuffle_wiring(_xception)


def mb_inverted_conv(b, x: str, c_out: int, kernel: int, stride: int, expand: int, mid_scale: float,
                     prefix: str) -> str:
    """ProxylessNAS `MBInvertedConvLayer`: [inverted_bottleneck 1x1 -> BN -> ReLU6] -> depth_conv kxk -> BN ->
    ReLU6 -> point_linear 1x1 -> BN (BN eps 1e-3); expansion 1 has no inverted_bottleneck."""
    eps = PROXYLESS_BN_EPS
    c_in = b.shape(x)[0]
    h = x
    if expand != 1:
        key = f"{prefix}.inverted_bottleneck"
        h = b.batchnorm(_pw(b, h, round(c_in * expand * mid_scale), f"{key}.conv"), f"{key}.bn", eps)
        h = b.add("relu6", [h], name=f"{key}.relu")
    key = f"{prefix}.depth_conv"
    h = b.add("relu6", [b.batchnorm(_dw(b, h, kernel, stride, f"{key}.conv"), f"{key}.bn", eps)], name=f"{key}.relu")
    key = f"{prefix}.point_linear"
    return b.batchnorm(_pw(b, h, c_out, f"{key}.conv"), f"{key}.bn", eps)


def mbconv_block(b, x: str, c_out: int, kernel: int, expand: int, stride: int, mid_scale: float, prefix: str,
                 shortcut: bool = True) -> str:
    """`MobileInvertedResidualBlock`: the MBConv, plus the identity shortcut at stride 1 with equal channels."""
    y = mb_inverted_conv(b, x, c_out, kernel, stride, expand, mid_scale, f"{prefix}.mobile_inverted_conv")
    if shortcut and stride == 1 and b.shape(x)[0] == c_out:
        return b.add("add", [x, y], name=f"{prefix}.residual")
    return y


def mbconv(kernel: int, expand: int):
    return lambda b, x, c_in, c_out, stride, mid_scale, prefix: mbconv_block(b, x, c_out, kernel, expand, stride,
                                                                           mid_scale, prefix)


def skip(b, x, c_in, c_out, stride, mid_scale, prefix):
    """A skipped block: the input itself (an identity node, folded by the pipeline)."""
    return b.add("identity", [x], name=prefix)
