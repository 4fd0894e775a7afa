"""Sandbox-test fixtures; `sandbox` and `recordings` come from tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from wkgt_sandbox import Sandbox, run_sandbox


@pytest.fixture(scope="module")
def recorded_sandbox(recordings: Path) -> Iterator[Sandbox]:
    """One sandbox with the recorded world per module; tests call `reset()` before changing it."""
    with run_sandbox(recordings=recordings) as sb:
        yield sb


@pytest.fixture(scope="module")
def lab_server() -> Iterator[Sandbox]:
    """One sandbox with the built-in world (two organizations, one user per role) per module."""
    with run_sandbox() as sb:
        yield sb


@pytest.fixture
def lab(lab_server: Sandbox) -> Sandbox:
    """The module's sandbox, back at its start-up world."""
    lab_server.reset()
    return lab_server
