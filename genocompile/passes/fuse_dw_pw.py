"""Fuse a depthwise conv and the pointwise 1x1 conv that reads it into one `dwpw_conv` node.

Precondition: a verified graph, after `fold_bn`. Pattern: `conv_1x1(dw(x))` where `dw` has
groups == in == out channels, no bias and no activation, and the 1x1 conv (stride 1, no padding,
groups 1) is its only reader. Only targets that run the pair as one kernel ask for this pass
(`Target.fused_kernels` contains "dwpw"); on the CPU targets neither torch nor ONNX Runtime has such a
kernel, so there it would only hide structure. `genocompile.kernels` is where a GPU kernel registers.
"""
from __future__ import annotations

from genocompile.ir.graph import Graph


def _depthwise(graph: Graph, n) -> bool:
    a = n.attr
    c_in = graph.node(n.inputs[0]).shape[0]
    return n.kind == "conv" and a["groups"] == c_in == a["out_channels"] and not n.param("bias") and not a.get("act")


def _pointwise(n) -> bool:
    a = n.attr
    return (n.kind == "conv" and a["kernel"] == (1, 1) and a["stride"] == (1, 1) and a["padding"] == (0, 0)
            and a["groups"] == 1)


def fuse_dw_pw(graph: Graph) -> Graph:
    users = graph.users()
    nodes, drop = [], set()
    for n in graph.nodes:
        if _pointwise(n):
            dw = graph.node(n.inputs[0])
            if _depthwise(graph, dw) and users[dw.name] == [n.name]:
                a = dw.attr
                attrs = {"out_channels": n.attr["out_channels"], "kernel": a["kernel"], "stride": a["stride"],
                         "padding": a["padding"], "dilation": a["dilation"], "groups": a["groups"],
                         "act": n.attr.get("act")}
                params = (("dw_weight", dw.param("weight")),) + tuple(p for p in n.params)
                n = n.with_(kind="dwpw_conv", inputs=dw.inputs, attrs=attrs, params=tuple(sorted(params)))
                drop.add(dw.name)
        nodes.append(n)
    return graph.replace([n for n in nodes if n.name not in drop])
