"""The same fvcore MultiAdds and parameter counts as `reference_costs` for DARTS networks, in milliseconds.

Why: searchers check a constraint on every candidate before evaluating it, and a random darts-cifar cell
rarely fits 250M MultiAdds, so hundreds are counted per feasible one, while fvcore traces a whole network
in ~1.5 s. A DARTS network's total is a sum over its blocks (stem, each cell's two preprocessing modules
and its ops, pooling, classifier), because the glue between them (node sums, concatenation) costs 0 in
fvcore's convention. Each distinct block (op, channels, stride, input shape) is counted with fvcore once,
on the very module the reference model builds (`get_op(op).reference`, `ReLUConvBN`, `FactorizedReduce`),
and cached; the walk below mirrors `genocompile.models.darts` (reductions at L//3 and 2L//3, channels
doubled there). fvcore counts a jit trace, which drops computations whose result nothing reads (a node
outside the concat that no live node reads, a preprocessing of a state no live node reads, even a whole
cell whose output no later live cell reads), so the walk counts live blocks only. A test checks the totals
equal fvcore's on whole networks of both skeletons, random cells included.

Other skeletons: `fast_costs` returns None and callers use `reference_costs`.
"""
from __future__ import annotations

from functools import lru_cache

import torch
from torch import nn

from genocompile.cost.counting import count_multiadds, count_params
from genocompile.genotype.network import darts_reduction_cells

SUPPORTED_SKELETONS = ("darts-cifar", "darts-imagenet")


def _conv_out(side: int, kernel: int, stride: int, padding: int) -> int:
    return (side + 2 * padding - kernel) // stride + 1


@lru_cache(maxsize=None)
def _counted(kind: str, c_in: int, c_out: int, stride: int, h: int, w: int) -> tuple[int, int]:
    """(MultiAdds, params) of one block on a (1, c_in, h, w) input, counted by fvcore once."""
    from genocompile.ops.darts_modules import FactorizedReduce, ReLUConvBN
    from genocompile.ops.table import get_op

    with torch.random.fork_rng(devices=[]):
        if kind == "factorized_reduce":
            module = FactorizedReduce(c_in, c_out)
        elif kind == "relu_conv_bn_1x1":
            module = ReLUConvBN(c_in, c_out, 1, 1, 0)
        elif kind == "classifier":
            module = nn.Linear(c_in, c_out)
            return count_multiadds(module, (1, c_in)).total, count_params(module)
        else:
            module = get_op(kind).reference(c_in, stride, True)
    return count_multiadds(module, (1, c_in, h, w)).total, count_params(module)


@lru_cache(maxsize=64)
def _stem(network) -> tuple[int, int, tuple[int, int, int], tuple[int, int, int], int]:
    """(MultiAdds, params, s0 shape, s1 shape, MultiAdds of imagenet's stem1) of the network's stem,
    counted on the reference model's own stem modules (built once per network settings on the meta device,
    then materialised)."""
    import genocompile.models  # noqa: F401
    from genocompile.genotype import CellGenotype
    from genocompile.models.registry import BUILDERS

    probe = CellGenotype(normal=[("skip_connect", 0), ("skip_connect", 1)], normal_concat=[2],
                         reduce=[("skip_connect", 0), ("skip_connect", 1)], reduce_concat=[2], network=network)
    with torch.device("meta"):
        model = BUILDERS[network.skeleton](probe)
    h, w = network.input_size
    c = network.init_channels
    if network.skeleton == "darts-cifar":
        stem = model.stem.to_empty(device="cpu")
        ma, params = count_multiadds(stem, (1, 3, h, w)).total, count_params(stem)
        return ma, params, (3 * c, h, w), (3 * c, h, w), 0
    stem0, stem1 = model.stem0.to_empty(device="cpu"), model.stem1.to_empty(device="cpu")
    h0, w0 = (_conv_out(_conv_out(s, 3, 2, 1), 3, 2, 1) for s in (h, w))
    h1, w1 = _conv_out(h0, 3, 2, 1), _conv_out(w0, 3, 2, 1)
    ma0, ma1 = count_multiadds(stem0, (1, 3, h, w)).total, count_multiadds(stem1, (1, c, h0, w0)).total
    return ma0, count_params(stem0) + count_params(stem1), (c, h0, w0), (c, h1, w1), ma1


