"""Skeleton lowerings of the DARTS evaluation networks, mirroring `genocompile.models.darts` module by
module (stem, cells with their preprocess and ops, pooling, classifier), with the same state_dict keys."""
from __future__ import annotations

from genocompile.genotype.network import darts_reduction_cells
from genocompile.ir.graph import GraphBuilder
from genocompile.ir.lower import lower_op, register_skeleton_lowering
from genocompile.ops.darts_lowering import factorized_reduce, relu_conv_bn


def _cell(b: GraphBuilder, genotype, i: int, s0: str, s1: str, c: int, reduction: bool, reduction_prev: bool) -> str:
    prefix = f"cells.{i}"
    if reduction_prev:
        p0 = factorized_reduce(b, s0, b.shape(s0)[0], c, f"{prefix}.preprocess0")
    else:
        p0 = relu_conv_bn(b, s0, c, 1, 1, 0, f"{prefix}.preprocess0")
    p1 = relu_conv_bn(b, s1, c, 1, 1, 0, f"{prefix}.preprocess1")
    states = [p0, p1]
    edges, concat = genotype.cell("reduce" if reduction else "normal")
    for node in range(len(edges) // 2):
        hs = []
        for j in (2 * node, 2 * node + 1):
            op, index = edges[j]
            stride = 2 if reduction and index < 2 else 1
            hs.append(lower_op(b, op, states[index], c, stride, f"{prefix}._ops.{j}"))
        states.append(b.add("add", hs, name=f"{prefix}.node{node + 2}"))
    return b.add("concat", [states[k] for k in concat], name=f"{prefix}.out")


def _cells(b: GraphBuilder, genotype, s0: str, s1: str, reduction_prev: bool) -> str:
    net = genotype.network
    c = net.init_channels
    for i in range(net.layers):
        reduction = i in darts_reduction_cells(net.layers)
        if reduction:
            c *= 2
        s0, s1 = s1, _cell(b, genotype, i, s0, s1, c, reduction, reduction_prev)
        reduction_prev = reduction
    return s1


def _classifier(b: GraphBuilder, x: str, num_classes: int) -> str:
    flat = b.add("flatten", [x], name="flatten")
    return b.add("linear", [flat], {"out_features": num_classes},
                 {"weight": "classifier.weight", "bias": "classifier.bias"}, name="classifier")


@register_skeleton_lowering("darts-cifar")
def lower_darts_cifar(genotype, b: GraphBuilder) -> str:
    net = genotype.network
    x = b.add("input", [], {"shape": (3, *net.input_size)}, name="input")
    stem = b.batchnorm(b.conv(x, 3 * net.init_channels, 3, 1, 1, weight="stem.0.weight"), "stem.1")
    out = _cells(b, genotype, stem, stem, False)
    pooled = b.add("global_avg_pool", [out], name="global_pooling")
    return _classifier(b, pooled, net.num_classes)


@register_skeleton_lowering("darts-imagenet")
def lower_darts_imagenet(genotype, b: GraphBuilder) -> str:
    net = genotype.network
    c = net.init_channels
    x = b.add("input", [], {"shape": (3, *net.input_size)}, name="input")
    h = b.batchnorm(b.conv(x, c // 2, 3, 2, 1, weight="stem0.0.weight"), "stem0.1")
    h = b.add("relu", [h], name="stem0.2")
    s0 = b.batchnorm(b.conv(h, c, 3, 2, 1, weight="stem0.3.weight"), "stem0.4")
    h = b.add("relu", [s0], name="stem1.0")
    s1 = b.batchnorm(b.conv(h, c, 3, 2, 1, weight="stem1.1.weight"), "stem1.2")
    out = _cells(b, genotype, s0, s1, True)
    pooled = b.add("avg_pool", [out], {"kernel": (7, 7), "stride": (7, 7), "padding": (0, 0),
                                       "count_include_pad": True}, name="global_pooling")
    return _classifier(b, pooled, net.num_classes)
