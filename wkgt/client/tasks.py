"""Reading projects, task types, tasks and team members (the SDK's API client), for task creation
and later rounds.

Task lists are read as the server's JSON (through the SDK client's generic calls) because the
SDK's ``ApiTask`` drops ``creationInfo``, where wkgt writes the run key of the job that made a task.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from ..errors import NotFound
from ..planner.plan import AvoidedBox, Box
from ..planner.vectors import Vec3
from .annotations import find_run_key
from .facts import DatasetFacts
from .session import Session

TASK_LIST_LIMIT = 1000
"""``POST /tasks/list`` answers at most this many tasks (TaskDAO.findAllByProjectAndTaskTypeAndIdsAndUser)."""


def _names(items: Iterable[str]) -> str:
    return ", ".join(sorted(items)) or "none"


def resolve_project(session: Session, name: str) -> Any:
    """The SDK's ``ApiProject`` called ``name``; NotFound lists the projects that exist."""
    api = session.api
    try:
        return session.read(f"looking up project {name!r}", lambda: api().project_info_by_name(project_name=name))
    except NotFound:
        pass
    from webknossos.client.api_client.models import ApiProject

    # The SDK wraps no project list; its client still sends the request (GET /projects).
    projects = session.read("listing projects", lambda: api()._get_json("/projects", list[ApiProject]))
    raise NotFound(f"no project {name!r} on {session.config.url}; projects: {_names(p.name for p in projects)}")


def resolve_task_type(session: Session, id_or_summary: str) -> Any:
    """The SDK's ``ApiTaskType`` with this id or summary; NotFound lists the ones that exist."""
    types = session.read("listing task types", lambda: session.api().task_type_list())
    matches = [t for t in types if t.id == id_or_summary] or [t for t in types if t.summary == id_or_summary]
    existing = _names(f"{t.summary} ({t.id})" for t in types)
    if not matches:
        raise NotFound(f"no task type {id_or_summary!r} on {session.config.url}; task types: {existing}")
    if len(matches) > 1:
        raise NotFound(f"task type {id_or_summary!r} is ambiguous ({_names(t.id for t in matches)}); pass its id")
    return matches[0]


@attrs.frozen
class ServerTask:
    """A task as the server lists it: what wkgt matches boxes and runs on."""

    id: str
    dataset_id: str
    task_type_id: str
    topleft: Vec3 | None
    size: Vec3 | None
    run_key: str | None
    active: int = 0
    finished: int = 0

    @property
    def box_key(self) -> tuple[Any, ...]:
        return box_key(self.dataset_id, self.task_type_id, self.topleft or (0, 0, 0), self.size or (0, 0, 0))

    @classmethod
    def from_json(cls, task: dict[str, Any]) -> ServerTask:
        bbox = task.get("boundingBox")
        topleft = tuple(int(v) for v in bbox["topLeft"]) if bbox else None
        size = (int(bbox["width"]), int(bbox["height"]), int(bbox["depth"])) if bbox else None
        status = task.get("status") or {}
        return cls(
            id=str(task["id"]),
            dataset_id=str(task.get("datasetId")),
            task_type_id=str((task.get("type") or {}).get("id")),
            topleft=topleft,  # type: ignore[arg-type]
            size=size,
            run_key=find_run_key(task.get("creationInfo")),
            active=int(status.get("active", 0)),
            finished=int(status.get("finished", 0)),
        )


def project_tasks(session: Session, project_id: str) -> list[ServerTask]:
    """Every task of a project, oldest first (``/projects/{id}/tasks``, one request per 1,000
    tasks; team managers of the project's team and admins only)."""
    found: dict[str, ServerTask] = {}
    route = f"/projects/{project_id}/tasks"
    for page in session.pages("listing the project's tasks", route, dict[str, Any]):
        found.update((t.id, t) for t in map(ServerTask.from_json, page))
    return sorted(found.values(), key=lambda t: t.id)


def box_key(dataset_id: str, task_type_id: str, topleft: Sequence[int], size: Sequence[int]) -> tuple[Any, ...]:
    return dataset_id, task_type_id, tuple(int(v) for v in topleft), tuple(int(v) for v in size)


def match_boxes(tasks: Sequence[ServerTask], task_type_id: str, dataset_id: str, boxes: Sequence[Box]) -> dict[str, str]:
    """Box name → id of the oldest task with the same dataset, task type and bounding box."""
    found: dict[tuple[Any, ...], str] = {}
    for task in sorted(tasks, key=lambda t: t.id):
        if task.topleft is not None:
            found.setdefault(task.box_key, task.id)
    wanted = {box.name: box_key(dataset_id, task_type_id, box.topleft, box.size) for box in boxes}
    return {name: found[key] for name, key in wanted.items() if key in found}


def find_existing_tasks(session: Session, project_id: str, task_type_id: str, dataset_id: str, boxes: Sequence[Box]) -> dict[str, str]:
    """Box name → id of a task in the project with the same dataset, task type and bounding box."""
    return match_boxes(project_tasks(session, project_id), task_type_id, dataset_id, boxes)


def team_members(session: Session, team_id: str) -> list[Any]:
    """The active users (the SDK's ``ApiUser``) in team ``team_id`` that the token may read: all
    of them for its team managers and the organization's admins (one request, ``GET /users``)."""
    users = session.read("listing users", lambda: session.api().user_list())
    return [u for u in users if u.is_active and any(t.id == team_id for t in u.teams)]


def qualified(users: Iterable[Any], domain: str, value: int) -> list[Any]:
    """The users the server would hand a task needing ``domain`` ≥ ``value`` (they must *have* the
    domain: TaskDAO.findNextTaskQ joins on the user's experiences)."""
    return [u for u in users if domain in u.experiences and u.experiences[domain] >= value]


def dataset_task_boxes(session: Session, dataset: DatasetFacts, own_key: str | None = None) -> tuple[tuple[AvoidedBox, ...], tuple[str, ...]]:
    """The bounding boxes of the dataset's tasks that the token may list (one request,
    ``POST /tasks/list``), except those of the job with run key ``own_key``; and warnings when
    the list cannot be complete (no manager rights: the server lists nothing; 1,000 at most)."""
    from webknossos.client.api_client.models import ApiUser

    me: ApiUser = session.current_user()
    if not me.is_admin and not any(t.is_team_manager for t in me.teams):
        return (), (
            "--avoid-previous could not see earlier rounds sent out as tasks: the server lists tasks only to "
            "team managers and admins, and this token's user is neither; ask one to run it, or pass --avoid",
        )
    raw = session.read("listing tasks", lambda: session.api()._post_json_with_json_response("/tasks/list", {}, list[dict[str, Any]]))
    tasks = [ServerTask.from_json(t) for t in raw]
    boxes = tuple(
        AvoidedBox(f"task {t.id}", f"task {t.id}", t.topleft, t.size)
        for t in tasks
        if t.dataset_id == dataset.id and t.topleft is not None and t.size is not None and (own_key is None or t.run_key != own_key)
    )
    warnings: tuple[str, ...] = ()
    if len(raw) >= TASK_LIST_LIMIT:
        warnings = (f"--avoid-previous saw only {TASK_LIST_LIMIT} tasks (the server's limit); older rounds of tasks may be missed",)
    elif not me.is_admin:
        warnings = ("--avoid-previous sees only tasks of projects whose team you manage",)
    return boxes, warnings