def _reads(edges, concat) -> tuple[set[int], set[int]]:
    """(live nodes, cell inputs among {0, 1} they read) of one cell, following inputs back from the concat."""
    live, inputs = set(concat), set()
    for node in range(1 + len(edges) // 2, 1, -1):
        if node in live:
            for _, index in edges[2 * (node - 2):2 * (node - 2) + 2]:
                (live.add if index >= 2 else inputs.add)(index)
    return live, inputs


def _needed_cells(genotype, layers: int) -> list[bool]:
    """needed[i + 2]: whether output i is read by a live block; outputs -2 and -1 are the stem's (s0, s1)."""
    needed = [False] * (layers + 2)
    needed[-1] = True  # the last cell feeds the classifier
    for i in range(layers - 1, -1, -1):
        if needed[i + 2]:
            reduction = i in darts_reduction_cells(layers)
            _, inputs = _reads(*genotype.cell("reduce" if reduction else "normal"))
            needed[i] = needed[i] or 0 in inputs  # state 0 of cell i is output i - 2
            needed[i + 1] = needed[i + 1] or 1 in inputs  # state 1 is output i - 1
    return needed


def fast_costs(genotype) -> tuple[int, int] | None:
    """(fvcore MultiAdds at batch 1, params without the auxiliary head) of a cell genotype's reference
    network, or None when its skeleton is not a DARTS one (use `genocompile.cost.inspect.reference_costs`)."""
    net = genotype.network
    if getattr(genotype, "family", None) != "cell" or net.skeleton not in SUPPORTED_SKELETONS:
        return None
    needed = _needed_cells(genotype, net.layers)
    stem_ma, params, s0, s1, stem1_ma = _stem(net)
    total = stem_ma + (stem1_ma if needed[1] else 0)  # imagenet's stem1 output may be read by nothing
    c_curr = net.init_channels
    reduction_prev = net.skeleton == "darts-imagenet"
    for i in range(net.layers):
        reduction = i in darts_reduction_cells(net.layers)
        if reduction:
            c_curr *= 2
        h, w = s1[1:]
        pre0 = ("factorized_reduce", s0[0], c_curr, 2, *s0[1:]) if reduction_prev else \
            ("relu_conv_bn_1x1", s0[0], c_curr, 1, *s0[1:])
        pre1 = ("relu_conv_bn_1x1", s1[0], c_curr, 1, h, w)
        edges, concat = genotype.cell("reduce" if reduction else "normal")
        live, inputs = _reads(edges, concat)
        rh, rw = (_conv_out(h, 3, 2, 1), _conv_out(w, 3, 2, 1)) if reduction else (h, w)
        blocks = [(pre0, 0 in inputs), (pre1, 1 in inputs)]
        for j, (op, index) in enumerate(edges):
            stride = 2 if reduction and index < 2 else 1
            blocks.append(((op, c_curr, c_curr, stride, *((h, w) if index < 2 else (rh, rw))), 2 + j // 2 in live))
        for block, is_live in blocks:
            ma, p = _counted(*block)  # parameters exist whether or not the trace reads them
            total, params = total + (ma if is_live and needed[i + 2] else 0), params + p
        s0, s1 = s1, (len(concat) * c_curr, rh, rw)
        reduction_prev = reduction
    c_prev, h, w = s1
    if net.skeleton == "darts-imagenet":  # AvgPool2d(7): counted 0 by fvcore; flattens what is left
        features = c_prev * _conv_out(h, 7, 7, 0) * _conv_out(w, 7, 7, 0)
    else:  # AdaptiveAvgPool2d(1): fvcore counts one per input element
        total += c_prev * h * w
        features = c_prev
    ma, p = _counted("classifier", features, net.num_classes, 1, 1, 1)
    return total + ma, params + p
