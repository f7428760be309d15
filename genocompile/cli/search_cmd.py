"""`genocompile search --searcher NAME --space SPACE --out DIR`: run (or resume) a search, write DIR/genotype.json.

Searcher-specific options (`--ea detnas`, `--rl-algo ppo`, `--order 2` ...) are not declared here: every
`--name value` this command does not know goes to the searcher in `SearchOptions.extra` as
{"name": "value"}, and the searcher refuses names it does not know. A new searcher needs no CLI edit.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from genocompile.errors import SearchError

CONTEXT = {"allow_extra_args": True, "ignore_unknown_options": True}


def parse_extra(args: list[str]) -> dict[str, str]:
    """['--ea', 'detnas', '--flag', '--k=v'] -> {'ea': 'detnas', 'flag': 'true', 'k': 'v'}."""
    out: dict[str, str] = {}
    i = 0
    while i < len(args):
        token = args[i]
        if not token.startswith("--") or len(token) < 3:
            raise SearchError(f"unexpected argument {token!r}; searcher options are written --name value")
        name, eq, value = token[2:].partition("=")
        if not eq:
            if i + 1 < len(args) and not args[i + 1].startswith("--"):
                value, i = args[i + 1], i + 1
            else:
                value = "true"
        out[name.replace("-", "_")] = value
        i += 1
    return out


class RichProgress:
    """The CLI's progress bar: evaluations done of the budget, best fitness, constraint rejections."""

    def __init__(self, progress, task):
        self._progress, self._task = progress, task

    def update(self, done: int, total: int, best: float | None = None, rejected: int = 0, message: str = "") -> None:
        best_text = "-" if best is None else f"{best:.4f}"
        self._progress.update(self._task, completed=done, total=total,
                              description=f"best {best_text}  rejected {rejected}  {message[:60]}")


def search(
    ctx: typer.Context,
    searcher: str = typer.Option("evolution", "--searcher", help="evolution | gradient | rl (see docs)"),
    space: str = typer.Option("darts-cifar", "--space", help="darts-cifar | darts-imagenet | ..."),
    out: Path = typer.Option(..., "--out", "-o", help="search directory: journal, genotype.json, pareto.png; "
                                                      "rerunning with the same DIR resumes"),
    budget: int = typer.Option(20, "--budget", help="candidate evaluations (gradient: epochs); a larger budget "
                                                    "on a rerun continues the search"),
    max_multiadds: Optional[int] = typer.Option(None, "--max-multiadds", help="bound on the deploy network's "
                                                                              "MultiAdds (fvcore)"),
    max_params: Optional[int] = typer.Option(None, "--max-params", help="bound on the deploy network's params"),
    max_latency_ms: Optional[float] = typer.Option(None, "--max-latency-ms", help="bound on predicted latency"),
    device: str = typer.Option("cpu", "--device", help="device the latency model is for"),
    latency_model: Optional[str] = typer.Option(None, "--latency-model", help="latency lookup table (JSON)"),
    max_activation_bytes: Optional[int] = typer.Option(None, "--max-activation-bytes",
                                                       help="bound on the deploy network's peak activation "
                                                            "memory at batch 1 (bytes)"),
    data: Optional[str] = typer.Option(None, "--data", help="digits (default) or a local CIFAR-10 folder"),
    executor: str = typer.Option("local", "--executor", help="local (worker processes) | ray"),
    workers: int = typer.Option(1, "--workers", help="evaluations run at once"),
    seed: int = typer.Option(0, "--seed", help="search seed"),
    as_json: bool = typer.Option(False, "--json", help="print one final JSON line (best, evaluated, resumed)"),
) -> None:
    """Search a space for the best genotype under deploy-network constraints.

    Searcher options follow the common ones; evolution's: --ea aging|detnas, --population, --sample-size,
    --top-k, --evaluation proxy|oneshot, --proxy-channels, --proxy-layers, --proxy-input, --epochs,
    --supernet-epochs, --recalibration-batches. Spaces: darts-cifar, darts-imagenet, shufflenetv2-oneshot;
    gradient also searches autodeeplab (α and β, Viterbi path; --layers, --filter-multiplier, --deploy-*)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from genocompile.cost.constraints import constraints_from_options
    from genocompile.searchers.registry import SearchOptions, get_searcher

    run = get_searcher(searcher)
    constraints = constraints_from_options(max_multiadds, max_params, max_latency_ms, latency_model, device,
                                           max_activation_bytes)
    options = SearchOptions(space=space, out_dir=out, budget=budget, seed=seed, constraints=constraints, data=data,
                            executor=executor, workers=workers, extra=parse_extra(list(ctx.args)))
    console = Console(stderr=True)
    with Progress(TextColumn(f"[bold]{searcher}[/] {space}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TextColumn("{task.description}"), console=console, transient=True) as bar:
        summary = run(options, RichProgress(bar, bar.add_task("starting", total=budget)))
    costs = summary.best.get("costs", {})
    console.print(f"best fitness {summary.best['fitness']:.4f}, "
                  f"{costs.get('multiadds', float('nan')) / 1e6:.1f}M MultiAdds, "
                  f"{costs.get('params', float('nan')) / 1e6:.2f}M params; {summary.evaluated} evaluated "
                  f"({summary.resumed} resumed, {summary.extra.get('rejected', 0)} rejected); wrote {out}/genotype.json")
    if as_json:
        typer.echo(json.dumps(summary.to_dict(), separators=(",", ":")))
