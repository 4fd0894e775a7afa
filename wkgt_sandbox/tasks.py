"""Task types, projects, tasks and task assignment (`/taskTypes`, `/projects`, `/tasks`, `/user/tasks/request`).

Rights follow webknossos `app/models/task/Task.scala` (`TaskDAO`: a task is readable by members of its
project's team, listable and deletable by that team's managers; organization admins may do all),
`app/models/project/Project.scala` and the controllers cited per route.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .annotations import info_json, resolve_dataset, store_annotation, uploaded_files
from .api import identity, secured, state_of, visible
from .auth import (
    NOT_ALLOWED,
    User,
    empty_box,
    error,
    is_admin_of,
    is_team_manager_or_admin_of,
    is_team_manager_or_admin_of_org,
    json_body,
    managed_team_ids,
    not_allowed,
    team_ids,
)
from .nml import parse_annotation_file
from .state import SandboxState, new_object_id
from .world import user_compact

JsonDict = dict[str, Any]
OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
TASK_TYPE_SETTINGS: JsonDict = {  # TracingSettings and its defaults (app/models/task/TaskType.scala)
    "allowedModes": ["orthogonal", "oblique", "flight"],
    "branchPointsAllowed": True,
    "somaClickingAllowed": True,
    "volumeInterpolationAllowed": False,
    "mergerMode": False,
    "magRestrictions": {},
}
TASK_PARAMETERS = ("taskTypeId", "neededExperience", "pendingInstances", "projectName", "datasetId", "editPosition", "editRotation")
MAX_OPEN_TASKS_PER_USER = 2  # conf/application.conf webKnossos.tasks.maxOpenPerUser
LIST_LIMIT = 1000  # TaskDAO.findAllByProjectAndTaskTypeAndIdsAndUser
# util/src/main/scala/com/scalableminds/util/Msg.scala
NO_TASKS = "Zero tasks were requested."
NOT_ON_SAME_TASK_TYPE = "Cannot create tasks with differing task types in one go."
NOT_ON_SAME_DATASET = "Cannot create tasks on multiple datasets in one go."
DATASET_OF_OTHER_ORGA = "Cannot create tasks for datasets of other organizations."
TEAM_ADMIN_NOT_ALLOWED = "You do not have permission to administrate this team."
TASK_UNAVAILABLE = "There is currently no task available."
TOO_MANY_OPEN_TASKS = "You already have too many open tasks."
TASK_ASSIGNED = "You have been assigned a new task."
PROJECT_DELETE_NOT_ALLOWED = "You do not have permission to delete this project. Please ask the project owner."
TASK_NOT_FOUND = "Task could not be found"
PROJECT_NOT_FOUND = "Project could not be found"
TASK_TYPE_NOT_FOUND = "Selected task type doesn’t exist"


def batch_limit_exceeded(limit: int) -> str:
    return f"Cannot create more than {limit} tasks in one request."


def project_not_found(name: str) -> str:
    return f"Project with name “{name}” could not be found or accessed."


def invalid_object_id(literal: str) -> str:
    return f"The supplied resource id “{literal}” is not a valid ObjectId."


def no_read_permission(team: str, dataset: str) -> str:
    """TaskCreationService.warnIfTeamHasNoAccess."""
    return f"Project team “{team}” has no read permission to dataset “{dataset}”."


def _public(obj: JsonDict) -> JsonDict:
    """An object without the sandbox's own bookkeeping keys (those starting with "_")."""
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def team_organization(state: SandboxState, team_id: str | None, fallback: str | None) -> str | None:
    team = state.teams.get(team_id or "")
    return str(team["organization"]) if team is not None else fallback


def _team(state: SandboxState, team_id: str, user: User) -> JsonDict:
    """The team object (recorded worlds may lack it: then it counts as one of the user's organization)."""
    return state.teams.get(team_id) or {"id": team_id, "organization": user.get("organization")}


# --- task types ---


def can_read_task_type(state: SandboxState, user: User, task_type: JsonDict) -> bool:
    """`TaskTypeDAO.readAccessQ`: task types of one's teams, all of one's organization for admins."""
    org = team_organization(state, task_type.get("teamId"), user.get("organization"))
    return task_type.get("teamId") in team_ids(user) or is_admin_of(user, org)


