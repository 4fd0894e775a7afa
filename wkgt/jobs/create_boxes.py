"""The main job (``wkgt create-boxes``): from a dataset to a new annotation (or tasks) full of boxes.

A job is a value: :class:`CreateBoxesJob` says what to read, how to plan and what to write;
the CLI builds one from its options and lab scripts build it the same way::

    job = CreateBoxesJob(plan=PlanOptions(count=20), write=WriteOptions(dry_run=True))
    result = create_boxes("l4_sample", job, connection=Connection(url, token))
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import attrs

from ..client import Connection, DatasetFacts, LayerFacts, Session, parse_dataset_ref, read_local_dataset
from ..client.dataset_ref import DatasetRef, local_folder_hint
from ..client.imagery import local_reader, remote_reader
from ..client.rounds import gather_avoided
from ..errors import InvalidInput, NotFound
from ..planner import Plan, PlanOptions
from ..planner.reviewed import ReviewedPlan
from ..planner.avoid import DEFAULT_GAP_NM, check_gap_nm, gap_voxels
from ..planner.ground_truth import fallback_layer, ground_truth_layer
from ..writer import (
    AnnotationRef,
    annotation_url,
    build_annotation,
    dataset_view_url,
    default_name,
    describe,
    find_existing,
    job_lock,
    upload,
)
from ..writer.files import save_annotation
from ..writer.progress import SILENT, Progress
from ..writer.tasks import TaskOptions, TaskResult, create_tasks
from . import review
from .distribute import Distribution, check_available
from .planning import TissueOptions, plan_layer
from .run_key import run_key, run_kind

Status = Literal["dry-run", "created", "exists", "saved"]


@attrs.frozen
class Rounds:
    """Earlier rounds to keep clear of: annotations by id/URL, every earlier wkgt annotation and
    task of the dataset (``previous``), and the gap new boxes keep from them (nm)."""

    avoid: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    previous: bool = False
    gap_nm: float | None = None

    @property
    def any(self) -> bool:
        return bool(self.avoid) or self.previous


@attrs.frozen
class WriteOptions:
    """What to write: an annotation (its ``name``, a volume layer on a segmentation layer with
    ``fallback_segmentation``: True for the only one, or its name), or one task per box (``tasks``); ``output`` for local
    datasets; ``preview`` PNG; ``dry_run`` writes nothing on the server; ``force_new`` ignores
    an earlier run of the same job; ``save`` the plan as JSON (for ``reviewed``), ``csv`` the
    boxes as a table."""

    name: str | None = None
    dry_run: bool = False
    force_new: bool = False
    fallback_segmentation: bool | str = False
    output: Path | None = None
    preview: Path | None = None
    tasks: TaskOptions | None = None
    save: Path | None = None
    csv: Path | None = None


@attrs.frozen
class CreateBoxesJob:
    """A ``create-boxes`` job: what to read (``layer``, ``organization`` of a dataset given by
    name), how to plan (``plan``, ``tissue``, ``rounds``), what to write (``write``), and how
    to spread the work (``distribution``). With ``reviewed`` (a saved plan) nothing is planned:
    exactly its boxes are written, once it is checked to fit the dataset."""

    layer: str | None = None
    organization: str | None = None
    plan: PlanOptions = PlanOptions()
    tissue: TissueOptions = TissueOptions()
    rounds: Rounds = Rounds()
    write: WriteOptions = WriteOptions()
    distribution: Distribution = Distribution()
    reviewed: ReviewedPlan | None = None

    def validate(self) -> CreateBoxesJob:
        """Refuse contradictory or invalid options before any request."""
        self.tissue.validate()
        self.distribution.validate()
        if self.rounds.gap_nm is not None:
            check_gap_nm(self.rounds.gap_nm)
        if self.reviewed is not None:
            review.check_job(self.plan, self.rounds.any)
        elif self.tissue.check:
            check_available(self.distribution.strategy)
        review.check_files(self.write.preview, self.write.save, self.write.csv)
        return self


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
    job: CreateBoxesJob | PlanOptions = CreateBoxesJob(),
    *,
    connection: Connection | None = None,
    progress: Progress | None = None,
    **keywords: Any,
) -> CreateBoxesResult:
    """Plan boxes for ``dataset`` (name, id, viewer URL or local path) and write them as ``job`` says.

    On a server: one new annotation with every box, unless an earlier run of the same job
    made one (then ``status == "exists"``; ``write.force_new`` makes another), or one task per
    box with ``write.tasks``. ``write.dry_run`` writes nothing. A local dataset is written to
    ``write.output`` (a ``.zip`` to upload later). Boxes go only where the coarsest mag shows
    tissue and keep clear of earlier rounds. A plan that fails ``wkgt check`` is never written.

    ``connection`` defaults to ``WK_URL``/``WK_TOKEN`` (or ``./.env``); ``progress`` hears of
    every step (the CLI shows it on a terminal). The keyword form of wkgt 0.1
    (``create_boxes(name, PlanOptions(...), dry_run=True, token=...)``) still works.
    """
    if isinstance(job, PlanOptions) or keywords:
        job, connection = _from_keywords(job, connection, keywords)
    job = job.validate()
    progress = progress or SILENT
    connection = connection or Connection()
    ref = parse_dataset_ref(dataset, job.organization)
    if ref.local_path is not None:
        return _local_job(ref.local_path, job, progress)
    write = job.write
    if write.output is not None:
        raise InvalidInput("--output is for local datasets; on a server the boxes go into a new annotation")
    config = connection.resolve(target=ref.server)
    if not write.dry_run:
        config.require_token()
    session = Session(config, connection.retry)
    progress.step(f"reading dataset {ref.describe()} on {config.url}")
    session.negotiate()
    facts = _read_dataset(session, ref)
    chosen = facts.layer(job.layer or (job.reviewed.layer if job.reviewed is not None else None))
    rounds = job.rounds
    gap = gap_voxels(DEFAULT_GAP_NM if rounds.gap_nm is None else rounds.gap_nm, facts.voxel_size_nm)
    fallback = fallback_layer(facts.layers, write.fallback_segmentation, f"dataset {facts.name}") if write.tasks is None else None
    tasks = (write.tasks.project, write.tasks.task_type) if write.tasks is not None else None
    ground_truth = ground_truth_layer(facts.layers, fallback)
    preview = review.preview_request(write.preview, facts, chosen, lambda mag: remote_reader(session, facts, chosen, mag), progress)
    if job.reviewed is not None:
        plan = review.reviewed_plan(job.reviewed, facts, chosen, ground_truth, preview)
        key = run_key(config.url, facts, chosen, PlanOptions(), review.kind(tasks, job.reviewed))
    else:
        key = run_key(config.url, facts, chosen, job.plan, run_kind(job.tissue, rounds.avoid, rounds.previous, tasks))
        # this job's own earlier annotations are not "previous rounds": a rerun plans the same boxes
        if rounds.any:
            progress.step("reading the boxes of earlier rounds")
        avoided = gather_avoided(session, facts, rounds.avoid, rounds.previous, own_key=key) if rounds.any else ()
        reader = remote_reader(session, facts, chosen) if job.tissue.check else None
        reader = review.counting(reader, facts, chosen, job.plan, ground_truth, progress, job.distribution)
        plan = plan_layer(
            facts, chosen, job.plan, job.tissue, job.distribution, reader, preview, avoided, gap if avoided else 0,
            ground_truth,
        )
    plan = review.with_local_folder_note(plan, ref)
    review.save(plan, write.save, facts, chosen)
    view_urls = tuple(
        dataset_view_url(config.url, facts.name, facts.id or "", box, facts.voxel_size_nm) for box in plan.boxes
    )

    def result(status: Status, annotation: AnnotationRef | None = None) -> CreateBoxesResult:
        urls = view_urls
        if annotation is not None:
            urls = tuple(annotation_url(config.url, annotation.id, box, facts.voxel_size_nm) for box in plan.boxes)
        review.save_csv(plan, write.csv, urls)
        return CreateBoxesResult(plan, facts, chosen.name, status, key, urls, annotation, preview=write.preview)

    if write.tasks is not None:
        progress.step(f"{'checking' if write.dry_run else 'creating'} {len(plan.boxes)} task(s)")
        created = create_tasks(
            session,
            plan,
            facts,
            project=write.tasks.project,
            task_type=write.tasks.task_type,
            instances=write.tasks.instances,
            experience=write.tasks.experience,
            run_key=key,
            dry_run=write.dry_run,
        )
        return attrs.evolve(result(created.status), tasks=created)
    if write.dry_run:
        return result("dry-run")
    with job_lock(key):
        progress.step("looking for an earlier run of this job")
        if not write.force_new and (existing := find_existing(session, key)) is not None:
            return result("exists", existing)
        annotation = build_annotation(
            plan,
            facts,
            name=write.name or default_name(facts, plan),
            description=describe(plan, key),
            fallback_segmentation=fallback.name if fallback is not None else False,
        )
        progress.step(f"uploading the annotation ({len(plan.boxes)} boxes)")
        return result("created", upload(session, annotation, key))


def _read_dataset(session: Session, ref: DatasetRef) -> DatasetFacts:
    """The dataset's facts; a name not found that is a local dataset folder here says how to use it."""
    try:
        return session.dataset(ref)
    except NotFound as err:
        hint = local_folder_hint(ref)
        if hint:
            raise NotFound(f"{err}; {hint}") from None
        raise


