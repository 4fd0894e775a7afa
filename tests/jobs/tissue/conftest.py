"""A sandbox shared by a test module (its generated voxels are cached per sandbox)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ...helpers import ORG, create_boxes_argv, run_json  # noqa: F401 - re-exported for this folder's tests

PARTIAL_ID = "66e1c3a2b7f0d94e1a2b1004"


def settled(sandbox: Any) -> None:
    """Wait (bounded) until requests still in flight from an aborted read have landed in the log."""
    import time

    seen = -1
    for _ in range(100):
        if len(sandbox.state.request_log) == seen:
            return
        seen = len(sandbox.state.request_log)
        time.sleep(0.2)


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[Any]:
    from wkgt_sandbox import run_sandbox

    with run_sandbox() as sb:
        yield sb
