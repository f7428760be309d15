"""Fold identity nodes: every read of `identity(x)` becomes a read of `x`.

Precondition: a verified graph. (`skip_connect` on a stride-1 edge lowers to `identity`.)
"""
from __future__ import annotations

from genocompile.ir.graph import Graph


def fold_identity(graph: Graph) -> Graph:
    mapping = {n.name: n.inputs[0] for n in graph.nodes if n.kind == "identity"}
    return graph.rewire(mapping, drop=set(mapping))
