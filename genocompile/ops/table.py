"""The op table: every op a genotype may name, registered once.

An entry holds the op's reference constructor, what kind of op it is, and which constructor
signature it follows (`SIGNATURES`: the quark0/darts `(C, stride, affine)` for cell ops; families
whose ops change channel counts register under their own signature), and its IR lowering
(`lower(b, x, C, stride, prefix) -> value` for the cell signature, see `genocompile.ir.lower`): the
reference module and its lowering are registered together, once, so they cannot drift apart (tests
check every op has both and that they agree numerically). Cost rules key their own per-op rules by
the same names. Search spaces are *op sets*: named lists of names, each validated against this table.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from torch import nn

from genocompile.errors import GenotypeError
from genocompile.ops import autodeeplab_lowering as adl_lw
from genocompile.ops import autodeeplab_modules as adl
from genocompile.ops import darts_lowering as lw
from genocompile.ops import darts_modules as m


# What `OpSpec.reference` takes and returns, per signature. A family whose ops do not fit the DARTS
# signature adds one here instead of keeping a second table.
SIGNATURES: dict[str, str] = {
    "cell": "reference(C, stride, affine) -> module mapping C channels to C channels, spatial size / stride",
}


@dataclass(frozen=True)
class OpSpec:
    name: str
    kind: str  # "zero" | "pool" | "identity" | "conv" | "block" | ...
    reference: Callable[..., nn.Module]  # its arguments are fixed by `signature`
    doc: str
    signature: str = "cell"  # a key of SIGNATURES
    lower: Optional[Callable[..., str]] = None  # cell signature: (GraphBuilder, x, C, stride, state_dict prefix) -> value


OPS: dict[str, OpSpec] = {}


def register_signature(name: str, doc: str) -> None:
    if name in SIGNATURES:
        raise RuntimeError(f"op signature {name!r} registered twice")
    SIGNATURES[name] = doc


def register_op(name: str, kind: str, doc: str, signature: str = "cell", lower: Optional[Callable[..., str]] = None):
    """Decorator: register `fn` as the reference constructor for op `name`; `fn` takes the arguments
    of `signature` (default: the DARTS `(C, stride, affine)`). `lower` appends the same computation to
    a GraphBuilder (the IR lowering)."""
    if signature not in SIGNATURES:
        raise RuntimeError(f"op {name!r}: unknown signature {signature!r}; register it with register_signature")

    def wrap(fn: Callable[..., nn.Module]):
        if name in OPS:
            raise RuntimeError(f"op {name!r} registered twice")
        OPS[name] = OpSpec(name=name, kind=kind, reference=fn, doc=doc, signature=signature, lower=lower)
        return fn

    return wrap


def get_op(name: str) -> OpSpec:
    try:
        return OPS[name]
    except KeyError:
        raise GenotypeError(f"unknown op {name!r}; known: {', '.join(sorted(OPS))}") from None


def with_signature(names: tuple[str, ...], signature: str) -> tuple[str, ...]:
    """An op set (see `op_set`) checked to hold only ops built with `signature`'s constructor."""
    for name in names:
        if get_op(name).signature != signature:
            raise GenotypeError(f"op {name!r} has signature {get_op(name).signature!r}, not {signature!r}")
    return names


# --- the DARTS op set (quark0/darts `OPS`) ----------------------------------------------------
register_op("none", "zero", "no connection: zeros (strided on reduction edges)", lower=lw.zero)(
    lambda C, stride, affine: m.Zero(stride))
register_op("avg_pool_3x3", "pool", "3x3 average pool, padding 1, count_include_pad=False",
            lower=lw.pool("avg_pool", count_include_pad=False))(
    lambda C, stride, affine: nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False))
register_op("max_pool_3x3", "pool", "3x3 max pool, padding 1", lower=lw.pool("max_pool"))(
    lambda C, stride, affine: nn.MaxPool2d(3, stride=stride, padding=1))
register_op("skip_connect", "identity", "identity; FactorizedReduce on stride-2 edges", lower=lw.skip_connect)(
    lambda C, stride, affine: m.Identity() if stride == 1 else m.FactorizedReduce(C, C, affine=affine))
