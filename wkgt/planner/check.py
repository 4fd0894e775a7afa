"""Verdicts on ground-truth boxes: WEBKNOSSOS's training dialog plus the rule set's. No I/O.

The WEBKNOSSOS verdicts mirror the front end of scalableminds/webknossos:
``frontend/javascripts/viewer/view/ai_jobs/train_ai_model/training_data_validation.ts``
(errors: no boxes, total volume zero, boxes (partly) outside the ground-truth volume layer;
warnings: under 32 voxels along an axis in the training mag after alignment, boxes not
aligned to the mag, which it shrinks: ``ceil(min/mag)·mag``, ``floor(max/mag)·mag``) and
``frontend/javascripts/viewer/view/ai_jobs/train_ai_model/ai_training_data_selector.tsx``
(warning, from two boxes on: sizes that are not integer multiples of the smallest box,
all measured after alignment in voxels of the training mag).

Errors also where training would fail although the dialog lets it start: a training mag the
ground-truth layer lacks ("No common magnification found for the selected layers.", the
dialog's ``magnificationError``; the layer's mags: :mod:`wkgt.planner.ground_truth`), and fewer
than 4 boxes in the whole run (the trainer holds a test fraction out of them).

One training run may take several annotations: the "multiple of the smallest box" rule, the
mag and the box count apply across all of them, as in the dialog (:func:`check_run`).

The rule set's rules (:mod:`wkgt.planner.rules`) are warnings: WEBKNOSSOS trains anyway. All
sizes below are measured on the box WEBKNOSSOS would use (shrunk to the mag).

wkgt's own, beyond WEBKNOSSOS (which trains on empty ground truth): how much of each box is
painted (:func:`with_painted`, from the fractions the caller read). A box with no voxel labelled
non-zero is "unpainted"; a neuron box under :data:`PAINTED_ENOUGH` is "partly-painted" (dense
neuron ground truth labels nearly every voxel; instance ground truth leaves the background 0, so
for instances only "nothing painted" is judged); no painted voxel in any box is one
"nothing-painted" finding (a fresh annotation: a pre-painting check), and so is an annotation of
a run of several with nothing painted in any of its boxes. All are warnings here; ``wkgt train``
refuses "unpainted" (unless allowed) and "nothing-painted" (always).

A ground-truth layer with a fallback segmentation is proofreading: the tracing store serves the
fallback's labels wherever nothing was painted, and that merged volume is what training reads. So
there an unpainted box is "unedited" (a warning, also for ``wkgt train``: its labels are the
fallback's, unchanged), and a partly painted one is not judged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import attrs

from .box_size import size_warnings
from .mag_choice import choose_mag, em_like_warnings, finest_first
from .placement import Region
from .plan import Box
from .rules import DEFAULT_RULES, ModelKind, RuleSet
from .vectors import Vec3, Vec3f, format_mag, format_vec

Severity = Literal["error", "warning"]

WK_MIN_EXTENT = 32
"""``MIN_BBOX_EXTENT_IN_EACH_DIM`` of training_data_validation.ts (voxels of the training mag)."""
WK_MIN_BOXES = 4
"""Fewer boxes in a training run fail: the trainer holds a test fraction of them out."""
PAINTED_ENOUGH = 0.5
"""A neuron box with fewer of its voxels labelled non-zero is painted only partly."""
PAINTED_CODES = frozenset({"nothing-painted", "unpainted", "partly-painted", "unedited"})
"""The painted verdicts (:func:`with_painted`)."""
NO_COMMON_MAG = "No common magnification found for the selected layers."
"""The training dialog's ``magnificationError`` (training_data_validation.ts)."""


@attrs.frozen
class BoxSource:
    """One annotation of a training run: its boxes (mag-1 voxels) and the facts they are judged
    against: the image layer's mags, the ground-truth layer's mags (None: unknown, not
    checked) and bounding boxes (None: unknown, not checked, as in WEBKNOSSOS)."""

    label: str
    boxes: tuple[Box, ...]
    image_mags: tuple[Vec3, ...]
    ground_truth_mags: tuple[Vec3, ...] | None = None
    dataset_bbox: Region | None = None
    volume_bbox: Region | None = None

    @property
    def common_mags(self) -> tuple[Vec3, ...]:
        """The mags WEBKNOSSOS offers for training (``getIntersectingMagList``)."""
        if self.ground_truth_mags is None:
            return self.image_mags
        return tuple(m for m in self.image_mags if m in self.ground_truth_mags)


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
    painted: float | None = None
    """The fraction of its voxels labelled non-zero in the ground-truth layer (None: not read)."""

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
    rules: str = "guide"

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
            "rules": self.rules,
            "total_voxels": self.total_voxels,
            "boxes": [
                {
                    "name": s.box.name,
                    "topleft": list(s.box.topleft),
                    "size": list(s.box.size),
                    "size_in_mag": list(s.size_in_mag),
                    "voxels": s.voxels,
                    "painted": None if s.painted is None else round(s.painted, 4),
                    "findings": [f.code for f in self.for_box(s.box.name)],
                }
                for s in self.boxes
            ],
            "findings": [f.to_dict() for f in self.findings],
        }


