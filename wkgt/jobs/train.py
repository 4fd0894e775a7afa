"""The ``train`` job (``wkgt train``): check a training run's annotations together, then start
WEBKNOSSOS's training job with the right layers and mag per annotation.

The annotations are named (``--annotation``), or found: every finished annotation a wkgt run
wrote (``--from-run KEY``), or every finished wkgt annotation and task annotation of datasets
(``--dataset``, ``--folder``, ``--tag``). They are checked as ``wkgt check`` checks a run (one mag,
the smallest box, the box count over all). Annotations on datasets of different voxel sizes are
checked per voxel size (each at its own mag; ``same_mag`` makes the effective sizes equal) and
counted over the whole run. Any error stops the job before anything is posted; so do an
annotation without a volume layer, a dataset of another organization (WEBKNOSSOS trains only
on its own), and a box with nothing painted in its ground-truth layer (wkgt's own: WEBKNOSSOS
would train on empty ground truth; ``allow_unpainted`` lets some boxes stay empty, e.g. instance
boxes without any object, never a whole annotation). The voxels are read once per run. A rerun
finds the model it started (same name and annotations) and reports it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Literal

import attrs

from .._version import __version__
from ..client import Connection, Session, parse_dataset_ref
from ..client.ai_models import (
    FoundAnnotation,
    dataset_annotations,
    dataset_task_annotations,
    job_info,
    readable_annotations,
    run_annotations,
    unique,
)
from ..client.annotations import find_run_key, parse_annotation_ref
from ..client.config import normalize_url
from ..client.datasets import list_datasets, resolve_folder, with_suggestions
from ..errors import AuthError, Interrupted, InvalidInput, NotFound, WkgtError
from ..planner.check import WK_MIN_BOXES, Finding
from ..planner.rules import rule_set
from ..planner.same_mag import DatasetMags, MagOptions, SameMagChoice, same_mags
from ..planner.vectors import Vec3, Vec3f
from ..writer.training import TrainingAnnotation, TrainingRequest, existing_model, start_training
from ..writer.upload import job_lock
from .batch import DatasetSelection
from .check import CheckJob, CheckResult, adopt_painted, check_annotations

Status = Literal["dry-run", "started", "exists", "refused"]
RUN_WIDE = frozenset({"too-few-boxes", "few-boxes", "total-volume"})
"""Findings about the run as a whole: counted over every group of a mixed run."""
FATAL_FOR_TRAINING = frozenset({"no-volume-layer", "other-organization", "nothing-painted", "unpainted"})
"""Warnings of ``wkgt check`` that stop a training: no ground truth (no volume layer, nothing
painted, a box left unpainted), or a dataset WEBKNOSSOS refuses."""
ALLOWED_UNPAINTED = frozenset({"unpainted"})
"""What ``allow_unpainted`` keeps a warning."""
MAX_NAME = 200


@attrs.frozen
class TrainJob:
    """A ``train`` job: the model's ``name``, where the annotations come from (``annotations``,
    ``runs``, ``datasets``), how to check them (``check``: layer, model, mag, rules, ground-truth
    layer), ``same_mag`` across voxel sizes, an optional ``comment``, ``dry_run``, and
    ``allow_unpainted`` (some boxes may hold nothing painted; never a whole annotation)."""

    name: str
    annotations: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    runs: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    datasets: DatasetSelection = DatasetSelection()
    check: CheckJob = CheckJob()
    same_mag: bool = False
    comment: str | None = None
    dry_run: bool = False
    allow_unpainted: bool = False

    def validate(self) -> TrainJob:
        if not self.name.strip() or len(self.name) > MAX_NAME or any(not c.isprintable() for c in self.name):
            raise InvalidInput(f"--name must be 1 to {MAX_NAME} printable characters, got {self.name[:MAX_NAME]!r}")
        if not (self.annotations or self.runs or self.datasets.names or self.datasets.on_server):
            raise InvalidInput("name the annotations: --annotation, --from-run RUN_KEY, or --dataset / --folder / --tag")
        for key in self.runs:
            if len(key) != 16 or any(c not in "0123456789abcdef" for c in key):
                raise InvalidInput(f"--from-run expects a run key (16 hex digits, in the JSON of create-boxes), got {key!r}")
        return self


@attrs.frozen
class TrainResult:
    """What ``train`` did: the annotations, their checks (one per voxel size), every finding,
    the request (None when refused) and the model the server answered with (started or found)."""

    status: Status
    server: str
    api_version: int | None
    annotations: tuple[FoundAnnotation, ...]
    checks: tuple[CheckResult, ...]
    findings: tuple[Finding, ...]
    request: TrainingRequest | None = None
    model: dict[str, Any] | None = None
    same_mag: SameMagChoice | None = None

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def job(self) -> dict[str, Any] | None:
        job = (self.model or {}).get("trainingJob")
        if not job:
            return None
        return {
            "id": job.get("id"),
            "state": job.get("state"),
            "command": job.get("command"),
            "url": f"{self.server}/jobs",
            "api_url": f"{self.server}/api/v{self.api_version}/jobs/{job.get('id')}",
        }

    def to_dict(self) -> dict[str, Any]:
        warnings = [f for f in self.findings if f.severity == "warning"]
        names = {c.annotation.id: c.annotation.name for check in self.checks for c in check.checked}
        return {
            "status": self.status,
            "ok": self.ok,
            "errors": len(self.errors),
            "warnings": len(warnings),
            "server": self.server,
            "annotations": [{"id": a.id, "name": names.get(a.id, a.name), "source": a.source} for a in self.annotations],
            "findings": [f.to_dict() for f in self.findings],
            "checks": [c.to_dict() for c in self.checks],
            "same_mag": self.same_mag.to_dict() if self.same_mag is not None else None,
            "request": self.request.to_dict(self.server, self.api_version) if self.request is not None else None,
            "model": {"id": self.model.get("id"), "name": self.model.get("name")} if self.model else None,
            "job": self.job,
        }


def _named(text: str, server: str) -> FoundAnnotation:
    ref = parse_annotation_ref(text)
    if ref.server is not None and normalize_url(ref.server) != server:
        raise InvalidInput(f"--annotation {text}: the annotation is on {ref.server}, the run on {server}")
    return FoundAnnotation(ref.id, "", "named")


def gather(session: Session, job: TrainJob) -> list[FoundAnnotation]:
    """Every annotation of the run, each once: named ones, then runs', then datasets'."""
    server = session.config.url
    found = [_named(text, server) for text in job.annotations]
    for key in job.runs:
        hits = run_annotations(session, key)
        if not hits:
            raise NotFound(_none_finished(session, f"with run key {key}", lambda a: find_run_key(a.get("description")) == key))
        found += hits
    selection = job.datasets
    refs = [parse_dataset_ref(name, selection.organization) for name in selection.names]
    if selection.on_server:
        folder = resolve_folder(session, selection.folder) if selection.folder is not None else None
        entries = list_datasets(session, organization=selection.organization, folder_id=folder.id if folder else None, tags=selection.tags)
        refs += [entry.ref() for entry in entries]
        if not entries:
            raise NotFound(f"no dataset matches --folder/--tag on {server}")
    for ref in refs:
        if ref.local_path is not None:
            raise InvalidInput(f"--dataset {ref.local_path}: training needs annotations on a server")
        try:
            facts = session.dataset(ref)
        except NotFound as err:
            raise with_suggestions(err, session, ref) from None
        hits = dataset_annotations(session, facts)
        try:
            hits += dataset_task_annotations(session, facts)
        except AuthError:
            pass  # task lists are for managers and admins; the wkgt annotations still count
        if not hits and not selection.on_server:
            raise NotFound(
                _none_finished(
                    session, f"of dataset {facts.name}",
                    lambda a: a.get("dataSetName") == facts.name and find_run_key(a.get("description")) is not None,
                )
            )
        found += hits
    found = unique(found)
    if not found:
        raise NotFound("no finished annotation to train on (finish the annotations in WEBKNOSSOS when they are painted)")
    return found


def _none_finished(session: Session, where: str, matches: Any) -> str:
    active = [a for a in readable_annotations(session, finished=False) if matches(a)]
    hint = f"; {len(active)} active one(s): finish them in WEBKNOSSOS when they are painted" if active else ""
    return f"no finished wkgt annotation {where} on {session.config.url}{hint}"


def _voxel_groups(result: CheckResult) -> dict[Vec3f, list[int]]:
    groups: dict[Vec3f, list[int]] = {}
    for index, checked in enumerate(result.checked):
        groups.setdefault(checked.dataset.voxel_size_nm, []).append(index)
    return groups


def _group_mags(result: CheckResult, indices: Sequence[int]) -> tuple[Vec3, ...]:
    """The mags every annotation of a group can train at (image layer ∩ ground-truth layer)."""
    sets = []
    for i in indices:
        c = result.checked[i]
        gt = c.ground_truth.mags if c.ground_truth is not None else None
        sets.append([m for m in c.layer.mags if gt is None or m in gt])
    return tuple(m for m in sets[0] if all(m in s for s in sets[1:]))


def check_run(ids: Sequence[str], job: TrainJob, connection: Connection) -> tuple[list[CheckResult], SameMagChoice | None]:
    """``wkgt check`` on the run: once, or once per voxel size (each at its mag); the painted
    voxels are read by the first check only."""
    check = attrs.evolve(job.check, painted_check=True)
    try:
        first = check_annotations(ids, check, connection=connection)
        regroup = False
    except InvalidInput:
        if len(ids) == 1:
            raise
        first = check_annotations(ids, attrs.evolve(check, mag=None), connection=connection)
        regroup = True  # e.g. --mag is not a mag of every dataset: per voxel size it may be
    groups = _voxel_groups(first)
    if len(groups) == 1 and not regroup:
        return [first], None
    members = list(groups.values())
    choice = None
    mags: list[Vec3 | None] = [job.check.mag] * len(members)
    if job.same_mag:
        check = job.check
        options = MagOptions(
            check.model, check.mag, check.object_size_nm, check.min_voxel_size_nm,
            rule_set(check.rules).with_overrides(min_object_voxels=check.min_object_voxels),
        )
        candidates = [
            DatasetMags(
                ", ".join(dict.fromkeys(first.checked[i].dataset.name for i in group)),
                first.checked[group[0]].dataset.voxel_size_nm,
                _group_mags(first, group),
            )
            for group in members
        ]
        choice = same_mags(candidates, options)
        mags = list(choice.mags)
    again = attrs.evolve(job.check, painted_check=False)
    results = [
        adopt_painted(check_annotations([ids[i] for i in group], attrs.evolve(again, mag=mag), connection=connection), first)
        for group, mag in zip(members, mags)
    ]
    return results, choice


def run_findings(results: Sequence[CheckResult], job: TrainJob) -> list[Finding]:
    """Every group's findings (the run-wide ones counted over all groups when there are several),
    with what stops a training raised to an error."""
    several = len(results) > 1
    fatal = FATAL_FOR_TRAINING - (ALLOWED_UNPAINTED if job.allow_unpainted else frozenset())
    findings: list[Finding] = []
    for result in results:
        for f in result.report.findings:
            if several and f.code in RUN_WIDE:
                continue
            findings.append(attrs.evolve(f, severity="error") if f.code in fatal else f)
    if several:
        rules = rule_set(job.check.rules)
        count = sum(len(r.report.boxes) for r in results)
        total = sum(r.report.total_voxels for r in results)
        if 0 < count < WK_MIN_BOXES:
            findings.append(Finding("error", "too-few-boxes", f"only {count} box(es) in the training run: training fails with fewer than {WK_MIN_BOXES}"))
        elif count < rules.min_box_count:
            findings.append(Finding("warning", "few-boxes", f"only {count} box(es): use at least {rules.min_box_count}"))
        if not rules.min_total_voxels <= total <= rules.max_total_voxels:
            findings.append(
                Finding(
                    "warning", "total-volume",
                    f"total {total:,} voxels (each dataset at its mag) is outside the recommended "
                    f"{rules.min_total_voxels:,}–{rules.max_total_voxels:,}",
                )
            )
    return findings


def training_request(results: Sequence[CheckResult], job: TrainJob) -> TrainingRequest:
    """One entry per annotation: its image layer, its ground-truth layer and its group's mag."""
    entries = []
    for result in results:
        for checked in result.checked:
            assert checked.ground_truth is not None and checked.ground_truth.name is not None  # refused before
            entries.append(
                TrainingAnnotation(checked.annotation.id, checked.layer.name, checked.ground_truth.name, result.report.mag)
            )
    comment = job.comment if job.comment is not None else f"started by wkgt {__version__}"
    return TrainingRequest(job.check.model, job.name, tuple(entries), comment, job.check.object_size_nm)


