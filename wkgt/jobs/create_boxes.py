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
from ..client.imagery import local_reader, remote_reader
from ..client.rounds import gather_avoided
from ..errors import InvalidInput, NotFound
from ..planner import Box, Plan, PlanOptions
from ..planner.avoid import DEFAULT_GAP_NM, gap_voxels
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
from ..writer.evaluation import build_evaluation_annotation, evaluation_name, evaluation_plan
from ..writer.files import save_annotation
from ..writer.tasks import TaskOptions, TaskResult, create_tasks
from .distribute import Distribution, check_available
from .planning import TissueOptions, checked, plan_layer
from .strategies import placer_for
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
    """What to write: an annotation (its ``name``, a volume layer on the dataset's segmentation
    with ``fallback_segmentation``), or one task per box (``tasks``); ``output`` for local
    datasets; ``preview`` PNG; ``dry_run`` writes nothing on the server; ``force_new`` ignores
    an earlier run of the same job."""

    name: str | None = None
    dry_run: bool = False
    force_new: bool = False
    fallback_segmentation: bool = False
    output: Path | None = None
    preview: Path | None = None
    tasks: TaskOptions | None = None


@attrs.frozen
class CreateBoxesJob:
    """A ``create-boxes`` job: what to read (``layer``, ``organization`` of a dataset given by
    name), how to plan (``plan``, ``tissue``, ``rounds``), what to write (``write``), and how
    to spread the work (``distribution``)."""

    layer: str | None = None
    organization: str | None = None
    plan: PlanOptions = PlanOptions()
    tissue: TissueOptions = TissueOptions()
    rounds: Rounds = Rounds()
    write: WriteOptions = WriteOptions()
    distribution: Distribution = Distribution()

    def validate(self) -> CreateBoxesJob:
        """Refuse contradictory or invalid options before any request."""
        self.tissue.validate()
        self.distribution.validate()
        if self.plan.strategy.validate().holdout and self.write.tasks is not None:
            raise InvalidInput("--holdout writes an evaluation annotation; it does not go with --as-tasks")
        if self.tissue.check:
            check_available(self.distribution.strategy)
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
    evaluation: AnnotationRef | None = None
    holdout_urls: tuple[str | None, ...] = ()
    evaluation_output: Path | None = None

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
        if self.plan.holdout:
            for box, url in zip(data["holdout"], self.holdout_urls):
                box["url"] = url
            data["evaluation"] = self.evaluation.to_dict() if self.evaluation else None
            data["evaluation_output"] = str(self.evaluation_output) if self.evaluation_output else None
        return data


def create_boxes(
    dataset: str,
    job: CreateBoxesJob | PlanOptions = CreateBoxesJob(),
    *,
    connection: Connection | None = None,
    **keywords: Any,
) -> CreateBoxesResult:
    """Plan boxes for ``dataset`` (name, id, viewer URL or local path) and write them as ``job`` says.

    On a server: one new annotation with every box, unless an earlier run of the same job
    made one (then ``status == "exists"``; ``write.force_new`` makes another), or one task per
    box with ``write.tasks``. ``write.dry_run`` writes nothing. A local dataset is written to
    ``write.output`` (a ``.zip`` to upload later). Boxes go only where the coarsest mag shows
    tissue and keep clear of earlier rounds. A plan that fails ``wkgt check`` is never written.

    ``connection`` defaults to ``WK_URL``/``WK_TOKEN`` (or ``./.env``). The keyword form of
    wkgt 0.1 (``create_boxes(name, PlanOptions(...), dry_run=True, token=...)``) still works.
    """
    if isinstance(job, PlanOptions) or keywords:
        job, connection = _from_keywords(job, connection, keywords)
    job = job.validate()
    connection = connection or Connection()
    ref = parse_dataset_ref(dataset, job.organization)
    if ref.local_path is not None:
        return _local_job(ref.local_path, job)
    write = job.write
    if write.output is not None:
        raise InvalidInput("--output is for local datasets; on a server the boxes go into a new annotation")
    config = connection.resolve(target=ref.server)
    if not write.dry_run:
        config.require_token()
    session = Session(config, connection.retry)
    session.negotiate()
    facts = session.dataset(ref)
    chosen = facts.layer(job.layer)
    rounds = job.rounds
    gap = gap_voxels(DEFAULT_GAP_NM if rounds.gap_nm is None else rounds.gap_nm, facts.voxel_size_nm)
    if write.tasks is None:
        _require_segmentation(facts, write.fallback_segmentation)
    tasks = (write.tasks.project, write.tasks.task_type) if write.tasks is not None else None
    key = run_key(config.url, facts, chosen, job.plan, run_kind(job.tissue, rounds.avoid, rounds.previous, tasks))
    # this job's own earlier annotations are not "previous rounds": a rerun plans the same boxes
    eval_key = evaluation_key(key)
    avoided = gather_avoided(session, facts, rounds.avoid, rounds.previous, own_key=key) if rounds.any else ()
    if avoided and job.plan.strategy.holdout and (own := find_existing(session, eval_key)) is not None:
        avoided = tuple(box for box in avoided if box.annotation != own.id)  # this job's evaluation set: a rerun plans the same
    reader = remote_reader(session, facts, chosen) if job.tissue.check else None
    placer = placer_for(
        job.plan, facts, chosen, lambda layer, mag: remote_reader(session, facts, layer, mag), tissue_check=job.tissue.check
    )
    plan = plan_layer(
        facts, chosen, job.plan, job.tissue, job.distribution, reader, write.preview, avoided, gap if avoided else 0, placer
    )
    if plan.holdout:
        checked(evaluation_plan(plan), facts, chosen, job.plan)

    def urls_of(boxes: tuple[Box, ...], annotation: AnnotationRef | None) -> tuple[str | None, ...]:
        if annotation is not None:
            return tuple(annotation_url(config.url, annotation.id, box, facts.voxel_size_nm) for box in boxes)
        return tuple(dataset_view_url(config.url, facts.name, facts.id or "", box, facts.voxel_size_nm) for box in boxes)

    def result(status: Status, annotation: AnnotationRef | None = None, evaluation: AnnotationRef | None = None) -> CreateBoxesResult:
        return CreateBoxesResult(
            plan, facts, chosen.name, status, key, urls_of(plan.boxes, annotation), annotation, preview=write.preview,
            evaluation=evaluation, holdout_urls=urls_of(plan.holdout, evaluation),
        )

    if write.tasks is not None:
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
        name = write.name or default_name(facts, plan)
        evaluation = None
        if plan.holdout:
            evaluation = None if write.force_new else find_existing(session, eval_key)
            if evaluation is None:
                built = build_evaluation_annotation(
                    plan, facts, name=evaluation_name(name), key=eval_key, fallback_segmentation=write.fallback_segmentation
                )
                evaluation = upload(session, built, eval_key)
        if not write.force_new and (existing := find_existing(session, key)) is not None:
            return result("exists", existing, evaluation)
        annotation = build_annotation(
            plan,
            facts,
            name=name,
            description=describe(plan, key),
            fallback_segmentation=write.fallback_segmentation,
        )
        return result("created", upload(session, annotation, key), evaluation)


