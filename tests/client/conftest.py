"""Two sandboxes per module: ``sandbox`` (the user's server) and ``other`` ("another server",
with its own token), reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from wkgt_sandbox import Sandbox, run_sandbox

OTHER_TOKEN = "token-of-the-other-server"


@pytest.fixture(scope="module")
def module_sandboxes() -> Iterator[tuple[Sandbox, Sandbox]]:
    with run_sandbox() as mine, run_sandbox(token=OTHER_TOKEN) as other:
        yield mine, other


@pytest.fixture
def sandbox(module_sandboxes: tuple[Sandbox, Sandbox]) -> Sandbox:
    module_sandboxes[0].reset()
    return module_sandboxes[0]


@pytest.fixture
def other(module_sandboxes: tuple[Sandbox, Sandbox]) -> Sandbox:
    module_sandboxes[1].reset()
    return module_sandboxes[1]
