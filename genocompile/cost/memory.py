"""Peak activation memory of a graph, from the IR's shapes, by a liveness walk.

The nodes run in the graph's (topological) order. A value is allocated when its node runs and freed after
its last reader has run (graph outputs stay to the end). While a node runs, its inputs and its output are
all live, so the peak is the largest sum of live values at any node. Every node's output counts as a new
buffer (views such as flatten or slice are counted as copies: an upper bound), the network input included;
weights are not activations and are left out.
"""
from __future__ import annotations

from math import prod

from genocompile.ir.graph import Graph

DTYPE_BYTES = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}


def peak_activation_bytes(graph: Graph, batch: int = 1, bytes_per_element: int = 4) -> int:
    last_use: dict[str, int] = {}
    for i, n in enumerate(graph.nodes):
        for value in n.inputs:
            last_use[value] = i
    for value in graph.outputs:
        last_use[value] = len(graph.nodes)  # outputs live until the end
    size = {n.name: batch * prod(n.shape) * bytes_per_element for n in graph.nodes}
    live = peak = 0
    for i, n in enumerate(graph.nodes):
        live += size[n.name]
        peak = max(peak, live)
        if n.name not in last_use:  # nobody reads it: freed at once
            live -= size[n.name]
        for value in set(n.inputs):
            if last_use[value] == i:
                live -= size[value]
    return peak


_CACHE: dict[tuple[str, int], int] = {}


def deploy_activation_bytes(genotype, batch: int = 1) -> int:
    """Peak activation bytes (fp32) of the genotype's compiled deploy network (default passes), cached by hash."""
    from genocompile.cost.blocks import random_weights
    from genocompile.genotype import genotype_hash
    from genocompile.ir.lower import lower_structure
    from genocompile.passes import optimize

    key = (genotype_hash(genotype), batch)
    if key not in _CACHE:
        _CACHE[key] = peak_activation_bytes(optimize(random_weights(lower_structure(genotype))), batch)
    return _CACHE[key]
