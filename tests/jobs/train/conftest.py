"""One sandbox per test module, reset before each test (the top-level conftest isolates env)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from wkgt_sandbox import Sandbox, run_sandbox


@pytest.fixture(scope="module")
def module_sandbox() -> Iterator[Sandbox]:
    with run_sandbox() as sb:
        yield sb


@pytest.fixture
def sandbox(module_sandbox: Sandbox) -> Sandbox:
    module_sandbox.reset()
    return module_sandbox