def _lock_key(server: str, name: str) -> str:
    return hashlib.sha256(f"train\n{server}\n{name}".encode()).hexdigest()[:16]


def train(job: TrainJob, *, connection: Connection | None = None) -> TrainResult:
    """Check the run and start the training (see the module's docstring)."""
    job = job.validate()
    connection = connection or Connection()
    named = [r.server for r in map(parse_annotation_ref, job.annotations)]
    named += [parse_dataset_ref(name).server for name in job.datasets.names]
    servers = {normalize_url(server) for server in named if server}
    if len(servers) > 1:
        raise InvalidInput(f"the annotations of one training run must be on one server, got {', '.join(sorted(servers))}")
    config = connection.resolve(target=next(iter(servers), None))
    if not job.dry_run:
        config.require_token()
    session = Session(config, connection.retry)
    try:
        session.negotiate()
        found = gather(session, job)
        # as URLs on this server: the checks resolve the same server and token as this job
        urls = [f"{config.url}/annotations/{a.id}" for a in found]
        results, choice = check_run(urls, job, connection)
    except KeyboardInterrupt:
        raise Interrupted("while checking the annotations, before the training was started: nothing changed on the server") from None
    findings = run_findings(results, job)

    def result(status: Status, request: TrainingRequest | None = None, model: dict[str, Any] | None = None) -> TrainResult:
        return TrainResult(status, config.url, session.api_version, tuple(found), tuple(results), tuple(findings), request, model, choice)

    if any(f.severity == "error" for f in findings):
        return result("refused")
    request = training_request(results, job)
    if job.dry_run:
        return result("dry-run", request, existing_model(session, request))
    with job_lock(_lock_key(config.url, job.name)):
        try:
            existing = existing_model(session, request)
        except KeyboardInterrupt:
            raise Interrupted("before the training was started: nothing changed on the server") from None
        if existing is not None:
            return result("exists", request, _with_job_state(session, existing))
        try:
            model = start_training(session, request)
        except KeyboardInterrupt:
            raise Interrupted(
                f"while starting the training: the server may have started it (model {request.name!r}, see {config.url}/jobs); "
                "rerun the same command, it reports the training as exists or starts it"
            ) from None
        return result("started", request, model)


def _with_job_state(session: Session, model: dict[str, Any]) -> dict[str, Any]:
    """The model with its training job's current state, when the job can be read."""
    job = model.get("trainingJob") or {}
    if not job.get("id"):
        return model
    try:
        return {**model, "trainingJob": job_info(session, str(job["id"]))}
    except WkgtError:
        return model

