"""Later rounds, the reading: the boxes of earlier annotations and tasks that new boxes keep clear of."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..errors import InvalidInput
from ..planner.plan import AvoidedBox
from .annotations import AnnotationBoxes, find_run_key, parse_annotation_ref, read_annotation
from .config import normalize_url
from .facts import DatasetFacts
from .session import Session
from .tasks import dataset_task_boxes


WKGT_MAG = re.compile(r"planned by wkgt \S+: mag (\d+(?:-\d+-\d+)?) ")


def _boxes_of(annotation: AnnotationBoxes) -> list[AvoidedBox]:
    """The annotation's boxes; those of a wkgt annotation carry the mag its description names."""
    found = WKGT_MAG.search(annotation.description) if find_run_key(annotation.description) else None
    mag = found.group(1) if found else None
    return [AvoidedBox(annotation.id, box.name, box.topleft, box.size, mag) for box in annotation.all_boxes]


def gather_avoided(
    session: Session,
    dataset: DatasetFacts,
    refs: Sequence[str] = (),
    previous: bool = False,
    own_key: str | None = None,
) -> tuple[tuple[AvoidedBox, ...], tuple[str, ...]]:
    """User and task boxes of the annotations named in ``refs`` (ids or URLs) and, with
    ``previous``, of every readable annotation an earlier wkgt run made for ``dataset``
    (except those of the job with run key ``own_key``: a rerun must plan the same boxes) and
    of the dataset's tasks (an earlier round may have gone out as tasks; only team managers and
    admins can list them, so others get a warning saying so). Returns the boxes and warnings.

    One request per named annotation; ``previous`` adds the listing (one request per 1,000
    annotations), one download per wkgt annotation (the listing does not say which dataset an
    annotation belongs to), and the task list.
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
        for info in one_per_run(session.annotations()):
            key = find_run_key(info.description)
            if info.id in seen or key == own_key:
                continue
            annotation = read_annotation(session, info.id)
            if dataset.id is not None and annotation.dataset_id == dataset.id:
                seen[info.id] = annotation
    boxes = tuple(box for annotation in seen.values() for box in _boxes_of(annotation))
    if not previous:
        return boxes, ()
    task_boxes, warnings = dataset_task_boxes(session, dataset, own_key)
    return boxes + task_boxes, warnings


def one_per_run(listed: Sequence[Any]) -> list[Any]:
    """One annotation per earlier wkgt run (owner and run key): its oldest active one, else its
    oldest. A run's duplicates (archived by the reconciliation, ``--force-new`` copies) hold the
    same boxes, so they neither count twice towards the total nor cost a download each."""
    runs: dict[tuple[str, str], Any] = {}
    for info in sorted(listed, key=lambda a: a.id):  # ids grow with creation: oldest first
        key = find_run_key(info.description)
        if key is None:
            continue
        run = (info.owner.id, key)
        kept = runs.get(run)
        if kept is None or (kept.state != "Active" and info.state == "Active"):
            runs[run] = info
    return list(runs.values())
