"""Measuring how well an evaluation ranks candidates (Yu et al. 2020, "Evaluating the search phase of NAS";
NNI's benchmarks): rank correlations between two fitness lists, and candidate sets that span a cell space.

Random DARTS cells are alike: each of the 16 edges draws a weighted op (sep/dil conv) with probability 4/7,
so four random cells in five hold 7-11 of them. `stratified_cells` spans the space instead: the i-th of n
candidates has round(i * E / (n - 1)) weighted ops among its E edges (from a cell of pooling and skip
connections to one of convolutions), placed on random edges, each op and input otherwise uniform. Even such a
set needs a ground truth that separates it: on digits at 8x8 (C=4, 3 cells, 4 epochs) its stand-alone means
spread 0.010 (std) against a seed std of 0.008; at 16x16 (3 epochs) they spread 0.044 against 0.007
(measured while writing `benchmarks/search_cpu.py`, which reports its own figures).
"""
from __future__ import annotations

import random
from dataclasses import replace

from genocompile.genotype import CellGenotype
from genocompile.ops.table import get_op


def weighted_ops(genotype: CellGenotype) -> int:
    """How many of the genotype's edges (normal and reduction cell) carry a convolution."""
    return sum(get_op(op).kind == "conv" for kind in ("normal", "reduce") for op, _ in getattr(genotype, kind))


def stratified_cells(space, rng: random.Random, n: int) -> list[CellGenotype]:
    """n genotypes of the DARTS cell `space` whose weighted-op counts step evenly from 0 to all edges."""
    convs = [op for op in space.ops if get_op(op).kind == "conv"]
    free = [op for op in space.ops if get_op(op).kind != "conv"]
    edges = 4 * space.steps  # two cells of `steps` nodes with two inputs each
    out = []
    for i in range(n):
        base = space.sample(rng)  # the inputs each node reads stay uniform
        k = round(i * edges / max(1, n - 1))
        weighted = set(rng.sample(range(edges), k))
        ops = [rng.choice(convs if e in weighted else free) for e in range(edges)]
        normal = [(ops[e], index) for e, (_, index) in enumerate(base.normal)]
        reduce = [(ops[len(normal) + e], index) for e, (_, index) in enumerate(base.reduce)]
        out.append(replace(base, normal=normal, reduce=reduce))
    return out


def rank_correlation(a: list[float], b: list[float]) -> dict[str, float]:
    """Kendall tau (tau-b, ties allowed) and Spearman rho between `a` and `b`, each with its two-sided p-value
    against no association."""
    from scipy.stats import kendalltau, spearmanr

    tau, rho = kendalltau(a, b), spearmanr(a, b)
    return {"tau": float(tau.statistic), "tau_p": float(tau.pvalue), "rho": float(rho.statistic),
            "rho_p": float(rho.pvalue)}
