"""Fuse `act(conv(x) + b)` into the conv (attr `act=relu|relu6`): one kernel on every target (ONNX Runtime's
FusedConv takes Relu and Clip, TensorRT fuses both, a torch conv followed by an in-register activation
under torch.compile / inductor).

Precondition: a verified graph, after `fold_bn` (so the conv already carries the BN as its bias). Only
when the conv (or linear / batchnorm / dwpw_conv) has no activation yet and the activation is its only
reader: otherwise the pre-activation value is still needed. ReLU6 (ProxylessNAS, MobileNetV2) fuses
like ReLU.
"""
from __future__ import annotations

from genocompile.ir.graph import Graph
from genocompile.ir.ops import ACTIVATIONS

FUSABLE = ("conv", "dwpw_conv", "linear", "batchnorm")


def fuse_conv_relu(graph: Graph) -> Graph:
    users = graph.users()
    fused: dict[str, str] = {}  # activation node name -> producer
    acts: dict[str, str] = {}  # producer -> the activation it takes over
    for n in graph.nodes:
        if n.kind in ACTIVATIONS:
            src = graph.node(n.inputs[0])
            if src.kind in FUSABLE and not src.attr.get("act") and users[src.name] == [n.name]:
                fused[n.name] = src.name
                acts[src.name] = n.kind
    nodes = [n.with_(attrs={**n.attr, "act": acts[n.name]}) if n.name in acts else n for n in graph.nodes]
    return graph.replace(nodes).rewire(fused, drop=set(fused))
