"""Step 2 of a plan: how large each box is, in voxels of the chosen mag (by the rule set)."""

from __future__ import annotations

import math

import attrs

from ..errors import InvalidInput
from .rules import DEFAULT_RULES, ModelKind, RuleSet
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


def multiples_box(
    effective_voxel_size_nm: Vec3f,
    minimum: Vec3,
    edge_nm: float,
    min_voxels: int,
    object_size_nm: float | None = None,
) -> Vec3:
    """WEBKNOSSOS's box: per axis an integer multiple of ``minimum``, as near a physical cube as
    can be, ≥ ``min_voxels``.

    The cube's edge is ``edge_nm``, or the minimum box's longest physical side if that is longer
    (no axis can shrink below its minimum). Per axis the multiple nearest that edge (in ratio:
    1.41× the minimum rounds up to 2), at least 1 and, with ``object_size_nm``, enough to hold one
    object. While the box holds fewer than ``min_voxels`` voxels, its physically shortest axis
    grows by one multiple (ties go to the first axis).
    """
    sides = [lo * v for lo, v in zip(minimum, effective_voxel_size_nm)]
    edge = max(edge_nm, max(sides))
    factors = []
    for side in sides:
        ratio = edge / side
        low = max(1, math.floor(ratio))
        nearest = low if ratio <= math.sqrt(low * (low + 1)) else low + 1
        holds = math.ceil(round(object_size_nm / side, 9)) if object_size_nm else 1
        factors.append(max(nearest, holds, 1))
    size = [k * lo for k, lo in zip(factors, minimum)]
    while size[0] * size[1] * size[2] < min_voxels:
        lengths = [s * v for s, v in zip(size, effective_voxel_size_nm)]
        axis = lengths.index(min(lengths))
        size[axis] += minimum[axis]
    return tuple(size)  # type: ignore[return-value]


def choose_box_size(
    effective_voxel_size_nm: Vec3f,
    model: ModelKind = ModelKind.NEURONS,
    *,
    box_size: Vec3 | None = None,
    box_edge_nm: float | None = None,
    object_size_nm: float | None = None,
    rules: RuleSet = DEFAULT_RULES,
) -> BoxSizeChoice:
    """Box size by the rule set, or the user's ``box_size`` checked against it.

    For instances with ``object_size_nm`` the box grows with the object: each side is at least
    ``rules.object_context`` object diameters (one whole object plus context).
    """
    minimum = rules.min_box(model)
    if box_size is None:
        edge = rules.box_edge_nm if box_edge_nm is None else box_edge_nm
        holds = object_size_nm if model is ModelKind.INSTANCES and object_size_nm else None
        if holds is not None:
            edge = max(edge, rules.object_context * holds)
        grows = f" ({rules.object_context:g} × the {holds:g} nm object)" if holds is not None and edge > (box_edge_nm or rules.box_edge_nm) else ""
        if rules.multiples_of_minimum:
            size = multiples_box(effective_voxel_size_nm, minimum, edge, rules.min_box_voxels, holds)
            cube = max(edge, *(lo * v for lo, v in zip(minimum, effective_voxel_size_nm)))
            reason = (
                f"{rules.label}: multiples of {format_vec(minimum)} nearest a {cube:,.0f} nm cube{grows}, "
                f"at least {rules.min_box_voxels:,} voxels"
            )
        else:
            size = physical_cube_box(effective_voxel_size_nm, minimum, edge, rules.min_box_voxels)
            reason = (
                f"{rules.label}: about {edge:g} nm per side{grows}, at least "
                f"{format_vec(minimum)} and {rules.min_box_voxels:,} voxels"
            )
        return BoxSizeChoice(size, reason)

    if any(s < lo for s, lo in zip(box_size, minimum)):
        raise InvalidInput(
            f"--box-size {format_vec(box_size)} is below the {model.value} minimum "
            f"{format_vec(minimum)} (voxels of the chosen mag)"
        )
    return BoxSizeChoice(box_size, f"given with --box-size ({rules.label})", size_warnings(box_size, model, rules))


def size_warnings(size: Vec3, model: ModelKind, rules: RuleSet) -> tuple[str, ...]:
    """The rule set's verdicts on a box size (voxels of the training mag), as warnings."""
    minimum = rules.min_box(model)
    warnings = []
    if _voxels(size) < rules.min_box_voxels:
        warnings.append(
            f"box {format_vec(size)} holds {_voxels(size):,} voxels, "
            f"fewer than the {rules.min_box_voxels:,} of {rules.label}"
        )
    if rules.multiples_of_minimum and any(s % lo for s, lo in zip(size, minimum)):
        warnings.append(
            f"box {format_vec(size)} is not an integer multiple of {format_vec(minimum)} ({rules.label}): "
            "training pads or crops it to the nearest multiple"
        )
    return tuple(warnings)