@secured
async def task_type_list(request: Request) -> Response:
    """`TaskTypeController.list`: the task types the caller may read."""
    state, me = state_of(request), identity(request)
    return JSONResponse([t for t in state.task_types.values() if can_read_task_type(state, me, t)])


def _readable_task_type(request: Request) -> JsonDict | None:
    state, me = state_of(request), identity(request)
    found = state.task_types.get(request.path_params["task_type_id"])
    return found if found is not None and can_read_task_type(state, me, found) else None


@secured
async def task_type_by_id(request: Request) -> Response:
    """`TaskTypeController.get`: 404 unless readable."""
    found = _readable_task_type(request)
    return JSONResponse(found) if found else error(404, TASK_TYPE_NOT_FOUND)


def _mag_restrictions(value: Any) -> JsonDict | None:
    """`MagRestrictions(min: Option[Int], max: Option[Int])`, or None if malformed."""
    if not isinstance(value, dict) or any(k in value and not isinstance(value[k], int) for k in ("min", "max")):
        return None
    return {k: value[k] for k in ("min", "max") if k in value}


@secured
async def task_type_create(request: Request) -> Response:
    """`TaskTypeController.create`: team managers of the task type's team and admins (403 otherwise);
    `settings` is read as TracingSettings, defaults filled in, `magRestrictions` as {min, max}."""
    body = await json_body(request)
    if not isinstance(body, dict) or "summary" not in body or "teamId" not in body:
        return error(400, "Invalid Json format")
    state, me = state_of(request), identity(request)
    team = state.teams.get(body["teamId"])
    if team is None:
        return error(400, "Team could not be found.")
    if not is_team_manager_or_admin_of(me, team):
        return not_allowed()
    given = body.get("settings") or {}
    settings = {k: given.get(k, default) for k, default in TASK_TYPE_SETTINGS.items()}
    restrictions = _mag_restrictions(settings["magRestrictions"])
    if restrictions is None:
        return error(400, "Invalid Json format")
    settings["magRestrictions"] = restrictions
    task_type = {
        "id": new_object_id(),
        "summary": body["summary"],
        "description": body.get("description", ""),
        "teamId": team["id"],
        "teamName": team["name"],
        "settings": settings,
        "recommendedConfiguration": body.get("recommendedConfiguration"),
        "tracingType": body.get("tracingType", "skeleton"),
    }
    with state.lock:
        state.task_types[task_type["id"]] = task_type
    return JSONResponse(task_type)


@secured
async def task_type_delete(request: Request) -> Response:
    """`TaskTypeController.delete`: 404 unless readable, 403 unless team manager of its team or admin."""
    state, me = state_of(request), identity(request)
    found = _readable_task_type(request)
    if found is None:
        return error(404, TASK_TYPE_NOT_FOUND)
    if not is_team_manager_or_admin_of(me, _team(state, found["teamId"], me)):
        return not_allowed()
    with state.lock:
        state.task_types.pop(found["id"], None)
    return JSONResponse({"messages": [{"success": f"Task type “{found['summary']}” successfully deleted"}]})


# --- projects ---


def project_organization(state: SandboxState, project: JsonDict, user: User) -> str | None:
    return team_organization(state, project.get("team"), user.get("organization"))


def can_read_project(state: SandboxState, user: User, project: JsonDict) -> bool:
    """`ProjectDAO.readAccessQ`: projects of one's teams or one's own, all of one's organization for admins."""
    owner = (project.get("owner") or {}).get("id")
    return (
        project.get("team") in team_ids(user)
        or owner == user["id"]
        or is_admin_of(user, project_organization(state, project, user))
    )


def manages_project(state: SandboxState, user: User, project: JsonDict) -> bool:
    """`UserService.isTeamManagerOrAdminOf(user, project._team)`."""
    return is_team_manager_or_admin_of(user, _team(state, project["team"], user))


