"""The reference interpreter: run a graph node by node with each op's registered torch meaning.

Slow and simple on purpose: it is what every pass is checked against (graph before vs after a pass
must agree on it), independent of any emitter.
"""
from __future__ import annotations

import torch

from typing import Callable

from genocompile.ir.graph import Graph
from genocompile.ir.ops import get_ir_op


@torch.no_grad()
def interpret(graph: Graph, *inputs: torch.Tensor,
              observe: Callable[[str, torch.Tensor], None] | None = None) -> torch.Tensor | tuple[torch.Tensor, ...]:
    """Run the graph on `inputs`; `observe(value name, tensor)` sees every value (calibration uses it)."""
    values: dict[str, torch.Tensor] = {}
    feed = iter(inputs)
    for n in graph.nodes:
        op = get_ir_op(n.kind)
        ins = [next(feed)] if n.kind == "input" else [values[i] for i in n.inputs]
        params = {role: graph.weights[key].to(ins[0].dtype) for role, key in n.params}
        values[n.name] = op.torch(ins, params, n.attr)
        if observe is not None:
            observe(n.name, values[n.name])
    outs = tuple(values[o] for o in graph.outputs)
    return outs[0] if len(outs) == 1 else outs
