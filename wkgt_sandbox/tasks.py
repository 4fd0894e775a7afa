"""Task types, projects and tasks (`/taskTypes`, `/projects`, `/tasks`)."""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .annotations import (
    readable_json,
    resolve_dataset,
    store_annotation,
    uploaded_files,
)
from .api import secured, state_of
from .auth import error
from .nml import parse_annotation_file
from .state import SandboxState, new_object_id
from .world import user_compact

TASK_TYPE_SETTINGS = (
    "allowedModes",
    "branchPointsAllowed",
    "somaClickingAllowed",
    "volumeInterpolationAllowed",
    "mergerMode",
    "magRestrictions",
)


async def _body(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None


@secured
async def task_type_list(request: Request) -> Response:
    return JSONResponse(list(state_of(request).task_types.values()))


@secured
async def task_type_by_id(request: Request) -> Response:
    found = state_of(request).task_types.get(request.path_params["task_type_id"])
    return JSONResponse(found) if found else error(404, "Selected task type doesn’t exist")


@secured
async def task_type_create(request: Request) -> Response:
    body = await _body(request)
    if not isinstance(body, dict) or "summary" not in body or "teamId" not in body:
        return error(400, "Invalid Json format")
    state = state_of(request)
    team = state.teams.get(body["teamId"])
    if team is None:
        return error(400, "Team could not be found.")
    settings = body.get("settings") or {}
    task_type = {
        "id": new_object_id(),
        "summary": body["summary"],
        "description": body.get("description", ""),
        "teamId": team["id"],
        "teamName": team["name"],
        "settings": {k: settings[k] for k in TASK_TYPE_SETTINGS if k in settings},
        "recommendedConfiguration": body.get("recommendedConfiguration"),
        "tracingType": body.get("tracingType", "skeleton"),
    }
    with state.lock:
        state.task_types[task_type["id"]] = task_type
    return JSONResponse(task_type)


@secured
async def task_type_delete(request: Request) -> Response:
    state = state_of(request)
    with state.lock:
        removed = state.task_types.pop(request.path_params["task_type_id"], None)
    if removed is None:
        return error(404, "Selected task type doesn’t exist")
    return JSONResponse({"messages": [{"success": f"Task type “{removed['summary']}” successfully deleted"}]})


def _project_from_body(state: SandboxState, body: Any, project_id: str, created: int) -> dict[str, Any] | Response:
    if not isinstance(body, dict) or not body.get("name") or "team" not in body:
        return error(400, "Invalid Json format")
    team = state.teams.get(body["team"])
    if team is None:
        return error(400, "Team could not be found.")
    owner = state.users.get(body.get("owner") or state.current_user_id)
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


def _project_by_name(state: SandboxState, name: str) -> dict[str, Any] | None:
    return next((p for p in state.projects.values() if p["name"] == name), None)


@secured
async def project_list(request: Request) -> Response:
    return JSONResponse(list(state_of(request).projects.values()))


@secured
async def project_create(request: Request) -> Response:
    state = state_of(request)
    body = await _body(request)
    with state.lock:
        if isinstance(body, dict) and _project_by_name(state, str(body.get("name"))) is not None:
            return error(400, f"The project name “{body['name']}” is already in use.")
        project = _project_from_body(state, body, new_object_id(), int(time.time() * 1000))
        if isinstance(project, dict):
            state.projects[project["id"]] = project
    return JSONResponse(project) if isinstance(project, dict) else project


@secured
async def project_by_id(request: Request) -> Response:
    found = state_of(request).projects.get(request.path_params["project_id"])
    return JSONResponse(found) if found else error(404, "Project could not be found")


@secured
async def project_by_name(request: Request) -> Response:
    found = _project_by_name(state_of(request), request.path_params["name"])
    return JSONResponse(found) if found else error(404, "Project could not be found")


@secured
async def project_update(request: Request) -> Response:
    state = state_of(request)
    old = state.projects.get(request.path_params["project_id"])
    if old is None:
        return error(404, "Project could not be found")
    project = _project_from_body(state, await _body(request), old["id"], old["created"])
    if isinstance(project, dict):
        with state.lock:
            state.projects[old["id"]] = project
        return JSONResponse(project)
    return project


@secured
async def project_delete(request: Request) -> Response:
    state = state_of(request)
    with state.lock:
        removed = state.projects.pop(request.path_params["project_id"], None)
        if removed is not None:
            state.tasks = {k: t for k, t in state.tasks.items() if t["projectId"] != removed["id"]}
    if removed is None:
        return error(404, "Project could not be found")
    return JSONResponse({"messages": [{"success": "Project was removed successfully"}]})


@secured
async def project_tasks(request: Request) -> Response:
    state = state_of(request)
    project_id = request.path_params["project_id"]
    if project_id not in state.projects:
        return error(404, "Project could not be found")
    tasks = sorted((t for t in state.tasks.values() if t["projectId"] == project_id), key=lambda t: -t["created"])
    limit = int(request.query_params.get("limit", 1000))
    page = int(request.query_params.get("pageNumber", 0))
    headers = {"X-Total-Count": str(len(tasks))} if request.query_params.get("includeTotalCount") == "true" else None
    return JSONResponse(tasks[page * limit : (page + 1) * limit], headers=headers)


def _new_task(
    state: SandboxState, params: dict[str, Any], dataset_id: str, edit_position: list[int]
) -> dict[str, Any] | str:
    """A task object from creation parameters, or an error message."""
    task_type = state.task_types.get(str(params.get("taskTypeId")))
    if task_type is None:
        return "Selected task type doesn’t exist"
    project = _project_by_name(state, str(params.get("projectName")))
    if project is None:
        return f"Project {params.get('projectName')} could not be found"
    dataset = state.datasets.get(dataset_id)
    if dataset is None:
        return f"Dataset {dataset_id} does not exist or could not be accessed"
    experience = params.get("neededExperience") or {}
    if len(str(experience.get("domain", ""))) < 2:  # the real tasks table checks '^.{2,}$'
        return "The experience domain needs at least 2 characters"
    return {
        "id": new_object_id(),
        "projectId": project["id"],
        "projectName": project["name"],
        "team": project["teamName"],
        "type": task_type,
        "datasetName": dataset.name,
        "datasetId": dataset.id,
        "neededExperience": {"domain": experience.get("domain", ""), "value": int(experience.get("value", 0))},
        "created": int(time.time() * 1000),
        "status": {"pending": int(params.get("pendingInstances", 1)), "active": 0, "finished": 0},
        "script": None,
        "tracingTime": None,
        "creationInfo": None,
        "boundingBox": params.get("boundingBox"),
        "editPosition": list(edit_position),
        "editRotation": list(params.get("editRotation") or [0, 0, 0]),
    }


def _creation_result(results: list[dict[str, Any] | str]) -> Response:
    return JSONResponse(
        {
            "tasks": [
                {"status": 200, "success": r} if isinstance(r, dict) else {"status": 400, "error": r} for r in results
            ],
            "warnings": [],
        }
    )


@secured
async def task_create(request: Request) -> Response:
    body = await _body(request)
    if not isinstance(body, list) or not all(isinstance(p, dict) for p in body):
        return error(400, "Invalid Json format")
    state = state_of(request)
    results = []
    with state.lock:
        for params in body:
            task = _new_task(state, params, str(params.get("datasetId")), params.get("editPosition") or [0, 0, 0])
            if isinstance(task, dict):
                state.tasks[task["id"]] = task
            results.append(task)
    return _creation_result(results)


@secured
async def task_create_from_files(request: Request) -> Response:
    form = await request.form()
    try:
        params = json.loads(str(form.get("formJSON")))
    except ValueError:
        return error(400, "Missing format json")
    files = await uploaded_files(request)
    if not files:
        return error(400, "No file or file with empty content uploaded")
    state = state_of(request)
    results: list[dict[str, Any] | str] = []
    for filename, content in files:
        try:
            parsed = parse_annotation_file(filename, content)
        except ValueError as e:
            results.append(f"Couldn’t parse file: {filename}. {e}")
            continue
        dataset = resolve_dataset(request, parsed)
        if dataset is None:
            results.append(
                f"Dataset {parsed.dataset_id or parsed.dataset_name} does not exist or could not be accessed"
            )
            continue
        with state.lock:
            task = _new_task(state, params, dataset.id, list(parsed.edit_position))
            if isinstance(task, dict):
                state.tasks[task["id"]] = task
        if isinstance(task, dict):
            store_annotation(state, parsed, dataset, typ="TracingBase", task_id=task["id"])
        results.append(task)
    return _creation_result(results)


@secured
async def task_by_id(request: Request) -> Response:
    found = state_of(request).tasks.get(request.path_params["task_id"])
    return JSONResponse(found) if found else error(404, "Task could not be found")


@secured
async def task_update(request: Request) -> Response:
    state = state_of(request)
    old = state.tasks.get(request.path_params["task_id"])
    if old is None:
        return error(404, "Task could not be found")
    params = await _body(request)
    if not isinstance(params, dict):
        return error(400, "Invalid Json format")
    with state.lock:
        task = _new_task(
            state,
            params,
            str(params.get("datasetId", old["datasetId"])),
            params.get("editPosition") or old["editPosition"],
        )
        if isinstance(task, str):
            return error(400, task)
        task.update(id=old["id"], created=old["created"])
        state.tasks[old["id"]] = task
    return JSONResponse({**task, "messages": [{"success": "Task successfully edited"}]})


@secured
async def task_delete(request: Request) -> Response:
    state = state_of(request)
    with state.lock:
        removed = state.tasks.pop(request.path_params["task_id"], None)
    if removed is None:
        return error(404, "Task could not be found")
    return JSONResponse({"messages": [{"success": "Task was removed"}]})


@secured
async def task_list(request: Request) -> Response:
    return JSONResponse(list(state_of(request).tasks.values()))


@secured
async def task_annotations(request: Request) -> Response:
    state = state_of(request)
    task_id = request.path_params["task_id"]
    if task_id not in state.tasks:
        return error(404, "Task could not be found")
    annotations = [a for a in state.annotations.values() if a.task_id == task_id and a.typ == "Task"]
    return JSONResponse([readable_json(state, a) for a in annotations])


routes = [
    Route("/taskTypes", task_type_list),
    Route("/taskTypes", task_type_create, methods=["POST"]),
    Route("/taskTypes/{task_type_id}", task_type_by_id),
    Route("/taskTypes/{task_type_id}", task_type_delete, methods=["DELETE"]),
    Route("/projects", project_list),
    Route("/projects", project_create, methods=["POST"]),
    Route("/projects/byName/{name}", project_by_name),
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
]
