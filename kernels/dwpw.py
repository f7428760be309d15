"""ReLU -> depthwise kxk (stride, dilation) -> pointwise 1x1 -> bias (folded BatchNorm) -> activation, in one
Triton kernel: the depthwise result never leaves registers.

In a DARTS separable conv each half is exactly this chain once BN is folded (`fold_bn`, then `fuse_dw_pw`
makes it one `dwpw_conv` node). Unfused, the depthwise output of C x H x W makes a round trip to memory
and each of the four ops is its own launch; here one program computes a tile of BLOCK_P output pixels x
BLOCK_CO output channels: for each block of BLOCK_C input channels it forms the depthwise values of
its pixels (kh x kw taps, masked at the borders = zero padding) and multiplies them into the tile with
`tl.dot` (tensor cores for fp16/bf16). Accumulation is fp32. Any memory layout works (strides are
arguments); channels_last makes the channel loads contiguous.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from genocompile.kernels.registry import KernelEntry, register_kernel

try:
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - the registry never picks this kernel without triton
    triton = None


def reference(x, dw_weight, weight, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
              pre_relu=False, act=None):
    """The torch computation the kernel must equal."""
    if pre_relu:
        x = torch.relu(x)
    x = F.conv2d(x, dw_weight, None, stride, padding, dilation, groups=x.shape[1])
    x = F.conv2d(x, weight, bias)
    return torch.relu(x) if act == "relu" else x


if triton is not None:
    @triton.jit
    def _relu_dwpw_kernel(x_ptr, dw_ptr, pw_ptr, b_ptr, out_ptr,
                          C, H, W, CO, OH, OW,
                          sxn, sxc, sxh, sxw, son, soc, soh, sow,
                          SH: tl.constexpr, SW: tl.constexpr, PH: tl.constexpr, PW: tl.constexpr,
                          DH: tl.constexpr, DW: tl.constexpr, KH: tl.constexpr, KW: tl.constexpr,
                          PRE_RELU: tl.constexpr, POST_RELU: tl.constexpr, HAS_BIAS: tl.constexpr,
                          IEEE: tl.constexpr,
                          BLOCK_P: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_CO: tl.constexpr):
        n = tl.program_id(0)
        pix = tl.program_id(1) * BLOCK_P + tl.arange(0, BLOCK_P)
        co = tl.program_id(2) * BLOCK_CO + tl.arange(0, BLOCK_CO)
        p_ok = pix < OH * OW
        co_ok = co < CO
        oh = pix // OW
        ow = pix % OW
        acc = tl.zeros((BLOCK_P, BLOCK_CO), dtype=tl.float32)
        for c0 in range(0, C, BLOCK_C):
            c = c0 + tl.arange(0, BLOCK_C)
            c_ok = c < C
            d = tl.zeros((BLOCK_P, BLOCK_C), dtype=tl.float32)
            for kh in tl.static_range(KH):
                for kw in tl.static_range(KW):
                    ih = oh * SH - PH + kh * DH
                    iw = ow * SW - PW + kw * DW
                    inside = p_ok & (ih >= 0) & (ih < H) & (iw >= 0) & (iw < W)
                    v = tl.load(x_ptr + n * sxn + c[None, :] * sxc + ih[:, None] * sxh + iw[:, None] * sxw,
                                mask=inside[:, None] & c_ok[None, :], other=0.0).to(tl.float32)
                    if PRE_RELU:
                        v = tl.maximum(v, 0.0)
                    tap = tl.load(dw_ptr + c * (KH * KW) + kh * KW + kw, mask=c_ok, other=0.0).to(tl.float32)
                    d += v * tap[None, :]
            pw = tl.load(pw_ptr + co[None, :] * C + c[:, None], mask=c_ok[:, None] & co_ok[None, :], other=0.0)
            if IEEE:
                acc += tl.dot(d, pw.to(tl.float32), input_precision="ieee")
            else:
                acc += tl.dot(d.to(pw.dtype), pw)
        if HAS_BIAS:
            acc += tl.load(b_ptr + co, mask=co_ok, other=0.0).to(tl.float32)[None, :]
        if POST_RELU:
            acc = tl.maximum(acc, 0.0)
        out = out_ptr + n * son + co[None, :] * soc + oh[:, None] * soh + ow[:, None] * sow
        tl.store(out, acc.to(out_ptr.dtype.element_ty), mask=p_ok[:, None] & co_ok[None, :])


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def relu_dwpw(x, dw_weight, weight, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
              pre_relu=False, act=None, block_p: int = 32, block_c: int = 16, block_co: int = 32):
    """Run the fused kernel; the output has x's dtype and memory format (channels_last stays channels_last)."""
    if act not in (None, "relu"):
        # Silently dropping an activation would compute another function: refuse, the torch path runs it.
        raise ValueError(f"relu_dwpw: activation {act!r} is not fused by this kernel (only None or 'relu')")
    stride, padding, dilation = _pair(stride), _pair(padding), _pair(dilation)
    n, c, h, w = x.shape
    co = weight.shape[0]
    kh, kw = dw_weight.shape[-2:]
    oh = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (w + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    fmt = torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) and c > 1 else torch.contiguous_format
    out = torch.empty((n, co, oh, ow), device=x.device, dtype=x.dtype).contiguous(memory_format=fmt)
    dw = dw_weight.reshape(c, kh * kw).contiguous()
    pw = weight.reshape(co, c).contiguous()
    b = bias.contiguous() if bias is not None else pw  # any pointer; unused without HAS_BIAS
    grid = (n, triton.cdiv(oh * ow, block_p), triton.cdiv(co, block_co))
    _relu_dwpw_kernel[grid](x, dw, pw, b, out, c, h, w, co, oh, ow, *x.stride(), *out.stride(),
                            SH=stride[0], SW=stride[1], PH=padding[0], PW=padding[1], DH=dilation[0], DW=dilation[1],
                            KH=kh, KW=kw, PRE_RELU=pre_relu, POST_RELU=act == "relu", HAS_BIAS=bias is not None,
                            IEEE=x.dtype == torch.float32, BLOCK_P=block_p, BLOCK_C=block_c, BLOCK_CO=block_co)
    return out


def supports(attrs) -> bool:
    return attrs.get("act") in (None, "relu")  # relu6 (which fuse_conv_relu may fuse) stays on the torch path


register_kernel(KernelEntry("dwpw_conv", "cuda", (torch.float32, torch.float16, torch.bfloat16), relu_dwpw,
                            reference, "ReLU -> depthwise -> pointwise -> bias -> act in one kernel", supports))
