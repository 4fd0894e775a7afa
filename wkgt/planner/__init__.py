"""The pure planner: mag choice, box size, count and placement. No I/O."""

from .box_size import BoxSizeChoice, choose_box_size
from .mag_choice import MagChoice, choose_mag, effective_voxel_size
from .placement import Region, Spread, place_boxes
from .plan import DEFAULT_SEED, Box, Plan, PlanOptions, PlanRequest, make_plan
from .rules import DEFAULT_RULES, GuideRules, ModelKind
from .vectors import format_mag, parse_mag, parse_mags

__all__ = [
    "DEFAULT_RULES",
    "DEFAULT_SEED",
    "Box",
    "BoxSizeChoice",
    "GuideRules",
    "MagChoice",
    "ModelKind",
    "Plan",
    "PlanOptions",
    "PlanRequest",
    "Region",
    "Spread",
    "choose_box_size",
    "choose_mag",
    "effective_voxel_size",
    "format_mag",
    "make_plan",
    "parse_mag",
    "parse_mags",
    "place_boxes",
]
