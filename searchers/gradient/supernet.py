"""The DARTS search network (quark0/darts `cnn/model_search.py`), built from the compiler's op table.

Every intermediate node reads every earlier state through a *mixed op*: the softmax over the edge's
row of α weights the outputs of all candidate ops. Normal and reduction cells have their own α
(`alphas_normal`, `alphas_reduce`, one row per edge in DARTS' order: node 0's two edges, node 1's
three, ...). Ops come from `genocompile.ops.table` with `affine=False`, pools followed by a
non-affine BatchNorm, exactly as DARTS' MixedOp.

Two departures, both for speed and memory, neither changing what the network computes in training:
- BatchNorm layers use batch statistics always (`track_running_stats=False`). In training that is what
  they do anyway; it also makes every parameter-free op (pools + BN, identity) give the same output on
  every edge reading the same state, so the fast forward (`batched.py`) computes it once per state.
- `forward(x, fast=True)` evaluates each state's outgoing edges together (`batched.py`); `fast=False`
  is the literal DARTS loop over edges and ops, kept as the reference the fast path is tested against.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genocompile.genotype.network import darts_reduction_cells
from genocompile.ops.darts_modules import FactorizedReduce, ReLUConvBN
from genocompile.ops.table import DARTS_SEARCH_OPS, get_op


@dataclass(frozen=True)
class SupernetSpec:
    """The proxy network's size. Defaults: DARTS' search setting (8 cells, 16 channels, 4 nodes)."""

    channels: int = 16
    layers: int = 8
    steps: int = 4
    stem_multiplier: int = 3
    num_classes: int = 10
    ops: tuple[str, ...] = DARTS_SEARCH_OPS

    @property
    def multiplier(self) -> int:
        return self.steps  # every intermediate node is concatenated into the cell output, as in DARTS

    @property
    def num_edges(self) -> int:
        return sum(2 + i for i in range(self.steps))

    def reductions(self) -> tuple[int, ...]:
        return tuple(sorted(darts_reduction_cells(self.layers)))


def edge_index(node: int, state: int) -> int:
    """Row of α for the edge from `state` into intermediate node `node` (0-based), DARTS' order."""
    return sum(2 + i for i in range(node)) + state


def batch_stats_only(module: nn.Module) -> nn.Module:
    """Make every BatchNorm in `module` normalise with batch statistics, in training and eval alike."""
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.track_running_stats = False
            m.running_mean = m.running_var = m.num_batches_tracked = None
    return module


def search_op(name: str, channels: int, stride: int) -> nn.Module:
    """One candidate op as DARTS' MixedOp builds it: the table's module, non-affine; pools get a BN."""
    op = get_op(name).reference(channels, stride, False)
    if get_op(name).kind == "pool":
        op = nn.Sequential(op, nn.BatchNorm2d(channels, affine=False))
    return batch_stats_only(op)


class MixedOp(nn.Module):
    def __init__(self, ops: tuple[str, ...], channels: int, stride: int):
        super().__init__()
        self.names = ops
        self.stride = stride
        self._ops = nn.ModuleList(search_op(name, channels, stride) for name in ops)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return sum(w * op(x) for w, op in zip(weights, self._ops))


class SearchCell(nn.Module):
    def __init__(self, spec: SupernetSpec, c_prev_prev: int, c_prev: int, c: int, reduction: bool,
                 reduction_prev: bool):
        super().__init__()
        self.reduction = reduction
        self.steps, self.multiplier = spec.steps, spec.multiplier
        self.preprocess0 = (FactorizedReduce(c_prev_prev, c, affine=False) if reduction_prev
                            else ReLUConvBN(c_prev_prev, c, 1, 1, 0, affine=False))
        self.preprocess1 = ReLUConvBN(c_prev, c, 1, 1, 0, affine=False)
        batch_stats_only(self)
        # Stride 2 only on the edges that read the cell's inputs (0, 1) of a reduction cell.
        self._ops = nn.ModuleList(MixedOp(spec.ops, c, 2 if reduction and j < 2 else 1)
                                  for i in range(spec.steps) for j in range(2 + i))

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, weights: torch.Tensor, fast: bool | str = True) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        if fast:
            from genocompile.searchers.gradient.batched import cell_nodes

            states = cell_nodes(self, states, weights, fast != "per-edge")
        else:
            offset = 0
            for _ in range(self.steps):
                states.append(sum(self._ops[offset + j](h, weights[offset + j]) for j, h in enumerate(states)))
                offset += len(states) - 1
        return torch.cat(states[-self.multiplier:], dim=1)


class SuperNet(nn.Module):
    """The search network. `alphas_normal` / `alphas_reduce` are parameters of the module (so they are in
    its state_dict and checkpoints) but kept apart from the weights: `weights()` and `arch_parameters()`."""

    ARCH_NAMES = ("alphas_normal", "alphas_reduce")

    def __init__(self, spec: SupernetSpec):
        super().__init__()
        self.spec = spec
        c_curr = spec.stem_multiplier * spec.channels
        self.stem = batch_stats_only(nn.Sequential(nn.Conv2d(3, c_curr, 3, padding=1, bias=False),
                                                   nn.BatchNorm2d(c_curr)))
        c_prev_prev, c_prev, c_curr = c_curr, c_curr, spec.channels
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(spec.layers):
            reduction = i in spec.reductions()
            if reduction:
                c_curr *= 2
            self.cells.append(SearchCell(spec, c_prev_prev, c_prev, c_curr, reduction, reduction_prev))
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, spec.multiplier * c_curr
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, spec.num_classes)
        # DARTS initialises α at 1e-3 * N(0, 1): near-uniform mixing, ties broken at random.
        self.alphas_normal = nn.Parameter(1e-3 * torch.randn(spec.num_edges, len(spec.ops)))
        self.alphas_reduce = nn.Parameter(1e-3 * torch.randn(spec.num_edges, len(spec.ops)))

    def weights(self) -> list[nn.Parameter]:
        return [p for name, p in self.named_parameters() if name not in self.ARCH_NAMES]

    def named_weights(self) -> list[tuple[str, nn.Parameter]]:
        return [(name, p) for name, p in self.named_parameters() if name not in self.ARCH_NAMES]

    def arch_parameters(self) -> list[nn.Parameter]:
        return [self.alphas_normal, self.alphas_reduce]

    def alphas(self) -> dict[str, torch.Tensor]:
        """α as {"normal": (edges, ops), "reduce": (edges, ops)} (the decoders' input)."""
        return {"normal": self.alphas_normal, "reduce": self.alphas_reduce}

    def forward(self, x: torch.Tensor, fast: bool | str = True) -> torch.Tensor:
        """`fast`: False, DARTS' loop; True, batched with grouped kernels; "per-edge", batched but weighted ops
        called once per edge (see `batched.edge_outputs`)."""
        w_normal = F.softmax(self.alphas_normal, dim=-1)
        w_reduce = F.softmax(self.alphas_reduce, dim=-1)
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, w_reduce if cell.reduction else w_normal, fast)
        return self.classifier(self.global_pooling(s1).flatten(1))