def _local_job(path: Path, job: CreateBoxesJob, progress: Progress = SILENT) -> CreateBoxesResult:
    write = job.write
    if job.rounds.any or write.tasks is not None:
        raise InvalidInput("--avoid, --avoid-previous and --as-tasks need a dataset on a server")
    if not write.dry_run and write.output is None:
        raise InvalidInput("a local dataset needs --output FILE.zip for the annotation")
    if not write.dry_run and write.output is not None and write.output.suffix != ".zip":
        raise InvalidInput(f"--output must end in .zip (an annotation with a volume layer), got {write.output}")
    progress.step(f"reading dataset {path}")
    facts = read_local_dataset(path)
    fallback = fallback_layer(facts.layers, write.fallback_segmentation, f"dataset {facts.name}")
    chosen = facts.layer(job.layer or (job.reviewed.layer if job.reviewed is not None else None))
    ground_truth = ground_truth_layer(facts.layers, fallback)
    preview = review.preview_request(write.preview, facts, chosen, lambda mag: local_reader(path, chosen, mag), progress)
    if job.reviewed is not None:
        plan = review.reviewed_plan(job.reviewed, facts, chosen, ground_truth, preview)
        key = run_key(None, facts, chosen, PlanOptions(), review.kind(None, job.reviewed))
    else:
        reader = local_reader(path, chosen) if job.tissue.check else None
        reader = review.counting(reader, facts, chosen, job.plan, ground_truth, progress, job.distribution)
        plan = plan_layer(facts, chosen, job.plan, job.tissue, job.distribution, reader, preview, ground_truth=ground_truth)
        key = run_key(None, facts, chosen, job.plan, run_kind(job.tissue, (), False, None))
    review.save(plan, write.save, facts, chosen)
    none_urls = tuple(None for _ in plan.boxes)
    review.save_csv(plan, write.csv, none_urls)
    if write.dry_run:
        return CreateBoxesResult(plan, facts, chosen.name, "dry-run", key, none_urls, preview=write.preview)
    assert write.output is not None  # checked before any work
    annotation = build_annotation(
        plan, facts, name=write.name or default_name(facts, plan), description=describe(plan, key),
        fallback_segmentation=fallback.name if fallback is not None else False,
    )
    progress.step(f"saving the annotation to {write.output}")
    save_annotation(annotation, write.output)
    return CreateBoxesResult(plan, facts, chosen.name, "saved", key, none_urls, output=write.output, preview=write.preview)


