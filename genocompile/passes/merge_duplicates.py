"""Merge duplicate parameter-free nodes: equal kind, attributes and inputs compute the same tensor.

Precondition: a verified graph. This is where the duplicate ReLUs go: every DARTS op on a cell state
starts with its own `ReLU(state)` (and a cell output feeds the next two cells' preprocess, each with a
ReLU), so one ReLU per tensor remains; it also merges the repeated `max_pool_3x3` of a reduction cell on
the same input. Only `pure` op kinds (no weights) are merged. `add` is commutative in IEEE arithmetic,
so its inputs are compared as a multiset; everything else in order.
"""
from __future__ import annotations

from genocompile.ir.graph import Graph
from genocompile.ir.ops import get_ir_op


def merge_duplicates(graph: Graph) -> Graph:
    seen: dict[tuple, str] = {}
    mapping: dict[str, str] = {}
    nodes = []
    for n in graph.nodes:
        n = n.with_(inputs=tuple(mapping.get(i, i) for i in n.inputs))
        if get_ir_op(n.kind).pure:
            inputs = tuple(sorted(n.inputs)) if n.kind == "add" else n.inputs
            key = (n.kind, inputs, n.attrs)
            if key in seen:
                mapping[n.name] = seen[key]
                continue
            seen[key] = n.name
        nodes.append(n)
    return graph.replace(nodes).rewire(mapping)
