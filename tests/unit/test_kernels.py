"""Every Triton kernel equals its torch reference on awkward shapes. Without a GPU the kernels run in
Triton's CPU interpreter (TRITON_INTERPRET=1, set here before the kernels are defined), so CI checks them;
on a GPU machine the same tests run them compiled."""
import os

import pytest
import torch

if not torch.cuda.is_available():
    # Before triton's first import: triton.language decides at import whether its helpers are interpreted.
    os.environ["TRITON_INTERPRET"] = "1"
triton = pytest.importorskip("triton", reason="triton is not installed (pip install -e .[kernels])")

from genocompile.kernels import add_into, dwpw  # noqa: E402  (after TRITON_INTERPRET)
from genocompile.kernels.registry import KERNELS, find_kernel  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
TOL = {torch.float32: 1e-5, torch.float16: 1e-2, torch.bfloat16: 5e-2}  # max abs err / max |ref|


def _rel(out, ref):
    return float((out.float() - ref.float()).abs().max() / ref.float().abs().max().clamp_min(1e-12))


@pytest.mark.parametrize("c,co,h,w,k,stride,dilation", [
    (5, 7, 9, 11, 3, 1, 1),     # nothing a power of two
    (16, 16, 8, 8, 5, 2, 1),    # sep_conv_5x5 on a reduction edge
    (19, 33, 7, 6, 3, 1, 2),    # dil_conv_3x3, more channels than one block
    (3, 4, 5, 5, 5, 2, 2),      # dil_conv_5x5, stride 2, tiny
])
@pytest.mark.parametrize("channels_last", [False, True])
def test_dwpw_equals_its_reference(c, co, h, w, k, stride, dilation, channels_last):
    gen = torch.Generator().manual_seed(c * 100 + co)
    x = torch.randn(2, c, h, w, generator=gen)
    dw, pw, b = torch.randn(c, 1, k, k, generator=gen), torch.randn(co, c, 1, 1, generator=gen), torch.randn(co, generator=gen)
    pad = dilation * (k - 1) // 2
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    args = dict(stride=(stride, stride), padding=(pad, pad), dilation=(dilation, dilation), pre_relu=True, act="relu")
    x, dw, pw, b = (t.to(DEVICE) for t in (x, dw, pw, b))
    out = dwpw.relu_dwpw(x, dw, pw, b, **args)
    ref = dwpw.reference(x, dw, pw, b, **args)
    assert out.shape == ref.shape and _rel(out, ref) < TOL[torch.float32]
    assert out.is_contiguous(memory_format=torch.channels_last) == channels_last
    plain = dwpw.relu_dwpw(x, dw, pw, None, stride=(stride, stride), padding=(pad, pad), dilation=(dilation, dilation))
    assert _rel(plain, dwpw.reference(x, dw, pw, None, stride, (pad, pad), dilation)) < TOL[torch.float32]


@pytest.mark.parametrize("dtype", [torch.float16, pytest.param(torch.bfloat16, marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="Triton's CPU interpreter computes in numpy, which has no bfloat16 "
                                          "(garbage out); bf16 is checked on a GPU"))])
def test_dwpw_reduced_precision_within_tolerance(dtype):
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(1, 24, 10, 10, generator=gen).contiguous(memory_format=torch.channels_last)
    dw, pw, b = torch.randn(24, 1, 3, 3, generator=gen), torch.randn(40, 24, 1, 1, generator=gen), torch.randn(40, generator=gen)
    ref = dwpw.reference(x, dw, pw, b, padding=(1, 1), pre_relu=True)
    args = [t.to(DEVICE, dtype) for t in (x, dw, pw, b)]
    out = dwpw.relu_dwpw(*args, padding=(1, 1), pre_relu=True)
    assert out.dtype == dtype and _rel(out.cpu(), ref) < TOL[dtype]


@pytest.mark.parametrize("channels_last", [False, True])
def test_add_into_writes_only_its_slice(channels_last):
    gen = torch.Generator().manual_seed(3)
    a, b = torch.randn(2, 7, 5, 3, generator=gen), torch.randn(2, 7, 5, 3, generator=gen)
    out = torch.randn(2, 20, 5, 3, generator=gen)
    if channels_last:
        a, out = a.contiguous(memory_format=torch.channels_last), out.contiguous(memory_format=torch.channels_last)
    a, b, out = a.to(DEVICE), b.to(DEVICE), out.to(DEVICE)
    expected = add_into.reference(a, b, out.clone(), 6)
    assert torch.equal(add_into.add_into(a, b, out, 6), expected)
    with pytest.raises(ValueError, match="do not fit channels"):
        add_into.add_into(a, b, out, 15)


def test_registry_answers_only_where_the_kernel_can_run():
    assert {("dwpw_conv", "cuda"), ("add_into", "cuda")} <= set(KERNELS)
    assert find_kernel("dwpw_conv", DEVICE, torch.float16) is KERNELS[("dwpw_conv", "cuda")]
    assert find_kernel("dwpw_conv", DEVICE, torch.int8) is None and find_kernel("no_such", DEVICE, torch.float32) is None
    # A node the kernel would compute wrongly is refused: fuse_conv_relu can put relu6 on a dwpw_conv node.
    assert find_kernel("dwpw_conv", DEVICE, torch.float32, {"act": "relu"}) is not None
    assert find_kernel("dwpw_conv", DEVICE, torch.float32, {"act": "relu6"}) is None
    for entry in KERNELS.values():
        assert entry.reference is not None and entry.doc


def test_dwpw_refuses_an_activation_it_does_not_fuse():
    x = torch.randn(1, 4, 5, 5, device=DEVICE)
    with pytest.raises(ValueError, match="'relu6' is not fused"):
        dwpw.relu_dwpw(x, torch.randn(4, 1, 3, 3, device=DEVICE), torch.randn(4, 4, 1, 1, device=DEVICE), act="relu6")
