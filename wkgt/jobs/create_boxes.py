"""The main job (``wkgt create-boxes``): from a dataset to a new annotation (or tasks) full of boxes.

A job is a value: :class:`CreateBoxesJob` says what to read, how to plan and what to write;
the CLI builds one from its options and lab scripts build it the same way::

    job = CreateBoxesJob(plan=PlanOptions(count=20), write=WriteOptions(dry_run=True))
    result = create_boxes("l4_sample", job, connection=Connection(url, token))
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import attrs
import numpy as np

from ..client import Connection, DatasetFacts, LayerFacts, Session, parse_dataset_ref, read_local_dataset
from ..client.annotations import read_annotation
from ..client.dataset_ref import DatasetRef, local_folder_hint
from ..client.ground_truth import organization_warning
from ..client.imagery import local_reader, remote_reader
from ..client.rounds import gather_avoided
from ..errors import AuthError, Interrupted, InvalidInput, NotFound
from ..planner import Plan, PlanOptions
from ..planner.reviewed import ReviewedPlan
from ..planner.avoid import DEFAULT_GAP_NM, check_gap_nm, gap_voxels
from ..planner.ground_truth import GroundTruthLayer, fallback_layer, ground_truth_layer
from ..planner.placement import measure_spread
from ..planner.plan import AvoidedBox, Box, make_plan
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
from ..writer.preview import render_preview
from ..writer.tasks import TaskOptions, TaskResult, TaskTarget, check_mag, create_tasks, existing_result, prepare_tasks, tasks_of_run
from ..writer.upload import new_upload_id, reconcile
from ..writer.progress import SILENT, Progress
from . import review
from .distribute import Distribution, check_available
from .planning import TissueOptions, checked, plan_layer
from .run_key import job_facets, run_key
from .strategies import placer_for

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
    an earlier run of the same job (and marks the new annotation as a copy); ``lock_dir`` holds
    the lock that serializes runs of the same job (default ``~/.cache/wkgt/locks``); ``save`` the
    plan as JSON (for ``reviewed``), ``csv`` the boxes as a table."""

    name: str | None = None
    dry_run: bool = False
    force_new: bool = False
    fallback_segmentation: bool | str = False
    output: Path | None = None
    preview: Path | None = None
    tasks: TaskOptions | None = None
    lock_dir: Path | None = None
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
        if self.plan.strategy.validate().holdout and self.write.tasks is not None:
            raise InvalidInput("--holdout writes an evaluation annotation; it does not go with --as-tasks")
        if self.reviewed is not None:
            review.check_job(self.plan, self.rounds.any)
        elif self.tissue.check:
            check_available(self.distribution.strategy)
        review.check_files(self.write.preview, self.write.save, self.write.csv)
        return self


