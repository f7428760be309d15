"""`genocompile bench GENOTYPE|DIR`: measured latency of a fresh, warmed artifact on a device."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from genocompile.cli.options import GENOTYPE_HELP, resolve_genotype


def bench(
    source: str = typer.Argument(..., help=f"a bundle directory (made by `genocompile build`), or {GENOTYPE_HELP}"),
    target: Optional[str] = typer.Option(None, "--target", "-t", help="torch | aoti | onnx | trt (a bundle: its "
                                                                      "default target; a genotype: torch)"),
    device: Optional[str] = typer.Option(None, "--device", help="cpu | cuda (a bundle: the device it was built for)"),
    batch: int = typer.Option(1, "--batch", help="batch size (a genotype is built for it)"),
    precision: str = typer.Option("fp32", "--precision", help="fp32 | fp16 | bf16 | int8 (a genotype)"),
    cuda_graph: bool = typer.Option(False, "--cuda-graph", help="time CUDA-graph replays (GPU, torch targets)"),
    tolerance: float = typer.Option(0.03, "--tolerance", help="stop when the window medians agree within this"),
    max_seconds: float = typer.Option(10.0, "--max-seconds", help="time cap of the stability loop"),
    threads: Optional[int] = typer.Option(None, "--threads", help="torch intra-op threads (default: torch's)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Measure latency (median, p90, p99, throughput) of a warmed artifact, repeating until the median is stable."""
    import torch

    from genocompile.cost.measure import bench_bundle, bench_genotype

    if threads is not None:
        torch.set_num_threads(threads)
    timing = dict(tolerance=tolerance, max_seconds=max_seconds, cuda_graph=cuda_graph)
    if Path(source).is_dir() and (Path(source) / "manifest.json").is_file():
        m = bench_bundle(source, target, device, **timing)
    else:
        g = resolve_genotype(source)
        m = bench_genotype(g, target or "torch", device or "cpu", batch, precision, **timing)
    if as_json:
        typer.echo(json.dumps(m.to_dict()))
        return
    from rich.console import Console

    state = "stable" if m.stable else f"NOT stable within {tolerance:.0%} after {max_seconds:g} s"
    Console().print(f"[bold]{m.median_ms:.3f} ms[/] median, p90 {m.p90_ms:.3f}, p99 {m.p99_ms:.3f} ms; "
                    f"{m.throughput:,.1f} samples/s at batch {m.batch}; {m.runs} runs in {m.windows} windows, "
                    f"spread {m.spread:.1%} ({state})\n{m.device}, {m.threads} threads, "
                    f"torch {m.versions.get('torch')}, {m.extra.get('target')} {m.extra.get('precision')}")
