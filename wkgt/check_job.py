"""The ``wkgt check`` job as a function: read an annotation's boxes and judge them for training."""

from __future__ import annotations

from typing import Any

import attrs

from .checker import CheckReport, Finding, check_boxes
from .client import DatasetFacts, DatasetRef, LayerFacts, RetryPolicy, Session, resolve_server
from .client.annotations import AnnotationBoxes, parse_annotation_ref, read_annotation
from .client.config import DEFAULT_TIMEOUT_S
from .planner import ModelKind, Region
from .planner.vectors import Vec3


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


def dataset_bbox(facts: DatasetFacts) -> Region:
    """The union of the layers' boxes: what a new volume layer of the dataset covers."""
    lo = tuple(min(layer.bbox.topleft[i] for layer in facts.layers) for i in range(3))
    hi = tuple(max(layer.bbox.end[i] for layer in facts.layers) for i in range(3))
    return Region(lo, tuple(h - low for low, h in zip(lo, hi)))  # type: ignore[arg-type]


def check_annotation(
    annotation: str,
    *,
    layer: str | None = None,
    model: ModelKind = ModelKind.NEURONS,
    mag: Vec3 | None = None,
    object_size_nm: float | None = None,
    min_voxel_size_nm: float | None = None,
    webknossos_url: str | None = None,
    token: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    retry: RetryPolicy = RetryPolicy(),
) -> CheckResult:
    """Check the user boxes (and task box) of ``annotation`` (id or URL) against the training
    dialog's verdicts and the guide's rules."""
    ref = parse_annotation_ref(annotation)
    session = Session(resolve_server(webknossos_url, token, timeout_s, target=ref.server), retry)
    session.negotiate()
    boxes = read_annotation(session, ref.id)
    facts = session.dataset(
        DatasetRef(id=boxes.dataset_id)
        if boxes.dataset_id
        else DatasetRef(name=boxes.dataset_name, organization=boxes.organization)
    )
    chosen = facts.layer(layer)
    report = check_boxes(
        boxes.all_boxes,
        voxel_size_nm=facts.voxel_size_nm,
        mag=mag,
        available_mags=chosen.mags,
        dataset_bbox=chosen.bbox,
        volume_bbox=dataset_bbox(facts) if boxes.volume_layers else None,
        model=model,
        object_size_nm=object_size_nm,
        min_voxel_size_nm=min_voxel_size_nm,
    )
    if not boxes.volume_layers:
        report = report.with_finding(
            Finding("warning", "no-volume-layer", "no volume layer to hold ground truth: add one before annotating")
        )
    return CheckResult(report, boxes, facts, chosen, session.config.url)