def _project_from_body(state: SandboxState, body: Any, project_id: str, created: int, me: User) -> JsonDict | Response:
    if not isinstance(body, dict) or not body.get("name") or "team" not in body:
        return error(400, "Invalid Json format")
    team = state.teams.get(body["team"])
    if team is None:
        return error(400, "Team could not be found.")
    owner = state.users.get(body.get("owner") or me["id"])
    return {
        "name": body["name"],
        "team": team["id"],
        "teamName": team["name"],
        "owner": None if owner is None else user_compact(owner),
        "priority": int(body.get("priority", 100)),
        "paused": bool(body.get("paused", False)),
        "expectedTime": body.get("expectedTime"),
        "isBlacklistedFromReport": bool(body.get("isBlacklistedFromReport", False)),
        "id": project_id,
        "created": created,
    }


def project_by_name(state: SandboxState, name: str, user: User) -> JsonDict | None:
    """`ProjectDAO.findOneByNameAndOrganization(name, user's organization)` with the user's read access."""
    org = user.get("organization")
    return next(
        (
            p
            for p in state.projects.values()
            if p["name"] == name and project_organization(state, p, user) == org and can_read_project(state, user, p)
        ),
        None,
    )


def _readable_project(request: Request) -> JsonDict | None:
    state, me = state_of(request), identity(request)
    found = state.projects.get(request.path_params["project_id"])
    return found if found is not None and can_read_project(state, me, found) else None


@secured
async def project_list(request: Request) -> Response:
    """`ProjectController.list`: the projects the caller may read."""
    state, me = state_of(request), identity(request)
    return JSONResponse([p for p in state.projects.values() if can_read_project(state, me, p)])


@secured
async def project_create(request: Request) -> Response:
    """`ProjectController.create`: a new name in the caller's organization (400), created by a team
    manager of its team or an admin (403 `Msg.notAllowed`)."""
    state, me = state_of(request), identity(request)
    body = await json_body(request)
    with state.lock:
        if isinstance(body, dict):
            org = me.get("organization")
            taken = any(
                p["name"] == str(body.get("name")) and project_organization(state, p, me) == org
                for p in state.projects.values()
            )
            if taken:
                return error(400, f"The project name “{body['name']}” is already in use.")
        project = _project_from_body(state, body, new_object_id(), int(time.time() * 1000), me)
        if isinstance(project, Response):
            return project
        if not manages_project(state, me, project):
            return not_allowed()
        state.projects[project["id"]] = project
    return JSONResponse(project)


@secured
async def project_by_id(request: Request) -> Response:
    """`ProjectController.read`: 404 unless readable."""
    found = _readable_project(request)
    return JSONResponse(found) if found else error(404, PROJECT_NOT_FOUND)


@secured
async def project_by_name_route(request: Request) -> Response:
    """`ProjectController.readByName`: in the caller's organization, 404 unless readable."""
    found = project_by_name(state_of(request), request.path_params["name"], identity(request))
    return JSONResponse(found) if found else error(404, PROJECT_NOT_FOUND)


@secured
async def project_update(request: Request) -> Response:
    """`ProjectController.update`: 404 unknown, 403 unless team manager of its team or admin."""
    state, me = state_of(request), identity(request)
    old = state.projects.get(request.path_params["project_id"])
    if old is None:
        return error(404, PROJECT_NOT_FOUND)
    if not manages_project(state, me, old):
        return not_allowed()
    project = _project_from_body(state, await json_body(request), old["id"], old["created"], me)
    if isinstance(project, Response):
        return project
    with state.lock:
        state.projects[old["id"]] = project
    return JSONResponse(project)


@secured
async def project_delete(request: Request) -> Response:
    """`ProjectController.delete`: 404 unless readable; `Project.isDeletableBy`: its owner or an admin (403)."""
    state, me = state_of(request), identity(request)
    found = _readable_project(request)
    if found is None:
        return error(404, PROJECT_NOT_FOUND)
    owner = (found.get("owner") or {}).get("id")
    if owner != me["id"] and not is_admin_of(me, project_organization(state, found, me)):
        return error(403, PROJECT_DELETE_NOT_ALLOWED)
    with state.lock:
        state.projects.pop(found["id"], None)
        state.tasks = {k: t for k, t in state.tasks.items() if t["projectId"] != found["id"]}
    return JSONResponse({"messages": [{"success": "Project was removed successfully"}]})


# --- tasks: JSON and rights ---


