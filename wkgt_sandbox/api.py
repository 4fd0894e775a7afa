"""Web API routes (`/api/v{N}/...`): build info, health, users, teams, stores and datasets."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .auth import (
    User,
    can_read_dataset,
    can_read_team,
    can_read_user,
    error,
    is_authenticated,
    not_authenticated,
    request_user,
)
from .catalog import CatalogDataset
from .state import SandboxState, new_object_id

Handler = Callable[[Request], Awaitable[Response]]
OLDEST_API_VERSION = 5
OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")


def state_of(request: Request) -> SandboxState:
    return request.app.state.sandbox  # type: ignore[no-any-return]


def base_url(request: Request) -> str:
    """The sandbox's own URL as the client reached it (used as datastore and tracingstore URL)."""
    return str(request.base_url).rstrip("/")


def api_version(request: Request) -> int:
    return int(request.path_params.get("version", request.app.state.api_version))


def secured(handler: Handler) -> Handler:
    """Require a valid token (the server's SecuredAction); the handler finds its user with `identity`."""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        user = request_user(request)
        if user is None:
            return not_authenticated()
        request.state.identity = user
        return await handler(request)

    return wrapper


def identity(request: Request) -> User:
    """The user of a `secured` route's request."""
    return request.state.identity  # type: ignore[no-any-return]


def build_info_json(current: int) -> dict[str, Any]:
    return {
        "webknossos": {
            "name": "webknossos",
            "ciTag": "",
            "commitHash": "0000000000000000000000000000000000000000",
            "ciBuild": "wkgt-sandbox",
            "scalaVersion": "2.13.16",
            "version": "wkgt-sandbox",
            "sbtVersion": "1.11.7",
            "commitDate": "Thu Jan 01 00:00:00 1970 +0000",
        },
        "schemaVersion": 145,
        "httpApiVersioning": {"currentApiVersion": current, "oldestSupportedApiVersion": OLDEST_API_VERSION},
        "localDataStoreEnabled": True,
        "localTracingStoreEnabled": True,
    }


async def build_info(request: Request) -> Response:
    return JSONResponse(build_info_json(request.app.state.api_version))


async def health(request: Request) -> Response:
    return PlainTextResponse("Ok")


def datastore_url(request: Request) -> str:
    """Where clients reach the datastore: its own port when served separately, else this server."""
    return request.app.state.datastore_url or base_url(request)


def datastore_json(request: Request) -> dict[str, Any]:
    """The one datastore of the sandbox, as `/datastores` and every dataset's `dataStore` show it
    (webknossos `DataStoreService.publicWrites`). It accepts uploads (`UploadController`)."""
    return {
        "name": request.app.state.datastore_name,
        "url": datastore_url(request),
        "allowsUpload": True,
        "jobsSupportedByAvailableWorkers": [],
        "jobsEnabled": False,
    }


async def datastores(request: Request) -> Response:
    return JSONResponse([datastore_json(request)])


async def tracingstore(request: Request) -> Response:
    return JSONResponse({"name": "sandbox", "url": base_url(request)})


@secured
async def current_user(request: Request) -> Response:
    """`UserController.current`: the token's user."""
    return JSONResponse(identity(request))


@secured
async def users(request: Request) -> Response:
    """`UserController.list`: the users the caller may read (`UserDAO.readAccessQ`: oneself, members of
    teams one manages, the whole organization for admins)."""
    me = identity(request)
    return JSONResponse([u for u in state_of(request).users.values() if can_read_user(me, u)])


def _readable_user(request: Request) -> User | None:
    user = state_of(request).users.get(request.path_params["user_id"])
    return user if user is not None and can_read_user(identity(request), user) else None


@secured
async def user_by_id(request: Request) -> Response:
    """`UserController.user`: 404 unless the caller may read the user."""
    user = _readable_user(request)
    return JSONResponse(user) if user is not None else error(404, "User not found")


@secured
async def user_logged_time(request: Request) -> Response:
    """`TimeController.userLoggedTime`: the user's logged time per month (none for a new user); 404
    unless the caller may read the user."""
    user = _readable_user(request)
    if user is None:
        return error(404, "User not found")
    return JSONResponse({"loggedTime": state_of(request).logged_time.get(user["id"], [])})


@secured
async def teams(request: Request) -> Response:
    """`TeamController.list`: the teams the caller may read (`TeamDAO.readAccessQ`)."""
    me = identity(request)
    return JSONResponse([t for t in state_of(request).teams.values() if can_read_team(me, t)])


TEAM_CREATE_ONLY_ADMIN = "You do not have permission to create teams. Please ask an organization admin."
TEAM_DELETE_ONLY_ADMIN = "You do not have permission to delete teams. Please ask an organization admin."


@secured
async def team_create(request: Request) -> Response:
    """`TeamController.create`: organization admins only (403 `Msg.Team.createOnlyAdmin`)."""
    state = state_of(request)
    me = identity(request)
    try:
        name = str((await request.json())["name"])
    except (ValueError, KeyError, TypeError):
        return error(400, "Invalid Json format")
    if not me.get("isAdmin"):
        return error(403, TEAM_CREATE_ONLY_ADMIN)
    org = me["organization"]
    with state.lock:
        if any(t["name"] == name and t["organization"] == org for t in state.teams.values()):
            return error(400, "Team name is or was already in use. Please chose a different name.")
        team = {"id": new_object_id(), "name": name, "organization": org, "isOrganizationTeam": False}
        state.teams[team["id"]] = team
    return JSONResponse({**team, "messages": [{"success": "Team was created successfully"}]})


