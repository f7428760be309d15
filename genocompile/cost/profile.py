"""`genocompile profile`: time every block a space's deploy network can contain, into a latency table.

Which blocks a space can produce: for each op of the space, a *probe* genotype uses that op on every edge,
wired so that every cell has edges from its inputs (stride 2 in reduction cells) and from intermediate
nodes (stride 1). Cutting the probes' deploy networks into blocks (`genocompile.cost.blocks`) yields every
(op, channels, stride, resolution) block, plus the stem, the preprocessing layers, the sums, the concats and
the head; Once-for-All's LUT likewise enumerates each layer's configurations at each input size of its
fixed skeleton. Each block is compiled alone (random weights, default passes, torch emitter) and timed
round-robin with the others of its group (a shared machine's noise then hits them alike), less an empty
compiled module's call time (the per-call overhead, which the correction models once per kernel instead).

Then the predictor's correction is calibrated on end-to-end measurements of random genotypes of the space
(`genocompile.cost.predictor.fit_calibration`).

Resumable: after every group of blocks and of calibration networks the table is rewritten atomically; a rerun
with the same `--out` skips what is there (a table made on another device / for another space is
refused). A killed profile therefore loses at most the group it was timing.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from genocompile.atomic import stale_temps
from genocompile.cost.blocks import (
    Block,
    compile_graph,
    compile_optimized,
    example_inputs,
    network_blocks,
    optimized,
)
from genocompile.cost.lut import LUT, lut_key, read_lut
from genocompile.cost.measure import interleaved_ms, time_callable
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


BLOCK_TIMING = {"rounds": 60, "per_round": 3, "warmup": 3, "group": 32}
NETWORK_TIMING = {"rounds": 11, "per_round": 2, "warmup": 3, "group": 12}


def _empty_block() -> Block:
    from genocompile.ir.graph import GraphBuilder

    b = GraphBuilder("empty")
    x = b.add("input", [], {"shape": (4, 8, 8)}, name="x")
    return Block("empty", b.build([x]), "", "empty module")


def time_blocks(blocks: list[Block], device: str, batch: int, rounds: int = 40, per_round: int = 3,
                warmup: int = 3) -> tuple[list[float], list[int], float]:
    """(ms per block, compiled nodes per block, call overhead ms): the blocks compiled alone and timed round-robin
    together with an empty compiled module, whose time (the per-call overhead) is subtracted from each."""
    calls, nodes = [], []
    for block in [_empty_block(), *blocks]:
        graph = optimized(block.graph)  # once: the module and the node count come from the same graph
        module = compile_optimized(graph, device)
        xs = example_inputs(block.graph, batch, device, channels_last=True)
        calls.append(lambda m=module, xs=xs: m(*xs))
        nodes.append(len([n for n in graph.nodes if n.kind != "input"]))
    ms = interleaved_ms(calls, device, rounds, per_round, warmup)
    return [max(0.0, t - ms[0]) for t in ms[1:]], nodes[1:], ms[0]


def network_module(genotype, device: str = "cpu", batch: int = 1, seed: int = 0):
    """The deploy network as the torch target runs it (random weights), and an input batch for it."""
    from genocompile.ir.lower import lower_structure

    graph = lower_structure(genotype)
    x = example_inputs(graph, batch, device)[0]
    if device.startswith("cuda"):  # as the torch target's runtime feeds it on a GPU
        x = x.contiguous(memory_format=torch.channels_last)
    return compile_graph(graph, device, seed), x


def measure_networks(genotypes: list, device: str = "cpu", batch: int = 1, rounds: int = 7, per_round: int = 3,
                     warmup: int = 3) -> list[float]:
    """End-to-end median ms of each genotype's deploy network (torch target), timed round-robin together."""
    nets = [network_module(g, device, batch) for g in genotypes]
    return interleaved_ms([lambda m=m, x=x: m(x) for m, x in nets], device, rounds, per_round, warmup)


def measure_network_ms(genotype, device: str = "cpu", batch: int = 1, **timing) -> float:
    """End-to-end latency of one deploy network: the stable median of `time_callable`."""
    module, x = network_module(genotype, device, batch)
    return time_callable(module, x, device, **timing).median_ms


def _remove_stale_temps(out: Path) -> None:
    """Temp files of writers killed mid-write (their process is gone)."""
    for tmp in stale_temps(out):
        tmp.unlink(missing_ok=True)


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
    block_timing = {**BLOCK_TIMING, **(block_timing or {})}
    network_timing = {**NETWORK_TIMING, **(network_timing or {})}
    blocks = space_blocks(space, network)
    todo = [k for k in blocks if k not in lut.entries]
    group = block_timing.pop("group")
    for start in range(0, len(todo), group):  # round-robin within a group; each finished group is saved
        step("blocks", len(blocks) - len(todo) + start, len(blocks))
        keys = todo[start:start + group]
        ms, nodes, overhead = time_blocks([blocks[k] for k in keys], device, batch, **block_timing)
        for k, t, n in zip(keys, ms, nodes):
            lut.entries[k] = {"ms": t, "nodes": n, "label": blocks[k].label}
        lut.call_overhead_ms = overhead
        lut.save()
    step("blocks", len(blocks), len(blocks))
    samples = lut.calibration.setdefault("samples", [])
    rng = random.Random(seed)
    genotypes = [space.sample(rng, network, name=f"calibration_{i}") for i in range(calibrate)]
    have = {s["hash"] for s in samples}
    pending = [g for g in genotypes if genotype_hash(g) not in have]
    predictor = LatencyPredictor(lut, check=False)
    group = network_timing.pop("group")
    for start in range(0, len(pending), group):
        step("calibration", len(genotypes) - len(pending) + start, len(genotypes))
        chunk = pending[start:start + group]
        for g, measured in zip(chunk, measure_networks(chunk, device, batch, **network_timing)):
            samples.append({"hash": genotype_hash(g), "genotype": to_json(g), "measured_ms": measured,
                            "features": predictor.features(g)})
        lut.save()
    step("calibration", len(genotypes), len(genotypes))
    if samples:
        lut.calibration.update(fit_calibration([s["features"] for s in samples], [s["measured_ms"] for s in samples]))
    lut.complete = True
    lut.save()
    return lut
