"""Dataset folders (`/api/v{N}/folders/...`), after webknossos `app/controllers/FolderController.scala`.

Each organization has a root folder (named after the organization) that cannot be moved or deleted;
folder names are unique among siblings (`folder.name.notUniqueInFolder`); a folder is deleted only
when it holds no subfolders and no datasets (`FolderController.delete`). All routes need a user.
A folder of another organization is readable (`GET /folders/{id}`) when it holds a dataset the user
can read, or is an ancestor of one that does (`FolderDAO.rawAccessQ`, "breadcrumbs for dataset");
every other route sees the user's own organization only.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .api import OBJECT_ID, identity, secured, state_of
from .auth import can_read_dataset, error
from .state import SandboxState, new_object_id

NOT_FOUND = "Folder could not be found."
NAME_TAKEN = "A folder with this name already exists in this folder."


def root_folder(state: SandboxState, organization: str) -> dict[str, Any]:
    """The organization's root folder; made on first use with the id its datasets point to."""
    with state.lock:
        for folder in state.folders.values():
            if folder["organization"] == organization and folder["parent"] is None:
                return folder
        used = Counter(d.json.get("folderId") for d in state.datasets.values() if d.organization == organization)
        used.pop(None, None)
        folder_id = used.most_common(1)[0][0] if used else hashlib.sha256(organization.encode()).hexdigest()[:24]
        root = {"id": folder_id, "name": organization, "parent": None, "organization": organization, "metadata": [], "allowedTeams": []}
        state.folders[folder_id] = root
        return root


def _public(state: SandboxState, folder: dict[str, Any], *, editable: bool = True) -> dict[str, Any]:
    """`FolderService.publicWrites` (``isEditable``: `FolderDAO.isEditable`, false for another organization's)."""
    teams = [state.teams[t] for t in folder["allowedTeams"] if t in state.teams]
    cumulative = list(teams)
    parent = state.folders.get(folder["parent"] or "")
    while parent is not None:
        cumulative += [state.teams[t] for t in parent["allowedTeams"] if t in state.teams and state.teams[t] not in cumulative]
        parent = state.folders.get(parent["parent"] or "")
    return {
        "id": folder["id"],
        "name": folder["name"],
        "metadata": folder["metadata"],
        "allowedTeams": teams,
        "allowedTeamsCumulative": cumulative,
        "isEditable": editable,
    }


def _with_parent(folder: dict[str, Any]) -> dict[str, Any]:
    """`FolderService.publicWritesWithParent`."""
    return {"id": folder["id"], "name": folder["name"], "parent": folder["parent"], "metadata": folder["metadata"], "isEditable": True}


def _organization(request: Request) -> str:
    return str(identity(request)["organization"])


def _folder(request: Request, folder_id: str, *, read: bool = False) -> dict[str, Any] | Response:
    """The folder of the user's organization (``read``: or above a dataset the user can read)."""
    state = state_of(request)
    root_folder(state, _organization(request))
    if not OBJECT_ID.match(folder_id):
        return error(400, f"The passed resource id “{folder_id}” is invalid")
    folder = state.folders.get(folder_id)
    if folder is not None and folder["organization"] == _organization(request):
        return folder
    if read and _above_a_readable_dataset(state, identity(request), folder_id):
        return state.folders[folder_id]
    return error(404, NOT_FOUND)


def _above_a_readable_dataset(state: SandboxState, user: Any, folder_id: str) -> bool:
    """`FolderDAO.rawAccessQ`, breadcrumbs for a dataset: ``folder_id`` holds, or is an ancestor of
    the folder holding, a dataset of another organization that ``user`` can read (e.g. a public one)."""
    with state.lock:
        for dataset in list(state.datasets.values()):
            if dataset.organization == user["organization"] or not can_read_dataset(user, dataset):
                continue
            root_folder(state, dataset.organization)
            folder = state.folders.get(dataset.json.get("folderId") or "")
            while folder is not None:
                if folder["id"] == folder_id:
                    return True
                folder = state.folders.get(folder["parent"] or "")
    return False


def _name_taken(state: SandboxState, name: str, parent: str, except_id: str = "") -> bool:
    return any(f["parent"] == parent and f["name"] == name and f["id"] != except_id for f in state.folders.values())