def task_instances(state: SandboxState, task: JsonDict) -> tuple[int, int, int]:
    """(pending, active, finished) as `TaskService.statusOf`: active = Active task annotations,
    finished = total - active - pending."""
    pending = int(task["status"]["pending"])
    active = sum(1 for a in state.annotations.values() if a.task_id == task["id"] and a.typ == "Task" and a.state == "Active")
    total = int(task.get("_totalInstances", pending + task["status"].get("active", 0) + task["status"].get("finished", 0)))
    if "_totalInstances" not in task:
        active = max(active, int(task["status"].get("active", 0)))
    return pending, active, total - active - pending


def task_json(state: SandboxState, task: JsonDict) -> JsonDict:
    """A task as `TaskService.publicWrites` writes it."""
    pending, active, finished = task_instances(state, task)
    return {**_public(task), "status": {"pending": pending, "active": active, "finished": finished}}


def task_project(state: SandboxState, task: JsonDict) -> JsonDict:
    return state.projects.get(task["projectId"]) or {"id": task["projectId"], "team": None, "owner": None}


def can_read_task(state: SandboxState, user: User, task: JsonDict) -> bool:
    """`TaskDAO.readAccessQ`: members of the project's team, admins of its organization."""
    project = task_project(state, task)
    return project.get("team") in team_ids(user) or is_admin_of(user, project_organization(state, project, user))


def can_list_task(state: SandboxState, user: User, task: JsonDict) -> bool:
    """`TaskDAO.listAccessQ` (= deleteAccessQ): team managers of the project's team, admins of its organization."""
    project = task_project(state, task)
    return project.get("team") in managed_team_ids(user) or is_admin_of(
        user, project_organization(state, project, user)
    )


def _readable_task(request: Request) -> JsonDict | None:
    state, me = state_of(request), identity(request)
    found = state.tasks.get(request.path_params["task_id"])
    return found if found is not None and can_read_task(state, me, found) else None


# --- tasks: creation ---


def _json_errors(body: Any, required: tuple[str, ...]) -> JsonDict | None:
    """Play's `JsError.toJson` of a body that is no list of objects with the required keys, or None."""
    if not isinstance(body, list):
        return {"obj": [{"msg": ["error.expected.jsarray"], "args": []}]}
    errors: JsonDict = {}
    for i, params in enumerate(body):
        if not isinstance(params, dict):
            errors[f"obj[{i}]"] = [{"msg": ["error.expected.jsobject"], "args": []}]
            continue
        for key in required:
            if params.get(key) is None:
                errors[f"obj[{i}].{key}"] = [{"msg": ["error.path.missing"], "args": []}]
    return errors or None


def _new_task(state: SandboxState, params: JsonDict, task_type: JsonDict, project: JsonDict, dataset: Any) -> JsonDict | str:
    """A task object from creation parameters, or an error message."""
    experience = params.get("neededExperience") or {}
    domain = str(experience.get("domain", "")).strip()
    if len(domain) < 2:  # the real tasks table checks '^.{2,}$'
        return "The experience domain needs at least 2 characters"
    box = params.get("boundingBox")
    if isinstance(box, dict) and not all(box.get(k) for k in ("width", "height", "depth")):
        box = None  # an empty box is stored as none
    pending = int(params.get("pendingInstances", 1))
    return {
        "id": new_object_id(),
        "projectId": project["id"],
        "projectName": project["name"],
        "team": project["teamName"],
        "type": task_type,
        "datasetName": dataset.name,
        "datasetId": dataset.id,
        "neededExperience": {"domain": domain, "value": int(experience.get("value", 0))},
        "created": int(time.time() * 1000),
        "status": {"pending": pending, "active": 0, "finished": 0},
        "script": None,
        "tracingTime": None,
        "creationInfo": params.get("creationInfo"),
        "boundingBox": box,
        "editPosition": list(params.get("editPosition") or [0, 0, 0]),
        "editRotation": list(params.get("editRotation") or [0, 0, 0]),
        "_totalInstances": pending,
    }


