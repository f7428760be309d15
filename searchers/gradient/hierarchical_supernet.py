"""The Auto-DeepLab search network: cell-level α and network-level β over the trellis of resolutions.

Cell level (paper section 3.1, DARTS' relaxation): one cell of B blocks; block i reads every earlier
state (H^{l-2}, H^{l-1}, blocks 0..i-1) through a mixed op, the softmax of its α row weighting the op
table's modules (`supernet.MixedOp`: non-affine, pools followed by a BN, as DARTS). α is shared by every
cell; weights are not (one cell per layer and level). The cell's output concatenates its B blocks.

Network level (section 3.2, eq. 6): layer l holds one state per reachable level s (rate 4 * 2**s).
The cell at (l, s) reads
- H^{l-1}: the β-weighted sum over the moves into s (from s-1: down, s: same, s+1: up) of layer l-1's
  states, each bilinearly resized to level s and projected to s's channels by its own ReLU-1x1-BN
  (β's probabilities are the softmax over each node's outgoing moves, `trellis.log_probs`);
- H^{l-2}: layer l-2's state at level s, or, where l-2 does not reach s, its deepest state (the stem's
  two outputs stand in for layers -2 and -1), resized to s and projected likewise.
One departure from eq. 6, for CPU cost: the paper runs a cell per incoming move and sums the three
outputs; here the moves' inputs are summed and one cell runs per node (a third of the cell work). The
cell the deploy network builds is the same either way.

Head: an ASPP (the reference `models.autodeeplab.ASPP`) on each level of the last layer, a 1x1 to the
classes, each upsampled to the input size and summed (the paper sums the four ASPP outputs).
BatchNorm always uses batch statistics (`supernet.batch_stats_only`), as the DARTS supernet.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genocompile.genotype.hierarchical import RATES, STEM_RATE
from genocompile.models.autodeeplab import ASPP
from genocompile.ops.darts_modules import ReLUConvBN
from genocompile.ops.table import AUTODEEPLAB_OPS
from genocompile.searchers.gradient.supernet import MixedOp, batch_stats_only
from genocompile.searchers.gradient.trellis import LEVELS, STEM_LEVEL, log_probs, move_mask


@dataclass(frozen=True)
class HierarchicalSpec:
    """The proxy network's size. CPU-sized defaults; the paper searches F=8, L=12, B=5 on 321x321 crops."""

    filter_multiplier: int = 4  # F: a node at rate r has F * r / 4 channels per block
    layers: int = 4  # L: the decoded path has one rate per layer
    blocks: int = 5  # B
    stem_channels: tuple[int, int, int] = (8, 8, 16)
    aspp_channels: int = 16
    num_classes: int = 4
    ops: tuple[str, ...] = AUTODEEPLAB_OPS

    @property
    def steps(self) -> int:  # the DARTS name of B (batched.cell_nodes and the cost tables use it)
        return self.blocks

    @property
    def num_edges(self) -> int:
        return sum(2 + i for i in range(self.blocks))

    def channels(self, level: int) -> int:
        return self.filter_multiplier * RATES[level] // STEM_RATE

    def levels(self, layer: int) -> list[int]:
        """Levels layer `layer` reaches (-1, -2: the stem's outputs)."""
        return [STEM_LEVEL] if layer < 0 else list(range(min(LEVELS, STEM_LEVEL + layer + 2)))


def resize(x: torch.Tensor, scale: float) -> torch.Tensor:
    """Bilinear, half-pixel (as the deploy network's resizes); identity for scale 1."""
    return x if scale == 1 else F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False)


class HierarchicalCell(nn.Module):
    """B blocks, each the sum of mixed ops over every earlier state (DARTS' search cell, stride 1)."""

    def __init__(self, spec: HierarchicalSpec, c: int):
        super().__init__()
        self.steps = spec.blocks
        self._ops = nn.ModuleList(MixedOp(spec.ops, c, 1) for i in range(spec.blocks) for j in range(2 + i))

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, weights: torch.Tensor, fast: bool = True) -> torch.Tensor:
        states = [s0, s1]
        if fast:
            from genocompile.searchers.gradient.batched import cell_nodes

            states = cell_nodes(self, states, weights)
        else:
            offset = 0
            for _ in range(self.steps):
                states.append(sum(self._ops[offset + j](h, weights[offset + j]) for j, h in enumerate(states)))
                offset += len(states) - 1
        return torch.cat(states[2:], dim=1)


class Node(nn.Module):
    """The cell at (layer, level) with the projections of its inputs: one per incoming move, one for H^{l-2}."""

    def __init__(self, spec: HierarchicalSpec, level: int, c_moves: dict[int, int], c_pp: int):
        super().__init__()
        c = spec.channels(level)
        self.sources = tuple(sorted(c_moves))  # levels of layer l-1 with a move into this node
        self.moves = nn.ModuleDict({str(s): ReLUConvBN(c_moves[s], c, 1, 1, 0, affine=False)
                                    for s in self.sources})
        self.preprocess0 = ReLUConvBN(c_pp, c, 1, 1, 0, affine=False)
        self.cell = HierarchicalCell(spec, c)


