"""Fast forward of a search cell: all edges leaving one state are evaluated together.

The literal DARTS cell runs every op of every edge on its own (8 ops x 14 edges per cell). Here each
state's outgoing edges (up to 5 in a 4-node cell) are one batch, which computes the same function with
far fewer, larger kernels and less saved activation memory:
- `none` is skipped (its output is zero; its α still takes part in the softmax);
- parameter-free ops (pools + their non-affine BN, identity) give the same output on every edge reading
  the same state, so they run once per state instead of once per edge;
- ReLU of a state is computed once and shared by every conv op on every edge reading it;
- ops with weights run once for all edges: a depthwise conv on the shared input becomes one conv with a
  channel multiplier, pointwise / full convs concatenate their filters (then group by edge), BatchNorm
  runs over the concatenated channels (per-channel statistics: the same as separate BNs).
Modules are walked generically (ReLU / Conv2d / BatchNorm2d sequences, FactorizedReduce), so any op
of the table made of those layers is batched; anything else falls back to one call per edge.
Tested against the loop (`SearchCell.forward(fast=False)`): outputs and gradients agree.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from genocompile.ops.darts_modules import DilConv, FactorizedReduce, ReLUConvBN, SepConv
from genocompile.ops.table import get_op


def _edge_major(y: torch.Tensor, edges: int) -> torch.Tensor:
    """(N, C*E, H, W) in channel-major order (a conv with channel multiplier E) -> (N, E*C, H, W) edge-major."""
    return y.unflatten(1, (-1, edges)).transpose(1, 2).flatten(1, 2)


def _conv(layers: tuple[nn.Conv2d, ...], y: torch.Tensor, shared: bool) -> torch.Tensor:
    l0, e = layers[0], len(layers)
    if any(l.bias is not None for l in layers):
        raise NotImplementedError("batched conv with bias")
    args = (l0.stride, l0.padding, l0.dilation)
    if not shared:  # edge-major input: one grouped conv, each edge's filters on its own channels
        return F.conv2d(y, torch.cat([l.weight for l in layers]), None, *args, l0.groups * e)
    if l0.groups == 1:  # every edge's filters read the whole shared input: concatenate them
        return F.conv2d(y, torch.cat([l.weight for l in layers]), None, *args, 1)
    if l0.groups == l0.in_channels == l0.out_channels:  # depthwise on the shared input: channel multiplier e
        weight = torch.stack([l.weight for l in layers], dim=1).flatten(0, 1)
        return _edge_major(F.conv2d(y, weight, None, *args, l0.in_channels), e)
    return torch.cat([l(y) for l in layers], dim=1)


def _batch_norm(layers: tuple[nn.BatchNorm2d, ...], y: torch.Tensor) -> torch.Tensor:
    l0 = layers[0]
    if any(l.track_running_stats for l in layers):
        raise NotImplementedError("batched BatchNorm with running statistics")
    weight = torch.cat([l.weight for l in layers]) if l0.affine else None
    bias = torch.cat([l.bias for l in layers]) if l0.affine else None
    return F.batch_norm(y, None, None, weight, bias, True, 0.0, l0.eps)


def _sequential(seqs: list[nn.Sequential], x: torch.Tensor, relu_x: Callable[[], torch.Tensor]) -> torch.Tensor | None:
    """Run E parallel ReLU / Conv2d / BatchNorm2d sequences on one shared input; None if a layer is unknown."""
    y, shared = x, True
    for layers in zip(*seqs):
        l0 = layers[0]
        if isinstance(l0, nn.ReLU):
            y = relu_x() if shared else F.relu(y)
        elif isinstance(l0, nn.Conv2d):
            y, shared = _conv(layers, y, shared), False
        elif isinstance(l0, nn.BatchNorm2d) and not shared:
            y = _batch_norm(layers, y)
        else:
            return None
    return None if shared else y


def _factorized_reduce(mods: list[FactorizedReduce], relu_x: Callable[[], torch.Tensor]) -> torch.Tensor:
    r = relu_x()
    y1 = F.conv2d(r, torch.cat([m.conv_1.weight for m in mods]), None, 2)
    y2 = F.conv2d(r[:, :, 1:, 1:], torch.cat([m.conv_2.weight for m in mods]), None, 2)
    y = torch.cat([y1.unflatten(1, (len(mods), -1)), y2.unflatten(1, (len(mods), -1))], dim=2).flatten(1, 2)
    return _batch_norm(tuple(m.bn for m in mods), y)


def _is_parameter_free(module: nn.Module) -> bool:
    return next(module.parameters(), None) is None and next(module.buffers(), None) is None


def edge_outputs(mods: list[nn.Module], x: torch.Tensor, relu_x: Callable[[], torch.Tensor],
                 group: bool = True) -> torch.Tensor | list[torch.Tensor]:
    """One op on E edges reading `x`: one tensor when every edge gives the same output, else E tensors.

    `group`: weighted ops of all edges run as one grouped kernel (fewer, larger kernels: faster where
    grouped convolutions are, e.g. on GPUs and channels_last CPU tensors); else one call per edge, still
    sharing the state's ReLU."""
    m0 = mods[0]
    if _is_parameter_free(m0):
        return m0(x)
    if not group and len(mods) > 1:
        return [y for m in mods for y in edge_outputs([m], x, relu_x, True)]
    y = None
    if isinstance(m0, FactorizedReduce):
        y = _factorized_reduce(mods, relu_x)
    elif isinstance(m0, (SepConv, DilConv, ReLUConvBN)):
        y = _sequential([m.op for m in mods], x, relu_x)
    elif isinstance(m0, nn.Sequential):
        y = _sequential(mods, x, relu_x)
    if y is None:
        return [m(x) for m in mods]
    return list(y.chunk(len(mods), dim=1))


def state_edges(mixed: list[nn.Module], x: torch.Tensor, weights: torch.Tensor, group: bool = True) -> list[torch.Tensor]:
    """Σ_k weights[e, k] · op_k(x) for each MixedOp e reading `x`."""
    relu: list[torch.Tensor] = []

    def relu_x() -> torch.Tensor:
        if not relu:
            relu.append(F.relu(x))
        return relu[0]

    e = len(mixed)
    total: list[torch.Tensor | None] = [None] * e
    for k, name in enumerate(mixed[0].names):
        if get_op(name).kind == "zero":
            continue
        y = edge_outputs([m._ops[k] for m in mixed], x, relu_x, group)
        for t in range(e):
            term = (y if isinstance(y, torch.Tensor) else y[t]) * weights[t, k]
            total[t] = term if total[t] is None else total[t] + term
    stride = mixed[0].stride
    return [t if t is not None else x[:, :, ::stride, ::stride] * 0.0 for t in total]  # all ops `none`


def cell_nodes(cell: nn.Module, states: list[torch.Tensor], weights: torch.Tensor,
               group: bool = True) -> list[torch.Tensor]:
    """The intermediate nodes of `cell` appended to `states` (its two preprocessed inputs), state by state:
    node i is complete once states 0..i+1 have sent their edges, and then sends its own."""
    from genocompile.searchers.gradient.supernet import edge_index

    steps = cell.steps
    acc: list[torch.Tensor | None] = [None] * steps
    for j in range(steps + 1):
        if j >= 2:
            states.append(acc[j - 2])
        nodes = range(max(0, j - 1), steps)
        rows = [edge_index(i, j) for i in nodes]
        out = state_edges([cell._ops[r] for r in rows], states[j], weights[rows], group)
        for t, i in enumerate(nodes):
            acc[i] = out[t] if acc[i] is None else acc[i] + out[t]
    states.append(acc[steps - 1])
    return states