def _warnings(state: SandboxState, projects: list[JsonDict], dataset: Any) -> list[str]:
    """`TaskCreationService.warnIfTeamHasNoAccess`: a project team that is not among the dataset's
    (cumulative) allowed teams and has members outside them cannot read the dataset."""
    allowed = {t["id"] for t in dataset.json.get("allowedTeamsCumulative") or dataset.json.get("allowedTeams") or []}
    warnings = []
    for team_id in dict.fromkeys(p["team"] for p in projects):
        if team_id in allowed:
            continue
        members = [u for u in state.users.values() if team_id in team_ids(u)]
        outside = [u for u in members if not team_ids(u) & allowed]
        if allowed and not outside:
            continue
        team = state.teams.get(team_id)
        warnings.append(no_read_permission(team["name"] if team else team_id, dataset.name))
    return warnings


def _creation_result(results: list[JsonDict | str], warnings: list[str]) -> Response:
    """`TaskCreationResult.fromBoxResults`."""
    tasks = [{"status": 200, "success": r} if isinstance(r, dict) else {"status": 400, "error": r} for r in results]
    return JSONResponse({"tasks": tasks, "warnings": warnings})


def _task_type_batch_limit(task_type: JsonDict) -> int:
    """`TaskCreationService.assertBatchLimit`: 100 for volume and hybrid task types, 1000 for skeleton."""
    return 100 if task_type.get("tracingType") in ("volume", "hybrid") else 1000


@secured
async def task_create(request: Request) -> Response:
    """`TaskController.create` and `TaskCreationService.createTasks`, in the server's order: a JSON list
    of TaskParameters (400 with Play's JsError otherwise); at least one (400 `noTasks`); one task type
    (400 `notOnSameTaskType`) that the caller can read (400); one dataset (400 `notOnSameDataset`) the
    caller can read (400 `Msg.Dataset.notFound`) of the caller's organization (400 `datasetOfOtherOrga`);
    at most 100 tasks (volume/hybrid task types) or 1000 (skeleton). Then per task: its project (by
    name, in the caller's organization) must be managed by the caller, else that entry is
    `{"status": 400, "error": ...}`. A project name the caller cannot read fails the whole request
    (400 `Msg.Project.notFound(name)`, from `warnIfTeamHasNoAccess`), after the other tasks were
    created, as on the server. `warnings` name project teams that cannot read the dataset."""
    body = await json_body(request)
    errors = _json_errors(body, TASK_PARAMETERS)
    if errors is not None:
        return JSONResponse(errors, status_code=400)
    if not body:
        return error(400, NO_TASKS)
    state, me = state_of(request), identity(request)
    type_ids = {str(p["taskTypeId"]) for p in body}
    if len(type_ids) != 1:
        return error(400, NOT_ON_SAME_TASK_TYPE)
    task_type = state.task_types.get(type_ids.pop())
    if task_type is None or not can_read_task_type(state, me, task_type):
        return error(400, TASK_TYPE_NOT_FOUND)
    dataset_ids = {str(p["datasetId"]) for p in body}
    if len(dataset_ids) != 1:
        return error(400, NOT_ON_SAME_DATASET)
    dataset_id = dataset_ids.pop()
    dataset = state.datasets.get(dataset_id)
    if dataset is None or not visible(request, dataset):
        return error(400, f"Dataset “{dataset_id}” could not be found or accessed.")
    if dataset.organization != me.get("organization"):
        return error(400, DATASET_OF_OTHER_ORGA)
    limit = _task_type_batch_limit(task_type)
    if len(body) > limit:
        return error(400, batch_limit_exceeded(limit))
    results: list[JsonDict | str] = []
    projects: list[JsonDict] = []
    unknown_project: str | None = None
    with state.lock:
        for params in body:
            project = project_by_name(state, str(params["projectName"]), me)
            if project is None:
                unknown_project = unknown_project or str(params["projectName"])
                results.append(project_not_found(str(params["projectName"])))
                continue
            projects.append(project)
            if not manages_project(state, me, project):
                results.append(TEAM_ADMIN_NOT_ALLOWED)
                continue
            task = _new_task(state, params, task_type, project, dataset)
            if isinstance(task, dict):
                state.tasks[task["id"]] = task
                task = task_json(state, task)
            results.append(task)
    if unknown_project is not None:
        return error(400, project_not_found(unknown_project))
    return _creation_result(results, _warnings(state, projects, dataset))


