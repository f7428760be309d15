"""What the *deploy* network of a cell genotype costs, per op, and its expectation under α.

The deploy network (the skeleton's settings: darts-cifar C=36, 20 cells, 32x32 by default) costs a fixed
part (stem, preprocessing, classifier) plus one term per kept edge: the op's cost at that cell's channels,
stride and map size. α is shared by all cells of a kind, so one table per kind, (edges, ops), holds each
edge-op's cost summed over the cells of that kind. The per-op figures are counted, not derived: fvcore on
the op table's own module at the deploy shape (MultiAdds), its parameter count, and, given a latency model
with a per-op table (`op_ms(op, channels, stride, (h, w))`), its latency. The fixed part is the counted
total of a probe genotype minus its ops, so for any one-hot genotype the sum equals the whole-network count.

Expected cost (ProxylessNAS / FBNet style, adapted to DARTS' decoding): per edge, the op distribution over
the non-`none` ops, q = softmax(α[non-none]); per node, edge j is kept with weight π_j ∝ 1 - p_j(none) and
a node keeps two edges: E[node] = 2 Σ_j π_j Σ_k q_jk T_jk. For a one-hot α (kept edges sure of their op,
dropped edges sure of `none`) this is the decoded genotype's exact cost.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping

import torch

from genocompile.genotype.cell import CellGenotype
from genocompile.ops.table import get_op
from genocompile.searchers.gradient.supernet import edge_index

KINDS = ("normal", "reduce")


@lru_cache(maxsize=None)
def op_multiadds(op: str, channels: int, stride: int, size: tuple[int, int]) -> int:
    """fvcore MultiAdds (batch 1) of the op table's deploy module (affine) on a (channels, *size) input."""
    from genocompile.cost.counting import count_multiadds

    if get_op(op).kind == "zero":
        return 0
    return count_multiadds(get_op(op).reference(channels, stride, True), (1, channels, *size)).total


@lru_cache(maxsize=None)
def op_params(op: str, channels: int, stride: int) -> int:
    from genocompile.cost.counting import count_params

    return count_params(get_op(op).reference(channels, stride, True))


def probe_genotype(network: Any, steps: int) -> CellGenotype:
    """A genotype whose every node reads the cell inputs through skip_connect (a fixed part to subtract)."""
    edges = [("skip_connect", j) for _ in range(steps) for j in (0, 1)]
    return CellGenotype(normal=edges, normal_concat=list(range(2, steps + 2)), reduce=edges,
                        reduce_concat=list(range(2, steps + 2)), network=network, name="probe")


@lru_cache(maxsize=32)
def cell_shapes(network: Any, steps: int) -> tuple[tuple[str, int, tuple[int, int], tuple[int, int]], ...]:
    """Per deploy cell: (kind, channels, input map size, node map size), read off the built network."""
    from genocompile.models import build_reference

    model = build_reference(probe_genotype(network, steps), seed=0)
    seen: list[tuple[str, int, tuple[int, int], tuple[int, int]]] = []
    hooks = []
    for cell in model.cells:
        def hook(module, inputs, output, cell=cell):
            pre = cell.preprocess1(inputs[1])
            seen.append(("reduce" if cell.reduction else "normal", pre.shape[1], tuple(pre.shape[-2:]),
                         tuple(output.shape[-2:])))
        hooks.append(cell.register_forward_hook(hook))
    with torch.no_grad():
        model(torch.zeros(1, 3, *network.input_size))
    for h in hooks:
        h.remove()
    return tuple(seen)


