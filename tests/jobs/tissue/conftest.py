"""A sandbox shared by a test module (its generated voxels are cached per sandbox)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ...helpers import ORG, create_boxes_argv, run_json  # noqa: F401 - re-exported for this folder's tests

PARTIAL_ID = "66e1c3a2b7f0d94e1a2b1004"


def settled(sandbox: Any) -> None:
    """Wait (bounded) until requests still in flight from an aborted read have landed in the log.

    tensorstore keeps retrying the other chunks of a failed read in the background, each after
    a back-off of up to the retry policy's longest delay (plus jitter): the log must stay still
    for longer than that, or a late retry lands in the next test's count."""
    import time

    from wkgt.client.config import RetryPolicy
    from wkgt.client.imagery import retry_delays

    quiet_s = max(retry_delays(RetryPolicy())) + 1.0
    seen, still_since = -1, time.monotonic()
    deadline = still_since + 60
    while time.monotonic() < deadline:
        if len(sandbox.state.request_log) != seen:
            seen, still_since = len(sandbox.state.request_log), time.monotonic()
        elif time.monotonic() - still_since >= quiet_s:
            return
        time.sleep(0.05)


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[Any]:
    from wkgt_sandbox import run_sandbox

    with run_sandbox() as sb:
        yield sb