@secured
async def task_create_from_files(request: Request) -> Response:
    """`TaskController.createFromFiles`: `formJSON` (400), NML/zip files, a readable task type (404), the
    batch limit, a project of the caller's organization (404) whose team the caller manages (404 of a
    failed `Fox.assertTrue`); one task per file."""
    files, fields = await uploaded_files(request)
    files = [(n, c) for n, c in files if n.lower().endswith((".nml", ".zip"))]
    if not files:
        return error(400, "No file or file with empty content uploaded")
    try:
        params = json.loads(fields.get("formJSON", ""))
    except ValueError:
        return error(400, "Missing format json")
    if not isinstance(params, dict):
        return error(400, "Missing format json")
    state, me = state_of(request), identity(request)
    task_type = state.task_types.get(str(params.get("taskTypeId")))
    if task_type is None or not can_read_task_type(state, me, task_type):
        return error(404, TASK_TYPE_NOT_FOUND)
    limit = _task_type_batch_limit(task_type)
    if len(files) > limit:
        return error(400, batch_limit_exceeded(limit))
    project = project_by_name(state, str(params.get("projectName")), me)
    if project is None:
        return error(404, PROJECT_NOT_FOUND)
    if not manages_project(state, me, project):
        return empty_box()
    results: list[JsonDict | str] = []
    datasets = []
    for filename, content in files:
        try:
            parsed = parse_annotation_file(filename, content)
        except ValueError as e:
            results.append(f"Couldn’t parse file: {filename}. {e}")
            continue
        dataset = resolve_dataset(request, parsed)
        if isinstance(dataset, Response):
            results.append(json.loads(dataset.body)["messages"][0]["error"])
            continue
        datasets.append(dataset)
        file_params = {**params, "editPosition": list(parsed.edit_position), "editRotation": [0, 0, 0]}
        with state.lock:
            task = _new_task(state, file_params, task_type, project, dataset)
            if isinstance(task, dict):
                state.tasks[task["id"]] = task
        if isinstance(task, dict):
            store_annotation(state, parsed, dataset, me, typ="TracingBase", task_id=task["id"], team_id=project["team"])
            task = task_json(state, task)
        results.append(task)
    warnings = _warnings(state, [project], datasets[0]) if datasets else []
    return _creation_result(results, warnings)


# --- tasks: reading, changing, listing ---


@secured
async def task_by_id(request: Request) -> Response:
    """`TaskController.read`: 404 unless readable (member of the project's team, or admin)."""
    found = _readable_task(request)
    return JSONResponse(task_json(state_of(request), found)) if found else error(404, TASK_NOT_FOUND)


@secured
async def task_update(request: Request) -> Response:
    """`TaskController.update`: 404 unless readable, 403 unless team manager or admin; only the number
    of instances changes (`updateTotalInstances`: total += new pending - old pending)."""
    state, me = state_of(request), identity(request)
    old = _readable_task(request)
    if old is None:
        return error(404, TASK_NOT_FOUND)
    params = await json_body(request)
    errors = _json_errors([params], TASK_PARAMETERS)
    if errors is not None:
        return JSONResponse({k.replace("obj[0]", "obj"): v for k, v in errors.items()}, status_code=400)
    if not manages_project(state, me, task_project(state, old)):
        return not_allowed()
    with state.lock:
        pending, active, finished = task_instances(state, old)
        new_pending = int(params["pendingInstances"])
        old["_totalInstances"] = pending + active + finished + new_pending - pending
        old["status"] = {"pending": new_pending, "active": active, "finished": finished}
    return JSONResponse({**task_json(state, old), "messages": [{"success": "Task successfully edited"}]})


@secured
async def task_delete(request: Request) -> Response:
    """`TaskController.delete`: 404 unless readable; team managers of the project's team and admins
    only (400 `notAllowed`, the controller gives no status); removes the task and its annotations."""
    state, me = state_of(request), identity(request)
    found = _readable_task(request)
    if found is None:
        return error(404, TASK_NOT_FOUND)
    if not manages_project(state, me, task_project(state, found)):
        return error(400, NOT_ALLOWED)
    with state.lock:
        state.tasks.pop(found["id"], None)
        state.annotations = {k: a for k, a in state.annotations.items() if a.task_id != found["id"]}
    return JSONResponse({"messages": [{"success": "Task was removed"}]})


def _id_filter(body: JsonDict, key: str) -> str | None | Response:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not OBJECT_ID.match(value):
        return error(400, invalid_object_id(str(value)))
    return value


