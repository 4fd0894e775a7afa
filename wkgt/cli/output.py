"""Where output goes: JSON alone on stdout, or tables on stdout and warnings on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console

from .render import print_plan, print_warnings

if TYPE_CHECKING:
    from ..planner.plan import Plan

stdout = Console(soft_wrap=False)
stderr = Console(stderr=True, soft_wrap=False)


def print_json(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def emit_plan(plan: Plan, *, as_json: bool, urls: Sequence[str] | None = None) -> None:
    """Print a plan for people (table + warnings) or for machines (one JSON document)."""
    if as_json:
        print_warnings(stderr, plan.warnings)
        print_json(plan.to_dict())
    else:
        print_plan(stdout, plan, urls)
        print_warnings(stderr, plan.warnings)