class DeployCost:
    """Cost tables of one deploy network for one search space (op list, steps).

    `dims`: "multiadds", "params", and "latency_ms" when `latency` has a per-op table (`op_ms`)."""

    def __init__(self, network: Any, ops: tuple[str, ...], steps: int, latency: Any = None):
        from genocompile.cost.inspect import reference_costs

        self.network, self.ops, self.steps, self.latency = network, tuple(ops), steps, latency
        self.none = ops.index("none") if "none" in ops else None
        op_ms = getattr(latency, "op_ms", None)
        per_op = {"multiadds": lambda op, c, s, hw: op_multiadds(op, c, s, hw),
                  "params": lambda op, c, s, hw: op_params(op, c, s)}
        if op_ms is not None:
            per_op["latency_ms"] = lambda op, c, s, hw: 0.0 if get_op(op).kind == "zero" else op_ms(op, c, s, hw)
        self.dims = tuple(per_op)
        num_edges = sum(2 + i for i in range(steps))
        self.tables = {d: {k: torch.zeros(num_edges, len(ops), dtype=torch.float64) for k in KINDS} for d in per_op}
        for kind, channels, size_in, size_node in cell_shapes(network, steps):
            for i in range(steps):
                for j in range(2 + i):
                    stride = 2 if kind == "reduce" and j < 2 else 1
                    size = size_in if j < 2 else size_node
                    for k, op in enumerate(ops):
                        for d, fn in per_op.items():
                            self.tables[d][kind][edge_index(i, j), k] += fn(op, channels, stride, size)
        probe = probe_genotype(network, steps)
        counted = reference_costs(probe)
        totals = {"multiadds": float(counted.multiadds), "params": float(counted.params)}
        if op_ms is not None:
            totals["latency_ms"] = float(latency.predict_ms(probe))
        ops_part = self.of_genotype_ops(probe)
        self.fixed = {d: totals[d] - ops_part[d] for d in self.dims}
        self._device_tables: tuple[Any, dict] | None = None  # (device, tables there): `expected` moves them once

    # --- one-hot genotypes ---------------------------------------------------------------------
    def of_genotype_ops(self, genotype: CellGenotype) -> dict[str, float]:
        out = {d: 0.0 for d in self.dims}
        for kind in KINDS:
            edges, _ = genotype.cell(kind)
            for slot, (op, j) in enumerate(edges):
                row, k = edge_index(slot // 2, j), self.ops.index(op)
                for d in self.dims:
                    out[d] += float(self.tables[d][kind][row, k])
        return out

    def of_genotype(self, genotype: CellGenotype) -> dict[str, float]:
        """The deploy network's costs from the tables (equal to counting the whole network)."""
        ops_part = self.of_genotype_ops(genotype)
        return {d: self.fixed[d] + ops_part[d] for d in self.dims}

    # --- expectation under α -------------------------------------------------------------------
    def expected(self, alphas: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Differentiable expected deploy costs under `alphas` ({"normal", "reduce"}: (edges, ops))."""
        out: dict[str, torch.Tensor] = {}
        device = alphas["normal"].device
        if self._device_tables is None or self._device_tables[0] != device:  # moved once, not every step
            self._device_tables = (device, {d: {k: t.to(device) for k, t in kinds.items()}
                                            for d, kinds in self.tables.items()})
        tables = self._device_tables[1]
        for d in self.dims:
            total = torch.tensor(self.fixed[d], dtype=torch.float64, device=device)
            for kind in KINDS:
                total = total + expected_cell(alphas[kind], tables[d][kind], self.steps, self.none)
            out[d] = total
        return out


def expected_cell(alpha: torch.Tensor, table: torch.Tensor, steps: int, none: int | None) -> torch.Tensor:
    """Expected cost of one decoded cell under `alpha` (edges, ops), `table` (..., edges, ops) holding every
    edge-op's cost (leading dimensions: several tables at once, e.g. one per resolution).

    Per edge, the op distribution over the non-`none` ops, q = softmax(α[non-none]); per node, edge j is kept
    with weight π_j ∝ 1 - p_j(none), and a node keeps two edges: E[node] = 2 Σ_j π_j Σ_k q_jk T_jk. Exact
    for a one-hot α (kept edges sure of their op, dropped edges sure of `none`)."""
    alpha = alpha.to(torch.float64)
    table = table.to(device=alpha.device, dtype=torch.float64)
    keep_ops = [k for k in range(alpha.shape[-1]) if k != none]
    q = torch.softmax(alpha[:, keep_ops], dim=-1)
    edge_cost = (q * table[..., keep_ops]).sum(-1)  # (..., edges)
    keep = (1.0 - torch.softmax(alpha, dim=-1)[:, none]) if none is not None \
        else torch.ones(len(alpha), dtype=torch.float64, device=alpha.device)
    total = torch.zeros(table.shape[:-2], dtype=torch.float64, device=alpha.device)
    for i in range(steps):
        rows = [edge_index(i, j) for j in range(2 + i)]
        pi = keep[rows] / keep[rows].sum().clamp_min(1e-12)
        total = total + 2.0 * (pi * edge_cost[..., rows]).sum(-1)
    return total
