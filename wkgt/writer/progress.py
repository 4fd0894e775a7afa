"""Progress of a job's steps for someone watching: a small interface and its silent default.

A job names each step as it starts (``progress.step("reading dataset l4_sample")``) and reports
work done within it (``progress.advance(n)``, e.g. bytes read against ``total``). The CLI hands
in a terminal display (:mod:`wkgt.cli.progress`); lab scripts get :data:`SILENT` unless they
pass their own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class Progress(Protocol):
    """Where a job reports its steps."""

    def step(self, name: str, total: int | None = None) -> None:
        """A new step begins (the previous one is done); ``total``: bytes it will read, if known."""

    def advance(self, amount: int) -> None:
        """``amount`` more bytes of the current step are done."""


class Silent:
    """Reports nothing."""

    def step(self, name: str, total: int | None = None) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass


SILENT: Progress = Silent()


class CountingReader:
    """A reader (``reader(start, size) -> ndarray``) that reports the bytes it reads.

    After ``voxels`` voxels were asked for (the whole region), the step ``then`` begins. In
    another process (a pickled copy, e.g. a cluster job) it reports nothing.
    """

    def __init__(self, reader: Callable[..., Any], progress: Progress, voxels: int | None = None, then: str | None = None):
        self.reader = reader
        self.progress: Progress | None = progress
        self.voxels = voxels
        self.then = then
        self._asked = 0

    def __call__(self, start: Any, size: Any) -> Any:
        data = self.reader(start, size)
        if self.progress is not None:
            self.progress.advance(int(getattr(data, "nbytes", 0)))
            self._asked += int(_product(size))
            if self.then is not None and self.voxels is not None and self._asked >= self.voxels:
                self.progress.step(self.then)
                self.then = None
        return data

    @property
    def counts_storage_bytes(self) -> bool:
        """Whether the wrapped reader counts the bytes it takes from storage (see client/imagery.py)."""
        return bool(getattr(self.reader, "counts_storage_bytes", False))

    def at(self, mag: Any) -> CountingReader:
        """The same counting over the reader of another mag (the tissue check picks its mag)."""
        return CountingReader(self.reader.at(mag), self.progress, self.voxels, self.then)  # type: ignore[attr-defined]

    def __getstate__(self) -> dict[str, Any]:
        return {"reader": self.reader}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.reader, self.progress, self.voxels, self.then, self._asked = state["reader"], None, None, None, 0


def _product(values: Any) -> int:
    out = 1
    for value in values:
        out *= int(value)
    return out
