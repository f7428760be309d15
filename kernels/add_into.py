"""A cell node's `op(a) + op(b)` written straight into its channel slice of the cell's concat output.

A DARTS cell ends with concat(node_2 .. node_5); each node is a sum of two op outputs. Unfused that is one
add kernel per node writing a temporary, then a concat kernel copying every temporary again. With the
concat buffer allocated once, each node's sum lands in `out[:, offset:offset + C]` directly: one read of
each operand, one write, no copy.
"""
from __future__ import annotations

import torch

from genocompile.kernels.registry import KernelEntry, register_kernel

try:
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover
    triton = None


def reference(a, b, out, offset):
    out[:, offset:offset + a.shape[1]] = a + b
    return out


if triton is not None:
    @triton.jit
    def _add_into_kernel(a_ptr, b_ptr, out_ptr, total, C, H, W, offset,
                         san, sac, sah, saw, sbn, sbc, sbh, sbw, son, soc, soh, sow, BLOCK: tl.constexpr):
        i = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        ok = i < total
        # Walk (n, h, w, c) with c fastest: contiguous for channels_last operands, the GPU layout.
        c = i % C
        w = (i // C) % W
        h = (i // (C * W)) % H
        n = i // (C * W * H)
        a = tl.load(a_ptr + n * san + c * sac + h * sah + w * saw, mask=ok)
        b = tl.load(b_ptr + n * sbn + c * sbc + h * sbh + w * sbw, mask=ok)
        tl.store(out_ptr + n * son + (c + offset) * soc + h * soh + w * sow, a + b, mask=ok)


def add_into(a, b, out, offset, block: int = 1024):
    """out[:, offset:offset + C] = a + b (in place; returns out)."""
    n, c, h, w = a.shape
    if b.shape != a.shape or out.shape[0] != n or out.shape[2:] != a.shape[2:] or offset + c > out.shape[1]:
        raise ValueError(f"add_into: operands {tuple(a.shape)} / {tuple(b.shape)} do not fit channels "
                         f"[{offset}, {offset + c}) of {tuple(out.shape)}")
    total = a.numel()
    _add_into_kernel[(triton.cdiv(total, block),)](a, b, out, total, c, h, w, offset, *a.stride(), *b.stride(),
                                                  *out.stride(), BLOCK=block)
    return out


register_kernel(KernelEntry("add_into", "cuda", (torch.float32, torch.float16, torch.bfloat16), add_into,
                            reference, "a + b written into a channel slice of the concat output"))