@attrs.frozen
class CreateBoxesResult:
    """What ``create_boxes`` did: the plan, a URL per box, the annotation (if any) or tasks, the
    newer duplicates of the annotation that were archived, and warnings besides the plan's."""

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
    archived_duplicates: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    evaluation: AnnotationRef | None = None
    holdout_urls: tuple[str | None, ...] = ()
    evaluation_output: Path | None = None

    @property
    def all_warnings(self) -> tuple[str, ...]:
        """The plan's warnings, then the job's (earlier rounds, reconciliation) and the tasks' (server warnings)."""
        task_warnings = self.tasks.warnings if self.tasks is not None else ()
        return tuple(dict.fromkeys((*self.plan.warnings, *self.warnings, *task_warnings)))

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
            archived_duplicates=list(self.archived_duplicates),
            warnings=list(self.all_warnings),
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
    ground_truth = ground_truth_layer(facts.layers, fallback)
    preview = review.preview_request(write.preview, facts, chosen, lambda mag: remote_reader(session, facts, chosen, mag), progress)
    # cheap checks first: everything up to the rerun check reads no image data
    if job.reviewed is not None:
        reviewed = review.reviewed_plan(job.reviewed, facts, chosen, ground_truth, None)
        sketch: Callable[[], Plan] = lambda: reviewed  # noqa: E731
    else:
        sketch = functools.cache(lambda: sketch_plan(facts, chosen, job.plan, ground_truth))
    target: TaskTarget | None = None
    if write.tasks is not None:
        progress.step("checking the project, the task type and who could take the tasks")
        target = prepare_tasks(session, facts, write.tasks)
        check_mag(target, sketch().mag)
    facets = job_facets(
        job.tissue if job.reviewed is None else TissueOptions(check=False), rounds.avoid, rounds.previous, rounds.gap_nm,
        fallback_segmentation=fallback.name if fallback is not None else False, name=write.name,
        tasks=target.key_facet if target is not None else None,
    )  # fmt: skip
    if job.reviewed is not None:
        facets["plan"] = job.reviewed.digest
    key = run_key(config.url, facts, chosen, job.plan, facets)
    eval_key = evaluation_key(key)

    def urls_of(boxes: tuple[Box, ...], annotation: AnnotationRef | None) -> tuple[str | None, ...]:
        if annotation is not None:
            return tuple(annotation_url(config.url, annotation.id, box, facts.voxel_size_nm) for box in boxes)
        return tuple(dataset_view_url(config.url, facts.name, facts.id or "", box, facts.voxel_size_nm) for box in boxes)

    def result(
        plan: Plan, status: Status, annotation: AnnotationRef | None = None, evaluation: AnnotationRef | None = None, **extra: Any
    ) -> CreateBoxesResult:
        urls = urls_of(plan.boxes, annotation)
        if preview is not None and status == "exists":
            render_preview(plan, preview)
        review.save_csv(plan, write.csv, urls)
        return CreateBoxesResult(
            plan, facts, chosen.name, status, key, urls, annotation, preview=write.preview,
            evaluation=evaluation, holdout_urls=urls_of(plan.holdout, evaluation), **extra,
        )  # fmt: skip

    if not write.dry_run and not write.force_new:
        progress.step("looking for an earlier run of this job")
        if target is None and (existing := find_existing(session, key)) is not None:
            boxes = read_annotation(session, existing.id).user_boxes
            evaluation = find_existing(session, eval_key) if job.plan.strategy.holdout else None
            held = read_annotation(session, evaluation.id).user_boxes if evaluation is not None else ()
            return result(attrs.evolve(with_boxes(sketch(), boxes), holdout=held), "exists", existing, evaluation)
        if target is not None and (done := _tasks_done(session, target, key, sketch())):
            return result(done.plan, "exists", tasks=done.tasks)
    notes: tuple[str, ...] = ()
    if job.reviewed is not None:
        plan = review.reviewed_plan(job.reviewed, facts, chosen, ground_truth, preview)
    else:
        # this job's own earlier annotations and tasks are not "previous rounds": a rerun plans the same boxes
        avoided: tuple[AvoidedBox, ...] = ()
        if rounds.any:
            progress.step("reading the boxes of earlier rounds")
            avoided, notes = gather_avoided(session, facts, rounds.avoid, rounds.previous, own_key=key)
            if avoided and job.plan.strategy.holdout and (own := find_existing(session, eval_key)) is not None:
                avoided = tuple(box for box in avoided if box.annotation != own.id)  # this job's evaluation set
        reader = remote_reader(session, facts, chosen) if job.tissue.check else None
        reader = review.counting(reader, facts, chosen, job.plan, ground_truth, progress, job.distribution, job.tissue)
        placer = placer_for(
            job.plan, facts, chosen, lambda layer, mag: remote_reader(session, facts, layer, mag), tissue_check=job.tissue.check
        )
        plan = plan_layer(
            facts, chosen, job.plan, job.tissue, job.distribution, reader, preview, avoided, gap if avoided else 0,
            ground_truth, placer,
        )
        if plan.holdout:
            checked(evaluation_plan(plan), facts, chosen, job.plan, ground_truth)
    if target is None:  # tasks refuse a dataset of another organization in prepare_tasks
        notes += _organization_notes(session, facts, write.dry_run)
    plan = review.with_local_folder_note(plan, ref)
    review.save(plan, write.save, facts, chosen)
    if target is not None:
        progress.step(f"{'checking' if write.dry_run else 'creating'} {len(plan.boxes)} task(s)")
        created = create_tasks(session, plan, target, run_key=key, dry_run=write.dry_run, lock_dir=write.lock_dir)
        return result(plan, created.status, tasks=created, warnings=notes)
    if write.dry_run:
        return result(plan, "dry-run", warnings=notes)
    progress.step(f"uploading the annotation ({len(plan.boxes)} boxes)")
    written = _write_annotation(session, plan, facts, write, key, fallback)
    evaluation = _write_evaluation(session, plan, facts, write, key, fallback) if plan.holdout else None
    return result(
        plan, written.status, written.annotation, evaluation,
        archived_duplicates=written.archived, warnings=notes + written.warnings,
    )  # fmt: skip


