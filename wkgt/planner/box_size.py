"""Step 2 of a plan: how large each box is, in voxels of the chosen mag."""

from __future__ import annotations

import math

import attrs

from ..errors import InvalidInput
from .rules import DEFAULT_RULES, GuideRules, ModelKind
from .vectors import Vec3, Vec3f, format_vec


@attrs.frozen
class BoxSizeChoice:
    """Box size in chosen-mag voxels, the reason, and rule breaks worth a warning."""

    size: Vec3
    reason: str
    warnings: tuple[str, ...] = ()


def _voxels(size: Vec3) -> int:
    return size[0] * size[1] * size[2]


def physical_cube_box(
    effective_voxel_size_nm: Vec3f, minimum: Vec3, edge_nm: float, min_voxels: int
) -> Vec3:
    """The guide's box: at least ``minimum``, about ``edge_nm`` per side, ≥ ``min_voxels``.

    While the box holds fewer than ``min_voxels`` voxels, its physically shortest axis
    grows by one voxel (ties go to the first axis), so it stays as cubic as it can in nm.
    """
    size = [
        max(lo, math.ceil(round(edge_nm / v, 9))) for lo, v in zip(minimum, effective_voxel_size_nm)
    ]
    while size[0] * size[1] * size[2] < min_voxels:
        lengths = [s * v for s, v in zip(size, effective_voxel_size_nm)]
        size[lengths.index(min(lengths))] += 1
    return tuple(size)  # type: ignore[return-value]


def choose_box_size(
    effective_voxel_size_nm: Vec3f,
    model: ModelKind = ModelKind.NEURONS,
    *,
    box_size: Vec3 | None = None,
    box_edge_nm: float | None = None,
    rules: GuideRules = DEFAULT_RULES,
) -> BoxSizeChoice:
    """Box size per the guide, or the user's ``box_size`` checked against the guide."""
    minimum = rules.min_box(model)
    if box_size is None:
        edge = rules.box_edge_nm if box_edge_nm is None else box_edge_nm
        size = physical_cube_box(effective_voxel_size_nm, minimum, edge, rules.min_box_voxels)
        reason = (
            f"about {edge:g} nm per side, at least "
            f"{format_vec(minimum)} and {rules.min_box_voxels:,} voxels"
        )
        return BoxSizeChoice(size, reason)

    if any(s < lo for s, lo in zip(box_size, minimum)):
        raise InvalidInput(
            f"--box-size {format_vec(box_size)} is below the {model.value} minimum "
            f"{format_vec(minimum)} (voxels of the chosen mag)"
        )
    warnings = []
    if _voxels(box_size) < rules.min_box_voxels:
        warnings.append(
            f"box {format_vec(box_size)} holds {_voxels(box_size):,} voxels, "
            f"fewer than the guide's {rules.min_box_voxels:,}"
        )
    if any(s % lo for s, lo in zip(box_size, minimum)):
        warnings.append(
            f"box {format_vec(box_size)} is not an integer multiple of {format_vec(minimum)}"
        )
    return BoxSizeChoice(box_size, "given with --box-size", tuple(warnings))
