"""The ``wkgt`` command line: a thin shell over the Python API.

Every failure the user can cause ends as one line on stderr and a documented exit code
(see README, "Exit codes"); never a traceback.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import click
import typer

from ..errors import Interrupted, WkgtError, WkgtWarning
from . import check, create_boxes, datasets, demo, evaluate, history, info, plan, sandbox, train, undo
from .options import optional_value

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
app.command("datasets")(datasets.main)
app.command("info")(info.main)
app.command("train")(train.main)
app.command("sandbox")(sandbox.main)
app.command("demo")(demo.main)
app.command("evaluate")(evaluate.main)
app.command("history")(history.main)
app.command("undo")(undo.main)


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
OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EPIPE, errno.EIO, errno.EFBIG, errno.EDQUOT, errno.EBADF})
INTERRUPTED = 130
TERMINATED = 143
MAX_MESSAGE = 2_000


def run(argv: list[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code (errors become one stderr line).

    Every message passes :func:`one_line`: tokens and URL credentials removed, control
    characters escaped, bounded length. SIGTERM stops the run as Ctrl-C does (the jobs say what
    may exist on the server), reported as "terminated", exit 143.
    """
    with _terminate_as_interrupt() as terminated:
        return _run(argv, terminated)


@contextmanager
def _terminate_as_interrupt() -> Iterator[list[int]]:
    """While active, SIGTERM raises KeyboardInterrupt in this process (main thread only; the
    signal is noted in the list yielded); forked children die of it as before."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) == signal.SIG_IGN:
        yield received
        return
    pid = os.getpid()

    def on_term(number: int, frame: object) -> None:
        if os.getpid() != pid:  # a forked worker: die of the signal
            signal.signal(number, signal.SIG_DFL)
            os.kill(os.getpid(), number)
            return
        received.append(number)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield received
    finally:
        if signal.getsignal(signal.SIGTERM) is on_term:
            signal.signal(signal.SIGTERM, previous)


def _run(argv: list[str] | None, terminated: list[int]) -> int:
    try:
        with _warnings_as_lines():
            result = _invoke(optional_value(sys.argv[1:] if argv is None else list(argv)))
        return result if isinstance(result, int) else 0
    except WkgtError as err:
        _fail(str(err))
        return err.exit_code
    except click.exceptions.Exit as err:
        return err.exit_code
    except click.UsageError as err:
        command = err.ctx.command_path if err.ctx is not None else "wkgt"
        _fail(f"{err.format_message()} (see '{command} --help')")
        return err.exit_code
    except click.ClickException as err:
        _fail(err.format_message())
        return err.exit_code
    except OSError as err:  # files and ports the user named (--save, --preview, --port), or stdout
        if err.filename:
            _fail(f"{err.strerror or err}: {err.filename}")
        elif err.errno in OUTPUT_ERRNOS:
            _fail(f"cannot write the output: {err.strerror or err}")
        else:
            _fail(str(err.strerror or err))
        return 2
    except (click.exceptions.Abort, KeyboardInterrupt) as err:
        what = "terminated (SIGTERM)" if terminated else "interrupted"
        _fail(f"{what} {err}" if isinstance(err, Interrupted) else what)
        return TERMINATED if terminated else INTERRUPTED
    except Exception as err:  # noqa: BLE001 - the last line of defence against tracebacks
        if os.environ.get("WKGT_DEBUG"):
            import traceback

            sys.stderr.write(_redacted(traceback.format_exc()))
        _fail(f"unexpected {type(err).__name__}: {err} (a bug: please report it; WKGT_DEBUG=1 shows the traceback)")
        return INTERNAL_ERROR


@contextmanager
def _warnings_as_lines() -> Iterator[None]:
    """Each :class:`WkgtWarning` of this run once, as one ``warning:`` line on stderr."""
    shown: set[str] = set()
    original = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], *args: object, **kwargs: object) -> None:
        if not issubclass(category, WkgtWarning):
            original(message, category, *args, **kwargs)  # type: ignore[arg-type]
        elif str(message) not in shown:
            shown.add(str(message))
            sys.stderr.write(f"warning: {one_line(str(message))}\n")

    with warnings.catch_warnings():
        warnings.simplefilter("always", WkgtWarning)
        warnings.showwarning = show
        yield


def _invoke(argv: list[str]) -> object:
    """Run the command for ``argv`` (click's ``main`` without its own handling of errors and
    Ctrl-C, which would print more lines)."""
    command = typer.main.get_command(app)
    with command.make_context("wkgt", argv) as context:
        return command.invoke(context)


def _redacted(text: str) -> str:
    from ..client.token import redact

    return redact(text)


def one_line(message: str) -> str:
    """``message`` as one line: no token or URL credentials, control characters escaped, at most
    :data:`MAX_MESSAGE` characters."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in _redacted(message))
    if len(text) > MAX_MESSAGE:
        text = f"{text[: MAX_MESSAGE // 2]} … {text[-MAX_MESSAGE // 4 :]}"
    return text


def _fail(message: str) -> None:
    sys.stderr.write(f"wkgt: error: {one_line(message)}\n")
    sys.stderr.flush()


def main() -> None:
    code = run()
    try:
        sys.stdout.flush()
    except OSError:  # stdout is full or closed; an error was reported on stderr already, unless none was
        _discard_stdout()
        if code == 0:
            _fail("cannot write the output to stdout")
            code = 2
    sys.exit(code)


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so Python's own flush at exit cannot fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
