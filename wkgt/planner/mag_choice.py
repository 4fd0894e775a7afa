"""Step 1 of a plan: which magnification to train at."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from ..errors import InvalidInput
from .rules import DEFAULT_RULES, ModelKind, RuleSet
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


def em_like_warnings(voxel_size_nm: Sequence[float], model: ModelKind, rules: RuleSet = DEFAULT_RULES) -> tuple[str, ...]:
    """Neurons on data that is not EM-like (mag-1 voxels coarser than ~20 nm in-plane, e.g.
    X-ray at 100 nm): the neuron model was made for vEM, and says so."""
    inplane = min(voxel_size_nm[0], voxel_size_nm[1])
    if model is not ModelKind.NEURONS or inplane <= rules.neuron_max_inplane_nm:
        return ()
    return (
        f"voxels of {inplane:g} nm in-plane at mag 1 are coarser than the ~{rules.neuron_max_inplane_nm:g} nm of "
        "electron microscopy: the neuron model was made for EM data, not for this (consider --model instances)",
    )


def choose_mag(
    voxel_size_nm: Vec3f,
    available_mags: Sequence[Vec3],
    model: ModelKind = ModelKind.NEURONS,
    *,
    mag: Vec3 | None = None,
    object_size_nm: float | None = None,
    min_voxel_size_nm: float | None = None,
    rules: RuleSet = DEFAULT_RULES,
) -> MagChoice:
    """Pick the training mag by the rules (both rule sets share them).

    Neurons (or ``min_voxel_size_nm``): the finest mag at which every axis of the effective
    voxel size reaches 8 nm (the given size), within the tolerance. Instances: the coarsest
    mag at which an object of ``object_size_nm`` still spans ``rules.min_object_voxels`` voxels
    in-plane (see :func:`coarsest_for_objects`).
    """
    if not available_mags:
        raise InvalidInput("the layer has no mags")
    mags = finest_first(available_mags)
    em = em_like_warnings(voxel_size_nm, model, rules)
    if mag is not None:
        if mag not in mags:
            raise InvalidInput(
                f"mag {format_mag(mag)} is not available; available: "
                + describe_mags(voxel_size_nm, mags)
            )
        return MagChoice(mag, effective_voxel_size(voxel_size_nm, mag), "given with --mag", em)

    if min_voxel_size_nm is not None:
        threshold, why = min_voxel_size_nm, f"--min-voxel-size {min_voxel_size_nm:g} nm"
    elif model is ModelKind.NEURONS:
        threshold = rules.neuron_min_voxel_size_nm
        why = f"neurons gain nothing from voxels finer than {threshold:g} nm"
    elif object_size_nm is not None:
        return coarsest_for_objects(voxel_size_nm, mags, object_size_nm, rules)
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
            return MagChoice(candidate, eff, reason, em)
    coarsest = mags[-1]
    eff = effective_voxel_size(voxel_size_nm, coarsest)
    warning = (
        f"no available mag reaches {threshold:g} nm on every axis; using the coarsest, "
        f"{format_mag(coarsest)} ({format_vec(eff)} nm)"
    )
    return MagChoice(coarsest, eff, f"coarsest available mag: {why}", (*em, warning))


def object_span(object_size_nm: float, effective_voxel_size_nm: Sequence[float]) -> tuple[float, float]:
    """How many voxels an object spans in-plane (along its coarser in-plane axis) and in z."""
    inplane = object_size_nm / max(effective_voxel_size_nm[0], effective_voxel_size_nm[1])
    return inplane, object_size_nm / effective_voxel_size_nm[2]


def coarsest_for_objects(
    voxel_size_nm: Vec3f, mags: Sequence[Vec3], object_size_nm: float, rules: RuleSet = DEFAULT_RULES
) -> MagChoice:
    """The guide's instance rule, "the coarsest magnification at which object boundaries are
    still clearly visible": the coarsest mag at which the object spans at least
    ``rules.min_object_voxels`` voxels in-plane, preferring mags where it also spans
    ``rules.min_object_sections`` sections in z (a warning when none does). If even the finest
    mag shows the object smaller, the finest, with a warning."""
    need, sections = rules.min_object_voxels, rules.min_object_sections
    spans = {m: object_span(object_size_nm, effective_voxel_size(voxel_size_nm, m)) for m in mags}
    visible = [m for m in finest_first(mags) if spans[m][0] >= need]
    why = f"objects of {object_size_nm:g} nm span ≥ {need} voxels in-plane"
    warnings: list[str] = []
    if visible:
        deep = [m for m in visible if spans[m][1] >= sections]
        chosen = (deep or visible)[-1]
        reason = f"coarsest mag at which {why} ({spans[chosen][0]:.0f} voxels, {spans[chosen][1]:.0f} sections)"
    else:
        chosen = finest_first(mags)[0]
        reason = f"finest available mag: no mag shows {why}"
        warnings.append(
            f"objects of {object_size_nm:g} nm span only {spans[chosen][0]:.1f} voxels in-plane even at mag "
            f"{format_mag(chosen)}, fewer than {need}: boundaries may not be visible"
        )
    if spans[chosen][1] < sections:
        warnings.append(
            f"objects of {object_size_nm:g} nm span only {spans[chosen][1]:.1f} sections in z at mag "
            f"{format_mag(chosen)}, fewer than {sections}: hard to annotate in 3D"
        )
    return MagChoice(chosen, effective_voxel_size(voxel_size_nm, chosen), reason, tuple(warnings))
