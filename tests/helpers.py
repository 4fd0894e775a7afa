"""Helpers for driving the command line against a sandbox from any test folder."""

from __future__ import annotations

import json
from typing import Any

import pytest

from wkgt.cli import run

ORG = "sandbox_lab"


@pytest.fixture
def reset_module_sandbox(module_sandbox: Any) -> Any:
    """The module's sandbox (``tests/conftest.py``), back to its start-up world for this test;
    a module takes it as its ``sandbox`` with ``from tests.helpers import reset_module_sandbox as sandbox``."""
    module_sandbox.reset()
    return module_sandbox


def create_boxes_argv(sandbox: Any, dataset: str, *args: str) -> list[str]:
    return ["create-boxes", "--dataset", dataset, "--organization", ORG, "--webknossos-url", sandbox.url, "--token", sandbox.token, *args]


def run_json(capsys: Any, argv: list[str]) -> tuple[int, dict[str, Any] | None, str]:
    """Exit code, parsed stdout (if any) and stderr of one CLI run."""
    code = run(argv)
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if captured.out.strip() else None), captured.err


def run_to_full_disk(capsys: Any, argv: list[str]) -> tuple[int, str]:
    """Exit code and stderr of one CLI run whose stdout is ``/dev/full`` (``--json > /dev/full``)."""
    import contextlib
    import sys

    original = sys.stdout
    full = open("/dev/full", "w")  # noqa: SIM115 - closed below, where the unwritable rest is dropped
    sys.stdout = full
    try:
        code = run(argv)
    finally:
        sys.stdout = original
        with contextlib.suppress(OSError):
            full.close()
    return code, capsys.readouterr().err


def interrupt_at(sandbox: Any, argv: list[str], path_end: str, count: int = 1, signal_name: str = "SIGINT") -> tuple[int, str]:
    """Exit code and stderr of ``wkgt argv`` run as a process that gets a real SIGINT (Ctrl-C; or
    ``signal_name``) once the sandbox has logged ``count`` requests whose paths end in ``path_end``
    (hold the last one's answer with a fault)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "wkgt", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as from a shell, also under a backgrounded pytest
    )  # fmt: skip
    try:
        while sum(e.path.endswith(path_end) for e in sandbox.state.request_log) < count:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(getattr(signal, signal_name))
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    return proc.returncode, err