@secured
async def get_root(request: Request) -> Response:
    state = state_of(request)
    return JSONResponse(_public(state, root_folder(state, _organization(request))))


@secured
async def get_folder(request: Request) -> Response:
    found = _folder(request, request.path_params["folder_id"], read=True)
    if isinstance(found, Response):
        return found
    return JSONResponse(_public(state_of(request), found, editable=found["organization"] == _organization(request)))


@secured
async def get_tree(request: Request) -> Response:
    state = state_of(request)
    root = root_folder(state, _organization(request))
    tree, frontier = [root], [root["id"]]
    while frontier:
        children = [f for f in state.folders.values() if f["parent"] in frontier]
        tree += children
        frontier = [f["id"] for f in children]
    return JSONResponse([_with_parent(f) for f in tree])


@secured
async def create(request: Request) -> Response:
    state = state_of(request)
    parent = _folder(request, request.query_params.get("parentId", ""))
    if isinstance(parent, Response):
        return parent
    name = request.query_params.get("name", "")
    if not name:
        return error(400, "Missing parameter for name")
    with state.lock:
        if _name_taken(state, name, parent["id"]):
            return error(400, NAME_TAKEN)
        folder = {"id": new_object_id(), "name": name, "parent": parent["id"], "organization": parent["organization"], "metadata": [], "allowedTeams": []}
        state.folders[folder["id"]] = folder
    return JSONResponse(_public(state, folder))


@secured
async def update(request: Request) -> Response:
    """`FolderController.update`: name, allowed teams (ids) and metadata."""
    state = state_of(request)
    found = _folder(request, request.path_params["folder_id"])
    if isinstance(found, Response):
        return found
    try:
        body = await request.json()
        name = str(body["name"])
        teams = [t["id"] if isinstance(t, dict) else str(t) for t in body.get("allowedTeams", [])]
    except (ValueError, KeyError, TypeError):
        return error(400, "Invalid Json format")
    with state.lock:
        if found["parent"] is not None and _name_taken(state, name, found["parent"], found["id"]):
            return error(400, NAME_TAKEN)
        found["name"] = name
        found["allowedTeams"] = [t for t in teams if t in state.teams]
        if body.get("metadata") is not None:
            found["metadata"] = body["metadata"]
    return JSONResponse(_public(state, found))


@secured
async def move(request: Request) -> Response:
    state = state_of(request)
    found = _folder(request, request.path_params["folder_id"])
    if isinstance(found, Response):
        return found
    if found["parent"] is None:
        return error(400, "The root folder cannot be moved.")
    target = _folder(request, request.query_params.get("newParentId", ""))
    if isinstance(target, Response):
        return target
    with state.lock:
        ancestor: dict[str, Any] | None = target
        while ancestor is not None:
            if ancestor["id"] == found["id"]:
                return error(400, "A folder cannot be moved into itself.")
            ancestor = state.folders.get(ancestor["parent"] or "")
        if _name_taken(state, found["name"], target["id"], found["id"]):
            return error(400, NAME_TAKEN)
        found["parent"] = target["id"]
    return JSONResponse(_public(state, found))


@secured
async def delete(request: Request) -> Response:
    state = state_of(request)
    found = _folder(request, request.path_params["folder_id"])
    if isinstance(found, Response):
        return found
    with state.lock:
        if found["parent"] is None:
            return error(400, "The root folder cannot be deleted.")
        if any(f["parent"] == found["id"] for f in state.folders.values()):
            return error(400, "Folder cannot be deleted because it contains subfolders.")
        if any(d.json.get("folderId") == found["id"] for d in state.datasets.values()):
            return error(400, "Folder cannot be deleted because it contains datasets.")
        del state.folders[found["id"]]
    return Response(status_code=200)


routes = [
    Route("/folders/root", get_root),
    Route("/folders/tree", get_tree),
    Route("/folders/create", create, methods=["POST"]),
    Route("/folders/{folder_id}", get_folder),
    Route("/folders/{folder_id}", update, methods=["PUT"]),
    Route("/folders/{folder_id}", delete, methods=["DELETE"]),
    Route("/folders/{folder_id}/move", move, methods=["PUT"]),
]
