"""The compile pipeline: one linear list of named Graph -> Graph passes.

`optimize(graph)` runs `DEFAULT_PIPELINE` step by step, verifies the graph after every step, and on
failure says which pass failed after which others. With `GENOCOMPILE_DEBUG=1` the IR is dumped (to
stderr) after each step. A target that runs more patterns as one kernel extends the list
(`pipeline_for(fused_kernels)`); a new pass is one file here plus one entry in `PASSES`.

Measured effect of each pass (DARTS_V2, darts-imagenet 224x224; node counts from
`benchmarks/compile_cpu.py`, which also times them): see benchmarks/RESULTS.md, section compile_cpu.
"""
from __future__ import annotations

import os
import sys
from typing import Callable, Iterable

from genocompile.ir.graph import Graph, dump, verify
from genocompile.passes.dead_code import dead_code
from genocompile.passes.fold_bn import fold_bn
from genocompile.passes.fold_identity import fold_identity
from genocompile.passes.fuse_conv_relu import fuse_conv_relu
from genocompile.passes.fuse_dw_pw import fuse_dw_pw
from genocompile.passes.merge_duplicates import merge_duplicates
from genocompile.passes.prune_zero import prune_zero

PASSES: dict[str, Callable[[Graph], Graph]] = {
    "prune_zero": prune_zero,
    "fold_identity": fold_identity,
    "dead_code": dead_code,
    "merge_duplicates": merge_duplicates,
    "fold_bn": fold_bn,
    "fuse_conv_relu": fuse_conv_relu,
    "fuse_dw_pw": fuse_dw_pw,
}

DEFAULT_PIPELINE: tuple[str, ...] = ("prune_zero", "fold_identity", "dead_code", "merge_duplicates", "fold_bn",
                                     "fuse_conv_relu")


class PassError(RuntimeError):
    """A pass produced an invalid graph or raised: a bug in genocompile, reported with the pass's position."""


def pipeline_for(fused_kernels: Iterable[str] = ()) -> tuple[str, ...]:
    """The pipeline for a target: the default, plus the fusions the target runs as one kernel."""
    steps = list(DEFAULT_PIPELINE)
    if "dwpw" in set(fused_kernels):
        steps.insert(steps.index("fuse_conv_relu"), "fuse_dw_pw")
    return tuple(steps)


def _debug() -> bool:
    return os.environ.get("GENOCOMPILE_DEBUG", "") not in ("", "0")


def optimize(graph: Graph, steps: Iterable[str] = DEFAULT_PIPELINE) -> Graph:
    steps = tuple(steps)
    done: list[str] = []
    for k, name in enumerate(steps, 1):
        try:
            graph = verify(PASSES[name](graph))
        except Exception as e:
            after = ", ".join(done) or "nothing"
            raise PassError(f"pass {name!r} (step {k} of {len(steps)}, after {after}) failed: "
                            f"{type(e).__name__}: {e}") from e
        done.append(name)
        if _debug():
            print(f"# IR after step {k}: {name} ({len(graph.nodes)} nodes)\n{dump(graph)}", file=sys.stderr)
    return graph
