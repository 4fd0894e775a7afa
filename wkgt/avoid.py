"""Later rounds: the boxes of earlier annotations that new boxes must keep clear of."""

from __future__ import annotations

import math
from collections.abc import Sequence

from .client.annotations import AnnotationBoxes, parse_annotation_ref, read_annotation
from .client.config import normalize_url
from .client.facts import DatasetFacts
from .client.session import Session
from .errors import InvalidInput
from .planner.plan import AvoidedBox
from .planner.vectors import Vec3, Vec3f
from .writer.annotation import find_run_key

DEFAULT_GAP_NM = 250.0


def gap_voxels(gap_nm: float, voxel_size_nm: Vec3f) -> int:
    """A gap of at least ``gap_nm`` on every axis, in mag-1 voxels (the planner's gap is one number)."""
    if gap_nm < 0:
        raise InvalidInput(f"--gap-nm must not be negative, got {gap_nm:g}")
    return math.ceil(gap_nm / min(voxel_size_nm)) if gap_nm else 0


def _boxes_of(annotation: AnnotationBoxes) -> list[AvoidedBox]:
    return [AvoidedBox(annotation.id, box.name, box.topleft, box.size) for box in annotation.all_boxes]


def gather_avoided(
    session: Session,
    dataset: DatasetFacts,
    refs: Sequence[str] = (),
    previous: bool = False,
    own_key: str | None = None,
) -> tuple[AvoidedBox, ...]:
    """User and task boxes of the annotations named in ``refs`` (ids or URLs) and, with
    ``previous``, of every readable annotation an earlier wkgt run made for ``dataset``
    (except those of the job with run key ``own_key``: a rerun must plan the same boxes) and
    of the dataset's tasks (an earlier round may have gone out as tasks).

    One request per named annotation; ``previous`` adds one listing and one download per
    wkgt annotation (the listing does not say which dataset an annotation belongs to).
    """
    seen: dict[str, AnnotationBoxes] = {}
    for text in refs:
        ref = parse_annotation_ref(text)
        if ref.server is not None and normalize_url(ref.server) != session.config.url:
            raise InvalidInput(f"--avoid {text}: the annotation is on {ref.server}, the dataset on {session.config.url}")
        if ref.id in seen:
            continue
        annotation = read_annotation(session, ref.id)
        if annotation.dataset_id and dataset.id and annotation.dataset_id != dataset.id:
            raise InvalidInput(
                f"--avoid {ref.id}: that annotation belongs to dataset {annotation.dataset_name or annotation.dataset_id}, "
                f"not {dataset.name}"
            )
        seen[ref.id] = annotation
    if previous:
        for info in session.annotations():
            key = find_run_key(info.description)
            if info.id in seen or key is None or key == own_key:
                continue
            annotation = read_annotation(session, info.id)
            if dataset.id is not None and annotation.dataset_id == dataset.id:
                seen[info.id] = annotation
    boxes = tuple(box for annotation in seen.values() for box in _boxes_of(annotation))
    return boxes + (_task_boxes(session, dataset) if previous else ())


def _task_boxes(session: Session, dataset: DatasetFacts) -> tuple[AvoidedBox, ...]:
    """The bounding boxes of the dataset's tasks (one request: the task list)."""
    tasks = session.read("listing tasks", lambda: session.api().task_list())
    return tuple(
        AvoidedBox(f"task {task.id}", f"task {task.id}", tuple(task.bounding_box.top_left), _size(task.bounding_box))
        for task in tasks
        if task.dataset_id == dataset.id and task.bounding_box is not None
    )


def _size(bbox: object) -> Vec3:
    return (bbox.width, bbox.height, bbox.depth)  # type: ignore[attr-defined]

