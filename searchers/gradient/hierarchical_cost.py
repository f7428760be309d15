"""What the Auto-DeepLab *deploy* network of a hierarchical genotype costs, and its expectation under α and β.

The deploy network (`genocompile.models.autodeeplab`) is a sum of parts fvcore counts separately (the glue,
block sums and concatenations, counts 0): the stem; per layer l at rate r_l the cell's input resizes and
1x1 projections, which depend on (r_{l-2}, r_{l-1}, r_l) (the stem's outputs for the first two layers),
and its 2B ops, each at r_l's channels, strided when the layer doubles the rate (those reading the inputs)
and at the input or the layer's map size; then the head (ASPP, decoder, logits), which depends on the last
rate and on whether the path starts at rate 4 (the decoder's low-level features are then a cell's output,
else the stem's). Every part is counted with fvcore on the very modules the deploy network builds (`Cell`
via `cell_arguments`, the op table's modules, a probe network's stem and head), so for any genotype whose
first block reads both inputs (every decoded one: its two inputs are distinct) the sum equals the
whole-network count: a test checks it against fvcore on whole networks.

Expectation (differentiable in α and β): β's move probabilities make the path a Markov chain over levels,
so with P_l the distribution of layer l's level, the projections weigh by P(r_{l-2}, r_{l-1}, r_l), the ops
by P(r_{l-1}, r_l) x the expected cell cost at that transition (`deploy_cost.expected_cell`: DARTS'
expectation over α), the head by P(r_0, r_{L-1}). At one-hot α and β this is the decoded genotype's cost.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping

import torch
from torch import nn

from genocompile.cost.counting import count_multiadds, count_params
from genocompile.genotype.hierarchical import RATES, STEM_RATE, HierarchicalGenotype
from genocompile.searchers.gradient.deploy_cost import expected_cell, op_multiadds, op_params
from genocompile.searchers.gradient.supernet import edge_index
from genocompile.searchers.gradient.trellis import LEVELS, STEM_LEVEL, log_probs

DIMS = ("multiadds", "params")


def transitions(beta: torch.Tensor) -> torch.Tensor:
    """(layers, LEVELS, LEVELS): T[l, s, t] = P(layer l at level t | layer l-1 at level s), 0 off the trellis."""
    p = log_probs(beta.to(torch.float64)).exp()
    out = torch.zeros(beta.shape[0], LEVELS, LEVELS, dtype=torch.float64, device=beta.device)
    for s in range(LEVELS):
        for d in range(3):
            if 0 <= s + d - 1 < LEVELS:
                out[:, s, s + d - 1] = p[:, s, d]
    return out


def _counted(module: nn.Module, shape: tuple[int, ...]) -> tuple[float, float]:
    return float(count_multiadds(module, shape).total), float(count_params(module))


class HierarchicalCost:
    """Cost tables of one deploy network (the autodeeplab skeleton's settings) for paths of `layers` layers."""

    dims = DIMS

    def __init__(self, network: Any, ops: tuple[str, ...], blocks: int, layers: int):
        from genocompile.models.autodeeplab import Cell, cell_arguments, stem_states

        self.network, self.ops, self.blocks, self.layers = network, tuple(ops), blocks, layers
        self.none = ops.index("none") if "none" in ops else None
        h, w = network.input_size
        F = network.filter_multiplier
        probe_cell = tuple(("identity", j) for _ in range(blocks) for j in (0, 1))
        out_state = {t: (blocks * F * RATES[t] // STEM_RATE, RATES[t]) for t in range(LEVELS)}

        @lru_cache(maxsize=None)
        def prep(state_pp: tuple[int, int], state_p: tuple[int, int], rate: int) -> tuple[float, float]:
            """The cell's resizes and projections of H^{l-2} and H^{l-1}."""
            with torch.random.fork_rng(devices=[]):
                cell = Cell(probe_cell, *cell_arguments(network, state_pp, state_p, rate))
            parts = [(nn.Sequential(cell.resize0, cell.preprocess0), state_pp),
                     (nn.Sequential(cell.resize1, cell.preprocess1), state_p)]
            counted = [_counted(m, (1, c, h // r, w // r)) for m, (c, r) in parts]
            return tuple(sum(x) for x in zip(*counted))  # type: ignore[return-value]

        stem = stem_states(network)

        def inputs(kind: int, a: int, b: int) -> tuple[tuple[int, int], tuple[int, int]]:
            """(H^{l-2}, H^{l-1}) as (channels, rate) of layer 0 (kind 0), 1 (kind 1) or any later one (2)."""
            return ((stem[0], stem[1]) if kind == 0 else (stem[1], out_state[b]) if kind == 1
                    else (out_state[a], out_state[b]))

        def neighbours(level: int) -> range:
            return range(max(0, level - 1), min(LEVELS, level + 2))

        # prep[d][kind, a, b, c]: a layer at level c after levels a (l-2), b (l-1); kinds 0, 1 read the stem
        # (a unused, 0), kind 2 is every later layer.
        self.prep = {d: torch.zeros(3, LEVELS, LEVELS, LEVELS, dtype=torch.float64) for d in DIMS}
        # ops[d][b, c, edge, op]: a layer at level c after one at level b.
        self.op_tables = {d: torch.zeros(LEVELS, LEVELS, self.num_edges, len(ops), dtype=torch.float64) for d in DIMS}
        for b in range(LEVELS):
            for c in neighbours(b):
                for kind, sources in ((0, (0,) if b == STEM_LEVEL else ()), (1, (0,)), (2, neighbours(b))):
                    for a in sources:
                        for d, v in zip(DIMS, prep(*inputs(kind, a, b), RATES[c])):
                            self.prep[d][kind, a, b, c] = v
                channels, rate_in = F * RATES[c] // STEM_RATE, min(RATES[b], RATES[c])
                for i in range(blocks):
                    for j in range(2 + i):
                        stride = 2 if c > b and j < 2 else 1
                        side = rate_in if j < 2 else RATES[c]
                        for k, op in enumerate(ops):
                            row = edge_index(i, j)
                            self.op_tables["multiadds"][b, c, row, k] = op_multiadds(op, channels, stride,
                                                                                     (h // side, w // side))
                            self.op_tables["params"][b, c, row, k] = op_params(op, channels, stride)
        self._head(network)
        self._device: tuple[Any, dict] | None = None

    @property
    def num_edges(self) -> int:
        return sum(2 + i for i in range(self.blocks))

    def _head(self, network: Any) -> None:
        """The stem and, per (first level, last level), the head, counted on probe networks' own modules."""
        from genocompile.models.autodeeplab import AutoDeepLab

        h, w = network.input_size
        self.stem = {d: 0.0 for d in DIMS}
        self.head = {d: torch.zeros(LEVELS, LEVELS, dtype=torch.float64) for d in DIMS}
        cell = [("identity", j) for _ in range(self.blocks) for j in (0, 1)]
        for first in (0, 1):
            for last in range(LEVELS):
                path = probe_path(first, last, self.layers)
                if path is None:
                    continue
                with torch.random.fork_rng(devices=[]):
                    model = AutoDeepLab(HierarchicalGenotype(cell=cell, path=path, network=network, name="probe"))
                net = network  # (short name below)
                c_last = self.blocks * net.filter_multiplier * RATES[last] // STEM_RATE
                c_low = net.stem_channels[2] if model._low_level_layer < 0 else self.blocks * net.filter_multiplier
                r, q = RATES[last], STEM_RATE
                parts = [(model.aspp, (1, c_last, h // r, w // r)),
                         (model.decoder.resize, (1, net.aspp_channels, h // r, w // r)),
                         (model.decoder.feature_projection, (1, c_low, h // q, w // q)),
                         (model.decoder.convs, (1, net.aspp_channels + net.low_level_channels, h // q, w // q)),
                         (model.logits, (1, net.decoder_channels, h // q, w // q)),
                         (model.upsample, (1, net.num_classes, h // q, w // q))]
                for d, v in zip(DIMS, map(sum, zip(*(_counted(m, s) for m, s in parts)))):
                    self.head[d][first, last] = v
                if first == 0 and last == 0:
                    for d, v in zip(DIMS, _counted(nn.Sequential(model.stem0, model.stem1), (1, 3, h, w))):
                        self.stem[d] = v

    # --- one genotype --------------------------------------------------------------------------
    def of_genotype(self, genotype: HierarchicalGenotype) -> dict[str, float]:
        """The deploy network's costs from the tables (equal to counting the whole network)."""
        return self.of_choice(list(genotype.cell), list(genotype.path))

    def of_choice(self, cell: list[tuple[str, int]], path: list[int]) -> dict[str, float]:
        """`of_genotype` of a cell ([op, input] pairs) and path not yet made a genotype (the bounded walk)."""
        levels = [RATES.index(r) for r in path]
        out = {}
        for d in DIMS:
            total = self.stem[d] + float(self.head[d][levels[0], levels[-1]])
            for l, c in enumerate(levels):
                b = levels[l - 1] if l else STEM_LEVEL
                a = levels[l - 2] if l >= 2 else 0
                total += float(self.prep[d][min(l, 2), a, b, c])
                for slot, (op, j) in enumerate(cell):
                    total += float(self.op_tables[d][b, c, edge_index(slot // 2, j), self.ops.index(op)])
            out[d] = total
        return out

    # --- expectation under α and β ---------------------------------------------------------------
    def expected(self, arch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Differentiable expected deploy costs under {"alpha": (edges, ops), "beta": (layers, levels, 3)}."""
        alpha, beta = arch["alpha"], arch["beta"]
        device = alpha.device
        if self._device is None or self._device[0] != device:  # tables move to the device once
            self._device = (device, {"prep": {d: t.to(device) for d, t in self.prep.items()},
                                     "ops": {d: t.to(device) for d, t in self.op_tables.items()},
                                     "head": {d: t.to(device) for d, t in self.head.items()}})
        tables = self._device[1]
        T = transitions(beta)
        start = torch.zeros(LEVELS, dtype=torch.float64, device=device)
        start[STEM_LEVEL] = 1.0
        P = [start]  # P[l + 1]: distribution of layer l's level (P[0]: the stem)
        for l in range(T.shape[0]):
            P.append(P[-1] @ T[l])
        pairs = torch.stack([P[l][:, None] * T[l] for l in range(T.shape[0])])  # (layers, b, c)
        first_last = torch.diag(T[0][STEM_LEVEL])  # P(layer 0 at f, layer l at c), l = 0 first
        for l in range(1, T.shape[0]):
            first_last = first_last @ T[l]
        out = {}
        for d in DIMS:
            cell = expected_cell(alpha, tables["ops"][d], self.blocks, self.none)  # (b, c)
            total = self.stem[d] + (pairs * cell).sum() + (first_last * tables["head"][d]).sum()
            for l in range(T.shape[0]):
                if l < 2:
                    total = total + (pairs[l] * tables["prep"][d][l, 0]).sum()
                else:
                    triple = P[l - 1][:, None, None] * T[l - 1][:, :, None] * T[l][None, :, :]
                    total = total + (triple * tables["prep"][d][2]).sum()
            out[d] = total
        return out

    def uniform(self) -> dict[str, torch.Tensor]:
        return {"alpha": torch.zeros(self.num_edges, len(self.ops), dtype=torch.float64),
                "beta": torch.zeros(self.layers, LEVELS, 3, dtype=torch.float64)}


def probe_path(first: int, last: int, layers: int) -> list[int] | None:
    """A valid path of `layers` rates starting at level `first` and ending at `last`, or None."""
    if first not in (0, 1) or abs(last - first) > layers - 1:
        return None
    levels = [first]
    while len(levels) < layers:  # straight to `last`, then stay
        levels.append(levels[-1] + (last > levels[-1]) - (last < levels[-1]))
    return [RATES[s] for s in levels]
