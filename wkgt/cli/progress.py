"""Progress on stderr while a job runs: one line per step, a spinner, bytes read, time taken.

Shown only when stderr is a terminal and neither ``--quiet`` nor ``--json`` was given; never on
stdout. A finished step keeps its line (✓, elapsed time); a step an error interrupted is
removed, so the error line stands alone after the steps that completed.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console
from rich.filesize import decimal
from rich.progress import BarColumn, Progress, SpinnerColumn, Task, TaskID, TextColumn, TimeElapsedColumn
from rich.text import Text

if TYPE_CHECKING:
    from ..writer.progress import Progress as ProgressProtocol


class BytesColumn(TextColumn):
    """``12.3 MB of 40.1 MB`` (or ``12.3 MB`` without a total); empty for steps that read nothing."""

    def __init__(self) -> None:
        super().__init__("")

    def render(self, task: Task) -> Text:
        if not task.fields.get("reads"):
            return Text("")
        done = decimal(int(task.completed))
        return Text(f"{done} of {decimal(int(task.total))}" if task.total else done, style="progress.download")


class TerminalProgress:
    """The :class:`~wkgt.writer.progress.Progress` of the command line (rich, on stderr)."""

    def __init__(self, console: Console):
        self.display = Progress(
            SpinnerColumn(finished_text="[green]✓[/]"),
            TextColumn("{task.description}"),
            BarColumn(bar_width=24),
            BytesColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.current: TaskID | None = None

    def step(self, name: str, total: int | None = None) -> None:
        self.finish()
        self.current = self.display.add_task(name, total=total, reads=False)

    def advance(self, amount: int) -> None:
        if self.current is not None:
            self.display.update(self.current, advance=amount, reads=True)

    def finish(self) -> None:
        """Mark the current step done (✓, its bar full)."""
        if self.current is not None:
            task = next(t for t in self.display.tasks if t.id == self.current)
            end = task.total or max(task.completed, 1)
            self.display.update(self.current, total=end, completed=end)
            self.display.stop_task(self.current)
            self.current = None

    def abandon(self) -> None:
        """Drop the current step (an error interrupted it)."""
        if self.current is not None:
            self.display.remove_task(self.current)
            self.current = None


def shows_progress(*, quiet: bool, as_json: bool) -> bool:
    """Progress is for a person at a terminal: stderr is one, and no ``--quiet`` or ``--json``."""
    try:
        return not quiet and not as_json and sys.stderr.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stderr
        return False


@contextmanager
def progress_display(*, quiet: bool = False, as_json: bool = False) -> Iterator[ProgressProtocol]:
    """A :class:`TerminalProgress` while the block runs, or the silent one when it is not wanted."""
    from ..writer.progress import SILENT

    if not shows_progress(quiet=quiet, as_json=as_json):
        yield SILENT
        return
    terminal = TerminalProgress(Console(file=sys.stderr, force_terminal=True))
    with terminal.display:
        try:
            yield terminal
        except BaseException:
            terminal.abandon()
            raise
        terminal.finish()
