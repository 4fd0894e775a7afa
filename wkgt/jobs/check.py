"""The ``check`` job: read the boxes of one training run's annotations and judge them (``wkgt check``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from ..client import Connection, DatasetFacts, DatasetRef, LayerFacts, Session, parse_dataset_ref, read_local_dataset
from ..client.annotation_files import is_annotation_file, read_annotation_file
from ..client.annotations import AnnotationBoxes, annotation_boxes, parse_annotation_ref, read_annotation
from ..client.ground_truth import organization_warning, read_ground_truth, user_organization
from ..client.volume import PaintedAnnotation, download_painted, load_painted, painted_fractions
from ..errors import InvalidInput, NotFound
from ..planner.check import BoxSource, CheckReport, Finding, check_run, with_painted
from ..planner.ground_truth import GroundTruthLayer, fallback_layer, ground_truth_layer
from ..planner.placement import Region
from ..planner.rules import ModelKind, rule_set
from ..planner.vectors import Vec3, format_mag, to_mag
from ..writer.progress import SILENT, Progress


@attrs.frozen
class CheckedAnnotation:
    """One annotation of the run, and the layers its boxes were judged against."""

    annotation: AnnotationBoxes
    dataset: DatasetFacts
    layer: LayerFacts
    ground_truth: GroundTruthLayer | None
    file: Path | None = None
    """The local annotation file (None: on the server)."""
    painted: tuple[float, ...] | None = None
    """Per box (``annotation.all_boxes``), the fraction painted in the ground-truth layer (None: not read)."""

    def to_dict(self, server: str) -> dict[str, Any]:
        gt = self.ground_truth
        return {
            "annotation": {
                "id": self.annotation.id,
                "name": self.annotation.name,
                "url": None if self.file is not None else f"{server}/annotations/{self.annotation.id}",
                "file": None if self.file is None else str(self.file),
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
    (``rules``, ``min_object_voxels``), the ground-truth volume layer (default: the first), and
    the ``dataset`` of local annotation files (name, id, URL or local folder; default: the
    dataset the file names, on the server), and ``painted_check``: read how much of each box is
    painted (the annotation is downloaded with its volume data instead of without; NML files
    hold no voxels and are not read)."""

    layer: str | None = None
    model: ModelKind = ModelKind.NEURONS
    mag: Vec3 | None = attrs.field(default=None, converter=attrs.converters.optional(to_mag))
    object_size_nm: float | None = None
    min_voxel_size_nm: float | None = None
    rules: str = "guide"
    min_object_voxels: int | None = None
    ground_truth_layer: str | None = None
    dataset: str | None = None
    painted_check: bool = True


def check_annotation(
    annotation: str,
    job: CheckJob = CheckJob(),
    *,
    connection: Connection | None = None,
    progress: Progress | None = None,
) -> CheckResult:
    """Check the user boxes (and task box) of ``annotation`` (id, URL, or a local ``.zip``/``.nml``
    file) against the training dialog's verdicts and the rule set's."""
    return check_annotations([annotation], job, connection=connection, progress=progress)


def check_annotations(
    annotations: Sequence[str],
    job: CheckJob = CheckJob(),
    *,
    connection: Connection | None = None,
    progress: Progress | None = None,
) -> CheckResult:
    """Check the annotations of one training run together (all on one server, or local files), as
    the training dialog does: one mag for all, the smallest box and the box count over all of them."""
    if not annotations:
        raise InvalidInput("--annotation is needed at least once")
    progress = progress or SILENT
    rules = rule_set(job.rules).with_overrides(min_object_voxels=job.min_object_voxels)
    files = {a: read_annotation_file(a) for a in annotations if is_annotation_file(a)}
    refs = {a: parse_annotation_ref(a) for a in annotations if a not in files}
    given = parse_dataset_ref(job.dataset) if job.dataset else None
    servers = {ref.server for ref in refs.values() if ref.server} | ({given.server} if given and given.server else set())
    if len(servers) > 1:
        raise InvalidInput(f"the annotations of one training run must be on one server, got {', '.join(sorted(servers))}")
    session: Session | None = None
    if refs or (files and (given is None or given.local_path is None)):
        connection = connection or Connection()
        session = Session(connection.resolve(target=next(iter(servers), None)), connection.retry)
        progress.step(f"connecting to {session.config.url}")
        session.negotiate()
    checked = []
    volumes: list[PaintedAnnotation | None] = []
    for text in annotations:
        if text in files:
            progress.step(f"reading the dataset of {files[text].id}")
            read = _read_file(session, files[text], Path(text), given, job)
        else:
            progress.step(f"reading annotation {refs[text].id}")
            assert session is not None
            read = _read(session, refs[text].id, job)
        checked.append(read[0])
        volumes.append(read[1])
    labels = _run_labels(checked)
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
    if any(v is not None for v in volumes):
        progress.step("reading the painted voxels of the boxes")
        checked = [attrs.evolve(c, painted=_painted(v, c, report.mag)) if v is not None else c for c, v in zip(checked, volumes)]
        report = _with_painted(report, checked, labels)
    organization = user_organization(session) if session is not None else None
    for c in checked:
        where = f"annotation {c.annotation.name}: " if len(checked) > 1 else ""
        if c.ground_truth is None:
            report = report.with_finding(
                Finding("warning", "no-volume-layer", f"{where}no volume layer to hold ground truth: add one before annotating")
            )
        warning = organization_warning(organization, c.dataset)
        if warning:
            report = report.with_finding(Finding("warning", "other-organization", where + warning))
    return CheckResult(report, tuple(checked), session.config.url if session is not None else "")


