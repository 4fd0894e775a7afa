"""The main job (``wkgt create-boxes``) as a function: from a dataset to a new annotation full of boxes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import attrs

from .avoid import DEFAULT_GAP_NM, gap_voxels, gather_avoided
from .checker import check_boxes
from .client import DatasetFacts, LayerFacts, RetryPolicy, Session, parse_dataset_ref, read_local_dataset, resolve_server
from .client.config import DEFAULT_TIMEOUT_S
from .client.imagery import coarsest_mag, local_reader, remote_reader
from .client.annotations import parse_annotation_ref
from .errors import InvalidInput, NotFound
from .planner import Plan, PlanOptions
from .planner.plan import AvoidedBox
from .preview import render_preview
from .tissue_plan import TissueOptions, plan_boxes
from .writer import (
    AnnotationRef,
    annotation_url,
    build_annotation,
    dataset_view_url,
    default_name,
    describe,
    find_existing,
    job_lock,
    run_key,
    upload,
)
from .writer.tasks import TaskResult, create_tasks

Status = Literal["dry-run", "created", "exists", "saved"]
PLANNER_WARNS_ALREADY = frozenset({"total-volume", "few-boxes", "few-voxels", "not-multiple"})


@attrs.frozen
class TaskOptions:
    """``--as-tasks``: one task per box in an existing project and task type."""

    project: str
    task_type: str
    instances: int = 1
    experience: tuple[str, int] | None = None


@attrs.frozen
class CreateBoxesResult:
    """What ``create_boxes`` did: the plan, a URL per box, and the annotation (if any)."""

    plan: Plan
    dataset: DatasetFacts
    layer: str
    status: Status
    run_key: str
    box_urls: tuple[str | None, ...]
    annotation: AnnotationRef | None = None
    output: Path | None = None
    preview: Path | None = None
    tasks: TaskResult | None = None

    def to_dict(self) -> dict[str, Any]:
        """``wkgt plan --json`` plus the dataset, each box's ``url``, ``annotation`` and ``status``."""
        data = self.plan.to_dict()
        for box, url in zip(data["boxes"], self.box_urls):
            box["url"] = url
        data.update(
            status=self.status,
            dataset={
                "name": self.dataset.name,
                "id": self.dataset.id,
                "organization": self.dataset.organization,
                "server": self.dataset.server,
                "voxel_size": list(self.dataset.voxel_size),
                "voxel_size_unit": self.dataset.voxel_size_unit,
            },
            layer=self.layer,
            run_key=self.run_key,
            annotation=self.annotation.to_dict() if self.annotation else None,
            output=str(self.output) if self.output else None,
            preview=str(self.preview) if self.preview else None,
        )
        if self.tasks is not None:
            data["tasks"] = self.tasks.to_dict()
        return data


def create_boxes(
    dataset: str,
    options: PlanOptions = PlanOptions(),
    *,
    layer: str | None = None,
    organization: str | None = None,
    webknossos_url: str | None = None,
    token: str | None = None,
    name: str | None = None,
    dry_run: bool = False,
    force_new: bool = False,
    fallback_segmentation: bool = False,
    output: Path | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    retry: RetryPolicy = RetryPolicy(),
    tissue: TissueOptions = TissueOptions(),
    avoid: Sequence[str] = (),
    avoid_previous: bool = False,
    gap_nm: float | None = None,
    preview: Path | None = None,
    as_tasks: TaskOptions | None = None,
) -> CreateBoxesResult:
    """Plan boxes for ``dataset`` (name, id, viewer URL or local path) and write them.

    On a server: one new annotation with every box, unless an earlier run of the same job
    made one (then ``status == "exists"``; ``force_new`` makes another). ``dry_run`` writes
    nothing. A local dataset is written to ``output`` (a ``.zip`` to upload later).

    Boxes go only where the coarsest mag shows tissue (``tissue``; ``tissue.check=False``
    turns it off) and keep ``gap_nm`` clear of the boxes of the annotations in ``avoid`` and,
    with ``avoid_previous``, of every earlier wkgt annotation of the dataset. ``preview``
    names a PNG to draw the plan into. ``as_tasks`` creates one task per box instead of an
    annotation. A plan that fails ``wkgt check`` is never written.
    """
    ref = parse_dataset_ref(dataset, organization)
    if ref.local_path is not None:
        if avoid or avoid_previous or as_tasks:
            raise InvalidInput("--avoid, --avoid-previous and --as-tasks need a dataset on a server")
        return _local_job(ref.local_path, options, layer, name, dry_run, fallback_segmentation, output, tissue, preview)
    if output is not None:
        raise InvalidInput("--output is for local datasets; on a server the boxes go into a new annotation")
    config = resolve_server(webknossos_url, token, timeout_s, target=ref.server)
    if not dry_run:
        config.require_token()
    session = Session(config, retry)
    session.negotiate()
    facts = session.dataset(ref)
    chosen = facts.layer(layer)
    gap = gap_voxels(DEFAULT_GAP_NM if gap_nm is None else gap_nm, facts.voxel_size_nm)
    if as_tasks is None:
        _require_segmentation(facts, fallback_segmentation)
    key = run_key(config.url, facts, chosen, options, _run_kind(tissue, avoid, avoid_previous, as_tasks))
    # this job's own earlier annotations are not "previous rounds": a rerun plans the same boxes
    avoided = gather_avoided(session, facts, avoid, avoid_previous, own_key=key) if (avoid or avoid_previous) else ()
    reader = remote_reader(session, facts, chosen) if tissue.check else None
    plan = _plan_layer(facts, chosen, options, tissue, reader, preview, avoided, gap if avoided else 0)
    view_urls = tuple(
        dataset_view_url(config.url, facts.name, facts.id or "", box, facts.voxel_size_nm) for box in plan.boxes
    )

    def result(status: Status, annotation: AnnotationRef | None = None) -> CreateBoxesResult:
        urls = view_urls
        if annotation is not None:
            urls = tuple(annotation_url(config.url, annotation.id, box, facts.voxel_size_nm) for box in plan.boxes)
        return CreateBoxesResult(plan, facts, chosen.name, status, key, urls, annotation, preview=preview)

    if as_tasks is not None:
        tasks = create_tasks(
            session,
            plan,
            facts,
            project=as_tasks.project,
            task_type=as_tasks.task_type,
            instances=as_tasks.instances,
            experience=as_tasks.experience,
            run_key=key,
            dry_run=dry_run,
        )
        return attrs.evolve(result(tasks.status), tasks=tasks)
    if dry_run:
        return result("dry-run")
    with job_lock(key):
        if not force_new and (existing := find_existing(session, key)) is not None:
            return result("exists", existing)
        annotation = build_annotation(
            plan,
            facts,
            name=name or default_name(facts, plan),
            description=describe(plan, key),
            fallback_segmentation=fallback_segmentation,
        )
        return result("created", upload(session, annotation, key))


