"""The ``history`` job (``wkgt history``): the runs wkgt made for one dataset, grouped by run key.

An annotation run is the caller's own annotations with one run key (the job's result, newer
duplicates archived by the reconciliation, ``--force-new`` copies); colleagues' annotations
shared with the caller never count, as for the rerun check. A task run is the tasks with one run
key in the projects the caller manages (the server lists tasks to nobody else).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal

import attrs

from ..client import Connection, DatasetFacts, Session, parse_dataset_ref
from ..client.annotations import read_annotation
from ..client.history import WkgtAnnotation, WkgtTask, readable_projects, wkgt_annotations, wkgt_tasks
from ..errors import InvalidInput
from ..writer.progress import SILENT, Progress
from ..writer.urls import annotation_url

Kind = Literal["annotation", "tasks"]
RunState = Literal["active", "archived"]


def iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


@attrs.frozen
class HistoryJob:
    """A ``history`` job: the dataset (name, id or viewer URL; ``organization`` for an ambiguous name)."""

    dataset: str
    organization: str | None = None


@attrs.frozen
class RunAnnotation:
    """One annotation of a run: its boxes (user bounding boxes, read back from the server)."""

    id: str
    url: str
    name: str
    state: str
    boxes: int
    created: dt.datetime
    copy: bool
    evaluation: bool = False  # the run's evaluation set (``--holdout``), never its result

    @property
    def active(self) -> bool:
        return self.state == "Active"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "url": self.url, "name": self.name, "state": self.state, "boxes": self.boxes,
            "created": iso(self.created), "copy": self.copy, "evaluation": self.evaluation,
        }  # fmt: skip


@attrs.frozen
class RunTask:
    """One task of a run (one box), and how many of its instances someone took or finished."""

    id: str
    topleft: tuple[int, ...] | None
    size: tuple[int, ...] | None
    created: dt.datetime
    started: int

    def to_dict(self) -> dict[str, Any]:
        box = None if self.topleft is None else {"topleft": list(self.topleft), "size": list(self.size or ())}
        return {"id": self.id, "box": box, "created": iso(self.created), "started": self.started}


@attrs.frozen
class HistoryRun:
    """What one run key made: annotations (kind ``annotation``) or tasks (kind ``tasks``).
    ``boxes`` is the box count of the run's result (its oldest active annotation that is no copy
    and no evaluation set, else its oldest such annotation) or its number of tasks; a ``--holdout``
    run's evaluation set is one of its annotations; ``state`` is ``active`` while the run has
    an active annotation (a rerun of the job reports it) or tasks, else ``archived``."""

    run_key: str
    kind: Kind
    created: dt.datetime
    boxes: int
    owner: str | None
    state: RunState
    annotations: tuple[RunAnnotation, ...] = ()
    tasks: tuple[RunTask, ...] = ()
    project: str | None = None

    @property
    def result(self) -> RunAnnotation | None:
        """The annotation a rerun of the job reports (None: the run has none active, or is tasks)."""
        return next((a for a in self.annotations if a.active and not a.copy and not a.evaluation), None)

    @property
    def url(self) -> str | None:
        shown = self.result or next(iter(self.annotations), None)
        return shown.url if shown is not None else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_key": self.run_key,
            "kind": self.kind,
            "created": iso(self.created),
            "boxes": self.boxes,
            "owner": self.owner,
            "state": self.state,
            "url": self.url,
            "project": self.project,
            "annotations": [a.to_dict() for a in self.annotations],
            "tasks": [t.to_dict() for t in self.tasks],
        }


@attrs.frozen
class HistoryResult:
    """The runs of one dataset, newest first, and what could not be looked at."""

    dataset: DatasetFacts
    server: str
    runs: tuple[HistoryRun, ...]
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": {"name": self.dataset.name, "id": self.dataset.id, "organization": self.dataset.organization},
            "server": self.server,
            "runs": [r.to_dict() for r in self.runs],
            "warnings": list(self.warnings),
        }


def history(
    job: HistoryJob, *, connection: Connection | None = None, progress: Progress | None = None
) -> HistoryResult:
    """The wkgt runs of ``job.dataset``: the caller's own annotation runs and the task runs of the
    projects the caller manages. Costs the dataset lookup, ``GET /user``, one request per 1,000
    listed annotations, one download (without volume data) per own wkgt annotation whose listed
    dataset name matches, ``GET /projects`` and one request per managed project (and 1,000 tasks)."""
    progress = progress or SILENT
    connection = connection or Connection()
    ref = parse_dataset_ref(job.dataset, job.organization)
    if ref.local_path is not None:
        raise InvalidInput(f"{job.dataset} is a local dataset folder; history lists what wkgt made on a server")
    config = connection.resolve(target=ref.server)
    config.require_token()
    session = Session(config, connection.retry)
    progress.step(f"reading dataset {ref.describe()} on {config.url}")
    session.negotiate()
    facts = session.dataset(ref)
    progress.step("listing your annotations")
    own, _colleagues = wkgt_annotations(session)
    names = {facts.name, facts.directory_name} - {None}
    candidates = [a for a in own if a.dataset_name in names and (a.organization in (None, facts.organization))]
    progress.step(f"reading the boxes of {len(candidates)} wkgt annotation(s)")
    annotations: list[tuple[WkgtAnnotation, int]] = []
    for listed in candidates:
        boxes = read_annotation(session, listed.id)
        if facts.id is None or boxes.dataset_id in (None, facts.id):
            annotations.append((listed, len(boxes.user_boxes)))
    progress.step("listing the tasks of the projects you manage")
    projects = readable_projects(session)
    tasks = wkgt_tasks(session, projects, facts.id)
    warnings = _task_warnings(projects)
    runs = _annotation_runs(config.url, annotations) + _task_runs(tasks)
    return HistoryResult(facts, config.url, tuple(sorted(runs, key=_age, reverse=True)), warnings)


def _age(run: HistoryRun) -> tuple[dt.datetime, str]:
    """When a run began; ids break ties within a second (they grow with creation)."""
    first = run.annotations[0].id if run.annotations else run.tasks[0].id
    return run.created, first


def _task_warnings(projects: Sequence[Any]) -> tuple[str, ...]:
    hidden = sorted(p.name for p in projects if not p.managed)
    if not hidden:
        return ()
    return (
        f"tasks of project(s) {', '.join(hidden)} are not listed: the server lists tasks only to team managers "
        "of a project's team and admins",
    )


def _annotation_runs(server: str, found: Sequence[tuple[WkgtAnnotation, int]]) -> list[HistoryRun]:
    by_key: dict[str, list[RunAnnotation]] = {}
    owners: dict[str, str] = {}
    for listed, boxes in found:
        by_key.setdefault(listed.run, []).append(
            RunAnnotation(
                listed.id, annotation_url(server, listed.id), listed.name, listed.state, boxes, listed.created, listed.copy,
                evaluation=listed.evaluation_of is not None,
            )
        )
        owners[listed.run] = listed.owner
    runs = []
    for key, members in by_key.items():
        members.sort(key=lambda a: a.id)
        training = [a for a in members if not a.evaluation] or members
        result = next((a for a in training if a.active and not a.copy), training[0])
        state: RunState = "active" if any(a.active for a in members) else "archived"
        runs.append(HistoryRun(key, "annotation", members[0].created, result.boxes, owners[key], state, tuple(members)))
    return runs


def _task_runs(found: Sequence[WkgtTask]) -> list[HistoryRun]:
    by_key: dict[str, list[WkgtTask]] = {}
    for task in found:
        by_key.setdefault(str(task.task.run_key), []).append(task)
    runs = []
    for key, members in by_key.items():
        tasks = tuple(RunTask(t.id, t.task.topleft, t.task.size, t.created, t.started) for t in members)
        project = members[0].project
        runs.append(
            HistoryRun(key, "tasks", tasks[0].created, len(tasks), None, "active", tasks=tasks, project=project.name)
        )
    return runs
