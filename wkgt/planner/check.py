"""Verdicts on ground-truth boxes: WEBKNOSSOS's training dialog plus the guide's rules. No I/O.

The WEBKNOSSOS verdicts mirror the front end of scalableminds/webknossos:
``frontend/javascripts/viewer/view/ai_jobs/train_ai_model/training_data_validation.ts``
(errors: no boxes, total volume zero, boxes (partly) outside the ground-truth volume layer;
warnings: under 32 voxels along an axis in the training mag after alignment, boxes not
aligned to the mag, which it shrinks: ``ceil(min/mag)·mag``, ``floor(max/mag)·mag``) and
``frontend/javascripts/viewer/view/ai_jobs/train_ai_model/ai_training_data_selector.tsx``
(warning, from two boxes on: sizes that are not integer multiples of the smallest box,
all measured after alignment in voxels of the training mag).

The guide's rules (seed-guide-magnification-and-boxes.md) are warnings: WEBKNOSSOS trains
anyway. All sizes below are measured on the box WEBKNOSSOS would use (shrunk to the mag).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import attrs

from .mag_choice import choose_mag, finest_first
from .placement import Region
from .plan import Box
from .rules import DEFAULT_RULES, GuideRules, ModelKind
from .vectors import Vec3, Vec3f, format_mag, format_vec

Severity = Literal["error", "warning"]

WK_MIN_EXTENT = 32
"""``MIN_BBOX_EXTENT_IN_EACH_DIM`` of training_data_validation.ts (voxels of the training mag)."""


@attrs.frozen
class Finding:
    """One verdict: on a box (``box`` is its name) or on the whole set (``box`` is None)."""

    severity: Severity
    code: str
    message: str
    box: str | None = None
    shrunk: Box | None = None
    """For ``unaligned``: the box WEBKNOSSOS trains on instead (mag-1 voxels)."""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"severity": self.severity, "code": self.code, "message": self.message, "box": self.box}
        if self.shrunk is not None:
            data["shrunk"] = {"topleft": list(self.shrunk.topleft), "size": list(self.shrunk.size)}
        return data


@attrs.frozen
class BoxSummary:
    """A box as checked: its size in voxels of the training mag after alignment."""

    box: Box
    size_in_mag: Vec3

    @property
    def voxels(self) -> int:
        return math.prod(self.size_in_mag)


@attrs.frozen
class CheckReport:
    """Every finding, the boxes as WEBKNOSSOS would train on them, and the mag used."""

    mag: Vec3
    mag_source: Literal["given", "rule"]
    suggested_mag: Vec3 | None
    model: ModelKind
    boxes: tuple[BoxSummary, ...]
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")

    @property
    def ok(self) -> bool:
        """No errors (warnings never fail)."""
        return not self.errors

    @property
    def total_voxels(self) -> int:
        return sum(b.voxels for b in self.boxes)

    def for_box(self, name: str | None) -> tuple[Finding, ...]:
        """Findings on the box called ``name`` (None: findings on the whole set)."""
        return tuple(f for f in self.findings if f.box == name)

    def with_finding(self, finding: Finding) -> CheckReport:
        """This report with one more finding (e.g. one only the caller can see)."""
        return attrs.evolve(self, findings=(*self.findings, finding))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "mag": format_mag(self.mag),
            "mag_source": self.mag_source,
            "suggested_mag": format_mag(self.suggested_mag) if self.suggested_mag else None,
            "model": self.model.value,
            "total_voxels": self.total_voxels,
            "boxes": [
                {
                    "name": s.box.name,
                    "topleft": list(s.box.topleft),
                    "size": list(s.box.size),
                    "size_in_mag": list(s.size_in_mag),
                    "voxels": s.voxels,
                    "findings": [f.code for f in self.for_box(s.box.name)],
                }
                for s in self.boxes
            ],
            "findings": [f.to_dict() for f in self.findings],
        }


def shrink_to_mag(box: Box, mag: Vec3) -> Box:
    """WEBKNOSSOS's ``alignWithMag(mag, "shrink")``: min rounded up, max down, to the mag."""
    lo = [math.ceil(t / m) * m for t, m in zip(box.topleft, mag)]
    hi = [math.floor((t + s) / m) * m for t, s, m in zip(box.topleft, box.size, mag)]
    return Box(box.name, tuple(lo), tuple(max(h - low, 0) for low, h in zip(lo, hi)))  # type: ignore[arg-type]


