"""Command-line interface (typer + rich). `genocompile.cli.main:main` is the console script."""
