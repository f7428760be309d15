"""Fuse `relu(conv(x) + b)` into the conv (attr `act=relu`): one kernel on every target (ONNX Runtime's
FusedConv, TensorRT, a torch conv followed by an in-register ReLU under torch.compile / inductor).

Precondition: a verified graph, after `fold_bn` (so the conv already carries the BN as its bias). Only
when the conv (or linear / batchnorm / dwpw_conv) has no activation yet and the ReLU is its only reader:
otherwise the pre-activation value is still needed.
"""
from __future__ import annotations

from genocompile.ir.graph import Graph

FUSABLE = ("conv", "dwpw_conv", "linear", "batchnorm")


def fuse_conv_relu(graph: Graph) -> Graph:
    users = graph.users()
    fused: dict[str, str] = {}  # relu name -> producer
    for n in graph.nodes:
        if n.kind == "relu":
            src = graph.node(n.inputs[0])
            if src.kind in FUSABLE and not src.attr.get("act") and users[src.name] == [n.name]:
                fused[n.name] = src.name
    producers = set(fused.values())
    nodes = [n.with_(attrs={**n.attr, "act": "relu"}) if n.name in producers else n for n in graph.nodes]
    return graph.replace(nodes).rewire(fused, drop=set(fused))
