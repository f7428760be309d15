"""Entry point: runs the typer app and turns every error into one line on stderr and an exit code.

Bad input (GenocompileError, a usage error) -> exit 2; anything else is a bug -> exit 1. Set
GENOCOMPILE_DEBUG=1 to get the traceback instead.
"""
from __future__ import annotations

import os
import sys


def _debug() -> bool:
    return os.environ.get("GENOCOMPILE_DEBUG", "") not in ("", "0")


def _fail(message: str, code: int) -> int:
    print(f"genocompile: error: {message}", file=sys.stderr)
    return code


def _click_exceptions():
    """The click exception classes typer runs on: recent typer vendors its own click as `typer._click`."""
    try:
        from typer._click import exceptions
    except ImportError:  # older typer runs on the click package
        from click import exceptions
    return exceptions


def main(argv: list[str] | None = None) -> int:
    import typer

    from genocompile.cli.app import app
    from genocompile.errors import GenocompileError

    click_errors = _click_exceptions()
    try:
        app(args=argv, prog_name="genocompile", standalone_mode=False)
    except GenocompileError as e:
        if _debug():
            raise
        return _fail(str(e), e.exit_code)
    except typer.Exit as e:
        return getattr(e, "exit_code", 0)
    except click_errors.UsageError as e:
        if type(e).__name__ == "NoArgsIsHelpError" and e.ctx is not None:
            print(e.ctx.get_help())  # a bare `genocompile` or subcommand group: show what it can do
            return 2
        if _debug():
            raise
        where = f" (see `{e.ctx.command_path} --help`)" if e.ctx else ""
        return _fail(f"{e.format_message()}{where}", 2)
    except (KeyboardInterrupt, getattr(click_errors, "Abort", KeyboardInterrupt)):
        return _fail("interrupted", 130)
    except Exception as e:  # a bug, not bad input: still one line unless debugging
        if _debug():
            raise
        first = (str(e).splitlines() or [""])[0]
        return _fail(f"internal error: {type(e).__name__}: {first} (rerun with GENOCOMPILE_DEBUG=1 for the "
                     f"traceback and report it)", 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
