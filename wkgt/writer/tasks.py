"""One WEBKNOSSOS task per box, all created in one request, and the rerun check.

Tasks carry no free text a run key could live in, so a rerun recognises its tasks by what
the server keeps: same project, dataset, task type and bounding box as a planned box.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

import attrs

from ..client.facts import DatasetFacts
from ..client.session import Session
from ..client.tasks import find_existing_tasks, resolve_project, resolve_task_type
from ..errors import AuthError, InvalidInput, WkgtError, WriteError
from ..planner.plan import Box, Plan
from ..planner.vectors import Vec3
from .upload import job_lock

TaskStatus = Literal["dry-run", "created", "exists"]
MIN_DOMAIN_LENGTH = 2  # the server's tasks table: CHECK (neededExperience_domain ~* '^.{2,}$')


@attrs.frozen
class TaskOptions:
    """``--as-tasks``: one task per box in an existing project and task type."""

    project: str
    task_type: str
    instances: int = 1
    experience: tuple[str, int] | None = None


@attrs.frozen
class PlannedTask:
    """One box as a task: its bounding box (mag-1 voxels), start position, and id once known."""

    box: Box
    task_id: str | None = None
    existed: bool = False

    @property
    def edit_position(self) -> Vec3:
        return self.box.center

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.task_id,
            "box": self.box.name,
            "topleft": list(self.box.topleft),
            "size": list(self.box.size),
            "edit_position": list(self.edit_position),
            "existed": self.existed,
        }


@attrs.frozen
class TaskResult:
    """What ``create_tasks`` did (or would do): one entry per box, in plan order."""

    status: TaskStatus
    project: str
    project_id: str
    task_type: str
    task_type_id: str
    dataset_id: str
    instances: int
    experience: tuple[str, int]
    run_key: str
    tasks: tuple[PlannedTask, ...]
    warnings: tuple[str, ...] = ()

    @property
    def task_ids(self) -> tuple[str, ...]:
        return tuple(t.task_id for t in self.tasks if t.task_id is not None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "task_ids": list(self.task_ids),
            "project": {"name": self.project, "id": self.project_id},
            "task_type": {"name": self.task_type, "id": self.task_type_id},
            "dataset_id": self.dataset_id,
            "instances": self.instances,
            "experience": {"domain": self.experience[0], "value": self.experience[1]},
            "run_key": self.run_key,
            "tasks": [t.to_dict() for t in self.tasks],
            "warnings": list(self.warnings),
        }


def parse_experience(text: str) -> tuple[str, int]:
    """``"DOMAIN=VALUE"`` (``--experience``) → ``(domain, value)``."""
    domain, sep, value = text.partition("=")
    try:
        number = int(value)
    except ValueError:
        number = -1
    if not sep or len(domain.strip()) < MIN_DOMAIN_LENGTH or number < 0:
        raise InvalidInput(
            f"--experience must be DOMAIN=VALUE (domain of {MIN_DOMAIN_LENGTH}+ characters, whole number ≥ 0), got {text!r}"
        )
    return domain.strip(), number


def default_experience(task_type_summary: str) -> tuple[str, int]:
    """Without ``--experience``: the task type's summary as domain, value 0 (anyone qualifies)."""
    if len(task_type_summary) < MIN_DOMAIN_LENGTH:
        raise InvalidInput(f"task type {task_type_summary!r} is too short a name to serve as experience domain; pass --experience")
    return task_type_summary, 0


def _parameters(box: Box, task_type_id: str, project: str, dataset_id: str, instances: int, experience: tuple[str, int]) -> Any:
    from webknossos.client.api_client.models import ApiBoundingBox, ApiExperience, ApiTaskParameters

    return ApiTaskParameters(
        task_type_id=task_type_id,
        needed_experience=ApiExperience(domain=experience[0], value=experience[1]),
        pending_instances=instances,
        project_name=project,
        script_id=None,
        bounding_box=ApiBoundingBox(box.topleft, *box.size),
        dataset_id=dataset_id,
        edit_position=box.center,
        edit_rotation=(0, 0, 0),
    )


