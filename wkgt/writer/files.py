"""Files wkgt writes on disk: a plan as JSON, an annotation as a zip (NML plus volume data)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..planner.plan import Plan


def save_plan(plan: Plan, path: Path) -> None:
    """The plan as JSON (``Plan.from_json`` loads it back)."""
    Path(path).write_text(plan.to_json() + "\n")


def save_annotation(annotation: Any, path: Path) -> None:
    """The SDK's ``Annotation`` as a ``.zip`` (upload it in WEBKNOSSOS or with ``Annotation.load(...).upload()``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    annotation.save(path)
