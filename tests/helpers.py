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
