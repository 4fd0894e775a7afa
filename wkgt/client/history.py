"""Reading what wkgt made on a server: the caller's own wkgt annotations (run key in the
description) and the wkgt tasks (run key in ``creationInfo``) of the projects the caller manages.

Annotations are read from ``annotations/readable`` as the server's JSON, because the SDK's
``ApiAnnotation`` drops ``dataSetName`` and ``organization``, which tell a run's dataset apart
without downloading it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from .annotations import find_evaluation_of, find_run_key, is_copy
from .session import Session
from .tasks import ServerTask, project_tasks

ARCHIVED = "Finished"
"""The state of an archived explorational annotation (the "Archive" button, ``.../finish``)."""


def id_time(object_id: str) -> dt.datetime:
    """When the server made an object: a WEBKNOSSOS id (MongoDB ObjectId) begins with its
    creation time in seconds (UTC)."""
    try:
        seconds = int(object_id[:8], 16)
    except ValueError:
        seconds = 0
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)


def _user_name(user: Any) -> str:
    user = user or {}
    return f"{user.get('firstName', '')} {user.get('lastName', '')}".strip() or str(user.get("id", "?"))


@attrs.frozen
class WkgtAnnotation:
    """An annotation with a wkgt run key, as the readable list shows it."""

    id: str
    run_key: str
    state: str
    name: str
    dataset_name: str | None
    organization: str | None
    owner_id: str
    owner: str
    modified_ms: int | None
    copy: bool
    evaluation_of: str | None = None  # a ``--holdout`` evaluation set: its job's run key

    @property
    def run(self) -> str:
        """The run this annotation belongs to: its own run key, or its job's for an evaluation set."""
        return self.evaluation_of or self.run_key

    def of_run(self, key: str) -> bool:
        """Made by the run ``key``: its result (or a copy), or that run's evaluation set (or the
        evaluation set's own key, to undo that set alone)."""
        return key in (self.run_key, self.evaluation_of)

    @property
    def created(self) -> dt.datetime:
        return id_time(self.id)

    @property
    def archived(self) -> bool:
        return self.state == ARCHIVED

    @classmethod
    def from_json(cls, entry: dict[str, Any]) -> WkgtAnnotation | None:
        description = entry.get("description")
        key = find_run_key(description)
        if key is None:
            return None
        owner = entry.get("owner") or {}
        return cls(
            id=str(entry["id"]),
            run_key=key,
            state=str(entry.get("state")),
            name=str(entry.get("name") or ""),
            dataset_name=entry.get("dataSetName"),
            organization=entry.get("organization"),
            owner_id=str(owner.get("id")),
            owner=_user_name(owner),
            modified_ms=entry.get("modified"),
            copy=is_copy(description),
            evaluation_of=find_evaluation_of(description),
        )


def wkgt_annotations(session: Session) -> tuple[tuple[WkgtAnnotation, ...], tuple[WkgtAnnotation, ...]]:
    """The wkgt annotations the token can list, active and archived, oldest first: the caller's own
    (``owner.id`` is the token's user), and colleagues' shared with the caller's teams. One request
    per 1,000 listed annotations, plus ``GET /user`` once per session."""
    me = session.current_user().id
    found: dict[str, WkgtAnnotation] = {}
    for page in session.pages("listing your annotations", "/annotations/readable", dict[str, Any]):
        for entry in page:
            annotation = WkgtAnnotation.from_json(entry)
            if annotation is not None:
                found.setdefault(annotation.id, annotation)
    ordered = sorted(found.values(), key=lambda a: a.id)
    return tuple(a for a in ordered if a.owner_id == me), tuple(a for a in ordered if a.owner_id != me)


@attrs.frozen
class Project:
    """A project the token can read, and whether its user may list and delete its tasks."""

    id: str
    name: str
    team_name: str
    managed: bool


@attrs.frozen
class WkgtTask:
    """A task with a wkgt run key, and its project."""

    task: ServerTask
    project: Project

    @property
    def id(self) -> str:
        return self.task.id

    @property
    def created(self) -> dt.datetime:
        return id_time(self.task.id)

    @property
    def started(self) -> int:
        """Instances someone has taken (active) or finished: deleting the task would delete their work."""
        return self.task.active + self.task.finished


def readable_projects(session: Session) -> tuple[Project, ...]:
    """The projects the token can read (``GET /projects``, one request); ``managed``: team
    managers of the project's team and organization admins may list and delete its tasks."""
    from webknossos.client.api_client.models import ApiProject

    me = session.current_user()
    managed_teams = {t.id for t in me.teams if t.is_team_manager}
    projects = session.read("listing projects", lambda: session.api()._get_json("/projects", list[ApiProject]))
    return tuple(Project(p.id, p.name, p.team_name, bool(me.is_admin) or p.team in managed_teams) for p in projects)


def wkgt_tasks(session: Session, projects: tuple[Project, ...], dataset_id: str | None = None) -> tuple[WkgtTask, ...]:
    """The wkgt tasks of the managed ``projects`` (of one dataset, if given), oldest first: one
    request per project and 1,000 tasks (``/projects/{id}/tasks``)."""
    found = [
        WkgtTask(task, project)
        for project in projects
        if project.managed
        for task in project_tasks(session, project.id)
        if task.run_key is not None and (dataset_id is None or task.dataset_id == dataset_id)
    ]
    return tuple(sorted(found, key=lambda t: t.id))
