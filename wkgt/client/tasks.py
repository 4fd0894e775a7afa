"""Reading projects, task types and tasks (the SDK's API client), for task creation and later rounds."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import NotFound
from ..planner.plan import AvoidedBox, Box
from ..planner.vectors import Vec3
from .facts import DatasetFacts
from .session import Session

PAGE_SIZE = 1000


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


def project_tasks(session: Session, project_id: str) -> list[Any]:
    """Every task of a project (the SDK's ``ApiTask``), page by page."""

    def page(number: int) -> tuple[list[Any], int]:
        return session.read(
            "listing the project's tasks",
            lambda: session.api().task_infos_by_project_id_paginated(project_id=project_id, limit=PAGE_SIZE, page_number=number),
        )

    tasks: list[Any] = []
    number = 0
    while True:
        batch, total = page(number)
        tasks += batch
        number += 1
        if not batch or len(tasks) >= total:
            return tasks


def _key(dataset_id: str, task_type_id: str, topleft: Sequence[int], size: Sequence[int]) -> tuple[Any, ...]:
    return dataset_id, task_type_id, tuple(int(v) for v in topleft), tuple(int(v) for v in size)


def find_existing_tasks(session: Session, project_id: str, task_type_id: str, dataset_id: str, boxes: Sequence[Box]) -> dict[str, str]:
    """Box name → id of a task in the project with the same dataset, task type and bounding box."""
    found: dict[tuple[Any, ...], str] = {}
    for task in project_tasks(session, project_id):
        bbox = task.bounding_box
        if bbox is not None:
            size = (bbox.width, bbox.height, bbox.depth)
            found.setdefault(_key(task.dataset_id, task.type.id, bbox.top_left, size), task.id)
    wanted = {box.name: _key(dataset_id, task_type_id, box.topleft, box.size) for box in boxes}
    return {name: found[key] for name, key in wanted.items() if key in found}


def dataset_task_boxes(session: Session, dataset: DatasetFacts) -> tuple[AvoidedBox, ...]:
    """The bounding boxes of the dataset's tasks (one request: the task list)."""
    tasks = session.read("listing tasks", lambda: session.api().task_list())
    return tuple(
        AvoidedBox(f"task {task.id}", f"task {task.id}", tuple(task.bounding_box.top_left), _size(task.bounding_box))
        for task in tasks
        if task.dataset_id == dataset.id and task.bounding_box is not None
    )


def _size(bbox: object) -> Vec3:
    return (bbox.width, bbox.height, bbox.depth)  # type: ignore[attr-defined]

