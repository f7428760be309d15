"""`genocompile inspect GENOTYPE`: parameters and MultiAdds of the reference model."""
from __future__ import annotations

import json
from typing import Optional

import typer

from genocompile.cli.options import GENOTYPE_HELP, resolve_genotype


def inspect(
    genotype: str = typer.Argument(..., help=GENOTYPE_HELP),
    input_size: Optional[str] = typer.Option(None, "--input-size", help="input HxW (overrides the network's)"),
    skeleton: Optional[str] = typer.Option(None, "--skeleton", help="build into this skeleton (its defaults apply)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object instead of a table"),
    latency_model: Optional[str] = typer.Option(None, "--latency-model", help="latency table (genocompile profile): "
                                                                           "adds predicted_latency_ms"),
    device: str = typer.Option("cpu", "--device", help="the device the latency table must be for"),
) -> None:
    """Count parameters (auxiliary head excluded) and fvcore MultiAdds of the reference model (batch 1)."""
    from genocompile.cost import fused_multiadds, reference_costs
    from genocompile.genotype import genotype_hash
    from genocompile.genotype.network import network_to_dict

    g = resolve_genotype(genotype, skeleton, input_size)
    predictor = None
    if latency_model is not None:  # first: a table that cannot be used is refused before any counting
        from genocompile.cost.predictor import LatencyPredictor

        predictor = LatencyPredictor.from_file(latency_model, device)
    costs = reference_costs(g)
    report = {"name": g.name, "family": g.family, "hash": genotype_hash(g), "network": network_to_dict(g.network),
              **costs.to_dict(), "multiadds_fused": fused_multiadds(g)}
    if predictor is not None:
        from genocompile.cost.memory import deploy_activation_bytes

        report["predicted_latency_ms"] = predictor.predict_ms(g)
        report["lut_latency_ms"] = predictor.lut_ms(g)
        report["peak_activation_bytes"] = deploy_activation_bytes(g)
    if as_json:
        typer.echo(json.dumps(report))
        return
    _print_table(report)


def _print_table(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    net = report["network"]
    settings = ", ".join(f"{k}={'x'.join(map(str, v)) if isinstance(v, list) else v}"
                         for k, v in net.items() if k != "skeleton")
    title = (f"{report['name']} ({report['family']}, hash {report['hash'][:12]}) on {net['skeleton']}\n"
             f"{settings}")
    table = Table(title=title, show_header=False, title_justify="left", box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_column(style="dim")
    table.add_row("params", f"{report['params']:,}", f"{report['params'] / 1e6:.2f} M (auxiliary head excluded)")
    table.add_row("MultiAdds", f"{report['multiadds']:,}", f"{report['multiadds'] / 1e6:.1f} M (fvcore, batch 1)")
    table.add_row("  conv + linear", f"{report['multiadds_conv_linear']:,}",
                  f"{report['multiadds_conv_linear'] / 1e6:.1f} M (as SPOS / DetNAS / ProxylessNAS count)")
    table.add_row("  fused", f"{report['multiadds_fused']:,}", "compiled module: BN folded, `none` and dead code pruned")
    if "predicted_latency_ms" in report:
        table.add_row("latency", f"{report['predicted_latency_ms']:.3f} ms",
                      f"predicted (table sum {report['lut_latency_ms']:.3f} ms, calibrated)")
        table.add_row("peak activations", f"{report['peak_activation_bytes']:,}", "bytes, fp32, batch 1")
    for kind, value in report["multiadds_by_op"].items():
        table.add_row(f"  {kind}", f"{value:,}", "")
    for block, value in report["multiadds_by_block"].items():
        table.add_row(f"  in {block}", f"{value:,}", f"{100 * value / max(report['multiadds'], 1):.1f}%")
    if report["unsupported_ops"]:
        skipped = ", ".join(f"{op} x{n}" for op, n in sorted(report["unsupported_ops"].items()))
        table.add_row("counted as 0", "", skipped)
    Console().print(table)
