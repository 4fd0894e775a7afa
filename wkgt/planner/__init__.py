"""The pure planner: mag choice, box size, count, placement, tissue scoring and the training
check's verdicts. No I/O (readers and executors are handed in).

Names are imported on first use, so the command line can import ``wkgt.planner.vectors`` and
``wkgt.planner.choices`` at start-up without numpy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .box_size import BoxSizeChoice, choose_box_size
    from .mag_choice import MagChoice, choose_mag, effective_voxel_size
    from .choices import ModelKind
    from .placement import Region, Spread, place_boxes
    from .plan import Box, Plan, PlanOptions, PlanRequest, make_plan
    from .ground_truth import GroundTruthLayer, MagRestrictions, ground_truth_layer
    from .rules import DEFAULT_RULES, RULE_SETS, GuideRules, RuleSet, rule_set
    from .vectors import format_mag, parse_mag, parse_mags

_EXPORTS = {
    "BoxSizeChoice": ".box_size",
    "choose_box_size": ".box_size",
    "MagChoice": ".mag_choice",
    "choose_mag": ".mag_choice",
    "effective_voxel_size": ".mag_choice",
    "ModelKind": ".choices",
    "Region": ".placement",
    "Spread": ".placement",
    "place_boxes": ".placement",
    "DEFAULT_SEED": ".choices",
    "Box": ".plan",
    "Plan": ".plan",
    "PlanOptions": ".plan",
    "PlanRequest": ".plan",
    "make_plan": ".plan",
    "DEFAULT_RULES": ".rules",
    "GuideRules": ".rules",
    "RULE_SETS": ".rules",
    "RuleSet": ".rules",
    "rule_set": ".rules",
    "GroundTruthLayer": ".ground_truth",
    "MagRestrictions": ".ground_truth",
    "ground_truth_layer": ".ground_truth",
    "format_mag": ".vectors",
    "parse_mag": ".vectors",
    "parse_mags": ".vectors",
}
__all__ = sorted(_EXPORTS)


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'wkgt.planner' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