def create_tasks(
    session: Session,
    plan: Plan,
    facts: DatasetFacts,
    *,
    project: str,
    task_type: str,
    instances: int = 1,
    experience: tuple[str, int] | None = None,
    run_key: str,
    dry_run: bool = False,
) -> TaskResult:
    """Create one task per box of ``plan`` in an existing project and task type, in one request.

    Boxes that already have their task (same project, dataset, task type, bounding box) are
    not created again; when all have, ``status == "exists"``. ``dry_run`` only reads. The
    POST is never repeated: after an unclear failure wkgt looks for the tasks instead.
    """
    if instances < 1:
        raise InvalidInput(f"--instances must be at least 1, got {instances}")
    if facts.id is None:
        raise InvalidInput("tasks need a dataset on a server (it has no id)")
    if experience is not None:
        parse_experience(f"{experience[0]}={experience[1]}")
    dataset_id = facts.id
    api_project = resolve_project(session, project)
    api_type = resolve_task_type(session, task_type)
    needed = experience or default_experience(api_type.summary)
    warnings: tuple[str, ...] = ()
    if api_type.tracing_type == "skeleton":
        warnings = (f"task type {api_type.summary!r} is skeleton-only: annotators cannot paint ground truth in it",)

    def result(status: TaskStatus, ids: dict[str, str], new: Iterable[str] = ()) -> TaskResult:
        created = set(new)
        tasks = tuple(PlannedTask(b, ids.get(b.name), b.name in ids and b.name not in created) for b in plan.boxes)
        return TaskResult(
            status, api_project.name, api_project.id, api_type.summary, api_type.id, dataset_id,
            instances, needed, run_key, tasks, warnings,
        )

    def existing() -> dict[str, str]:
        return find_existing_tasks(session, api_project.id, api_type.id, dataset_id, plan.boxes)

    if dry_run:
        return result("dry-run", existing())
    session.config.require_token()
    with job_lock(run_key):
        ids = existing()
        missing = [b for b in plan.boxes if b.name not in ids]
        if not missing:
            return result("exists", ids)
        params = [_parameters(b, api_type.id, api_project.name, dataset_id, instances, needed) for b in missing]
        new_ids = _post(session, params, missing, existing)
        return result("created", {**ids, **new_ids}, new_ids)


def _post(
    session: Session, params: list[Any], boxes: Sequence[Box], existing: Callable[[], dict[str, str]]
) -> dict[str, str]:
    """One POST for all tasks; box name → new task id. Unclear failures are looked up, not retried."""
    try:
        answer = session.translate("creating tasks", lambda: session.api().tasks_create(task_parameters=params))
    except AuthError:
        raise
    except WkgtError as err:
        try:
            found = existing()
        except WkgtError:
            raise WriteError(
                f"task creation failed ({err}) and wkgt could not check what the server created; "
                "rerun the same command: it creates only the tasks that are missing"
            ) from None
        made = sum(b.name in found for b in boxes)
        if made == len(boxes):
            return {b.name: found[b.name] for b in boxes}
        raise WriteError(
            f"task creation failed ({err}); the server holds {made} of the {len(boxes)} new tasks (checked), "
            "so a rerun creates only the missing ones"
        ) from None
    ids: dict[str, str] = {}
    errors = []
    for box, entry in zip(boxes, answer.tasks):
        if entry.success is not None:
            ids[box.name] = entry.success.id
        else:
            errors.append(f"{box.name}: {entry.error}")
    if errors or len(ids) != len(boxes):
        first = errors[0] if errors else "the server answered for fewer tasks than sent"
        raise WriteError(
            f"the server created {len(ids)} of {len(boxes)} tasks ({first}); rerun the same command to create the rest"
        )
    return ids
