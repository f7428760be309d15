"""The `chain` family's block choices, registered in THE op table under their own signature.

A chain block changes channel counts and may stride, so it does not fit the DARTS `(C, stride,
affine)` constructor. Its signature, `chain`:

    reference(c_in, c_out, stride, mid_scale) -> module mapping (N, c_in, H, W) to (N, c_out, H/s, W/s)

`mid_scale` scales the block's hidden width (1.0 = the published networks): ShuffleNetV2 blocks use
`int(c_out // 2 * mid_scale)` hidden channels (megvii `base_mid_channels * channels_scales[i]`), MBConv
blocks `round(c_in * expansion * mid_scale)` (ProxylessNAS `feature_dim`).
"""
from __future__ import annotations

from genocompile.ops import chain_blocks as cb
from genocompile.ops import chain_lowering as lw
from genocompile.ops.table import register_op, register_signature

register_signature("chain", "reference(c_in, c_out, stride, mid_scale) -> block mapping (N, c_in, H, W) to "
                            "(N, c_out, H/stride, W/stride); mid_scale scales the hidden width (1.0 = published)")


def _shuffle(kernel: int):
    return lambda c_in, c_out, stride, mid_scale: cb.ShuffleBlock(c_in, c_out, int(c_out // 2 * mid_scale),
                                                                  kernel, stride)


# --- ShuffleNetV2 one-shot blocks (DetNAS `blocks_key` names; SPOS calls them Shuffle3x3 ... Xception) ---
for _k in (3, 5, 7):
    register_op(f"shufflenet_{_k}x{_k}", "block",
                f"ShuffleNetV2 block, depthwise {_k}x{_k} (SPOS Shuffle{_k}x{_k})", signature="chain",
                lower=lw.shuffle_block(_k))(_shuffle(_k))
register_op("xception_3x3", "block", "ShuffleNetV2 Xception block: three depthwise-separable 3x3 (SPOS Xception)",
            signature="chain", lower=lw.xception_block)(
    lambda c_in, c_out, stride, mid_scale: cb.ShuffleXceptionBlock(c_in, c_out, int(c_out // 2 * mid_scale), stride))


def _mbconv(kernel: int, expand: int):
    return lambda c_in, c_out, stride, mid_scale: cb.MBConvBlock(c_in, c_out, kernel, expand, stride, mid_scale)


def _skip(c_in: int, c_out: int, stride: int, mid_scale: float):
    if stride != 1 or c_in != c_out:
        raise ValueError(f"mbconv_skip needs stride 1 and equal channels, got {c_in}->{c_out} stride {stride}")
    return cb.SkipBlock()


# --- MobileNetV2 inverted residuals (ProxylessNAS `kxk_MBConvE` candidates, FBNet's k x e grid) -------
for _k in (3, 5, 7):
    for _e in (3, 6):
        register_op(f"mbconv_{_k}x{_k}_e{_e}", "block",
                    f"MobileNetV2 inverted residual, depthwise {_k}x{_k}, expansion {_e} (ProxylessNAS "
                    f"{_k}x{_k}_MBConv{_e}); identity shortcut at stride 1 with equal channels", signature="chain",
                    lower=lw.mbconv(_k, _e))(_mbconv(_k, _e))
register_op("mbconv_skip", "identity", "skip the block (ProxylessNAS Zero op with its identity shortcut); only "
            "where stride is 1 and channels do not change", signature="chain", lower=lw.skip)(_skip)
