"""Lowering: genotype -> graph IR, by registration.

Two registries meet here:

- per **op** (a genotype op name such as `sep_conv_3x3`): `OpSpec.lower` in `genocompile.ops.table`,
  registered once beside the op's reference constructor. Its arguments follow the op's signature
  (`OpSpec.signature`): `cell`: `lower(b: GraphBuilder, x: str, C: int, stride: int, prefix: str)`;
  `chain`: `lower(b, x, c_in, c_out, stride, mid_scale, prefix)`; `decoder`: `lower(b, x, C, repeats,
  prefix)` (the reference constructor's arguments, the builder and input first, the prefix last) — append
  the nodes computing the op on value `x` and return the output value. `prefix` is the reference
  module's state_dict prefix (e.g. `cells.3._ops.2`): weight keys are `prefix + <the reference module's
  own key>`, so trained weights attach by name.
- per **skeleton** (`darts-cifar`, ...): `@register_skeleton_lowering(name)` on
  `fn(genotype, b: GraphBuilder) -> str` (the output value), mirroring the reference builder of the
  same name (`genocompile.models.register_builder`). A test checks both registries cover every
  skeleton and every op.

A new family (hierarchical, chain, decoder) registers its ops (with `lower=`), its IR op kinds if it
needs new ones (`genocompile.ir.ops.register_ir_op`), and one skeleton lowering. Nothing else changes.
"""
from __future__ import annotations

from typing import Callable, Mapping

import torch

from genocompile.errors import GenotypeError
from genocompile.ir.graph import Graph, GraphBuilder, verify
from genocompile.registry import Registry

SKELETON_LOWERINGS: Registry[Callable] = Registry("skeleton lowering", GenotypeError)


def register_skeleton_lowering(skeleton: str):
    return SKELETON_LOWERINGS.decorator(skeleton)


def lower_op(b: GraphBuilder, op_name: str, x: str, *args) -> str:
    """Lower one genotype op through its op-table entry; `args` follow its signature, the prefix last
    (cell ops: `C, stride, prefix`)."""
    from genocompile.ops.table import get_op

    spec = get_op(op_name)
    if spec.lower is None:
        raise GenotypeError(f"op {op_name!r} has no IR lowering; register one with register_op(..., lower=...)")
    return spec.lower(b, x, *args)


def lower_structure(genotype) -> Graph:
    """The graph of a genotype's network, without weights (the structure alone: for dumps and costs)."""
    # Every family's skeleton lowerings are registered by the package import (genocompile/ir/__init__.py),
    # which runs before this module can be imported.
    lowering = SKELETON_LOWERINGS.get_or_raise(genotype.network.skeleton, " (register one with "
                                               "@register_skeleton_lowering)")
    b = GraphBuilder(genotype.name)
    out = lowering(genotype, b)
    return verify(b.build([out]))


def attach_weights(graph: Graph, state_dict: Mapping[str, torch.Tensor]) -> Graph:
    """The same graph reading its tensors from `state_dict` (by the keys the nodes remember), fp32, detached."""
    keys = {key for n in graph.nodes for _, key in n.params}
    missing = sorted(keys - set(state_dict))
    if missing:
        raise GenotypeError(f"weights lack {len(missing)} tensor(s) the graph reads, e.g. {missing[0]!r}")
    weights = {k: state_dict[k].detach().to("cpu", torch.float32).clone() for k in keys}
    return verify(graph.replace(weights=weights))


def lower(genotype, state_dict: Mapping[str, torch.Tensor]) -> Graph:
    """Genotype + the reference model's state_dict -> a verified graph with weights attached."""
    return attach_weights(lower_structure(genotype), state_dict)