@secured
async def task_list(request: Request) -> Response:
    """`TaskController.listTasks` (`TaskDAO.findAllByProjectAndTaskTypeAndIdsAndUser`): the tasks the
    caller manages (team managers of the project's team, admins), filtered by `project`, `taskType`
    (ids), `ids` and `user` (tasks with a non-cancelled annotation of that user); at most 1000."""
    body = await json_body(request)
    if not isinstance(body, dict):
        return error(400, "Invalid Json format")
    filters = {key: _id_filter(body, key) for key in ("project", "taskType", "user")}
    for value in filters.values():
        if isinstance(value, Response):
            return value
    ids = body.get("ids")
    if ids is not None:
        bad = next((i for i in ids if not isinstance(i, str) or not OBJECT_ID.match(i)), None) if isinstance(ids, list) else ids
        if bad is not None:
            return error(400, invalid_object_id(str(bad)))
    state, me = state_of(request), identity(request)
    with state.lock:
        worked_on = {
            a.task_id for a in state.annotations.values() if a.owner_id == filters["user"] and a.typ == "Task" and a.state != "Cancelled"
        }
        chosen = [
            t
            for t in sorted(state.tasks.values(), key=lambda t: t["id"])
            if can_list_task(state, me, t)
            and (filters["project"] is None or t["projectId"] == filters["project"])
            and (filters["taskType"] is None or t["type"]["id"] == filters["taskType"])
            and (ids is None or t["id"] in ids)
            and (filters["user"] is None or t["id"] in worked_on)
        ]
        return JSONResponse([task_json(state, t) for t in chosen[:LIST_LIMIT]])


@secured
async def project_tasks(request: Request) -> Response:
    """`ProjectController.tasksForProject`: 404 unless the project is readable, 403 `Msg.notAllowed`
    unless the caller manages its team or is an admin; newest first (`ORDER BY _id DESC`), `limit` and
    `pageNumber`; `includeTotalCount=true` adds `X-Total-Count`."""
    state, me = state_of(request), identity(request)
    project = _readable_project(request)
    if project is None:
        return error(404, PROJECT_NOT_FOUND)
    if not manages_project(state, me, project):
        return not_allowed()
    try:
        limit = int(request.query_params.get("limit", 2**31 - 1))
        page = int(request.query_params.get("pageNumber", 0))
    except ValueError:
        return error(400, "Cannot parse parameter limit or pageNumber as Int")
    with state.lock:
        tasks = sorted((t for t in state.tasks.values() if t["projectId"] == project["id"]), key=lambda t: t["id"], reverse=True)
        answer = [task_json(state, t) for t in tasks[page * limit : (page + 1) * limit]]
    headers = {"X-Total-Count": str(len(tasks))} if request.query_params.get("includeTotalCount") == "true" else None
    return JSONResponse(answer, headers=headers)


@secured
async def task_annotations(request: Request) -> Response:
    """`AnnotationController.annotationsForTask`: 404 unless the task is readable, the 404 of a failed
    `Fox.assertTrue` unless the caller manages the project's team; the task's annotations (publicWrites)."""
    state, me = state_of(request), identity(request)
    task = _readable_task(request)
    if task is None:
        return error(404, TASK_NOT_FOUND)
    if not manages_project(state, me, task_project(state, task)):
        return empty_box()
    annotations = [a for a in state.annotations.values() if a.task_id == task["id"] and a.typ == "Task"]
    return JSONResponse([info_json(request, a) for a in annotations])


# --- task assignment ---


def allowed_teams_for_next_task(state: SandboxState, user: User) -> set[str] | None:
    """`TaskService.getAllowedTeamsForNextTask`: admins all teams of their organization; others their
    teams while they hold fewer than `maxOpenPerUser` active task annotations outside the teams they
    manage, else only the teams they manage (None: no team left)."""
    if user.get("isAdmin"):
        return {t["id"] for t in state.teams.values() if t.get("organization") == user.get("organization")}
    managed = managed_team_ids(user)
    open_ones = sum(
        1
        for a in state.annotations.values()
        if a.owner_id == user["id"] and a.typ == "Task" and a.state == "Active" and a.team_id not in managed
    )
    teams = team_ids(user) if open_ones < MAX_OPEN_TASKS_PER_USER else managed
    return teams or None


