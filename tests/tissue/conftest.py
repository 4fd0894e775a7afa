"""A sandbox shared by a test module (its generated voxels are cached per sandbox), and CLI helpers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from wkgt.cli import run

ORG = "sandbox_lab"
PARTIAL_ID = "66e1c3a2b7f0d94e1a2b1004"


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[Any]:
    from wkgt_sandbox import run_sandbox

    with run_sandbox() as sb:
        yield sb


def create_boxes_argv(sandbox: Any, dataset: str, *args: str) -> list[str]:
    return ["create-boxes", "--dataset", dataset, "--organization", ORG, "--webknossos-url", sandbox.url, "--token", sandbox.token, *args]


def run_json(capsys: Any, argv: list[str]) -> tuple[int, dict[str, Any] | None, str]:
    code = run(argv)
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if captured.out.strip() else None), captured.err