class HierarchicalSuperNet(nn.Module):
    """`alpha` (edges, ops) and `beta` (layers, levels, 3) are parameters of the module (so they are in its
    state_dict and checkpoints) but kept apart from the weights: `weights()` and `arch_parameters()`."""

    ARCH_NAMES = ("alpha", "beta")

    def __init__(self, spec: HierarchicalSpec):
        super().__init__()
        from genocompile.searchers.gradient.trellis import init_beta

        self.spec = spec
        c0, c1, c2 = spec.stem_channels
        # The deploy network's stem (three convs, rate 2 then 4), non-affine.
        self.stem0 = nn.Sequential(nn.Conv2d(3, c0, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c0),
                                   nn.ReLU(), nn.Conv2d(c0, c1, 3, padding=1, bias=False), nn.BatchNorm2d(c1))
        self.stem1 = nn.Sequential(nn.ReLU(), nn.Conv2d(c1, c2, 3, stride=2, padding=1, bias=False),
                                   nn.BatchNorm2d(c2))
        mask = move_mask(spec.layers)
        # (channels, rate) of every state of the two layers before the current one.
        prev_prev: dict[int, tuple[int, int]] = {-1: (c1, 2)}  # H^{-2}: the stem's rate-2 output
        prev: dict[int, tuple[int, int]] = {STEM_LEVEL: (c2, STEM_RATE)}
        self.nodes = nn.ModuleList()
        self.node_levels: list[tuple[int, ...]] = []
        for layer in range(spec.layers):
            row = nn.ModuleDict()
            states: dict[int, tuple[int, int]] = {}
            for t in spec.levels(layer):
                c_moves = {s: prev[s][0] for s in prev if 0 <= t - s + 1 < 3 and mask[layer, s, t - s + 1]}
                row[str(t)] = Node(spec, t, c_moves, prev_prev[self._pp_level(prev_prev, t)][0])
                states[t] = (spec.blocks * spec.channels(t), RATES[t])
            self.nodes.append(row)
            self.node_levels.append(tuple(sorted(states)))
            prev_prev, prev = prev, states
        self.aspp = nn.ModuleDict({str(s): ASPP(c, spec.aspp_channels, (max(1, 24 // RATES[s]),))
                                   for s, (c, _) in prev.items()})
        self.classifiers = nn.ModuleDict({str(s): nn.Conv2d(spec.aspp_channels, spec.num_classes, 1)
                                          for s in prev})
        batch_stats_only(self)
        for m in self.modules():  # the ASPP's dropout: search decisions should not depend on its noise
            if isinstance(m, nn.Dropout):
                m.p = 0.0
        # Auto-DeepLab initialises α and β like DARTS: 1e-3 * N(0, 1).
        self.alpha = nn.Parameter(1e-3 * torch.randn(spec.num_edges, len(spec.ops)))
        self.beta = nn.Parameter(init_beta(spec.layers))

    @staticmethod
    def _pp_level(states: dict, level: int) -> int:
        """The state of layer l-2 that feeds H^{l-2} at `level`: the same level, else the deepest there is."""
        return level if level in states else max(states)

    def weights(self) -> list[nn.Parameter]:
        return [p for name, p in self.named_parameters() if name not in self.ARCH_NAMES]

    def named_weights(self) -> list[tuple[str, nn.Parameter]]:
        return [(name, p) for name, p in self.named_parameters() if name not in self.ARCH_NAMES]

    def arch_parameters(self) -> list[nn.Parameter]:
        return [self.alpha, self.beta]

    def alphas(self) -> dict[str, torch.Tensor]:
        """{"alpha": (edges, ops), "beta": (layers, levels, 3)}: the decoders' and the cost term's input (the
        name `alphas` is the one `bilevel.Architect` and `history.epoch_record` call)."""
        return {"alpha": self.alpha, "beta": self.beta}

    def forward(self, x: torch.Tensor, fast: bool = True) -> torch.Tensor:
        w = F.softmax(self.alpha, dim=-1)
        move_p = log_probs(self.beta).exp()  # (layers, levels, 3); 0 for moves off the trellis
        s0 = self.stem0(x)
        prev_prev = {-1: (s0, 2)}
        prev = {STEM_LEVEL: (self.stem1(s0), STEM_RATE)}
        for layer, row in enumerate(self.nodes):
            states = {}
            for t in self.node_levels[layer]:
                node = row[str(t)]
                s1 = sum(move_p[layer, s, t - s + 1] * node.moves[str(s)](resize(prev[s][0], prev[s][1] / RATES[t]))
                         for s in node.sources)
                h, rate = prev_prev[self._pp_level(prev_prev, t)]
                s0_t = node.preprocess0(resize(h, rate / RATES[t]))
                states[t] = (node.cell(s0_t, s1, w, fast), RATES[t])
            prev_prev, prev = prev, states
        size = x.shape[-2:]
        return sum(F.interpolate(self.classifiers[str(s)](self.aspp[str(s)](h)), size=size, mode="bilinear",
                                 align_corners=False) for s, (h, _) in prev.items())