def _percent(fraction: float) -> str:
    """Whole percent rounded down (49.9 % is under the 50 % it is judged against), "<1%" above 0."""
    return "<1%" if 0 < fraction < 0.01 else f"{math.floor(fraction * 100)}%"


def _unedited(rows: Sequence[tuple[BoxSummary, str]]) -> list[Finding]:
    """Boxes over a fallback segmentation with nothing painted: training reads the fallback there."""
    return [
        Finding(
            "warning",
            "unedited",
            f"nothing painted over the fallback segmentation '{fallback}': training reads its labels "
            "here unchanged (proofread them first, or they train as they are)",
            s.box.name,
        )
        for s, fallback in rows
        if s.painted == 0
    ]


def _nothing_painted(count: int, annotation: str | None = None) -> Finding:
    where = f"annotation {annotation}: none of its" if annotation else "none of the"
    return Finding(
        "warning",
        "nothing-painted",
        f"nothing painted yet: {where} {count} box(es) holds a labelled voxel in the ground-truth "
        "layer; paint them before training",
    )


def painted_findings(
    summaries: Sequence[BoxSummary],
    model: ModelKind,
    fallbacks: Sequence[str | None] = (),
    annotations: Sequence[str | None] = (),
) -> list[Finding]:
    """The painted verdicts over the boxes whose fraction is known (see the module's docstring);
    per box its ground-truth ``fallbacks`` layer (a box over one is judged "unedited" only) and the
    label of its ``annotations`` in a run of several: an annotation with nothing painted is one finding."""
    n = len(summaries)
    rows = list(zip(summaries, [*fallbacks, *[None] * n][:n], [*annotations, *[None] * n][:n]))
    findings = _unedited([(s, f) for s, f, _ in rows if s.painted is not None and f])
    known = [row for row in rows if row[0].painted is not None and not row[1]]
    if not known:
        return findings
    if all(s.painted == 0 for s, _, _ in known):
        return [*findings, _nothing_painted(len(known))]
    empty = set()
    for label in dict.fromkeys(a for _, _, a in known if a):
        group = [(s, f) for s, f, a in known if a == label]
        if all(s.painted == 0 for s, _ in group):
            empty.add(label)
            findings.append(_nothing_painted(len(group), label))
    for s, _, label in known:
        assert s.painted is not None
        if label in empty:
            continue
        if s.painted == 0:
            findings.append(Finding("warning", "unpainted", "nothing painted in the ground-truth layer", s.box.name))
        elif model is ModelKind.NEURONS and s.painted < PAINTED_ENOUGH:
            findings.append(
                Finding(
                    "warning",
                    "partly-painted",
                    f"only {_percent(s.painted)} of its voxels painted (dense neuron ground truth labels "
                    f"nearly every voxel; under {PAINTED_ENOUGH:.0%} counts as partly painted)",
                    s.box.name,
                )
            )
    return findings


def with_painted(
    report: CheckReport,
    fractions: Sequence[float | None],
    fallbacks: Sequence[str | None] = (),
    annotations: Sequence[str | None] = (),
) -> CheckReport:
    """The report with each box's painted fraction (in the order of ``report.boxes``; None: not
    read) and the painted verdicts; per box, ``fallbacks`` and ``annotations`` as in
    :func:`painted_findings`."""
    if len(fractions) != len(report.boxes):
        raise ValueError(f"{len(fractions)} painted fractions for {len(report.boxes)} boxes")
    boxes = tuple(attrs.evolve(s, painted=f) for s, f in zip(report.boxes, fractions))
    kept = tuple(f for f in report.findings if f.code not in PAINTED_CODES)
    return attrs.evolve(report, boxes=boxes, findings=(*kept, *painted_findings(boxes, report.model, fallbacks, annotations)))


