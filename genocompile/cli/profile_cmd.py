"""`genocompile profile --space SPACE --device D --out LUT.json`: a latency table for the predictor (resumable)."""
from __future__ import annotations

from typing import Optional

import typer

from genocompile.cli.options import parse_input_size


def profile(
    space: str = typer.Option(..., "--space", help="darts-cifar | darts-imagenet"),
    out: str = typer.Option(..., "--out", "-o", help="latency table to write (a rerun continues it)"),
    device: str = typer.Option("cpu", "--device", help="cpu | cuda"),
    target: str = typer.Option("torch", "--target", help="torch (the blocks the torch emitter compiles)"),
    batch: int = typer.Option(1, "--batch", help="batch size the table is for"),
    calibrate: int = typer.Option(12, "--calibrate", help="random genotypes measured end to end for the correction"),
    seed: int = typer.Option(0, "--seed", help="seed of the calibration genotypes"),
    threads: Optional[int] = typer.Option(None, "--threads", help="torch intra-op threads (part of the table's key)"),
    init_channels: Optional[int] = typer.Option(None, "--init-channels", help="deploy network override"),
    layers: Optional[int] = typer.Option(None, "--layers", help="deploy network override (cells)"),
    input_size: Optional[str] = typer.Option(None, "--input-size", help="deploy network override, HxW"),
) -> None:
    """Time every block the space's deploy network can contain (each op at each channel width, stride and
    resolution; stem, preprocessing, head), then calibrate the predictor on whole networks measured end to end."""
    import torch
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from genocompile.cost.profile import profile as run_profile

    if batch < 1:
        raise typer.BadParameter("--batch must be at least 1")
    if threads is not None:
        torch.set_num_threads(threads)
    network = {k: v for k, v in {"init_channels": init_channels, "layers": layers,
                                 "input_size": parse_input_size(input_size)}.items() if v is not None}
    console = Console(stderr=True)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as bar:
        tasks: dict[str, int] = {}

        def step(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        lut = run_profile(space, out, device, target, batch, network, calibrate, seed, progress=step)
    cal = lut.calibration
    fit = (f"; calibrated on {cal['n']} networks (median fit error {cal['fit_rel_err_median']:.1%})"
           if cal.get("coef") else "")
    console.print(f"wrote {out}: {len(lut.entries)} blocks on {lut.key['device']}{fit}")
