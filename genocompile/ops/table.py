"""The op table: every op a genotype may name, registered once.

An entry holds the op's reference constructor (the quark0/darts signature `(C, stride, affine)`),
what kind of op it is, and its IR lowering (`lower(b, x, C, stride, prefix) -> value`, see
`genocompile.ir.lower`): the reference module and its lowering are registered together, once, so they
cannot drift apart (tests check every op has both and that they agree numerically). Cost rules key
their own per-op rules by the same names.
Search spaces are *op sets*: named lists of names, each validated against this table at import.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from torch import nn

from genocompile.errors import GenotypeError
from genocompile.ops import darts_lowering as lw
from genocompile.ops import darts_modules as m


@dataclass(frozen=True)
class OpSpec:
    name: str
    kind: str  # "zero" | "pool" | "identity" | "conv"
    reference: Callable[[int, int, bool], nn.Module]
    doc: str
    lower: Optional[Callable[..., str]] = None  # (GraphBuilder, x, C, stride, state_dict prefix) -> value


OPS: dict[str, OpSpec] = {}


def register_op(name: str, kind: str, doc: str, lower: Optional[Callable[..., str]] = None):
    """Decorator: register `fn(C, stride, affine) -> nn.Module` as the reference for op `name`, and `lower`
    (same geometry, appended to a GraphBuilder) as its IR lowering."""

    def wrap(fn: Callable[[int, int, bool], nn.Module]):
        if name in OPS:
            raise RuntimeError(f"op {name!r} registered twice")
        OPS[name] = OpSpec(name=name, kind=kind, reference=fn, doc=doc, lower=lower)
        return fn

    return wrap


def get_op(name: str) -> OpSpec:
    try:
        return OPS[name]
    except KeyError:
        raise GenotypeError(f"unknown op {name!r}; known: {', '.join(sorted(OPS))}") from None


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