def _organization_notes(session: Session, facts: DatasetFacts, dry_run: bool) -> tuple[str, ...]:
    """Warn when the dataset is another organization's (WEBKNOSSOS trains only on one's own).

    A run that writes has read the token's user already (the rerun check). A dry run reads it
    (``GET /user``) only for a public dataset: a token reads another organization's dataset only if
    it is public (``DatasetDAO.readAccessQ``), so a private one is the user's own. A refused token
    is then said too, since the dry run read the public dataset as an anonymous user."""
    user = session.known_user()
    if user is None and dry_run and session.config.token and facts.is_public:
        try:
            user = session.current_user()
        except AuthError:
            return (
                "the server refused the token (wrong or expired): this dry run read the public dataset "
                "anonymously, and a run that writes will fail (exit 4)",
            )
    warning = organization_warning(str(user.organization), facts) if user is not None else None
    return (warning,) if warning else ()


@attrs.frozen
class _Written:
    status: Status
    annotation: AnnotationRef
    archived: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def _write_annotation(
    session: Session, plan: Plan, facts: DatasetFacts, write: WriteOptions, key: str, fallback: LayerFacts | None
) -> _Written:
    """Under the job's lock: the rerun check again if another run held the lock, one upload, then
    the reconciliation that leaves one result of the job (``force_new`` skips both: its copy is marked as one and stands alone)."""
    with job_lock(key, write.lock_dir) as waited:
        if waited and not write.force_new and (existing := find_existing(session, key)) is not None:
            return _Written("exists", existing)
        upload_id = new_upload_id()
        annotation = build_annotation(
            plan,
            facts,
            name=write.name or default_name(facts, plan),
            description=describe(plan, key, upload_id, copy=write.force_new),
            fallback_segmentation=fallback.name if fallback is not None else False,
        )
        made = upload(session, annotation, upload_id)
    if write.force_new:
        return _Written("created", made)
    try:
        outcome = reconcile(session, key, made)
    except KeyboardInterrupt:
        raise Interrupted(f"after the upload: the annotation {made.url} exists; rerun the same command to check it is the only one") from None
    status: Status = "created" if outcome.survivor.id == made.id else "exists"
    return _Written(status, outcome.survivor, outcome.archived, outcome.warnings)


def _write_evaluation(
    session: Session, plan: Plan, facts: DatasetFacts, write: WriteOptions, key: str, fallback: LayerFacts | None
) -> AnnotationRef:
    """The evaluation annotation (``--holdout``): the one an earlier run made, else one upload,
    reconciled like the training annotation (one per job across machines)."""
    eval_key = evaluation_key(key)
    if not write.force_new and (existing := find_existing(session, eval_key)) is not None:
        return existing
    upload_id = new_upload_id()
    built = build_evaluation_annotation(
        plan, facts, name=evaluation_name(write.name or default_name(facts, plan)), key=eval_key, of_key=key, upload_id=upload_id,
        fallback_segmentation=fallback.name if fallback is not None else False,
    )  # fmt: skip
    made = upload(session, built, upload_id)
    return made if write.force_new else reconcile(session, eval_key, made).survivor


def evaluation_key(key: str) -> str:
    """The run key of a job's evaluation annotation (``--holdout``): derived from the job's own."""
    import hashlib

    return hashlib.sha256(f"{key};evaluation".encode()).hexdigest()[:16]