def shrink_to_mag(box: Box, mag: Vec3) -> Box:
    """WEBKNOSSOS's ``alignWithMag(mag, "shrink")``: min rounded up, max down, to the mag."""
    lo = [math.ceil(t / m) * m for t, m in zip(box.topleft, mag)]
    hi = [math.floor((t + s) / m) * m for t, s, m in zip(box.topleft, box.size, mag)]
    return Box(box.name, tuple(lo), tuple(max(h - low, 0) for low, h in zip(lo, hi)))  # type: ignore[arg-type]


def _pick_mag(
    voxel_size_nm: Vec3f,
    mag: Vec3 | None,
    sources: Sequence[BoxSource],
    model: ModelKind,
    object_size_nm: float | None,
    min_voxel_size_nm: float | None,
    rules: RuleSet,
) -> tuple[Vec3, Vec3 | None, list[Finding]]:
    """The mag to check at, the rule's mag (if the rule can tell), and findings on the mag.

    The rule picks among the mags every annotation offers for training; a given mag must be an
    image mag of every annotation (else InvalidInput), and one the ground-truth layer lacks is
    an error, as is a run without any common mag.
    """
    image_mags = [m for m in sources[0].image_mags if all(m in s.image_mags for s in sources)] if sources else []
    common = [m for m in image_mags if all(m in s.common_mags for s in sources)]
    findings: list[Finding] = []

    def by_rule(mags: Sequence[Vec3]) -> Vec3:
        return choose_mag(
            voxel_size_nm, mags, model,
            object_size_nm=object_size_nm, min_voxel_size_nm=min_voxel_size_nm, rules=rules,
        ).mag

    rule_known = model is ModelKind.NEURONS or object_size_nm is not None or min_voxel_size_nm is not None
    if mag is not None:
        for source in sources:
            if source.image_mags:  # raises if the image layer lacks it
                choose_mag(voxel_size_nm, source.image_mags, model, mag=mag, rules=rules)
        for source in sources:
            if source.ground_truth_mags is not None and mag not in source.ground_truth_mags:
                findings.append(_no_common_mag(source, mag))
        if not common or not rule_known:
            return mag, None, findings
        suggested = by_rule(common)
        order = finest_first([*common, mag])
        if order.index(mag) < order.index(suggested):
            findings.append(
                Finding(
                    "warning",
                    "mag-finer-than-rule",
                    f"mag {format_mag(mag)} is finer than the rule suggests; "
                    f"train at mag {format_mag(suggested)} for more context at less cost",
                )
            )
        return mag, suggested, findings
    if not common:
        chosen = by_rule(image_mags or sources[0].image_mags)
        findings += [_no_common_mag(source, None) for source in sources if not source.common_mags] or [
            Finding("error", "no-common-mag", f"{NO_COMMON_MAG} The annotations have no training mag in common")
        ]
        return chosen, None, findings
    chosen = by_rule(common)
    return chosen, chosen, findings


def _no_common_mag(source: BoxSource, mag: Vec3 | None) -> Finding:
    label = f"annotation {source.label}: " if source.label else ""
    gt = ", ".join(format_mag(m) for m in source.ground_truth_mags or ()) or "none"
    image = ", ".join(format_mag(m) for m in source.image_mags) or "none"
    lacks = f"mag {format_mag(mag)} is not among them" if mag is not None else "none of them is an image mag"
    return Finding(
        "error",
        "no-common-mag",
        f"{NO_COMMON_MAG} {label}the ground-truth layer has mags {gt}, the image layer {image}: {lacks}",
    )


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
        if dataset_bbox is not None and not dataset_bbox.contains(box.region):
            findings.append(
                Finding("error", "outside-dataset", f"(partly) outside the dataset layer's bounding box {dataset_bbox}", box.name)
            )
        elif volume_bbox is not None and not volume_bbox.contains(box.region):
            findings.append(
                Finding(
                    "error",
                    "outside-volume",
                    f"(partly) outside the ground-truth volume layer's bounding box {volume_bbox}: training would fail",
                    box.name,
                )
            )
    return findings


