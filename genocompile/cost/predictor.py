"""Latency predictor: the latency table summed over a genotype's compiled blocks, with a calibrated correction.

    lut_ms(g)      = sum of the table's entries over the blocks of g's deploy network (`network_blocks`)
    predict_ms(g)  = coef . [lut_ms, nodes, cells, 1]

`nodes` is the number of compiled nodes (kernels) summed over the blocks and `cells` the network's cell
count: together with the intercept they absorb what a sum of isolated blocks misses end to end (per-call
framework overhead, cache effects between blocks, passes that merge across blocks). The coefficients are
fitted by least squares on relative error (each row divided by its measured latency) over whole networks
measured end to end (`genocompile profile` measures random genotypes of the space and stores the fit in the
table's `calibration` section). Without a calibration the predictor returns `lut_ms`.

`expected_latency_ms(alphas_normal, alphas_reduce, lut, network)` is the same model under op probabilities
(softmax of the architecture weights per edge, as FBNet / ProxylessNAS make latency differentiable): each
edge's latency is the probability-weighted sum of its ops' entries, `none` costs nothing (the compiler
prunes it). At a one-hot alpha that selects a genotype's ops (and `none` elsewhere) it equals `lut_ms` of
that genotype.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from genocompile.cost.blocks import block_key, network_blocks, op_block
from genocompile.cost.lut import LUT, lut_key, read_lut
from genocompile.errors import CostModelError
from genocompile.genotype.network import darts_reduction_cells

FEATURES = ("lut_ms", "nodes", "cells", "one")
FULL_FIT_MIN = 8  # networks needed before every feature is fitted


def fit_calibration(features: Sequence[dict[str, float]], measured_ms: Sequence[float]) -> dict[str, Any]:
    """Least squares on relative error: min sum ((coef . f_i) / m_i - 1)^2. Returns the calibration section.

    Few networks cannot pin four coefficients (three would be fitted exactly and extrapolate wildly), so below
    `FULL_FIT_MIN` networks only a scale and an intercept are fitted, and for one network only a scale."""
    a = np.array([[f[k] for k in FEATURES] for f in features], dtype=float)
    m = np.asarray(measured_ms, dtype=float)
    used = list(FEATURES) if len(m) >= FULL_FIT_MIN else ["lut_ms", "one"] if len(m) >= 3 else ["lut_ms"]
    cols = [FEATURES.index(k) for k in used]
    coef = np.zeros(len(FEATURES))
    if a[:, 0].max() <= 0:  # a table of zeros: the mean is all there is
        coef[-1] = float(m.mean())
    else:
        coef[cols] = np.linalg.lstsq(a[:, cols] / m[:, None], np.ones_like(m), rcond=None)[0]
    rel = np.abs(a @ coef / m - 1.0)
    return {"features": list(FEATURES), "coef": [float(c) for c in coef], "n": int(len(m)),
            "fit_rel_err_median": float(np.median(rel))}


class LatencyPredictor:
    """`predict_ms(genotype)` for `Constraints(latency=...)`; `measure_ms(genotype)` for the final say."""

    def __init__(self, lut: LUT, device: str = "cpu", check: bool = True, target: str | None = None,
                 batch: int | None = None):
        self.lut, self.device = lut, device
        if check:  # target / batch: the table's unless the caller needs particular ones
            lut.check_key(lut_key(device, target or lut.key["target"], batch or lut.key["batch"]))
        self._cache: dict[str, dict[str, float]] = {}

    @classmethod
    def from_file(cls, path: str | Path, device: str = "cpu", target: str | None = None,
                  batch: int | None = None) -> "LatencyPredictor":
        lut = read_lut(path)
        if not lut.complete:
            raise CostModelError(f"latency table {path} is incomplete (its profile was stopped); rerun the same "
                                 f"`genocompile profile --out {path}` to finish it")
        return cls(lut, device, target=target, batch=batch)

    def features(self, genotype) -> dict[str, float]:
        from genocompile.genotype import genotype_hash

        key = genotype_hash(genotype)
        if key not in self._cache:
            lut_ms, nodes = 0.0, 0
            for block in network_blocks(genotype):
                lut_ms += self.lut.ms(block.key, block.label)
                nodes += int(self.lut.entries[block.key].get("nodes", 0))
            cells = getattr(genotype.network, "layers", 0)
            self._cache[key] = {"lut_ms": lut_ms, "nodes": nodes, "cells": cells, "one": 1.0}
        return self._cache[key]

    def lut_ms(self, genotype) -> float:
        return self.features(genotype)["lut_ms"]

    def predict_ms(self, genotype) -> float:
        f = self.features(genotype)
        return calibrated(f, self.lut.calibration)

    def breakdown(self, genotype) -> list[tuple[str, str, float]]:
        """(block, label, table ms) per block of the deploy network: where the prediction comes from."""
        return [(b.name, b.label, self.lut.ms(b.key, b.label)) for b in network_blocks(genotype)]

    def measure_ms(self, genotype, **timing) -> float:
        """End-to-end median latency of the deploy network on this device (the torch target's module)."""
        from genocompile.cost.profile import measure_network_ms

        return measure_network_ms(genotype, self.device, int(self.lut.key["batch"]), **timing)


def calibrated(features: dict[str, Any], calibration: dict[str, Any]):
    """coef . features (works on floats and torch tensors alike); the table sum without a calibration."""
    coef = calibration.get("coef")
    if not coef:
        return features["lut_ms"]
    return sum(c * features[name] for c, name in zip(coef, calibration["features"]))


# --- differentiable form ------------------------------------------------------------------------------
def _edges(steps: int) -> list[tuple[int, int]]:
    """DARTS' edge order: for node k = 2.., its inputs j = 0..k-1 (14 edges for 4 steps)."""
    return [(k, j) for k in range(2, 2 + steps) for j in range(k)]


def _edge_tables(lut: LUT, network: tuple, ops: tuple[str, ...], steps: int):
    """Per cell kind, (edges x ops) table ms and node counts summed over the cells of that kind; plus the fixed
    blocks (stem, preprocessing, sums, concats, head). Cached on the table object."""
    from genocompile.cost.profile import get_space

    cache = lut.__dict__.setdefault("_edge_tables", {})
    if (network, ops) in cache:
        return cache[(network, ops)]
    probe = get_space(lut.space).probe(next(o for o in ops if o != "none"), dict(network))
    blocks = {b.name: b for b in network_blocks(probe)}
    net = probe.network
    reductions = darts_reduction_cells(net.layers)
    edges = _edges(steps)
    shape = (len(edges), len(ops))
    tables = {kind: (np.zeros(shape), np.zeros(shape)) for kind in ("normal", "reduce")}
    for i in range(net.layers):
        kind = "reduce" if i in reductions else "normal"
        state = blocks[f"cells.{i}.preprocess1"].graph
        in_shape = state.node(state.outputs[0]).shape
        node = blocks[f"cells.{i}.node2"].graph
        mid_shape = node.node(node.outputs[0]).shape
        lat, nodes = tables[kind]
        for e, (_, j) in enumerate(edges):
            stride = 2 if kind == "reduce" and j < 2 else 1
            shape = in_shape if j < 2 else mid_shape
            for o, op in enumerate(ops):
                if op == "none":
                    continue  # pruned by the compiler: no kernel, no time
                g = op_block(op, shape, in_shape[0], stride)
                k = block_key(g)
                lat[e, o] += lut.ms(k, f"{op} s{stride} on {'x'.join(map(str, shape))}")
                nodes[e, o] += lut.entries[k].get("nodes", 0)
    fixed_ms = sum(lut.ms(b.key, b.label) for name, b in blocks.items() if "._ops." not in name)
    fixed_nodes = sum(lut.entries[b.key].get("nodes", 0) for name, b in blocks.items() if "._ops." not in name)
    cache[(network, ops)] = (tables, fixed_ms, fixed_nodes, net.layers)
    return cache[(network, ops)]


def expected_latency_ms(alphas_normal: torch.Tensor, alphas_reduce: torch.Tensor, lut: LUT | LatencyPredictor | str,
                        network: Any = None, ops: Sequence[str] | None = None, calibrate: bool = True) -> torch.Tensor:
    """Expected latency (ms) of the deploy network under per-edge op probabilities softmax(alphas), a torch scalar
    with gradients. `alphas_*`: (edges, ops) logits in DARTS' edge order and op order (`ops`, default the
    space's); `network`: deploy network settings (a DartsNetwork, a dict, or None for the table's)."""
    from genocompile.cost.profile import get_space
    from genocompile.genotype.network import network_to_dict

    if isinstance(lut, LatencyPredictor):
        lut = lut.lut
    elif not isinstance(lut, LUT):
        lut = read_lut(lut)
    ops = tuple(ops or get_space(lut.space).ops)
    if network is None:
        settings = dict(lut.network)
    else:
        settings = dict(network) if isinstance(network, dict) else network_to_dict(network)
    settings.pop("skeleton", None)
    edges = len(_edges(get_space(lut.space).steps))
    for name, a in (("alphas_normal", alphas_normal), ("alphas_reduce", alphas_reduce)):
        if tuple(a.shape) != (edges, len(ops)):
            raise CostModelError(f"{name} has shape {tuple(a.shape)}; expected ({edges}, {len(ops)}) "
                                 f"(edges x ops {', '.join(ops)})")
    frozen = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in settings.items()))
    tables, fixed_ms, fixed_nodes, cells = _edge_tables(lut, frozen, ops, get_space(lut.space).steps)
    lat = torch.tensor(fixed_ms, dtype=alphas_normal.dtype)
    nodes = torch.tensor(float(fixed_nodes), dtype=alphas_normal.dtype)
    for kind, alphas in (("normal", alphas_normal), ("reduce", alphas_reduce)):
        p = torch.softmax(alphas, dim=-1)
        lat = lat + (p * torch.as_tensor(tables[kind][0], dtype=p.dtype)).sum()
        nodes = nodes + (p * torch.as_tensor(tables[kind][1], dtype=p.dtype)).sum()
    if not calibrate:
        return lat
    return calibrated({"lut_ms": lat, "nodes": nodes, "cells": float(cells), "one": 1.0}, lut.calibration)