def sketch_plan(facts: DatasetFacts, layer: LayerFacts, options: PlanOptions, ground_truth: GroundTruthLayer | None = None) -> Plan:
    """The plan without image data (pure and quick): its mag, box size and count are those of the
    real plan, which only moves the boxes onto tissue and away from earlier rounds."""
    return make_plan(options.request(facts.voxel_size_nm, layer.mags, layer.bbox, ground_truth))


def with_boxes(sketch: Plan, boxes: tuple[Box, ...]) -> Plan:
    """``sketch`` holding the boxes an earlier run wrote (read back from the server), not re-planned."""
    if not boxes:
        return attrs.evolve(sketch, boxes=())
    corners = np.array([box.topleft for box in boxes])
    spread = measure_spread(corners, boxes[0].size, sketch.region, sketch.voxel_size_nm)
    return attrs.evolve(sketch, boxes=boxes, spread=spread)


@attrs.frozen
class _Done:
    plan: Plan
    tasks: TaskResult


def _tasks_done(session: Session, target: TaskTarget, key: str, sketch: Plan) -> _Done | None:
    """The result of an earlier run that made all of this job's tasks (found by run key), or None."""
    made = tasks_of_run(session, target, key)
    if len(made) < len(sketch.boxes):
        return None
    plan = with_boxes(sketch, _boxes_of_tasks(made))
    return _Done(plan, existing_result(target, plan, key, made))


def _boxes_of_tasks(tasks: Any) -> tuple[Box, ...]:
    """Boxes from task bounding boxes, in the planner's order (z, then y, then x) and naming."""
    ordered = sorted(tasks, key=lambda t: (t.topleft[2], t.topleft[1], t.topleft[0]))
    width = max(2, len(str(len(ordered))))
    return tuple(Box(f"GT {i:0{width}d}", t.topleft, t.size) for i, t in enumerate(ordered, start=1))


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
    facets = job_facets(
        job.tissue if job.reviewed is None else TissueOptions(check=False),
        fallback_segmentation=fallback.name if fallback is not None else False, name=write.name,
    )  # fmt: skip
    if job.reviewed is not None:
        plan = review.reviewed_plan(job.reviewed, facts, chosen, ground_truth, preview)
        facets["plan"] = job.reviewed.digest
    else:
        reader = local_reader(path, chosen) if job.tissue.check else None
        reader = review.counting(reader, facts, chosen, job.plan, ground_truth, progress, job.distribution, job.tissue)
        placer = placer_for(job.plan, facts, chosen, lambda layer, mag: local_reader(path, layer, mag), tissue_check=job.tissue.check)
        plan = plan_layer(
            facts, chosen, job.plan, job.tissue, job.distribution, reader, preview, ground_truth=ground_truth, placer=placer
        )
        if plan.holdout:
            checked(evaluation_plan(plan), facts, chosen, job.plan, ground_truth)
    key = run_key(None, facts, chosen, job.plan, facets)
    review.save(plan, write.save, facts, chosen)
    none_urls = tuple(None for _ in plan.boxes)
    held_urls = tuple(None for _ in plan.holdout)
    review.save_csv(plan, write.csv, none_urls)
    if write.dry_run:
        return CreateBoxesResult(plan, facts, chosen.name, "dry-run", key, none_urls, preview=write.preview, holdout_urls=held_urls)
    assert write.output is not None  # checked before any work
    name = write.name or default_name(facts, plan)
    fallback_name = fallback.name if fallback is not None else False
    annotation = build_annotation(plan, facts, name=name, description=describe(plan, key), fallback_segmentation=fallback_name)
    progress.step(f"saving the annotation to {write.output}")
    save_annotation(annotation, write.output)
    evaluation_output = None
    if plan.holdout:
        evaluation_output = write.output.with_name(f"{write.output.stem}-evaluation.zip")
        evaluation = build_evaluation_annotation(
            plan, facts, name=evaluation_name(name), key=evaluation_key(key), of_key=key, fallback_segmentation=fallback_name
        )
        save_annotation(evaluation, evaluation_output)
    return CreateBoxesResult(
        plan, facts, chosen.name, "saved", key, none_urls, output=write.output, preview=write.preview,
        holdout_urls=held_urls, evaluation_output=evaluation_output,
    )  # fmt: skip


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
