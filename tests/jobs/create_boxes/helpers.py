"""Helpers for driving ``wkgt create-boxes`` against the sandbox."""

from __future__ import annotations

import json
from typing import Any

from wkgt.cli import run

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def cli(sandbox: Any, *args: str, token: bool = True) -> list[str]:
    argv = ["create-boxes", *args, "--webknossos-url", sandbox.url]
    return argv + (["--token", sandbox.token] if token else [])


def run_json(capsys: Any, argv: list[str]) -> tuple[int, dict[str, Any] | None, str]:
    """Exit code, parsed stdout (if any) and stderr of one CLI run."""
    code = run(argv)
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if captured.out.strip() else None), captured.err


def writes(sandbox: Any) -> list[Any]:
    return [e for e in sandbox.state.request_log if e.method in WRITE_METHODS]
