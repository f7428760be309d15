"""Fold eval-mode BatchNorm into the convolution(s) that produce its input.

Precondition: a verified graph with weights attached. Two patterns, each only when every conv involved
has no fused activation and no reader but the BN (or the concat) — otherwise the pre-BN value is
still needed and the BN stays:

- `bn(conv(x))` -> `conv'(x)`: w' = w * g / sqrt(var + eps), b' = (b - mean) * g / sqrt(var + eps) + beta
  (torch.nn.utils.fusion.fuse_conv_bn_weights, computed in float64, stored as float32);
- `bn(concat(conv_1(x), ..., conv_k(y)))` -> `concat(conv_1', ..., conv_k')` (FactorizedReduce): BN is
  per channel, so channel range [c0, c1) of the BN folds into the conv that produced those channels.

New tensors are named `<conv weight key>|bn:<bn node>` so their origin stays readable.
"""
from __future__ import annotations

from torch.nn.utils.fusion import fuse_conv_bn_weights

from genocompile.ir.graph import Graph, Node


def _foldable(graph: Graph, users: dict[str, list[str]], name: str, reader: str) -> bool:
    n = graph.node(name)
    return n.kind == "conv" and not n.attr.get("act") and users[name] == [reader]


def _fold(graph: Graph, conv: Node, bn: Node, lo: int, hi: int, weights: dict) -> Node:
    w = graph.weights
    conv_w = w[conv.param("weight")].double()
    conv_b = w[conv.param("bias")].double() if conv.param("bias") else None
    stats = {r: w[bn.param(r)][lo:hi].double() if bn.param(r) else None
             for r in ("running_mean", "running_var", "weight", "bias")}
    new_w, new_b = fuse_conv_bn_weights(conv_w, conv_b, stats["running_mean"], stats["running_var"],
                                        bn.attr["eps"], stats["weight"], stats["bias"])
    wkey, bkey = f"{conv.param('weight')}|bn:{bn.name}", f"{conv.param('weight').rsplit('.', 1)[0]}.bias|bn:{bn.name}"
    weights[wkey] = new_w.detach().float()
    weights[bkey] = new_b.detach().float()
    return conv.with_(params=(("bias", bkey), ("weight", wkey)))


def fold_bn(graph: Graph) -> Graph:
    users = graph.users()
    weights = dict(graph.weights)
    replaced: dict[str, Node] = {}  # conv name -> folded conv
    mapping: dict[str, str] = {}  # bn name -> the value that now carries its result
    for bn in (n for n in graph.nodes if n.kind == "batchnorm"):
        src = graph.node(bn.inputs[0])
        if _foldable(graph, users, src.name, bn.name):
            replaced[src.name] = _fold(graph, src, bn, 0, bn.shape[0], weights)
            mapping[bn.name] = src.name
        elif src.kind == "concat" and users[src.name] == [bn.name] and \
                all(_foldable(graph, users, i, src.name) for i in src.inputs) and len(set(src.inputs)) == len(src.inputs):
            lo = 0
            for i in src.inputs:
                conv = graph.node(i)
                hi = lo + conv.shape[0]
                replaced[i] = _fold(graph, conv, bn, lo, hi, weights)
                lo = hi
            mapping[bn.name] = src.name
    nodes = [replaced.get(n.name, n) for n in graph.nodes]
    return graph.replace(nodes, weights=weights).rewire(mapping, drop=set(mapping))