register_op("sep_conv_3x3", "conv", "separable 3x3, applied twice", lower=lw.sep_conv(3, 1))(
    lambda C, stride, affine: m.SepConv(C, C, 3, stride, 1, affine))
register_op("sep_conv_5x5", "conv", "separable 5x5, applied twice", lower=lw.sep_conv(5, 2))(
    lambda C, stride, affine: m.SepConv(C, C, 5, stride, 2, affine))
register_op("sep_conv_7x7", "conv", "separable 7x7, applied twice", lower=lw.sep_conv(7, 3))(
    lambda C, stride, affine: m.SepConv(C, C, 7, stride, 3, affine))
register_op("dil_conv_3x3", "conv", "dilated (2) separable 3x3", lower=lw.dil_conv(3, 2, 2))(
    lambda C, stride, affine: m.DilConv(C, C, 3, stride, 2, 2, affine))
register_op("dil_conv_5x5", "conv", "dilated (2) separable 5x5", lower=lw.dil_conv(5, 4, 2))(
    lambda C, stride, affine: m.DilConv(C, C, 5, stride, 4, 2, affine))
register_op("conv_7x1_1x7", "conv", "1x7 then 7x1 conv", lower=lw.conv_7x1_1x7)(
    lambda C, stride, affine: m.conv_7x1_1x7(C, stride, affine))


# --- the Auto-DeepLab op set (tensorflow/models research/deeplab/core/nas_cell.py) -----------
# New names where TF's semantics differ from the DARTS op of the same kind (see autodeeplab_modules);
# `none`, `max_pool_3x3` and `avg_pool_3x3` are shared: at stride 1 they equal TF's ops exactly.
register_op("separable_3x3_2", "conv", "TF separable_3x3_2: two (ReLU, depthwise 3x3, pointwise, BN eps 1e-3)",
            lower=lw.sep_conv(3, 1, adl.BN_EPS))(
    lambda C, stride, affine: m.SepConv(C, C, 3, stride, 1, affine, eps=adl.BN_EPS))
register_op("separable_5x5_2", "conv", "TF separable_5x5_2: two (ReLU, depthwise 5x5, pointwise, BN eps 1e-3)",
            lower=lw.sep_conv(5, 2, adl.BN_EPS))(
    lambda C, stride, affine: m.SepConv(C, C, 5, stride, 2, affine, eps=adl.BN_EPS))
register_op("atrous_3x3", "conv", "TF atrous_3x3: ReLU, full 3x3 conv rate 2, BN; stride 2: bilinear /2, rate 1",
            lower=adl_lw.atrous_conv(3))(
    lambda C, stride, affine: adl.AtrousConv(C, 3, stride, affine))
register_op("atrous_5x5", "conv", "TF atrous_5x5: ReLU, full 5x5 conv rate 2, BN; stride 2: bilinear /2, rate 1",
            lower=adl_lw.atrous_conv(5))(
    lambda C, stride, affine: adl.AtrousConv(C, 5, stride, affine))
register_op("identity", "identity", "skip (TF NAS 'none'): identity; ReLU, 1x1 conv/2, BN on stride-2 edges",
            lower=adl_lw.identity)(
    lambda C, stride, affine: m.Identity() if stride == 1 else m.ReLUConvBN(C, C, 1, stride, 0, affine, eps=adl.BN_EPS))


def op_set(*names: str) -> tuple[str, ...]:
    """A search space's op list, validated against the table so it cannot drift from it."""
    for name in names:
        get_op(name)
    return tuple(names)


# Ops a `cell`-family genotype may name (everything the DARTS evaluation code can build).
CELL_OPS = op_set("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
                  "sep_conv_7x7", "dil_conv_3x3", "dil_conv_5x5", "conv_7x1_1x7")
# DARTS' search space (quark0/darts `genotypes.PRIMITIVES`).
DARTS_SEARCH_OPS = op_set("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
                          "dil_conv_3x3", "dil_conv_5x5")
# Auto-DeepLab's search space (paper section 3.1; TF names where TF has the op): ops a `hierarchical` cell may name.
AUTODEEPLAB_OPS = op_set("none", "max_pool_3x3", "avg_pool_3x3", "identity", "separable_3x3_2", "separable_5x5_2",
                         "atrous_3x3", "atrous_5x5")
