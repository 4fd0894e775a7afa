"""The ``wkgt`` command line: a thin shell over the Python API.

Every failure the user can cause ends as one line on stderr and a documented exit code
(see README, "Exit codes"); never a traceback.
"""

from __future__ import annotations

import os
import sys

import click
import typer

from ..errors import WkgtError
from . import check, create_boxes, demo, evaluate, plan, sandbox

app = typer.Typer(
    name="wkgt",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Pick the magnification and place ground-truth boxes for WEBKNOSSOS AI training.",
)
app.command("plan")(plan.main)
app.command("create-boxes")(create_boxes.main)
app.command("check")(check.main)
app.command("sandbox")(sandbox.main)
app.command("demo")(demo.main)
app.command("evaluate")(evaluate.main)


def _version(value: bool) -> None:
    if value:
        from .._version import __version__

        typer.echo(f"wkgt {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
) -> None:
    """Pick the magnification and place ground-truth boxes for WEBKNOSSOS AI training."""

INTERNAL_ERROR = 70


def run(argv: list[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code (errors become one stderr line)."""
    try:
        result = app(args=argv, prog_name="wkgt", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except WkgtError as err:
        _fail(str(err))
        return err.exit_code
    except click.exceptions.Exit as err:
        return err.exit_code
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except OSError as err:  # files and ports the user named: --save, --preview, --port
        where = f": {err.filename}" if err.filename else ""
        _fail(f"{err.strerror or err}{where}")
        return 2
    except (click.exceptions.Abort, KeyboardInterrupt):
        _fail("interrupted")
        return 130
    except Exception as err:  # noqa: BLE001 - the last line of defence against tracebacks
        if os.environ.get("WKGT_DEBUG"):
            raise
        _fail(f"unexpected {type(err).__name__}: {err} (set WKGT_DEBUG=1 for the traceback)")
        return INTERNAL_ERROR


def _fail(message: str) -> None:
    sys.stderr.write(f"wkgt: error: {message}\n")


def main() -> None:
    sys.exit(run())
