"""Prune the `none` op: `add(x, zero(y))` -> `x`.

Precondition: a verified graph. The `zero` node computes `y[:, :, ::s, ::s] * 0`, which equals 0 for
every finite `y`; we assume finite activations (a NaN or Inf input would give NaN there and is not
preserved: ONNX/PyTorch NaN semantics are irrelevant for the finite inputs a deployed model sees).
An add whose inputs are all zeros becomes one of those zeros; zeros that feed anything else (a concat)
stay. The zero nodes left unread are removed by `dead_code`.
"""
from __future__ import annotations

from genocompile.ir.graph import Graph


def prune_zero(graph: Graph) -> Graph:
    zeros = {n.name for n in graph.nodes if n.kind == "zero"}
    mapping: dict[str, str] = {}
    nodes = []
    for n in graph.nodes:
        if n.kind == "add" and zeros.intersection(n.inputs):
            kept = [i for i in n.inputs if i not in zeros]
            if len(kept) <= 1:  # x + 0 -> x ; 0 + 0 -> 0
                mapping[n.name] = kept[0] if kept else n.inputs[0]
                continue
            n = n.with_(inputs=tuple(kept))
        nodes.append(n)
    return graph.replace(nodes).rewire(mapping)
