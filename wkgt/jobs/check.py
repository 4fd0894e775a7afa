"""The ``check`` job: read the boxes of one training run's annotations and judge them (``wkgt check``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from ..client import Connection, DatasetFacts, DatasetRef, LayerFacts, Session
from ..client.annotations import AnnotationBoxes, parse_annotation_ref, read_annotation
from ..client.ground_truth import organization_warning, read_ground_truth, user_organization
from ..errors import InvalidInput
from ..planner.check import BoxSource, CheckReport, Finding, check_run
from ..planner.ground_truth import GroundTruthLayer
from ..planner.rules import ModelKind, rule_set
from ..planner.vectors import Vec3, format_mag


@attrs.frozen
class CheckedAnnotation:
    """One annotation of the run, and the layers its boxes were judged against."""

    annotation: AnnotationBoxes
    dataset: DatasetFacts
    layer: LayerFacts
    ground_truth: GroundTruthLayer | None

    def to_dict(self, server: str) -> dict[str, Any]:
        gt = self.ground_truth
        return {
            "annotation": {
                "id": self.annotation.id,
                "name": self.annotation.name,
                "url": f"{server}/annotations/{self.annotation.id}",
            },
            "dataset": {
                "id": self.dataset.id,
                "name": self.dataset.name,
                "organization": self.dataset.organization,
                "voxel_size_nm": list(self.dataset.voxel_size_nm),
            },
            "layer": self.layer.name,
            "volume_layers": list(self.annotation.volume_layers),
            "ground_truth": None
            if gt is None
            else {
                "layer": gt.name,
                "mags": [format_mag(m) for m in gt.mags],
                "bbox": None if gt.bbox is None else {"topleft": list(gt.bbox.topleft), "size": list(gt.bbox.size)},
                "source": gt.source,
            },
        }


@attrs.frozen
class CheckResult:
    """The verdicts on one training run (one or more annotations), and what was checked."""

    report: CheckReport
    checked: tuple[CheckedAnnotation, ...]
    server: str

    @property
    def ok(self) -> bool:
        return self.report.ok

    @property
    def annotation(self) -> AnnotationBoxes:
        return self.checked[0].annotation

    @property
    def dataset(self) -> DatasetFacts:
        return self.checked[0].dataset

    @property
    def layer(self) -> LayerFacts:
        return self.checked[0].layer

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` output: the report, the first annotation as before, and every one."""
        each = [c.to_dict(self.server) for c in self.checked]
        return {**self.report.to_dict(), **each[0], "annotations": each}


@attrs.frozen
class CheckJob:
    """A ``check`` job: the image layer to train on (default: the first color layer it can
    train on), the model kind, the training mag (``mag``; else the rule picks it, from
    ``object_size_nm`` for instances, ``min_voxel_size_nm`` to change the 8 nm), the rule set
    (``rules``, ``min_object_voxels``) and the ground-truth volume layer (default: the first)."""

    layer: str | None = None
    model: ModelKind = ModelKind.NEURONS
    mag: Vec3 | None = None
    object_size_nm: float | None = None
    min_voxel_size_nm: float | None = None
    rules: str = "guide"
    min_object_voxels: int | None = None
    ground_truth_layer: str | None = None


def check_annotation(
    annotation: str,
    job: CheckJob = CheckJob(),
    *,
    connection: Connection | None = None,
) -> CheckResult:
    """Check the user boxes (and task box) of ``annotation`` (id or URL) against the training
    dialog's verdicts and the rule set's."""
    return check_annotations([annotation], job, connection=connection)


def check_annotations(
    annotations: Sequence[str],
    job: CheckJob = CheckJob(),
    *,
    connection: Connection | None = None,
) -> CheckResult:
    """Check the annotations of one training run together (all on one server), as the training
    dialog does: one mag for all, the smallest box and the box count over all of them."""
    if not annotations:
        raise InvalidInput("--annotation is needed at least once")
    rules = rule_set(job.rules).with_overrides(min_object_voxels=job.min_object_voxels)
    refs = [parse_annotation_ref(a) for a in annotations]
    servers = {ref.server for ref in refs if ref.server}
    if len(servers) > 1:
        raise InvalidInput(f"the annotations of one training run must be on one server, got {', '.join(sorted(servers))}")
    connection = connection or Connection()
    session = Session(connection.resolve(target=next(iter(servers), None)), connection.retry)
    session.negotiate()
    checked = [_read(session, ref.id, job) for ref in refs]
    names = [c.annotation.name for c in checked]
    labels = names if len(set(names)) == len(names) else [c.annotation.id for c in checked]
    sources = [
        BoxSource(
            label,
            c.annotation.all_boxes,
            c.layer.mags,
            c.ground_truth.mags if c.ground_truth is not None else None,
            c.layer.bbox,
            c.ground_truth.bbox if c.ground_truth is not None else None,
        )
        for label, c in zip(labels, checked)
    ]
    report = check_run(
        sources,
        voxel_size_nm=checked[0].dataset.voxel_size_nm,
        mag=job.mag,
        model=job.model,
        object_size_nm=job.object_size_nm,
        min_voxel_size_nm=job.min_voxel_size_nm,
        rules=rules,
    )
    organization = user_organization(session)
    for c in checked:
        where = f"annotation {c.annotation.name}: " if len(checked) > 1 else ""
        if c.ground_truth is None:
            report = report.with_finding(
                Finding("warning", "no-volume-layer", f"{where}no volume layer to hold ground truth: add one before annotating")
            )
        warning = organization_warning(organization, c.dataset)
        if warning:
            report = report.with_finding(Finding("warning", "other-organization", where + warning))
    return CheckResult(report, tuple(checked), session.config.url)


def _read(session: Session, annotation_id: str, job: CheckJob) -> CheckedAnnotation:
    boxes = read_annotation(session, annotation_id)
    facts = session.dataset(
        DatasetRef(id=boxes.dataset_id)
        if boxes.dataset_id
        else DatasetRef(name=boxes.dataset_name, organization=boxes.organization)
    )
    ground_truth = read_ground_truth(session, boxes, facts, job.ground_truth_layer)
    return CheckedAnnotation(boxes, facts, facts.layer(job.layer), ground_truth)

