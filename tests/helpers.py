"""Helpers for driving the command line against a sandbox from any test folder."""

from __future__ import annotations

import json
from typing import Any

from wkgt.cli import run

ORG = "sandbox_lab"


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
