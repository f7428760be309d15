"""`genocompile zoo`: the published genotypes addressable as zoo:NAME."""
from __future__ import annotations

import json

import typer


def zoo(as_json: bool = typer.Option(False, "--json", help="print a JSON list instead of a table")) -> None:
    """List the zoo: published genotypes you can pass as zoo:NAME."""
    from genocompile.genotype import genotype_hash, zoo_genotype, zoo_names

    rows = []
    for name in zoo_names():
        g = zoo_genotype(name)
        rows.append({"name": f"zoo:{name}", "family": g.family, "skeleton": g.network.skeleton,
                     "hash": genotype_hash(g)})
    if as_json:
        typer.echo(json.dumps(rows))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("genotype", "family", "default skeleton", "hash")
    for r in rows:
        table.add_row(r["name"], r["family"], r["skeleton"], r["hash"][:16])
    Console().print(table)