def _local_job(path: Path, job: CreateBoxesJob) -> CreateBoxesResult:
    write = job.write
    if job.rounds.any or write.tasks is not None:
        raise InvalidInput("--avoid, --avoid-previous and --as-tasks need a dataset on a server")
    if not write.dry_run and write.output is None:
        raise InvalidInput("a local dataset needs --output FILE.zip for the annotation")
    if not write.dry_run and write.output is not None and write.output.suffix != ".zip":
        raise InvalidInput(f"--output must end in .zip (an annotation with a volume layer), got {write.output}")
    facts = read_local_dataset(path)
    _require_segmentation(facts, write.fallback_segmentation)
    chosen = facts.layer(job.layer)
    reader = local_reader(path, chosen) if job.tissue.check else None
    placer = placer_for(job.plan, facts, chosen, lambda layer, mag: local_reader(path, layer, mag), tissue_check=job.tissue.check)
    plan = plan_layer(facts, chosen, job.plan, job.tissue, job.distribution, reader, write.preview, placer=placer)
    if plan.holdout:
        checked(evaluation_plan(plan), facts, chosen, job.plan)
    key = run_key(None, facts, chosen, job.plan, run_kind(job.tissue, (), False, None))
    none_urls = tuple(None for _ in plan.boxes)
    held_urls = tuple(None for _ in plan.holdout)
    if write.dry_run:
        return CreateBoxesResult(plan, facts, chosen.name, "dry-run", key, none_urls, preview=write.preview, holdout_urls=held_urls)
    assert write.output is not None  # checked before any work
    name = write.name or default_name(facts, plan)
    annotation = build_annotation(
        plan, facts, name=name, description=describe(plan, key),
        fallback_segmentation=write.fallback_segmentation,
    )
    save_annotation(annotation, write.output)
    evaluation_output = None
    if plan.holdout:
        evaluation_output = write.output.with_name(f"{write.output.stem}-evaluation.zip")
        save_annotation(
            build_evaluation_annotation(
                plan, facts, name=evaluation_name(name), key=evaluation_key(key), fallback_segmentation=write.fallback_segmentation
            ),
            evaluation_output,
        )
    return CreateBoxesResult(
        plan, facts, chosen.name, "saved", key, none_urls, output=write.output, preview=write.preview,
        holdout_urls=held_urls, evaluation_output=evaluation_output,
    )


def evaluation_key(key: str) -> str:
    """The run key of a job's evaluation annotation (``--holdout``): derived from the job's own."""
    import hashlib

    return hashlib.sha256(f"{key};evaluation".encode()).hexdigest()[:16]


def _require_segmentation(facts: DatasetFacts, fallback_segmentation: bool) -> None:
    """Fail early (dry-runs too) when ``--fallback-segmentation`` has nothing to fall back on."""
    if fallback_segmentation and not facts.segmentation_layers():
        raise NotFound(f"dataset {facts.name} has no segmentation layer for --fallback-segmentation")


_CONNECTION_KEYWORDS = {"webknossos_url": "url", "token": "token", "timeout_s": "timeout_s", "retry": "retry"}
_WRITE_KEYWORDS = {"name", "dry_run", "force_new", "fallback_segmentation", "output", "preview"}
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
