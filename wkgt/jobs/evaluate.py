"""The ``evaluate`` job (``wkgt evaluate``): score a segmentation layer against the painted boxes of
an annotation (usually the evaluation set of ``--holdout``), per box and overall.

Ground truth and segmentation are read box by box at one mag (``mag``, else the finest mag both
have) through the readers of :mod:`wkgt.client.imagery`; the scores are scikit-image's
(:mod:`wkgt.planner.evaluation`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from ..client import Connection, DatasetFacts, DatasetRef, LayerFacts, Session, read_local_dataset
from ..client.annotations import parse_annotation_ref
from ..client.imagery import forget_open_datasets, local_reader, remote_reader
from ..client.volume import PaintedAnnotation, choose_volume_layer, download_painted, export_volume, load_painted
from ..errors import InvalidInput
from ..planner.evaluation import SegmentationScores, score_boxes
from ..planner.mag_choice import finest_first
from ..planner.plan import Box
from ..planner.vectors import Vec3, format_mag


@attrs.frozen
class EvaluateJob:
    """An ``evaluate`` job: the dataset's ``segmentation`` layer to score, the annotation's
    ``volume_layer`` holding the ground truth (default ``ground_truth`` or the only one), the
    ``mag`` to compare at, and for an annotation file the local ``dataset`` folder."""

    segmentation: str
    volume_layer: str | None = None
    mag: Vec3 | None = None
    dataset: Path | None = None


@attrs.frozen
class BoxEvaluation:
    box: Box
    scores: SegmentationScores | None


def _scores_dict(scores: SegmentationScores | None) -> dict[str, Any] | None:
    if scores is None:
        return None
    return {
        "voi_split": round(scores.voi_split, 6),
        "voi_merge": round(scores.voi_merge, 6),
        "voi": round(scores.voi, 6),
        "arand": round(scores.arand, 6),
        "precision": round(scores.precision, 6),
        "recall": round(scores.recall, 6),
        "painted_voxels": scores.voxels,
    }


@attrs.frozen
class EvaluateResult:
    """Scores per box (None: nothing painted there) and over all painted boxes."""

    annotation: PaintedAnnotation
    annotation_url: str | None
    dataset: DatasetFacts
    segmentation: str
    volume_layer: str
    mag: Vec3
    boxes: tuple[BoxEvaluation, ...]
    overall: SegmentationScores

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` output."""
        return {
            "annotation": {"id": self.annotation.id, "name": self.annotation.name, "url": self.annotation_url},
            "dataset": {"id": self.dataset.id, "name": self.dataset.name},
            "segmentation": self.segmentation,
            "volume_layer": self.volume_layer,
            "mag": format_mag(self.mag),
            "boxes": [
                {"name": b.box.name, "topleft": list(b.box.topleft), "size": list(b.box.size), "scores": _scores_dict(b.scores)}
                for b in self.boxes
            ],
            "overall": _scores_dict(self.overall),
        }


def _common_mag(truth: LayerFacts, segmentation: LayerFacts, mag: Vec3 | None) -> Vec3:
    if mag is not None:
        for layer in (truth, segmentation):
            if tuple(mag) not in layer.mags:
                raise InvalidInput(f"mag {format_mag(mag)} is not available in {layer.name} (mags: {', '.join(map(format_mag, layer.mags))})")
        return tuple(mag)  # type: ignore[return-value]
    common = [m for m in finest_first(list(segmentation.mags)) if m in truth.mags]
    if not common:
        raise InvalidInput(
            f"the ground truth (mags {', '.join(map(format_mag, truth.mags))}) and {segmentation.name} "
            f"(mags {', '.join(map(format_mag, segmentation.mags))}) share no mag"
        )
    return common[0]


def evaluate(annotation: str, job: EvaluateJob, *, connection: Connection | None = None) -> EvaluateResult:
    """Score ``job.segmentation`` against the painted ground truth of ``annotation`` (id or URL on a
    server; or a ``.zip`` file with ``job.dataset`` the local dataset folder)."""
    session: Session | None = None
    if job.dataset is not None:
        painted = load_painted(Path(annotation))
        facts = read_local_dataset(job.dataset)
        url = None
    else:
        ref = parse_annotation_ref(annotation)
        connection = connection or Connection()
        session = Session(connection.resolve(target=ref.server), connection.retry)
        session.negotiate()
        painted = download_painted(session, ref.id)
        facts = session.dataset(
            DatasetRef(id=painted.dataset_id) if painted.dataset_id
            else DatasetRef(name=painted.dataset_name, organization=painted.organization)
        )
        url = f"{session.config.url}/annotations/{ref.id}"
    segmentation = facts.layer(job.segmentation)
    volume_layer = choose_volume_layer(painted, job.volume_layer)
    if not painted.boxes:
        raise InvalidInput(f"annotation {painted.name} has no boxes to evaluate")
    with tempfile.TemporaryDirectory(prefix="wkgt-evaluate-") as directory:
        truth_path, truth_layer = export_volume(painted, volume_layer, Path(directory))
        mag = _common_mag(truth_layer, segmentation, job.mag)
        read_truth = local_reader(truth_path, truth_layer, mag)
        read_segmentation = (
            local_reader(job.dataset, segmentation, mag) if job.dataset is not None
            else remote_reader(session, facts, segmentation, mag)
        )
        pairs = []
        for box in painted.boxes:
            grid = box.region.in_mag(mag)
            pairs.append((np.asarray(read_truth(grid.topleft, grid.size)), np.asarray(read_segmentation(grid.topleft, grid.size))))
        forget_open_datasets()
    per_box, overall = score_boxes(pairs)
    if overall is None:
        raise InvalidInput(f"no box of {painted.name} holds painted voxels in volume layer {volume_layer}: nothing to evaluate")
    return EvaluateResult(
        painted, url, facts, segmentation.name, volume_layer, mag,
        tuple(BoxEvaluation(box, scores) for box, scores in zip(painted.boxes, per_box)), overall,
    )
