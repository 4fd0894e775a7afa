"""One WEBKNOSSOS task per box: checked before anything is read or written, created in batches
within the server's limit, rerun-safe, and reconciled so that each box has exactly one task.

A task carries wkgt's run key in its ``creationInfo``, so a rerun finds the job's tasks before
it plans; tasks made before that (or by hand) are recognised by what the server keeps: same
project, dataset, task type and bounding box as a planned box.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import attrs

from ..client.annotations import RUN_KEY_LABEL
from ..client.facts import DatasetFacts
from ..client.session import Session
from ..client.tasks import (
    ServerTask,
    match_boxes,
    project_tasks,
    qualified,
    resolve_project,
    resolve_task_type,
    team_members,
)
from ..errors import AuthError, Interrupted, InvalidInput, NotFound, WkgtError, WriteError
from ..planner.plan import Box, Plan
from ..planner.vectors import Vec3, format_mag, parse_mag
from .upload import job_lock

TaskStatus = Literal["dry-run", "created", "exists"]
MIN_DOMAIN_LENGTH = 2  # the server's tasks table: CHECK (neededExperience_domain ~* '^.{2,}$')
VOLUME_BATCH_LIMIT, SKELETON_BATCH_LIMIT = 100, 1000  # TaskCreationService.assertBatchLimit
OTHER_ORGANIZATION = "Cannot create tasks for datasets of other organizations."  # Msg task.create.datasetOfOtherOrga


@attrs.frozen
class TaskOptions:
    """``--as-tasks``: one task per box in an existing project and task type, for ``instances``
    annotators each, needing ``experience`` (default: one the task type or project implies);
    ``allow_unassignable`` creates them even when no team member could be handed one."""

    project: str
    task_type: str
    instances: int = 1
    experience: tuple[str, int] | None = None
    allow_unassignable: bool = False


@attrs.frozen
class TaskTarget:
    """Where the tasks go, checked before any image data is read: the project and task type (the
    SDK's ``ApiProject``/``ApiTaskType``), the dataset, the experience needed, the team members
    who could take a task, and warnings."""

    project: Any
    task_type: Any
    dataset_id: str
    instances: int
    experience: tuple[str, int]
    assignable: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    @property
    def batch_limit(self) -> int:
        """Tasks per request: 1,000 for a skeleton task type, 100 for volume and hybrid ones."""
        return SKELETON_BATCH_LIMIT if self.task_type.tracing_type == "skeleton" else VOLUME_BATCH_LIMIT

    @property
    def key_facet(self) -> tuple[str, str, int, tuple[str, int]]:
        """What the run key records of the tasks: project, task type id, instances, experience."""
        return self.project.name, self.task_type.id, self.instances, self.experience


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
    assignable: tuple[str, ...] = ()
    batches: int = 0
    deleted_duplicates: tuple[str, ...] = ()

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
            "assignable": list(self.assignable),
            "run_key": self.run_key,
            "batches": self.batches,
            "deleted_duplicates": list(self.deleted_duplicates),
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


def _name(user: Any) -> str:
    return f"{user.first_name} {user.last_name}".strip() or user.email


def _domains(users: Sequence[Any]) -> str:
    found = sorted({d for u in users for d in u.experiences})
    return ", ".join(found) or "none"


def choose_experience(
    given: tuple[str, int] | None, task_type: Any, project: Any, members: Sequence[Any], allow_unassignable: bool
) -> tuple[str, int]:
    """``--experience``, else the first of the task type's summary and the project's name that a
    member of the project's team has as experience domain (value 0: every holder qualifies).
    Without either, refuse (the server would hand the tasks to nobody) unless ``allow_unassignable``
    (then the task type's summary, 0)."""
    if given is not None:
        return parse_experience(f"{given[0]}={given[1]}")
    implied = [d for d in (task_type.summary, project.name) if len(d.strip()) >= MIN_DOMAIN_LENGTH]
    for domain in implied:
        if qualified(members, domain.strip(), 0):
            return domain.strip(), 0
    if allow_unassignable and implied:
        return implied[0].strip(), 0
    raise InvalidInput(
        f"pass --experience DOMAIN=VALUE: the server hands a task only to users who have its experience domain, "
        f"and no member of team {project.team_name!r} has {' or '.join(repr(d) for d in implied) or 'a usable domain'} "
        f"(the task type or project name); their domains: {_domains(members)}"
    )


def prepare_tasks(session: Session, facts: DatasetFacts, options: TaskOptions) -> TaskTarget:
    """The checks of task creation that need no image data, in the order a user can act on them:
    the options; the project and task type exist; the token's user manages the project's team
    (or is an admin), which the server requires for creating and listing tasks; the dataset is of
    the user's organization; some team member could be handed a task (``GET /users``).
    About 5 requests."""
    if options.instances < 1:
        raise InvalidInput(f"--instances must be at least 1, got {options.instances}")
    if facts.id is None:
        raise InvalidInput("tasks need a dataset on a server (it has no id)")
    if options.experience is not None:
        parse_experience(f"{options.experience[0]}={options.experience[1]}")
    me = session.current_user()
    project = resolve_project(session, options.project)
    task_type = resolve_task_type(session, options.task_type)
    manages = me.is_admin or any(t.id == project.team and t.is_team_manager for t in me.teams)
    if not manages:
        raise AuthError(
            f"creating tasks in project {project.name!r} needs the role team manager of team {project.team_name!r} "
            f"or organization admin; {_name(me)} is neither (a manager can run this, or drop --as-tasks for an annotation)"
        )
    if facts.organization and facts.organization != me.organization:
        raise InvalidInput(
            f"dataset {facts.name} belongs to organization {facts.organization}, you to {me.organization}; "
            f"the server refuses such tasks: {OTHER_ORGANIZATION}"
        )
    members = team_members(session, project.team)
    experience = choose_experience(options.experience, task_type, project, members, options.allow_unassignable)
    assignable = tuple(sorted(_name(u) for u in qualified(members, *experience)))
    if not assignable and not options.allow_unassignable:
        raise InvalidInput(
            f"no member of team {project.team_name!r} has experience {experience[0]} ≥ {experience[1]}, so the server "
            f"would hand these tasks to nobody; their domains: {_domains(members)} (lower --experience, or "
            "--allow-unassignable to create them anyway)"
        )
    warnings: list[str] = []
    if not assignable:
        warnings.append(f"no member of team {project.team_name!r} can be handed these tasks yet (experience {experience[0]} ≥ {experience[1]})")
    if task_type.tracing_type == "skeleton":
        warnings.append(f"task type {task_type.summary!r} is skeleton-only: annotators cannot paint ground truth in it")
    return TaskTarget(project, task_type, facts.id, options.instances, experience, assignable, tuple(warnings))


def check_mag(target: TaskTarget, mag: str) -> None:
    """A volume or hybrid task type's ``magRestrictions`` decide which mags its tasks' volume layers
    get (the largest factor of a mag must lie in ``[min, max]``); refuse a plan whose mag is left
    out, since the training dialog could not use the ground truth at that mag."""
    if target.task_type.tracing_type == "skeleton":
        return
    restrictions = (target.task_type.settings or {}).get("magRestrictions") or {}
    low, high = restrictions.get("min"), restrictions.get("max")
    largest = max(parse_mag(mag))
    if (low is None or low <= largest) and (high is None or largest <= high):
        return
    allowed = f"[{low if low is not None else 0}, {high if high is not None else '∞'}]"
    raise InvalidInput(
        f"task type {target.task_type.summary!r} restricts volume annotation to mags whose largest factor is in {allowed}; "
        f"the plan's mag {format_mag(parse_mag(mag))} (largest factor {largest}) would be missing from the tasks' "
        "ground-truth layers and the training dialog could not offer it: choose a --mag in that range or another task type"
    )


def tasks_of_run(session: Session, target: TaskTarget, key: str) -> list[ServerTask]:
    """The project's tasks this job made (its run key in ``creationInfo``, same dataset and task
    type), one per bounding box (the oldest), oldest first."""
    seen: dict[Any, ServerTask] = {}
    for task in project_tasks(session, target.project.id):
        same = task.dataset_id == target.dataset_id and task.task_type_id == target.task_type.id
        if same and task.run_key == key and task.topleft is not None:
            seen.setdefault(task.box_key, task)
    return list(seen.values())


def _parameters(box: Box, target: TaskTarget) -> Any:
    from webknossos.client.api_client.models import ApiBoundingBox, ApiExperience, ApiTaskParameters

    return ApiTaskParameters(
        task_type_id=target.task_type.id,
        needed_experience=ApiExperience(domain=target.experience[0], value=target.experience[1]),
        pending_instances=target.instances,
        project_name=target.project.name,
        script_id=None,
        bounding_box=ApiBoundingBox(box.topleft, *box.size),
        dataset_id=target.dataset_id,
        edit_position=box.center,
        edit_rotation=(0, 0, 0),
    )


def _result(
    status: TaskStatus, target: TaskTarget, plan: Plan, key: str, ids: dict[str, str], new: set[str], **extra: Any
) -> TaskResult:
    tasks = tuple(PlannedTask(b, ids.get(b.name), b.name in ids and b.name not in new) for b in plan.boxes)
    warnings = tuple(dict.fromkeys((*target.warnings, *extra.pop("warnings", ()))))
    return TaskResult(
        status, target.project.name, target.project.id, target.task_type.summary, target.task_type.id,
        target.dataset_id, target.instances, target.experience, key, tasks, warnings, target.assignable, **extra,
    )


def existing_result(target: TaskTarget, plan: Plan, key: str, tasks: Sequence[ServerTask]) -> TaskResult:
    """The result of a rerun that found every task of its job (``plan``'s boxes are theirs)."""
    by_box = {(t.topleft, t.size): t.id for t in tasks}
    ids = {b.name: by_box[(b.topleft, b.size)] for b in plan.boxes if (b.topleft, b.size) in by_box}
    return _result("exists", target, plan, key, ids, set())


def delete_task(session: Session, task_id: str) -> bool:
    """Delete a task (team managers of its project's team, admins); False if it is gone already."""
    try:
        session.read(f"deleting task {task_id}", lambda: session.api().task_delete(task_id=task_id))
    except NotFound:
        return False
    return True


def create_tasks(
    session: Session, plan: Plan, target: TaskTarget, *, run_key: str, dry_run: bool = False, lock_dir: Path | None = None
) -> TaskResult:
    """Create one task per box of ``plan`` (checked by :func:`prepare_tasks`).

    Boxes that already have their task (same project, dataset, task type, bounding box) are not
    created again; when all have, ``status == "exists"``. The rest go out in batches of at most
    ``target.batch_limit`` (one request each, never repeated: after an unclear failure wkgt looks
    for the batch's tasks instead). Afterwards each box that now has two tasks (another machine
    ran the same job) keeps the oldest; the newer ones are deleted. ``dry_run`` only reads.
    """
    check_mag(target, plan.mag)

    def existing() -> dict[str, str]:
        return match_boxes(project_tasks(session, target.project.id), target.task_type.id, target.dataset_id, plan.boxes)

    if dry_run:
        return _result("dry-run", target, plan, run_key, existing(), set())
    session.config.require_token()
    with job_lock(run_key, lock_dir):
        ids = existing()
        missing = [b for b in plan.boxes if b.name not in ids]
        if not missing:
            return _result("exists", target, plan, run_key, ids, set())
        batches = [missing[i : i + target.batch_limit] for i in range(0, len(missing), target.batch_limit)]
        made: dict[str, str] = {}
        warnings: list[str] = []
        try:
            for number, batch in enumerate(batches, start=1):
                new_ids, answer_warnings = _post(session, target, batch, run_key, existing, number, len(batches), len(plan.boxes))
                made.update(new_ids)
                warnings += answer_warnings
            kept, deleted, reconcile_warnings = reconcile_tasks(session, target, plan)
        except KeyboardInterrupt:
            raise Interrupted(
                f"while creating tasks ({len(made)} of {len(missing)} confirmed): some may exist; rerun the same command, "
                "it creates only the missing ones"
            ) from None
        final = {**ids, **made, **kept}
        new = {name for name, task_id in made.items() if final.get(name) == task_id}
        status: TaskStatus = "created" if new else "exists"
        return _result(
            status, target, plan, run_key, final, new, warnings=(*warnings, *reconcile_warnings),
            batches=len(batches), deleted_duplicates=deleted,
        )


def reconcile_tasks(session: Session, target: TaskTarget, plan: Plan) -> tuple[dict[str, str], tuple[str, ...], tuple[str, ...]]:
    """Exactly one task per box: list the project again; a box with several tasks keeps the oldest
    (every run sees the same ids, so all keep the same one) and the newer ones are deleted, unless
    someone already works on them (then a warning). Returns box → kept id, the deleted ids, warnings."""
    tasks = project_tasks(session, target.project.id)
    kept: dict[str, str] = {}
    deleted: list[str] = []
    warnings: list[str] = []
    for box in plan.boxes:
        same = [
            t for t in tasks
            if t.dataset_id == target.dataset_id and t.task_type_id == target.task_type.id
            and t.topleft == box.topleft and t.size == box.size
        ]  # fmt: skip
        if not same:
            continue
        oldest, *newer = same  # project_tasks is oldest first
        kept[box.name] = oldest.id
        for task in newer:
            if task.active or task.finished:
                warnings.append(f"task {task.id} duplicates {oldest.id} ({box.name}) but is being worked on; not deleted")
                continue
            try:
                if delete_task(session, task.id):
                    deleted.append(task.id)
            except WkgtError as err:
                warnings.append(f"task {task.id} duplicates {oldest.id} ({box.name}) but could not be deleted: {err}")
    return kept, tuple(deleted), tuple(warnings)


def _post(
    session: Session,
    target: TaskTarget,
    boxes: Sequence[Box],
    key: str,
    existing: Any,
    number: int,
    of: int,
    total: int,
) -> tuple[dict[str, str], list[str]]:
    """One POST for one batch; box name → new task id, and the server's warnings. Unclear failures
    are looked up, not retried."""
    from webknossos.client.api_client.models import ApiTaskCreationResult

    def send() -> Any:
        api = session.api()
        # the SDK's ApiTaskParameters has no creationInfo; its client still sends the request
        body = [{**api._prepare_for_json(_parameters(b, target)), "creationInfo": f"{RUN_KEY_LABEL}: {key}"} for b in boxes]
        return api._post_json_with_json_response("/tasks", body, ApiTaskCreationResult)

    batch = f" in batch {number} of {of}" if of > 1 else ""
    try:
        answer = session.translate(f"creating tasks{batch}", send)
    except AuthError:
        raise
    except WkgtError as err:
        try:
            found = existing()
        except WkgtError:
            raise WriteError(
                f"task creation failed{batch} ({err}) and wkgt could not check what the server created; "
                "rerun the same command: it creates only the tasks that are missing"
            ) from None
        made = sum(b.name in found for b in boxes)
        if made == len(boxes):
            return {b.name: found[b.name] for b in boxes}, []
        raise WriteError(
            f"task creation failed{batch} ({err}); the server holds {len(found)} of the job's {total} tasks "
            "(checked), so a rerun creates only the missing ones"
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
            f"the server created {len(ids)} of the {len(boxes)} tasks it was sent{batch} ({first}); "
            "rerun the same command to create the rest"
        )
    return ids, list(answer.warnings)