_CONNECTION_KEYWORDS = {"webknossos_url": "url", "token": "token", "timeout_s": "timeout_s", "retry": "retry"}
_WRITE_KEYWORDS = {"name", "dry_run", "force_new", "fallback_segmentation", "output", "preview", "save", "csv"}
_ROUNDS_KEYWORDS = {"avoid": "avoid", "avoid_previous": "previous", "gap_nm": "gap_nm"}


def _from_keywords(
    job: CreateBoxesJob | PlanOptions, connection: Connection | None, keywords: dict[str, Any]
) -> tuple[CreateBoxesJob, Connection | None]:
    """wkgt 0.1's keyword form: ``create_boxes(dataset, PlanOptions(...), dry_run=True, token=...)``."""
    base = CreateBoxesJob(plan=job) if isinstance(job, PlanOptions) else job
    pick = {k: keywords.pop(k) for k in list(keywords) if k in _CONNECTION_KEYWORDS}
    if pick:
        connection = attrs.evolve(connection or Connection(), **{_CONNECTION_KEYWORDS[k]: v for k, v in pick.items()})
    write = {k: keywords.pop(k) for k in list(keywords) if k in _WRITE_KEYWORDS}
    if "as_tasks" in keywords:
        write["tasks"] = keywords.pop("as_tasks")
    rounds = {_ROUNDS_KEYWORDS[k]: keywords.pop(k) for k in list(keywords) if k in _ROUNDS_KEYWORDS}
    top = {k: keywords.pop(k) for k in list(keywords) if k in ("layer", "organization", "tissue", "distribution")}
    if keywords:
        raise TypeError(f"create_boxes() got unexpected keyword arguments: {', '.join(sorted(keywords))}")
    return attrs.evolve(
        base, write=attrs.evolve(base.write, **write), rounds=attrs.evolve(base.rounds, **rounds), **top
    ), connection
