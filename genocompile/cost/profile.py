"""`genocompile profile`: time every block a space's deploy network can contain, into a latency table.

Which blocks a space can produce: for each op of the space, a *probe* genotype uses that op on every edge,
wired so that every cell has edges from its inputs (stride 2 in reduction cells) and from intermediate
nodes (stride 1). Cutting the probes' deploy networks into blocks (`genocompile.cost.blocks`) yields every
(op, channels, stride, resolution) block, plus the stem, the preprocessing layers, the sums, the concats and
the head; Once-for-All's LUT likewise enumerates each layer's configurations at each input size of its
fixed skeleton. Each block is compiled alone (random weights, default passes, torch emitter) and timed.

Then the predictor's correction is calibrated on end-to-end measurements of random genotypes of the space
(`genocompile.cost.predictor.fit_calibration`).

Resumable: after every block and every calibration network the table is rewritten atomically; a rerun
with the same `--out` skips what is there (a table made on another device / for another space is
refused). A killed profile therefore loses at most the block it was timing.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from genocompile.cost.blocks import Block, compile_graph, example_inputs, network_blocks
from genocompile.cost.lut import LUT, lut_key, read_lut
from genocompile.cost.measure import time_callable
from genocompile.errors import CostModelError
from genocompile.ops.table import DARTS_SEARCH_OPS
from genocompile.registry import Registry


@dataclass(frozen=True)
class LatencySpace:
    """A cell search space as the profiler sees it: the skeleton, the ops, the intermediate nodes per cell."""

    name: str
    skeleton: str
    ops: tuple[str, ...]
    steps: int = 4

    def probe(self, op: str, network: dict[str, Any] | None = None):
        """A genotype using `op` on every edge: node k reads inputs 0 and k-1 (stride 2 and 1 in reductions)."""
        from genocompile.genotype import CellGenotype

        edges = [(op, 0), (op, 1)] + [(op, j) for k in range(3, 2 + self.steps) for j in (0, k - 1)]
        concat = list(range(2, 2 + self.steps))
        return CellGenotype(normal=edges, normal_concat=concat, reduce=edges, reduce_concat=concat,
                            name=f"probe_{op}").with_network(self.skeleton, **(network or {}))

    def sample(self, rng: random.Random, network: dict[str, Any] | None = None, name: str = "random"):
        """A random deploy genotype (two distinct inputs per node, no `none`, all nodes concatenated), as random
        search in the DARTS space draws them."""
        from genocompile.genotype import CellGenotype

        ops = [o for o in self.ops if o != "none"]

        def cell():
            edges = []
            for k in range(2, 2 + self.steps):
                for j in sorted(rng.sample(range(k), 2)):
                    edges.append((rng.choice(ops), j))
            return edges
        concat = list(range(2, 2 + self.steps))
        return CellGenotype(normal=cell(), normal_concat=concat, reduce=cell(), reduce_concat=concat,
                            name=name).with_network(self.skeleton, **(network or {}))


LATENCY_SPACES: Registry[LatencySpace] = Registry("latency space", CostModelError)
for _name in ("darts-cifar", "darts-imagenet"):
    LATENCY_SPACES.add(_name, LatencySpace(_name, _name, DARTS_SEARCH_OPS))


def get_space(name: str) -> LatencySpace:
    return LATENCY_SPACES.get_or_raise(name)


def space_blocks(space: LatencySpace, network: dict[str, Any] | None = None) -> dict[str, Block]:
    """Every distinct block (by key) the space's deploy network can contain, in a stable order."""
    out: dict[str, Block] = {}
    for op in space.ops:
        for block in network_blocks(space.probe(op, network)):
            out.setdefault(block.key, block)
    return out


def time_block(block: Block, device: str, batch: int, **timing) -> tuple[float, int, float]:
    """(median ms, compiled node count, spread) of one block compiled alone."""
    from genocompile.passes import optimize
    from genocompile.cost.blocks import random_weights

    module = compile_graph(block.graph, device)
    nodes = len([n for n in optimize(random_weights(block.graph)).nodes if n.kind != "input"])
    xs = example_inputs(block.graph, batch, device)
    m = time_callable(lambda xs: module(*xs), xs, device, batch=batch, **timing)
    return m.median_ms, nodes, m.spread


def call_overhead_ms(device: str, batch: int, **timing) -> float:
    """One call of an empty compiled module (input -> output): what every block's timing carries on top."""
    from genocompile.ir.graph import GraphBuilder

    b = GraphBuilder("empty")
    x = b.add("input", [], {"shape": (4, 8, 8)}, name="x")
    empty = Block("empty", b.build([x]), "", "")
    return time_block(empty, device, batch, **timing)[0]


