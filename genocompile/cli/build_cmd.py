"""`genocompile build GENOTYPE --target ... --out DIR`: verified artifacts in an atomically written bundle."""
from __future__ import annotations

from typing import List, Optional

import typer

from genocompile.cli.options import GENOTYPE_HELP, resolve_genotype


def build(
    genotype: str = typer.Argument(..., help=GENOTYPE_HELP),
    target: List[str] = typer.Option(..., "--target", "-t", help="torch | aoti | onnx | trt (repeat for several; "
                                                                   "all share one set of weights)"),
    out: str = typer.Option(..., "--out", "-o", help="bundle directory to write (replaced atomically)"),
    weights: Optional[str] = typer.Option(None, "--weights", help="checkpoint (DARTS-repo .pth.tar or state_dict)"),
    precision: str = typer.Option("fp32", "--precision", help="fp32 | fp16 | bf16 | int8"),
    batch: Optional[int] = typer.Option(None, "--batch", help="static batch (default 1); with --dynamic-batch the "
                                                              "largest batch (default 64)"),
    dynamic_batch: bool = typer.Option(False, "--dynamic-batch", help="symbolic batch dimension (1..--batch)"),
    device: str = typer.Option("cpu", "--device", help="cpu | cuda"),
    seed: int = typer.Option(0, "--seed", help="weight initialisation seed when no --weights are given"),
    triton_repo: Optional[str] = typer.Option(None, "--triton-repo", help="also write a Triton model repository"),
    skeleton: Optional[str] = typer.Option(None, "--skeleton", help="build into this skeleton (its defaults apply)"),
    input_size: Optional[str] = typer.Option(None, "--input-size", help="input HxW (overrides the network's)"),
) -> None:
    """Compile a genotype into verified artifacts: every target is checked against the reference model
    (fp32 relative error < 1e-4) before the bundle is written."""
    from rich.console import Console

    from genocompile.build import BuildOptions
    from genocompile.build import build as run_build

    console = Console(stderr=True)
    g = resolve_genotype(genotype, skeleton, input_size)
    options = BuildOptions(targets=tuple(target), precision=precision, batch=batch, dynamic_batch=dynamic_batch,
                           device=device, seed=seed, weights=weights, triton_repo=triton_repo)
    with console.status("building") as status:
        manifest = run_build(g, out, options, progress=lambda message: status.update(f"[bold]{message}"))
    for name, entry in manifest["targets"].items():
        console.print(f"  {name:6s} {', '.join(entry['files'])}  rel err {entry['parity']['rel_err']:.2e} "
                      f"(< {entry['parity']['tolerance']:g})")
    ma = manifest["multiadds"]
    console.print(f"wrote {out}: {g.name}, {manifest['precision']}, input {manifest['input']['shape']}, "
                  f"MultiAdds {ma['reference'] / 1e6:.1f}M -> {ma['fused'] / 1e6:.1f}M fused")
