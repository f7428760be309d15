"""From α to a genotype, as DARTS (`Network.genotype()`), and under hard bounds.

Plain decoding: per node keep the two predecessors whose strongest non-`none` op weighs most, and on each
kept edge the argmax non-`none` op. Bounded decoding: when that genotype breaks a bound, walk down by α
strength: repeatedly make the single change (another op, or another predecessor with an op) that removes
the most excess cost per unit of log-probability given up, until the tables say the genotype fits; then the
whole network is checked with `Constraints` (the independent count) and the walk goes on if it does not.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import torch

from genocompile.cost.constraints import Constraints
from genocompile.errors import SearchError
from genocompile.genotype.cell import CellGenotype
from genocompile.searchers.gradient.deploy_cost import KINDS, DeployCost
from genocompile.searchers.gradient.supernet import edge_index

Choice = dict[str, list[tuple[str, int]]]  # kind -> [(op, input)] two per node, DARTS' genotype order


def argmax_edges(alpha: torch.Tensor, ops: tuple[str, ...], steps: int) -> list[tuple[str, int]]:
    w = torch.softmax(alpha.detach().double(), dim=-1)
    none = ops.index("none") if "none" in ops else None
    keep = [k for k in range(len(ops)) if k != none]
    gene = []
    for i in range(steps):
        rows = [edge_index(i, j) for j in range(2 + i)]
        strength = [max(float(w[r, k]) for k in keep) for r in rows]
        for j in sorted(range(2 + i), key=lambda j: -strength[j])[:2]:
            gene.append((ops[max(keep, key=lambda k: float(w[rows[j], k]))], j))
    return gene


def to_genotype(choice: Choice, steps: int, network: Any, name: str = "gradient") -> CellGenotype:
    concat = list(range(2, steps + 2))
    return CellGenotype(normal=choice["normal"], normal_concat=concat, reduce=choice["reduce"],
                        reduce_concat=concat, network=network, name=name)


def decode_argmax(alphas: Mapping[str, torch.Tensor], ops: tuple[str, ...], steps: int, network: Any,
                  name: str = "gradient") -> CellGenotype:
    return to_genotype({k: argmax_edges(alphas[k], ops, steps) for k in KINDS}, steps, network, name)


def one_hot_alphas(genotype: CellGenotype, ops: tuple[str, ...], steps: int, strength: float = 30.0) -> dict:
    """α that decodes to `genotype` with certainty: kept edges sure of their op, the others sure of `none`."""
    out = {}
    for kind in KINDS:
        alpha = torch.zeros(sum(2 + i for i in range(steps)), len(ops), dtype=torch.float64)
        alpha[:, ops.index("none")] = strength
        edges, _ = genotype.cell(kind)
        for slot, (op, j) in enumerate(edges):
            row = edge_index(slot // 2, j)
            alpha[row] = 0.0
            alpha[row, ops.index(op)] = strength
        out[kind] = alpha
    return out


@dataclass
class Decoded:
    genotype: CellGenotype
    argmax: CellGenotype
    costs: dict[str, float]
    changes: list[str] = field(default_factory=list)  # what the bounded walk changed, one line each

    @property
    def constrained(self) -> bool:
        return bool(self.changes)


def cell_moves(edges: list[tuple[str, int]], ops: tuple[str, ...], none: int | None):
    """Every single change of one cell edge: (slot, node, old (op, input), new (op, input), new op index).

    A node keeps two distinct inputs, and `none` is never chosen (the decoded cell would lose an edge)."""
    for slot, (op, j) in enumerate(edges):
        node, other = slot // 2, edges[slot ^ 1][1]
        for j2 in range(2 + node):
            if j2 == other:
                continue
            for k2, op2 in enumerate(ops):
                if k2 != none and (j2, op2) != (j, op):
                    yield slot, node, (op, j), (op2, j2), k2


def _penalty(costs: Mapping[str, float], bounds: Mapping[str, float]) -> float:
    return sum(max(0.0, costs[d] / b - 1.0) for d, b in bounds.items())


def decode_bounded(alphas: Mapping[str, torch.Tensor], ops: tuple[str, ...], steps: int, network: Any,
                   constraints: Constraints, cost: DeployCost, name: str = "gradient",
                   max_moves: int = 200) -> Decoded:
    """The argmax genotype if it satisfies `constraints`, else the best feasible one found by walking down."""
    bounds = {d: b for d, b in (("multiadds", constraints.max_multiadds), ("params", constraints.max_params),
                                ("latency_ms", constraints.max_latency_ms)) if b is not None}
    missing = [d for d in bounds if d not in cost.dims]
    choice: Choice = {k: argmax_edges(alphas[k], ops, steps) for k in KINDS}
    argmax = to_genotype(choice, steps, network, name)
    logp = {k: torch.log_softmax(alphas[k].detach().double(), dim=-1) for k in KINDS}
    none = ops.index("none") if "none" in ops else None

    def estimate(ch: Choice) -> dict[str, float]:
        g = to_genotype(ch, steps, network, name)
        est = cost.of_genotype(g)
        if missing:  # latency without a per-op table: ask the whole-network predictor
            est["latency_ms"] = float(constraints.latency.predict_ms(g))
        return est

    changes: list[str] = []
    for _ in range(max_moves):
        genotype = to_genotype(choice, steps, network, name)
        est = estimate(choice)
        if _penalty(est, bounds) == 0.0:
            costs = constraints.costs(genotype)
            problems = constraints.violations(genotype, costs)
            if not problems:
                return Decoded(genotype, argmax, costs, changes)
            # The whole-network count disagrees with the tables: trust it and keep walking.
            est = {d: max(est[d], costs[d] * (1 + 1e-9)) for d in bounds}
        current = _penalty(est, bounds)
        best = None
        for kind in KINDS:
            for slot, node, (op, j), new, k2 in cell_moves(choice[kind], ops, none):
                trial = {kk: list(v) for kk, v in choice.items()}
                trial[kind][slot] = new
                gain = current - _penalty(_fast_estimate(cost, est, kind, node, (op, j), new, ops, missing,
                                                         lambda: estimate(trial)), bounds)
                if gain <= 0:
                    continue
                old = float(logp[kind][edge_index(node, j), ops.index(op)])
                loss = max(old - float(logp[kind][edge_index(node, new[1]), k2]), 1e-9)
                if best is None or loss / gain < best[0]:
                    best = (loss / gain, kind, slot, new, (op, j))
        if best is None:
            raise SearchError(f"no genotype of this search space satisfies {constraints.describe()} in the "
                              f"{network.skeleton} deploy network (no single change lowers the excess below "
                              f"{', '.join(f'{d} {v:,.4g}' for d, v in est.items() if d in bounds)}); "
                              f"loosen the bound or use a smaller network")
        _, kind, slot, new, old_edge = best
        choice[kind][slot] = new
        changes.append(f"{kind} node {slot // 2 + 2}: {old_edge[0]} from {old_edge[1]} -> {new[0]} from {new[1]}")
    raise SearchError(f"bounded decoding did not reach {constraints.describe()} within {max_moves} changes")


def _fast_estimate(cost: DeployCost, est: Mapping[str, float], kind: str, node: int, old: tuple[str, int],
                   new: tuple[str, int], ops: tuple[str, ...], missing: list[str], full) -> dict[str, float]:
    """`est` after replacing one edge, from the tables (a full estimate only for bounds without a table)."""
    if missing:
        return full()
    out = dict(est)
    for d in cost.dims:
        t = cost.tables[d][kind]
        out[d] = est[d] - float(t[edge_index(node, old[1]), ops.index(old[0])]) \
            + float(t[edge_index(node, new[1]), ops.index(new[0])])
    return out
