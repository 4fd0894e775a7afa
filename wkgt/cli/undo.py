"""``wkgt undo``: archive the annotations and delete the tasks one run made, after asking."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from ..errors import AuthError, InvalidInput, WriteError
from . import options as o
from .history import plural
from .output import print_json, stderr, stdout

if TYPE_CHECKING:
    from ..jobs.undo import UndoResult


def main(
    target: Annotated[
        str,
        typer.Argument(
            metavar="RUN_KEY|ANNOTATION",
            help="A run key (16 hex, as `wkgt history` shows it) or one annotation's id or URL.",
            show_default=False,
        ),
    ],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask (for scripts).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be archived or deleted; change nothing.")] = False,
    webknossos_url: o.WebknossosUrlOption = None,
    token: o.TokenOption = None,
    timeout: o.TimeoutOption = 60.0,
    json: o.JsonOption = False,
) -> None:
    """Take back one run: archive your annotations of it, delete its tasks (asks first; exit 4 if something stays)."""
    from ..client import Connection
    from ..jobs.undo import UndoJob, parse_target, undo

    parse_target(target)
    if not (yes or dry_run) and not _interactive():
        raise InvalidInput(
            "wkgt undo asks before it archives or deletes, and stdin is not a terminal: pass --yes to undo without "
            "asking (--dry-run shows what it would do)"
        )
    console = stderr if json else stdout

    def ask(plan: UndoResult) -> bool:
        print_items(console, plan)
        question = f"{_verbs(plan, 'archive', 'delete').capitalize()}?"
        return typer.confirm(question, default=False, err=json)

    result = undo(UndoJob(target, dry_run), connection=Connection(webknossos_url, token, timeout), confirm=None if yes else ask)
    try:
        if json:
            print_json(result.to_dict())
        else:
            print_report(stdout, result)
    except OSError as err:  # e.g. --json > /dev/full: the server was changed, say so
        if result.status != "done" or not (result.archive or result.delete):
            raise
        raise WriteError(
            f"undo of run {result.run_key}: {_verbs(result, 'archived', 'deleted')}, but printing the result failed "
            f"({err.strerror or err}); `wkgt history` shows the run's state"
        ) from None
    for refusal in result.refused:
        stderr.print(f"[yellow]not undone:[/] {escape(refusal.line())}", highlight=False, soft_wrap=True)
    for note in result.notes:
        stderr.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)
    if result.exit_code == WriteError.exit_code:
        failed = sum(r.cause == "failed" for r in result.refused)
        raise WriteError(f"undo of run {result.run_key} is incomplete: {failed} request(s) failed (above); undo again to go on")
    if result.exit_code:
        leaves = "would leave" if result.status == "dry-run" else "left"
        raise AuthError(f"undo of run {result.run_key} {leaves} {len(result.refused)} thing(s) untouched (above)")


def _interactive() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _verbs(result: UndoResult, archive: str, delete: str) -> str:
    parts = []
    if result.archive:
        parts.append(f"{archive} {plural(len(result.archive), 'annotation')}")
    if result.delete:
        parts.append(f"{delete} {plural(len(result.delete), 'task')}")
    return " and ".join(parts) or "nothing to change"


def print_items(console: Console, result: UndoResult) -> None:
    """What undo will change: one line per annotation and task."""
    console.print(f"run {result.run_key} on {escape(result.server)}:", highlight=False, soft_wrap=True)
    for item in result.archive:
        console.print(f"  archive {escape(item.describe())}  {escape(item.url or '')}", highlight=False, soft_wrap=True)
    for item in result.delete:
        console.print(f"  delete {escape(item.describe())}", highlight=False, soft_wrap=True)
    for refusal in result.refused:
        console.print(f"  leave {escape(refusal.line())}", highlight=False, soft_wrap=True)


def print_report(console: Console, result: UndoResult) -> None:
    """What undo did (or would do), one line per annotation and task, then one line in all."""
    done = {"done": ("archived", "deleted"), "dry-run": ("would archive", "would delete"), "cancelled": ("kept", "kept")}
    archived, deleted = done[result.status]
    for item in result.archive:
        console.print(f"{archived} {escape(item.describe())}  {escape(item.url or '')}", highlight=False, soft_wrap=True)
    for item in result.delete:
        console.print(f"{deleted} {escape(item.describe())}", highlight=False, soft_wrap=True)
    for item in result.already_archived:
        console.print(f"archived before: {escape(item.describe())}", highlight=False, soft_wrap=True)
    if result.status == "cancelled":
        console.print("nothing changed", highlight=False, soft_wrap=True)
    elif result.status == "dry-run":
        console.print(f"dry run: {_verbs(result, 'would archive', 'would delete')}; nothing changed", highlight=False, soft_wrap=True)
    elif not result.changes:
        console.print(f"run {result.run_key}: nothing left to undo", highlight=False, soft_wrap=True)
    elif result.target == result.run_key and any(i.kind == "annotation" for i in result.archive):
        console.print(
            f"run {result.run_key} has no active annotation of yours now: a rerun of its create-boxes command makes a new one",
            highlight=False, soft_wrap=True,
        )
    elif result.delete:
        console.print(f"run {result.run_key}: a rerun of its create-boxes command creates its tasks again", highlight=False, soft_wrap=True)
