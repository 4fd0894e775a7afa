"""``--same-mag``: one training mag per dataset such that the effective voxel sizes match.

One model trained across several datasets sees every dataset at its own training mag; it
learns one scale only if the effective voxel sizes (voxel size × mag) are about equal. Each
dataset offers the mags its rule accepts (:func:`accepted_mags`); among all combinations wkgt
takes, in this order:

1. one whose effective voxel sizes lie within :data:`TOLERANCE` (1.3×) of each other on every
   axis, if any does — the one closest to each dataset's own rule mag, then the most equal;
2. otherwise the most equal one (smallest largest per-axis ratio), with a warning per axis that
   differs by more than 1.3×.

Pure: datasets are given as facts, nothing is read.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import attrs

from ..errors import InvalidInput
from .mag_choice import choose_mag, effective_voxel_size, finest_first, object_span
from .rules import DEFAULT_RULES, ModelKind, RuleSet
from .vectors import Vec3, Vec3f, format_mag, format_vec

TOLERANCE = 1.3
"""Effective voxel sizes within this ratio per axis count as the same scale."""
MAX_COMBINATIONS = 50_000
"""Beyond this many combinations the search anchors on each candidate size instead."""
AXES = "xyz"


@attrs.frozen
class MagOptions:
    """The mag rule's inputs shared by every dataset of a batch."""

    model: ModelKind = ModelKind.NEURONS
    mag: Vec3 | None = None
    object_size_nm: float | None = None
    min_voxel_size_nm: float | None = None
    rules: RuleSet = DEFAULT_RULES


@attrs.frozen
class DatasetMags:
    """One dataset's voxel size (nm) and the mags it can train at (image ∩ ground-truth layer)."""

    label: str
    voxel_size_nm: Vec3f
    mags: tuple[Vec3, ...]


@attrs.frozen
class SameMagChoice:
    """The chosen mag per dataset (in input order), their effective sizes and how far apart."""

    labels: tuple[str, ...]
    mags: tuple[Vec3, ...]
    rule_mags: tuple[Vec3, ...]
    effective_nm: tuple[Vec3f, ...]
    spread: Vec3f
    """Per axis: largest effective size ÷ smallest."""
    warnings: tuple[str, ...] = ()

    @property
    def within_tolerance(self) -> bool:
        return max(self.spread) <= TOLERANCE + 1e-9

    def reason(self, index: int) -> str:
        ratios = ", ".join(f"{a} {r:.2f}×" for a, r in zip(AXES, self.spread))
        own = "the rule's own mag" if self.mags[index] == self.rule_mags[index] else f"the rule alone picks {format_mag(self.rule_mags[index])}"
        return (
            f"--same-mag: {format_vec(self.effective_nm[index])} nm, as equal to the other datasets as they allow "
            f"(spread {ratios}; {own})"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "tolerance": TOLERANCE,
            "within_tolerance": self.within_tolerance,
            "spread": [round(r, 4) for r in self.spread],
            "datasets": [
                {"dataset": label, "mag": format_mag(m), "rule_mag": format_mag(r), "effective_voxel_size_nm": list(e)}
                for label, m, r, e in zip(self.labels, self.mags, self.rule_mags, self.effective_nm)
            ],
            "warnings": list(self.warnings),
        }


def accepted_mags(dataset: DatasetMags, options: MagOptions) -> tuple[tuple[Vec3, ...], Vec3]:
    """The mags the rule accepts for ``dataset`` (finest first) and the one it picks alone.

    Neurons (or ``min_voxel_size_nm``): every mag with every axis at least 8 nm (the given size,
    within the tolerance); instances: every mag at which the object still spans the rule's
    voxels in-plane; ``mag``: that one. When none qualifies, the rule's own fallback only.
    """
    if not dataset.mags:
        raise InvalidInput(f"dataset {dataset.label} has no mag to train at")
    rule = choose_mag(
        dataset.voxel_size_nm,
        dataset.mags,
        options.model,
        mag=options.mag,
        object_size_nm=options.object_size_nm,
        min_voxel_size_nm=options.min_voxel_size_nm,
        rules=options.rules,
    ).mag
    mags = finest_first(dataset.mags)
    rules = options.rules
    if options.mag is not None:
        accepted = [options.mag]
    elif options.min_voxel_size_nm is not None or options.model is ModelKind.NEURONS:
        threshold = options.min_voxel_size_nm if options.min_voxel_size_nm is not None else rules.neuron_min_voxel_size_nm
        floor = threshold * (1 - rules.voxel_size_tolerance)
        accepted = [m for m in mags if min(effective_voxel_size(dataset.voxel_size_nm, m)) >= floor]
    else:
        assert options.object_size_nm is not None  # choose_mag refused otherwise
        accepted = [
            m
            for m in mags
            if object_span(options.object_size_nm, effective_voxel_size(dataset.voxel_size_nm, m))[0] >= rules.min_object_voxels
        ]
    return tuple(accepted or [rule]), rule