def _region(box: Box) -> Region:
    return Region(box.topleft, box.size)


def _pick_mag(
    voxel_size_nm: Vec3f,
    mag: Vec3 | None,
    available_mags: Sequence[Vec3],
    model: ModelKind,
    object_size_nm: float | None,
    min_voxel_size_nm: float | None,
    rules: GuideRules,
) -> tuple[Vec3, Vec3 | None, list[Finding]]:
    """The mag to check at, the rule's mag (if the rule can tell), and a finding if finer."""

    def by_rule() -> Vec3:
        return choose_mag(
            voxel_size_nm, available_mags, model,
            object_size_nm=object_size_nm, min_voxel_size_nm=min_voxel_size_nm, rules=rules,
        ).mag

    if mag is None:
        return by_rule(), by_rule(), []
    if available_mags:
        choose_mag(voxel_size_nm, available_mags, model, mag=mag, rules=rules)  # raises if unavailable
    rule_known = model is ModelKind.NEURONS or object_size_nm is not None or min_voxel_size_nm is not None
    if not available_mags or not rule_known:
        return mag, None, []
    suggested = by_rule()
    order = finest_first([*available_mags, mag])
    if order.index(mag) >= order.index(suggested):
        return mag, suggested, []
    message = (
        f"mag {format_mag(mag)} is finer than the guide's rule suggests; "
        f"train at mag {format_mag(suggested)} for more context at less cost"
    )
    return mag, suggested, [Finding("warning", "mag-finer-than-rule", message)]


def _wk_findings(boxes: Sequence[Box], shrunk: Sequence[Box], mag: Vec3, in_mag: Sequence[Vec3]) -> list[Finding]:
    """WEBKNOSSOS's per-box warnings: unaligned, too thin, not a multiple of the smallest box."""
    findings = []
    for box, small, size in zip(boxes, shrunk, in_mag):
        if small != box:
            findings.append(
                Finding(
                    "warning",
                    "unaligned",
                    f"not aligned to mag {format_mag(mag)} (top-left and size must be divisible by it); "
                    f"WEBKNOSSOS shrinks it to {format_vec(small.topleft, ',')} + {format_vec(small.size)}",
                    box.name,
                    small,
                )
            )
        if min(size) < WK_MIN_EXTENT:
            findings.append(
                Finding(
                    "warning",
                    "too-thin",
                    f"{format_vec(size)} voxels in mag {format_mag(mag)}: fewer than {WK_MIN_EXTENT} along an axis",
                    box.name,
                )
            )
    usable = [s for s in in_mag if min(s) > 0]  # empty boxes are errors of their own
    if len(usable) >= 2:
        smallest = tuple(min(s[i] for s in usable) for i in range(3))
        for box, size in zip(boxes, in_mag):
            if min(size) > 0 and any(s % lo for s, lo in zip(size, smallest)):
                findings.append(
                    Finding(
                        "warning",
                        "not-multiple",
                        f"{format_vec(size)} voxels in mag {format_mag(mag)} is not an integer multiple "
                        f"of the smallest box dimensions {format_vec(smallest)}",
                        box.name,
                    )
                )
    return findings


def _duplicate_findings(boxes: Sequence[Box]) -> list[Finding]:
    """wkgt's own: a box drawn twice counts its voxels twice and leaks into the test set."""
    first: dict[tuple[Vec3, Vec3], str] = {}
    findings = []
    for box in boxes:
        key = (box.topleft, box.size)
        if key in first:
            findings.append(Finding("warning", "duplicate", f"the same box as {first[key]}", box.name))
        else:
            first[key] = box.name
    return findings


def _outside_findings(boxes: Sequence[Box], dataset_bbox: Region | None, volume_bbox: Region | None) -> list[Finding]:
    """One error per box that is (partly) outside the dataset, else outside the volume layer."""
    findings = []
    for box in boxes:
        if dataset_bbox is not None and not dataset_bbox.contains(_region(box)):
            findings.append(
                Finding("error", "outside-dataset", f"(partly) outside the dataset layer's bounding box {dataset_bbox}", box.name)
            )
        elif volume_bbox is not None and not volume_bbox.contains(_region(box)):
            findings.append(
                Finding(
                    "error",
                    "outside-volume",
                    f"(partly) outside the ground-truth volume layer's bounding box {volume_bbox}: training would fail",
                    box.name,
                )
            )
    return findings