def network_module(genotype, device: str = "cpu", batch: int = 1, seed: int = 0):
    """The deploy network as the torch target runs it (random weights), and an input batch for it."""
    from genocompile.ir.lower import lower_structure

    graph = lower_structure(genotype)
    return compile_graph(graph, device, seed), example_inputs(graph, batch, device)[0]


def measure_network_ms(genotype, device: str = "cpu", batch: int = 1, **timing) -> float:
    """End-to-end median latency of the genotype's deploy network (torch target), stable median."""
    module, x = network_module(genotype, device, batch)
    return time_callable(module, x, device, **timing).median_ms


def _remove_stale_temps(out: Path) -> None:
    """Temp files of writers killed mid-write (their process is gone)."""
    import os

    for tmp in out.parent.glob(f".{out.name}.tmp-*"):
        try:
            os.kill(int(tmp.name.rsplit("-", 1)[1]), 0)
        except ProcessLookupError:
            tmp.unlink(missing_ok=True)
        except (ValueError, PermissionError):
            continue


Progress = Callable[[str, int, int], None]  # (phase, done, total)


def open_table(out: Path, space: LatencySpace, device: str, target: str, batch: int,
               network: dict[str, Any]) -> LUT:
    """The table at `out` to continue (same key, space and network), or a new one."""
    key = lut_key(device, target, batch)
    _remove_stale_temps(out)
    if out.exists():
        lut = read_lut(out)
        lut.check_key(key)
        if lut.space != space.name or lut.network != network:
            raise CostModelError(f"{out} holds a table for {lut.space} {lut.network}, not {space.name} {network}; "
                                 f"use a new --out")
        return lut
    return LUT(key=key, space=space.name, network=network, path=out)


def profile(space_name: str, out: str | Path, device: str = "cpu", target: str = "torch", batch: int = 1,
            network: dict[str, Any] | None = None, calibrate: int = 12, seed: int = 0,
            progress: Progress | None = None, block_timing: dict | None = None,
            network_timing: dict | None = None) -> LUT:
    """Profile the space's blocks into `out` (resuming), then calibrate on `calibrate` random genotypes."""
    from genocompile.cost.predictor import LatencyPredictor, fit_calibration
    from genocompile.genotype import genotype_hash, to_json
    from genocompile.genotype.network import network_to_dict

    if target != "torch":
        raise CostModelError(f"profile --target {target}: only the torch target's blocks can be timed alone so far; "
                             f"use --target torch (bench measures every target end to end)")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise CostModelError("--device cuda: torch sees no CUDA GPU here; profile on the machine to predict for")
    space = get_space(space_name)
    step = progress or (lambda phase, done, total: None)
    settings = network_to_dict(space.probe(space.ops[0], network).network)
    lut = open_table(Path(out), space, device, target, batch, settings)
    block_timing = {"max_seconds": 3.0, "tolerance": 0.05, **(block_timing or {})}
    network_timing = {"max_seconds": 6.0, "tolerance": 0.03, **(network_timing or {})}
    if lut.call_overhead_ms is None:
        lut.call_overhead_ms = call_overhead_ms(device, batch, **block_timing)
        lut.save()
    blocks = space_blocks(space, network)
    todo = [k for k in blocks if k not in lut.entries]
    done = len(blocks) - len(todo)
    for k in todo:
        step("blocks", done, len(blocks))
        ms, nodes, spread = time_block(blocks[k], device, batch, **block_timing)
        lut.entries[k] = {"ms": max(0.0, ms - lut.call_overhead_ms), "raw_ms": ms, "nodes": nodes,
                          "spread": round(spread, 4), "label": blocks[k].label}
        lut.save()
        done += 1
    step("blocks", done, len(blocks))
    samples = lut.calibration.setdefault("samples", [])
    rng = random.Random(seed)
    genotypes = [space.sample(rng, network, name=f"calibration_{i}") for i in range(calibrate)]
    predictor = LatencyPredictor(lut, check=False)
    have = {s["hash"] for s in samples}
    for i, g in enumerate(genotypes):
        step("calibration", i, len(genotypes))
        if genotype_hash(g) in have:
            continue
        measured = measure_network_ms(g, device, batch, **network_timing)
        samples.append({"hash": genotype_hash(g), "genotype": to_json(g), "measured_ms": measured,
                        "features": predictor.features(g)})
        lut.save()
    step("calibration", len(genotypes), len(genotypes))
    if samples:
        lut.calibration.update(fit_calibration([s["features"] for s in samples], [s["measured_ms"] for s in samples]))
    lut.complete = True
    lut.save()
    return lut