def _spread(sizes: Sequence[Vec3f]) -> Vec3f:
    return tuple(max(s[a] for s in sizes) / min(s[a] for s in sizes) for a in range(3))  # type: ignore[return-value]


def _rule_distance(voxel_size_nm: Vec3f, mag: Vec3, rule: Vec3) -> float:
    """How far ``mag`` is from the rule's mag: |log| of the voxel-volume ratio, then per axis."""
    chosen, own = effective_voxel_size(voxel_size_nm, mag), effective_voxel_size(voxel_size_nm, rule)
    return sum(abs(math.log(c / o)) for c, o in zip(chosen, own))


def _score(spread: Vec3f, distance: float) -> tuple[float, ...]:
    worst = max(spread)
    if worst <= TOLERANCE + 1e-9:
        return (0.0, round(distance, 9), round(worst, 9), round(sum(math.log(r) for r in spread), 9))
    return (1.0, round(worst, 9), round(sum(math.log(r) for r in spread), 9), round(distance, 9))


def _nearest(dataset: DatasetMags, accepted: Sequence[Vec3], rule: Vec3, target: Vec3f) -> Vec3:
    def distance(m: Vec3) -> tuple[float, float]:
        e = effective_voxel_size(dataset.voxel_size_nm, m)
        return max(abs(math.log(x / t)) for x, t in zip(e, target)), _rule_distance(dataset.voxel_size_nm, m, rule)

    return min(accepted, key=distance)


def _combinations(datasets: Sequence[DatasetMags], accepted: Sequence[Sequence[Vec3]], rules: Sequence[Vec3]) -> list[tuple[Vec3, ...]]:
    """Every combination, or (too many) each dataset's nearest mag to every candidate size."""
    if math.prod(len(a) for a in accepted) <= MAX_COMBINATIONS:
        return list(itertools.product(*accepted))
    targets = {effective_voxel_size(d.voxel_size_nm, m) for d, a in zip(datasets, accepted) for m in a}
    return [tuple(_nearest(d, a, r, t) for d, a, r in zip(datasets, accepted, rules)) for t in sorted(targets)]


def same_mags(datasets: Sequence[DatasetMags], options: MagOptions = MagOptions()) -> SameMagChoice:
    """Pick one mag per dataset so that their effective voxel sizes are as equal as they allow."""
    if not datasets:
        raise InvalidInput("--same-mag needs at least one dataset")
    found = [accepted_mags(d, options) for d in datasets]
    accepted, rules = [a for a, _ in found], [r for _, r in found]

    def score(combination: tuple[Vec3, ...]) -> tuple[float, ...]:
        sizes = [effective_voxel_size(d.voxel_size_nm, m) for d, m in zip(datasets, combination)]
        distance = sum(_rule_distance(d.voxel_size_nm, m, r) for d, m, r in zip(datasets, combination, rules))
        return _score(_spread(sizes), distance)

    best = min(_combinations(datasets, accepted, rules), key=score)
    sizes = tuple(effective_voxel_size(d.voxel_size_nm, m) for d, m in zip(datasets, best))
    spread = _spread(sizes)
    over = [f"{axis} {ratio:.2f}×" for axis, ratio in zip(AXES, spread) if ratio > TOLERANCE + 1e-9]
    warnings = (
        (
            f"--same-mag: effective voxel sizes differ by more than {TOLERANCE:g}× along {', '.join(over)} ("
            + ", ".join(f"{d.label} {format_vec(s)} nm at mag {format_mag(m)}" for d, s, m in zip(datasets, sizes, best))
            + "): as equal as these datasets allow; one model trained across them sees different scales",
        )
        if over
        else ()
    )
    return SameMagChoice(tuple(d.label for d in datasets), tuple(best), tuple(rules), sizes, spread, warnings)
