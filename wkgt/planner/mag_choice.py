"""Step 1 of a plan: which magnification to train at."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from ..errors import InvalidInput
from .rules import DEFAULT_RULES, GuideRules, ModelKind
from .vectors import Vec3, Vec3f, format_mag, format_vec


@attrs.frozen
class MagChoice:
    """The chosen mag, its effective voxel size and the reason, in words."""

    mag: Vec3
    effective_voxel_size_nm: Vec3f
    reason: str
    warnings: tuple[str, ...] = ()


def effective_voxel_size(voxel_size_nm: Sequence[float], mag: Sequence[int]) -> Vec3f:
    """Voxel size at ``mag`` in nm (voxel size at mag 1 × mag factor, per axis)."""
    return tuple(float(round(v * m, 6)) for v, m in zip(voxel_size_nm, mag))  # type: ignore[return-value]


def finest_first(mags: Sequence[Vec3]) -> list[Vec3]:
    """Mags ordered from finest to coarsest (by voxel volume, then by largest factor)."""
    return sorted(set(mags), key=lambda m: (m[0] * m[1] * m[2], max(m), m))


def coarsest_mag(mags: Sequence[Vec3]) -> Vec3:
    """The mag with the fewest voxels (largest product; ties: the largest per-axis maximum)."""
    if not mags:
        raise ValueError("no mags")
    return max(mags, key=lambda m: (m[0] * m[1] * m[2], max(m)))


def describe_mags(voxel_size_nm: Sequence[float], mags: Sequence[Vec3]) -> str:
    """``"1 (11.24×11.24×30 nm), 2-2-1 (22.48×22.48×30 nm)"`` for error messages."""
    return ", ".join(
        f"{format_mag(m)} ({format_vec(effective_voxel_size(voxel_size_nm, m))} nm)"
        for m in finest_first(mags)
    )


def choose_mag(
    voxel_size_nm: Vec3f,
    available_mags: Sequence[Vec3],
    model: ModelKind = ModelKind.NEURONS,
    *,
    mag: Vec3 | None = None,
    object_size_nm: float | None = None,
    min_voxel_size_nm: float | None = None,
    rules: GuideRules = DEFAULT_RULES,
) -> MagChoice:
    """Pick the training mag following the guide.

    The finest available mag at which every axis of the effective voxel size reaches the
    threshold (8 nm for neurons, object size / 20 for instances), within the tolerance.
    """
    if not available_mags:
        raise InvalidInput("the layer has no mags")
    mags = finest_first(available_mags)
    if mag is not None:
        if mag not in mags:
            raise InvalidInput(
                f"mag {format_mag(mag)} is not available; available: "
                + describe_mags(voxel_size_nm, mags)
            )
        return MagChoice(mag, effective_voxel_size(voxel_size_nm, mag), "given with --mag")

    if min_voxel_size_nm is not None:
        threshold, why = min_voxel_size_nm, f"--min-voxel-size {min_voxel_size_nm:g} nm"
    elif model is ModelKind.NEURONS:
        threshold = rules.neuron_min_voxel_size_nm
        why = f"neurons gain nothing from voxels finer than {threshold:g} nm"
    elif object_size_nm is not None:
        threshold = object_size_nm / rules.objects_span_voxels
        why = (
            f"objects of {object_size_nm:g} nm still span about "
            f"{rules.objects_span_voxels} voxels at {threshold:g} nm"
        )
    else:
        raise InvalidInput(
            "--model instances needs --mag or --object-size NM; available mags: "
            + describe_mags(voxel_size_nm, mags)
        )

    floor = threshold * (1 - rules.voxel_size_tolerance)
    for candidate in mags:
        eff = effective_voxel_size(voxel_size_nm, candidate)
        if min(eff) >= floor:
            reason = (
                f"finest mag with every axis ≥ {threshold:g} nm "
                f"({format_vec(eff)} nm): {why}"
            )
            return MagChoice(candidate, eff, reason)
    coarsest = mags[-1]
    eff = effective_voxel_size(voxel_size_nm, coarsest)
    warning = (
        f"no available mag reaches {threshold:g} nm on every axis; using the coarsest, "
        f"{format_mag(coarsest)} ({format_vec(eff)} nm)"
    )
    return MagChoice(coarsest, eff, f"coarsest available mag: {why}", (warning,))
