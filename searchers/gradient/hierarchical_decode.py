"""From α and β to a `hierarchical` genotype, as Auto-DeepLab decodes, and under hard bounds.

Plain decoding: the cell as DARTS (`decode.argmax_edges`: per block the two predecessors whose strongest
non-`none` op weighs most, each with that op; two distinct inputs, so block 0 reads both H^{l-2} and
H^{l-1}), the path by the Viterbi algorithm over β (`trellis.viterbi`). Bounded decoding: when that
genotype breaks a bound, walk down: repeatedly make the single change (one block's input or op, or one
layer's rate where the path stays valid) that removes the most excess cost per unit of log-probability
given up (α's for a cell change, β's path log-probability for a path change), costs from the tables,
until they say the genotype fits; then the whole network is checked with `Constraints` (the independent
count) and the walk goes on if it does not.
"""
from __future__ import annotations

from typing import Any, Mapping

import torch

from genocompile.cost.constraints import Constraints
from genocompile.errors import SearchError
from genocompile.genotype.hierarchical import RATES, HierarchicalGenotype
from genocompile.searchers.gradient.decode import Decoded, _penalty, argmax_edges, cell_moves
from genocompile.searchers.gradient.hierarchical_cost import HierarchicalCost
from genocompile.searchers.gradient.supernet import edge_index
from genocompile.searchers.gradient.trellis import log_probs, path_score, viterbi


def to_genotype(cell: list[tuple[str, int]], path: list[int], network: Any, name: str = "gradient"):
    return HierarchicalGenotype(cell=cell, path=path, network=network, name=name)


def decode_argmax(arch: Mapping[str, torch.Tensor], ops: tuple[str, ...], blocks: int, network: Any,
                  name: str = "gradient") -> HierarchicalGenotype:
    return to_genotype(argmax_edges(arch["alpha"], ops, blocks), viterbi(arch["beta"])[0], network, name)


def decode_bounded(arch: Mapping[str, torch.Tensor], ops: tuple[str, ...], blocks: int, network: Any,
                   constraints: Constraints, cost: HierarchicalCost, name: str = "gradient",
                   max_moves: int = 200) -> Decoded:
    """The argmax genotype if it satisfies `constraints`, else the best feasible one found by walking down."""
    bounds = {d: b for d, b in (("multiadds", constraints.max_multiadds), ("params", constraints.max_params))
              if b is not None}
    cell = argmax_edges(arch["alpha"], ops, blocks)
    path = viterbi(arch["beta"])[0]
    argmax = to_genotype(cell, path, network, name)
    logp = torch.log_softmax(arch["alpha"].detach().double(), dim=-1)
    lp_beta = log_probs(arch["beta"].detach().double()).tolist()
    none = ops.index("none") if "none" in ops else None
    changes: list[str] = []
    for _ in range(max_moves):
        est = cost.of_choice(cell, path)
        if _penalty(est, bounds) == 0.0:
            genotype = to_genotype(cell, path, network, name)
            costs = constraints.costs(genotype)
            problems = constraints.violations(genotype, costs)
            if not problems:
                return Decoded(genotype, argmax, costs, changes)
            if not any(d in bounds for d in costs):
                raise SearchError(f"the decoded genotype breaks {constraints.describe()} ({'; '.join(problems)}) "
                                  f"and the hierarchical searcher has no per-op table for it; drop that bound or "
                                  f"bound --max-multiadds / --max-params instead")
            est = {d: max(est[d], costs[d] * (1 + 1e-9)) for d in bounds}  # trust the whole-network count
        current = _penalty(est, bounds)
        best = None
        for slot, node, (op, j), (op2, j2), k2 in cell_moves(cell, ops, none):  # one block's input or op
            trial = list(cell)
            trial[slot] = (op2, j2)
            gain = current - _penalty(cost.of_choice(trial, path), bounds)
            loss = max(float(logp[edge_index(node, j), ops.index(op)]) - float(logp[edge_index(node, j2), k2]), 1e-9)
            if gain > 0 and (best is None or loss / gain < best[0]):
                best = (loss / gain, trial, path, f"cell block {node}: {op} from {j} -> {op2} from {j2}")
        base = path_score(lp_beta, path)
        for layer in range(len(path)):  # one layer's rate
            for rate in RATES:
                trial_path = path[:layer] + [rate] + path[layer + 1:]
                score = path_score(lp_beta, trial_path)
                if rate == path[layer] or score == float("-inf"):
                    continue
                gain = current - _penalty(cost.of_choice(cell, trial_path), bounds)
                loss = max(base - score, 1e-9)
                if gain > 0 and (best is None or loss / gain < best[0]):
                    best = (loss / gain, cell, trial_path, f"path layer {layer}: rate {path[layer]} -> {rate}")
        if best is None:
            raise SearchError(f"no genotype of this search space satisfies {constraints.describe()} in the "
                              f"{network.skeleton} deploy network (no single change lowers the excess below "
                              f"{', '.join(f'{d} {v:,.4g}' for d, v in est.items() if d in bounds)}); "
                              f"loosen the bound or use a smaller deploy network (--deploy-filter-multiplier)")
        _, cell, path, change = best
        changes.append(change)
    raise SearchError(f"bounded decoding did not reach {constraints.describe()} within {max_moves} changes")
