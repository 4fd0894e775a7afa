"""Where output goes: JSON alone on stdout, or tables on stdout and warnings on stderr."""

from __future__ import annotations

import errno
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console, ConsoleDimensions

from .render import print_plan, print_warnings

if TYPE_CHECKING:
    from ..planner.plan import Plan

UNWRAPPED = 100_000
"""The width of output that is not a terminal (a pipe, a file): every line whole."""


class OutputConsole(Console):
    """A console as wide as its terminal, or, writing to a pipe or file, as wide as each line
    needs (no wrapping mid-word at 80 columns); ``COLUMNS`` still sets a width."""

    @property
    def size(self) -> ConsoleDimensions:
        dimensions = super().size
        if self._width is None and not self.is_terminal and "COLUMNS" not in self._environ:
            return ConsoleDimensions(UNWRAPPED, dimensions.height)
        return dimensions

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]

    def on_broken_pipe(self) -> None:
        """A closed pipe (``wkgt ... | head``) is output that cannot be written, like a full disk:
        raise it, so the command says what it made and exits with README's code (rich's default,
        a silent exit 1, reads as "check found errors" and hides a created annotation)."""
        del self._buffer[:]  # the unwritable rest; the console stays usable (it is shared)
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))

    def _render_buffer(self, buffer: Any) -> str:
        """Lines without the padding that fills table cells to the column's width, in a pipe or
        file (logs and diffs), where no one sees it and every line would be as long as the longest."""
        text = super()._render_buffer(buffer)
        if self.is_terminal:
            return text
        return "\n".join(line.rstrip(" ") for line in text.split("\n"))


stdout = OutputConsole(soft_wrap=False)
stderr = OutputConsole(stderr=True, soft_wrap=False)


def print_json(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def emit_plan(plan: Plan, *, as_json: bool, urls: Sequence[str] | None = None) -> None:
    """Print a plan for people (table + warnings) or for machines (one JSON document)."""
    if as_json:
        print_warnings(stderr, plan.warnings)
        print_json(plan.to_dict())
    else:
        print_plan(stdout, plan, urls)
        print_warnings(stderr, plan.warnings)
