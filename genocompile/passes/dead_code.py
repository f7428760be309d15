"""Remove nodes nothing reads (no path to an output), and the weights only they read.

Precondition: a verified graph. Graph inputs are kept even when unread, so the signature stays.
"""
from __future__ import annotations

from genocompile.ir.graph import Graph


def dead_code(graph: Graph) -> Graph:
    live, todo = set(), list(graph.outputs)
    while todo:
        name = todo.pop()
        if name not in live:
            live.add(name)
            todo.extend(graph.node(name).inputs)
    return graph.replace([n for n in graph.nodes if n.name in live or n.kind == "input"])