def _with_painted(report: CheckReport, checked: Sequence[CheckedAnnotation], labels: Sequence[str]) -> CheckReport:
    """``report`` with the painted fractions of ``checked`` and their verdicts, box by box."""
    return with_painted(report, _fractions(checked), _fallbacks(checked), _labels(checked, labels))


def _fractions(checked: Sequence[CheckedAnnotation]) -> list[float | None]:
    """Every box's painted fraction, in the order of the report's boxes (None: not read)."""
    return [f for c in checked for f in (c.painted if c.painted is not None else [None] * len(c.annotation.all_boxes))]


def _fallbacks(checked: Sequence[CheckedAnnotation]) -> list[str | None]:
    """Every box's ground-truth fallback layer (None: none), in the order of the report's boxes."""
    found = []
    for c in checked:
        layers = dict(zip(c.annotation.volume_layers, c.annotation.volume_fallbacks))
        fallback = layers.get(c.ground_truth.name) if c.ground_truth is not None and c.ground_truth.name else None
        found += [fallback] * len(c.annotation.all_boxes)
    return found


def _labels(checked: Sequence[CheckedAnnotation], labels: Sequence[str]) -> list[str | None]:
    """Every box's annotation label in a run of several (None: one annotation), in report order."""
    several = len(checked) > 1
    return [label if several else None for c, label in zip(checked, labels) for _ in c.annotation.all_boxes]


def _run_labels(checked: Sequence[CheckedAnnotation]) -> list[str]:
    """The label of each annotation in a run: its name, or its id when names repeat."""
    names = [c.annotation.name for c in checked]
    return names if len(set(names)) == len(names) else [c.annotation.id for c in checked]


def adopt_painted(result: CheckResult, source: CheckResult) -> CheckResult:
    """``result`` (checked without ``painted_check``) with the painted fractions ``source`` read
    for the same annotations: a run checked again (e.g. per voxel size) reads the voxels once."""
    read = {c.annotation.id: c.painted for c in source.checked}
    checked = tuple(attrs.evolve(c, painted=read.get(c.annotation.id)) for c in result.checked)
    if all(c.painted is None for c in checked):
        return result
    report = _with_painted(result.report, checked, _run_labels(checked))
    return attrs.evolve(result, report=report, checked=checked)


def _painted(painted: PaintedAnnotation, checked: CheckedAnnotation, mag: Vec3) -> tuple[float, ...] | None:
    """The painted fraction of every box at the training ``mag`` (None: no ground-truth layer)."""
    gt = checked.ground_truth
    if gt is None or gt.name is None or gt.name not in painted.volume_layers:
        return None
    return painted_fractions(painted, gt.name, checked.annotation.all_boxes, mag)


def _read(session: Session, annotation_id: str, job: CheckJob) -> tuple[CheckedAnnotation, PaintedAnnotation | None]:
    painted = download_painted(session, annotation_id) if job.painted_check else None  # one download either way
    boxes = annotation_boxes(painted.sdk, annotation_id) if painted is not None else read_annotation(session, annotation_id)
    facts = session.dataset(
        DatasetRef(id=boxes.dataset_id)
        if boxes.dataset_id
        else DatasetRef(name=boxes.dataset_name, organization=boxes.organization)
    )
    ground_truth = read_ground_truth(session, boxes, facts, job.ground_truth_layer)
    return CheckedAnnotation(boxes, facts, facts.layer(job.layer), ground_truth), painted



def _read_file(
    session: Session | None, boxes: AnnotationBoxes, path: Path, given: DatasetRef | None, job: CheckJob
) -> tuple[CheckedAnnotation, PaintedAnnotation | None]:
    """A local annotation file, judged against ``given`` (a local folder or a server dataset) or the
    dataset the file names on the server; its ground-truth layer by the tracing store's rule."""
    facts = _file_dataset(session, boxes, given)
    layer = facts.layer(job.layer)
    if not boxes.volume_layers:
        if job.ground_truth_layer is not None:
            raise NotFound(f"annotation {boxes.id} has no volume layer {job.ground_truth_layer!r} (it has none)")
        return CheckedAnnotation(boxes, facts, layer, None, path), None
    name = job.ground_truth_layer or boxes.volume_layers[0]
    if name not in boxes.volume_layers:
        raise NotFound(f"annotation {boxes.id} has no volume layer {name!r}; its volume layers: {', '.join(boxes.volume_layers)}")
    fallback_name = dict(zip(boxes.volume_layers, boxes.volume_fallbacks)).get(name)
    fallback = fallback_layer(facts.layers, fallback_name, f"dataset {facts.name}") if fallback_name else None
    task_box = Region(boxes.task_box.topleft, boxes.task_box.size) if boxes.task_box is not None else None
    ground_truth = ground_truth_layer(facts.layers, fallback, task_box=task_box, name=name)
    painted = load_painted(path) if job.painted_check and path.suffix.lower() == ".zip" else None  # an NML holds no voxels
    return CheckedAnnotation(boxes, facts, layer, ground_truth, path), painted


def _file_dataset(session: Session | None, boxes: AnnotationBoxes, given: DatasetRef | None) -> DatasetFacts:
    if given is not None and given.local_path is not None:
        return read_local_dataset(given.local_path)
    assert session is not None
    if given is not None:
        return session.dataset(given)
    if boxes.dataset_id:
        return session.dataset(DatasetRef(id=boxes.dataset_id))
    if not boxes.dataset_name:
        raise InvalidInput(f"annotation {boxes.id} names no dataset: give --dataset")
    try:
        return session.dataset(DatasetRef(name=boxes.dataset_name, organization=boxes.organization))
    except NotFound as err:
        raise NotFound(f"{err} (the dataset annotation {boxes.id} names; --dataset names another, e.g. a local folder)") from None