def _local_job(
    path: Path,
    options: PlanOptions,
    layer: str | None,
    name: str | None,
    dry_run: bool,
    fallback_segmentation: bool,
    output: Path | None,
    tissue: TissueOptions = TissueOptions(),
    preview: Path | None = None,
) -> CreateBoxesResult:
    if not dry_run and output is None:
        raise InvalidInput("a local dataset needs --output FILE.zip for the annotation")
    if not dry_run and output is not None and output.suffix != ".zip":
        raise InvalidInput(f"--output must end in .zip (an annotation with a volume layer), got {output}")
    facts = read_local_dataset(path)
    _require_segmentation(facts, fallback_segmentation)
    chosen = facts.layer(layer)
    reader = local_reader(path, chosen) if tissue.check else None
    plan = _plan_layer(facts, chosen, options, tissue, reader, preview)
    key = run_key(None, facts, chosen, options, _run_kind(tissue, (), False, None))
    none_urls = tuple(None for _ in plan.boxes)
    if dry_run:
        return CreateBoxesResult(plan, facts, chosen.name, "dry-run", key, none_urls, preview=preview)
    assert output is not None  # checked before any work
    annotation = build_annotation(
        plan, facts, name=name or default_name(facts, plan), description=describe(plan, key),
        fallback_segmentation=fallback_segmentation,
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    annotation.save(output)
    return CreateBoxesResult(plan, facts, chosen.name, "saved", key, none_urls, output=output, preview=preview)


def _plan_layer(
    facts: DatasetFacts,
    layer: LayerFacts,
    options: PlanOptions,
    tissue: TissueOptions,
    reader: Any | None,
    preview: Path | None,
    avoided: Sequence[AvoidedBox] = (),
    gap: int = 0,
) -> Plan:
    """Plan boxes on ``layer`` (on tissue where ``reader`` reads its coarsest mag, clear of
    ``avoided``), check the plan, and draw it into ``preview``."""
    plan, tissue_map = plan_boxes(
        options.request(facts.voxel_size_nm, layer.mags, layer.bbox),
        reader=reader,
        tissue_mag=coarsest_mag(layer.mags),
        options=tissue,
        avoided=avoided,
        gap=gap,
    )
    plan = checked(plan, facts, layer, options)
    if preview is not None:
        render_preview(plan, preview, tissue_map)
    return plan


def _require_segmentation(facts: DatasetFacts, fallback_segmentation: bool) -> None:
    """Fail early (dry-runs too) when ``--fallback-segmentation`` has nothing to fall back on."""
    if fallback_segmentation and not facts.segmentation_layers():
        raise NotFound(f"dataset {facts.name} has no segmentation layer for --fallback-segmentation")


def checked(plan: Plan, facts: DatasetFacts, layer: LayerFacts, options: PlanOptions) -> Plan:
    """Run ``wkgt check``'s rules on a plan: refuse one with errors, keep the new warnings."""
    report = check_boxes(
        plan.boxes,
        voxel_size_nm=facts.voxel_size_nm,
        mag=plan.mag_vec,
        available_mags=layer.mags,
        dataset_bbox=layer.bbox,
        volume_bbox=None,
        model=plan.model,
        object_size_nm=options.object_size_nm,
        min_voxel_size_nm=options.min_voxel_size_nm,
    )
    if not report.ok:
        raise InvalidInput(f"the plan fails the training check, nothing written: {report.errors[0].message}")
    extra = tuple(f.message for f in report.warnings if f.code not in PLANNER_WARNS_ALREADY)
    return attrs.evolve(plan, warnings=plan.warnings + extra) if extra else plan


def _run_kind(tissue: TissueOptions, avoid: Sequence[str], avoid_previous: bool, as_tasks: TaskOptions | None) -> str:
    """The run key's job kind: what the job writes, and the options that decide where boxes go
    besides the plan's (the tissue check, the annotations to avoid)."""
    kind = "annotation" if as_tasks is None else f"tasks:{as_tasks.project}/{as_tasks.task_type}"
    if tissue.check:
        kind += f";tissue>={tissue.min_tissue:g}"
    if avoid:
        kind += ";avoid=" + ",".join(sorted({parse_annotation_ref(ref).id for ref in avoid}))
    if avoid_previous:
        kind += ";avoid-previous"
    return kind