def next_task(state: SandboxState, user: User, teams: set[str]) -> JsonDict | None:
    """`TaskDAO.findNextTaskQ`: a task whose needed experience the user has (same domain, value at least
    the needed one: an inner join, so a user without the domain gets nothing), of a project of one of
    `teams` that is not paused, with pending instances, that the user has no annotation of (cancelled
    ones do not count for team managers and admins); the highest project priority first."""
    experiences = user.get("experiences") or {}
    lenient = is_team_manager_or_admin_of_org(user, user.get("organization"))
    mine = {
        a.task_id
        for a in state.annotations.values()
        if a.owner_id == user["id"] and a.typ == "Task" and not (lenient and a.state == "Cancelled")
    }
    candidates = []
    for task in sorted(state.tasks.values(), key=lambda t: t["id"]):
        needed = task["neededExperience"]
        project = state.projects.get(task["projectId"])
        if (
            project is not None
            and needed["domain"] in experiences
            and int(needed["value"]) <= int(experiences[needed["domain"]])
            and project["team"] in teams
            and not project.get("paused")
            and int(task["status"]["pending"]) > 0
            and task["id"] not in mine
        ):
            candidates.append((-int(project.get("priority", 0)), task))
    return min(candidates, key=lambda c: c[0])[1] if candidates else None


@secured
async def request_task(request: Request) -> Response:
    """`TaskController.request` (`POST /user/tasks/request`, conf/webknossos.latest.routes): assigns the
    next task (`next_task`) to the caller: one pending instance becomes the caller's Task annotation.
    400 `Msg.Task.tooManyOpenOnes` or `Msg.Task.unavailable` otherwise."""
    state, me = state_of(request), identity(request)
    with state.lock:
        teams = allowed_teams_for_next_task(state, me)
        if teams is None:
            return error(400, TOO_MANY_OPEN_TASKS)
        task = next_task(state, me, teams)
        if task is None:
            return error(400, TASK_UNAVAILABLE)
        pending, active, finished = task_instances(state, task)
        task.setdefault("_totalInstances", pending + active + finished)
        task["status"] = {**task["status"], "pending": pending - 1}
        project = state.projects[task["projectId"]]
        base = next((a for a in state.annotations.values() if a.task_id == task["id"] and a.typ == "TracingBase"), None)
        annotation = state.add_annotation(
            me["id"],
            dataset=task["datasetId"],
            typ="Task",
            task_id=task["id"],
            description=base.description if base is not None else "",
            user_bounding_boxes=base.user_bounding_boxes if base is not None else (),
        )
        annotation.team_id = project["team"]
        if base is not None:
            annotation.volume_layers = list(base.volume_layers)
            annotation.nml, annotation.nml_without_volume_data = base.nml, base.nml_without_volume_data
            annotation.volume_data = dict(base.volume_data)
    return JSONResponse({**info_json(request, annotation), "messages": [{"success": TASK_ASSIGNED}]})


routes = [
    Route("/taskTypes", task_type_list),
    Route("/taskTypes", task_type_create, methods=["POST"]),
    Route("/taskTypes/{task_type_id}", task_type_by_id),
    Route("/taskTypes/{task_type_id}", task_type_delete, methods=["DELETE"]),
    Route("/projects", project_list),
    Route("/projects", project_create, methods=["POST"]),
    Route("/projects/byName/{name}", project_by_name_route),
    Route("/projects/{project_id}", project_by_id),
    Route("/projects/{project_id}", project_update, methods=["PUT"]),
    Route("/projects/{project_id}", project_delete, methods=["DELETE"]),
    Route("/projects/{project_id}/tasks", project_tasks),
    Route("/tasks", task_create, methods=["POST"]),
    Route("/tasks/createFromFiles", task_create_from_files, methods=["POST"]),
    Route("/tasks/list", task_list, methods=["POST"]),
    Route("/tasks/{task_id}", task_by_id),
    Route("/tasks/{task_id}", task_update, methods=["PUT"]),
    Route("/tasks/{task_id}", task_delete, methods=["DELETE"]),
    Route("/tasks/{task_id}/annotations", task_annotations),
    Route("/user/tasks/request", request_task, methods=["POST"]),
]
