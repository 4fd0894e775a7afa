"""The ``check`` job: read an annotation's boxes and judge them for training (``wkgt check``)."""

from __future__ import annotations

from typing import Any

import attrs

from ..client import Connection, DatasetFacts, DatasetRef, LayerFacts, Session
from ..client.annotations import AnnotationBoxes, parse_annotation_ref, read_annotation
from ..planner.check import CheckReport, Finding, check_boxes
from ..planner.rules import ModelKind
from ..planner.vectors import Vec3


@attrs.frozen
class CheckResult:
    """The verdicts on one annotation, and what was checked."""

    report: CheckReport
    annotation: AnnotationBoxes
    dataset: DatasetFacts
    layer: LayerFacts
    server: str

    @property
    def ok(self) -> bool:
        return self.report.ok

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` output: the report plus what was checked."""
        return {
            **self.report.to_dict(),
            "annotation": {
                "id": self.annotation.id,
                "name": self.annotation.name,
                "url": f"{self.server}/annotations/{self.annotation.id}",
            },
            "dataset": {"id": self.dataset.id, "name": self.dataset.name, "voxel_size_nm": list(self.dataset.voxel_size_nm)},
            "layer": self.layer.name,
            "volume_layers": list(self.annotation.volume_layers),
        }


@attrs.frozen
class CheckJob:
    """A ``check`` job: the image layer to train on (default: the first color layer), the model
    kind, and the training mag (``mag``; else the guide's rule picks it, from
    ``object_size_nm`` for instances, ``min_voxel_size_nm`` to change the 8 nm)."""

    layer: str | None = None
    model: ModelKind = ModelKind.NEURONS
    mag: Vec3 | None = None
    object_size_nm: float | None = None
    min_voxel_size_nm: float | None = None


def check_annotation(
    annotation: str,
    job: CheckJob = CheckJob(),
    *,
    connection: Connection | None = None,
) -> CheckResult:
    """Check the user boxes (and task box) of ``annotation`` (id or URL) against the training
    dialog's verdicts and the guide's rules."""
    ref = parse_annotation_ref(annotation)
    connection = connection or Connection()
    session = Session(connection.resolve(target=ref.server), connection.retry)
    session.negotiate()
    boxes = read_annotation(session, ref.id)
    facts = session.dataset(
        DatasetRef(id=boxes.dataset_id)
        if boxes.dataset_id
        else DatasetRef(name=boxes.dataset_name, organization=boxes.organization)
    )
    chosen = facts.layer(job.layer)
    report = check_boxes(
        boxes.all_boxes,
        voxel_size_nm=facts.voxel_size_nm,
        mag=job.mag,
        available_mags=chosen.mags,
        dataset_bbox=chosen.bbox,
        volume_bbox=facts.bbox if boxes.volume_layers else None,
        model=job.model,
        object_size_nm=job.object_size_nm,
        min_voxel_size_nm=job.min_voxel_size_nm,
    )
    if not boxes.volume_layers:
        report = report.with_finding(
            Finding("warning", "no-volume-layer", "no volume layer to hold ground truth: add one before annotating")
        )
    return CheckResult(report, boxes, facts, chosen, session.config.url)