@secured
async def team_delete(request: Request) -> Response:
    """`TeamController.delete`: a team of the caller's organization (else 404), admins only (403)."""
    state = state_of(request)
    me = identity(request)
    with state.lock:
        team = state.teams.get(request.path_params["team_id"])
        if team is None or team["organization"] != me["organization"]:
            return error(404, "Team could not be found.")
        if not me.get("isAdmin"):
            return error(403, TEAM_DELETE_ONLY_ADMIN)
        if team["isOrganizationTeam"]:
            return error(400, "Team cannot be deleted as it is the organization base team")
        del state.teams[team["id"]]
    return JSONResponse({"messages": [{"success": "team.deleted"}]})


def visible(request: Request, dataset: CatalogDataset) -> bool:
    """Whether the request's user (or an anonymous one) may read the dataset (`auth.can_read_dataset`)."""
    return can_read_dataset(request_user(request), dataset)


def sharing_token_of(dataset: CatalogDataset) -> str:
    """The dataset's sharing token (webknossos `DatasetController.getSharingToken`): a stable secret
    per dataset that grants read access to it alone."""
    return hashlib.sha256(f"wkgt-sandbox-sharing/{dataset.id}".encode()).hexdigest()[:32]


def readable_with_sharing_token(request: Request, dataset: CatalogDataset) -> bool:
    """Visible to the requester, or the request carries the dataset's sharing token."""
    return visible(request, dataset) or request.query_params.get("sharingToken", request.query_params.get("token")) == sharing_token_of(dataset)


def dataset_json(request: Request, dataset: CatalogDataset) -> dict[str, Any]:
    """`GET /datasets/{id}`: the stored JSON with the sandbox's datastore."""
    out = dataset.full(datastore_url(request))
    out["dataStore"] = datastore_json(request)
    return out


def dataset_not_found(request: Request, what: str) -> Response:
    message = f"Dataset {what} does not exist or could not be accessed"
    if not is_authenticated(request):
        message += ". You may need to log in."
    return error(404, message)


def dataset_of_path(
    request: Request, readable: Callable[[Request, CatalogDataset], bool] = visible
) -> CatalogDataset | Response:
    """The dataset of the route's ``{dataset_id}``: 400 for an id that is no ObjectId (the
    server's path binder), the server's 404 when it is missing or ``readable`` says no."""
    dataset_id = request.path_params["dataset_id"]
    if not OBJECT_ID.match(dataset_id):
        return error(400, f"The passed resource id “{dataset_id}” is invalid")
    dataset = state_of(request).datasets.get(dataset_id)
    if dataset is None or not readable(request, dataset):
        return dataset_not_found(request, dataset_id)
    return dataset


async def dataset_list(request: Request) -> Response:
    q = request.query_params
    search = (q.get("searchQuery") or "").lower()
    chosen = [
        d
        for d in state_of(request).datasets.values()
        if visible(request, d)
        and ("isActive" not in q or str(d.json.get("isActive", True)).lower() == q["isActive"].lower())
        and ("organizationId" not in q or d.organization == q["organizationId"])
        and ("folderId" not in q or d.json.get("folderId") == q["folderId"])
        and search in d.name.lower()
    ]
    version = api_version(request)
    compact = version >= 16 or (version >= 13 and q.get("compact", "").lower() == "true")
    if compact:
        return JSONResponse([d.compact() for d in chosen])
    return JSONResponse([dataset_json(request, d) for d in chosen])


async def dataset_by_id(request: Request) -> Response:
    dataset = dataset_of_path(request, readable_with_sharing_token)
    if isinstance(dataset, Response):
        return dataset
    return JSONResponse(dataset_json(request, dataset))


async def dataset_disambiguate(request: Request) -> Response:
    org, directory = request.path_params["organization"], request.path_params["directory_name"]
    for d in state_of(request).datasets.values():
        if d.organization == org and d.directory_name == directory and visible(request, d):
            return JSONResponse({"id": d.id, "name": d.name, "organization": org, "directoryName": directory})
    return dataset_not_found(request, f"{org}/{directory}")


routes = [
    Route("/buildinfo", build_info),
    Route("/health", health),
    Route("/datastores", datastores),
    Route("/tracingstore", tracingstore),
    Route("/user", current_user),
    Route("/users", users),
    Route("/users/{user_id}", user_by_id),
    Route("/users/{user_id}/loggedTime", user_logged_time),
    Route("/teams", teams),
    Route("/teams", team_create, methods=["POST"]),
    Route("/teams/{team_id}", team_delete, methods=["DELETE"]),
    Route("/datasets", dataset_list),
    Route("/datasets/disambiguate/{organization}/{directory_name}/toId", dataset_disambiguate),
    Route("/datasets/{dataset_id}", dataset_by_id),
]