def _rule_findings(
    boxes: Sequence[Box], in_mag: Sequence[Vec3], mag: Vec3, model: ModelKind, rules: RuleSet
) -> list[Finding]:
    """The rule set's rules per box (voxels, minimum size, multiples) and overall (total
    volume, count), and WEBKNOSSOS's trainer minimum of 4 boxes (an error)."""
    minimum = rules.min_box(model)
    findings = []
    for box, size in zip(boxes, in_mag):
        if math.prod(size) < rules.min_box_voxels:
            findings.append(
                Finding(
                    "warning",
                    "few-voxels",
                    f"{math.prod(size):,} voxels in mag {format_mag(mag)}, fewer than the "
                    f"{rules.min_box_voxels:,} of {rules.label}",
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
        elif min(size) > 0 and any("integer multiple" in w for w in size_warnings(size, model, rules)):
            findings.append(
                Finding(
                    "warning",
                    "not-multiple-of-minimum",
                    f"{format_vec(size)} voxels in mag {format_mag(mag)} is not an integer multiple of "
                    f"{format_vec(minimum)} ({rules.label}): training pads or crops it to the nearest multiple",
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
    if 0 < len(boxes) < WK_MIN_BOXES:
        findings.append(
            Finding(
                "error",
                "too-few-boxes",
                f"only {len(boxes)} box(es) in the training run: training fails with fewer than {WK_MIN_BOXES}, "
                f"because the trainer holds a test fraction out (add boxes, or more annotations to the run)",
            )
        )
    elif len(boxes) < rules.min_box_count:
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
    rules: RuleSet = DEFAULT_RULES,
    ground_truth_mags: Sequence[Vec3] | None = None,
) -> CheckReport:
    """Check one annotation's boxes (mag-1 voxels) for training at ``mag`` (None: the mag the
    rule picks among the mags the image layer and the ground-truth layer share).

    ``volume_bbox`` and ``ground_truth_mags`` describe the ground-truth volume layer (None:
    unknown, not checked, as in WEBKNOSSOS). ``object_size_nm`` and ``min_voxel_size_nm`` feed
    the mag rule as in planning. Raises InvalidInput when no mag can be chosen or ``mag`` is
    not among ``available_mags``.
    """
    source = BoxSource(
        "",
        tuple(boxes),
        tuple(available_mags),
        None if ground_truth_mags is None else tuple(ground_truth_mags),
        dataset_bbox,
        volume_bbox,
    )
    return check_run(
        [source],
        voxel_size_nm=voxel_size_nm,
        mag=mag,
        model=model,
        object_size_nm=object_size_nm,
        min_voxel_size_nm=min_voxel_size_nm,
        rules=rules,
    )


def check_run(
    sources: Sequence[BoxSource],
    *,
    voxel_size_nm: Vec3f,
    mag: Vec3 | None,
    model: ModelKind,
    object_size_nm: float | None = None,
    min_voxel_size_nm: float | None = None,
    rules: RuleSet = DEFAULT_RULES,
) -> CheckReport:
    """Check the boxes of every annotation of one training run together, as the dialog does:
    one training mag for all, the "multiple of the smallest box" rule and the box count over
    all boxes, the per-box verdicts against each annotation's own layers. With several
    annotations, box names are prefixed by their annotation's label (``label/name``)."""
    several = len(sources) > 1
    named = [
        [attrs.evolve(b, name=f"{s.label}/{b.name}") if several else b for b in s.boxes] for s in sources
    ]
    boxes = [b for group in named for b in group]
    chosen, suggested, mag_findings = _pick_mag(
        voxel_size_nm, mag, sources, model, object_size_nm, min_voxel_size_nm, rules
    )
    mag_findings += [Finding("warning", "not-em-like", w) for w in em_like_warnings(voxel_size_nm, model, rules)]
    shrunk = [shrink_to_mag(b, chosen) for b in boxes]
    in_mag: list[Vec3] = [tuple(s // m for s, m in zip(b.size, chosen)) for b in shrunk]  # type: ignore[misc]
    summaries = tuple(BoxSummary(b, s) for b, s in zip(boxes, in_mag))

    def report(found: list[Finding]) -> CheckReport:
        source: Literal["given", "rule"] = "rule" if mag is None else "given"
        return CheckReport(chosen, source, suggested, model, summaries, (*found, *mag_findings), rules.name)

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
    for source, group in zip(sources, named):
        findings += _duplicate_findings(group)
        findings += _outside_findings(group, source.dataset_bbox, source.volume_bbox)
    findings += _wk_findings(boxes, shrunk, chosen, in_mag)
    findings += _rule_findings(boxes, in_mag, chosen, model, rules)
    return report(findings)
