"""The typer application: one module per command, wired here."""
from __future__ import annotations

from typing import Optional

import typer

from genocompile.cli import build_cmd, inspect_cmd, search_cmd, zoo_cmd

app = typer.Typer(
    name="genocompile",
    help="Compile neural-architecture-search genotypes into verified inference artifacts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        from genocompile import __version__

        typer.echo(f"genocompile {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Optional[bool] = typer.Option(None, "--version", callback=_version, is_eager=True,
                                                  help="print the version and exit")) -> None:
    """genocompile: search, compile and measure NAS genotypes."""


app.command("build")(build_cmd.build)
app.command("inspect")(inspect_cmd.inspect)
app.command("zoo")(zoo_cmd.zoo)
app.command("search", context_settings=search_cmd.CONTEXT)(search_cmd.search)