def _guide_findings(
    boxes: Sequence[Box], in_mag: Sequence[Vec3], mag: Vec3, model: ModelKind, rules: GuideRules
) -> list[Finding]:
    """The guide's rules per box (voxels, minimum size) and overall (total volume, count)."""
    minimum = rules.min_box(model)
    findings = []
    for box, size in zip(boxes, in_mag):
        if math.prod(size) < rules.min_box_voxels:
            findings.append(
                Finding(
                    "warning",
                    "few-voxels",
                    f"{math.prod(size):,} voxels in mag {format_mag(mag)}, fewer than the guide's {rules.min_box_voxels:,}",
                    box.name,
                )
            )
        if any(s < lo for s, lo in zip(size, minimum)):
            findings.append(
                Finding(
                    "warning",
                    "below-minimum",
                    f"{format_vec(size)} voxels in mag {format_mag(mag)} is below the {model.value} "
                    f"minimum {format_vec(minimum)}",
                    box.name,
                )
            )
    total = sum(math.prod(s) for s in in_mag)
    if not rules.min_total_voxels <= total <= rules.max_total_voxels:
        findings.append(
            Finding(
                "warning",
                "total-volume",
                f"total {total:,} voxels in mag {format_mag(mag)} is outside the recommended "
                f"{rules.min_total_voxels:,}–{rules.max_total_voxels:,}",
            )
        )
    if len(boxes) < rules.min_box_count:
        findings.append(
            Finding(
                "warning",
                "few-boxes",
                f"only {len(boxes)} box(es): the trainer holds some back as a test set, "
                f"use at least {rules.min_box_count}",
            )
        )
    return findings


def check_boxes(
    boxes: Sequence[Box],
    *,
    voxel_size_nm: Vec3f,
    mag: Vec3 | None,
    available_mags: Sequence[Vec3],
    dataset_bbox: Region | None,
    volume_bbox: Region | None,
    model: ModelKind,
    object_size_nm: float | None = None,
    min_voxel_size_nm: float | None = None,
    rules: GuideRules = DEFAULT_RULES,
) -> CheckReport:
    """Check boxes (mag-1 voxels) for training at ``mag`` (None: the mag the guide's rule picks).

    ``volume_bbox`` is the ground-truth volume layer's bounding box (None: unknown, not
    checked, as in WEBKNOSSOS). ``object_size_nm`` and ``min_voxel_size_nm`` feed the mag
    rule as in planning. Raises InvalidInput when no mag can be chosen or ``mag`` is not
    among ``available_mags``.
    """
    chosen, suggested, mag_findings = _pick_mag(
        voxel_size_nm, mag, available_mags, model, object_size_nm, min_voxel_size_nm, rules
    )
    shrunk = [shrink_to_mag(b, chosen) for b in boxes]
    in_mag: list[Vec3] = [tuple(s // m for s, m in zip(b.size, chosen)) for b in shrunk]  # type: ignore[misc]
    summaries = tuple(BoxSummary(b, s) for b, s in zip(boxes, in_mag))

    def report(found: list[Finding]) -> CheckReport:
        source: Literal["given", "rule"] = "rule" if mag is None else "given"
        return CheckReport(chosen, source, suggested, model, summaries, (*found, *mag_findings))

    if not boxes:
        return report([Finding("error", "no-boxes", "no bounding boxes: add at least one")])
    findings: list[Finding] = []
    if sum(math.prod(b.size) for b in boxes) == 0:
        findings.append(Finding("error", "zero-volume", "the bounding boxes have a total volume of zero"))
    else:  # wkgt's own: one empty box among others holds no ground truth (and no test data)
        findings += [
            Finding("error", "empty-box", f"size {format_vec(b.size)}: the box holds no voxels", b.name)
            for b in boxes
            if math.prod(b.size) == 0
        ]
    findings += _duplicate_findings(boxes)
    findings += _outside_findings(boxes, dataset_bbox, volume_bbox)
    findings += _wk_findings(boxes, shrunk, chosen, in_mag)
    findings += _guide_findings(boxes, in_mag, chosen, model, rules)
    return report(findings)
