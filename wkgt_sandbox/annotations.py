"""Annotation routes: upload, info, download, the readable list, finishing, cancelling, sharing, editing.

Who may read an annotation follows webknossos `app/models/annotation/Annotation.scala`
(`AnnotationDAO.readAccessQWithPrefix`; `AnnotationRestrictionDefaults.allowAccess` agrees for
explorationals): a Public one anybody, an Internal one everybody of its organization, a Private one
its owner, the team managers of its team and the organization's admins. Unreadable means 404.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .api import base_url, datastore_json, identity, secured, state_of, visible
from .auth import (
    User,
    can_read_team,
    empty_box,
    error,
    is_admin_of,
    is_team_manager_or_admin_of,
    json_body,
    managed_team_ids,
    not_allowed,
    request_user,
    team_ids,
)
from .catalog import CatalogDataset
from .nml import ParsedAnnotation, build_nml, download_file, parse_annotation_file
from .state import VISIBILITIES, SandboxState, StoredAnnotation, new_object_id, tracing_id
from .volume_mags import describe_volume_layers
from .world import user_compact

TASK_BOX_NAME = "task bounding box"
DEFAULT_LIST_LIMIT = 1000  # AnnotationService.DefaultAnnotationListLimit
NOT_FOUND = "Annotation could not be found"
NOT_FOUND_ANONYMOUS = NOT_FOUND + ". If the annotation is not public, you need to log in to see it."
# util/src/main/scala/com/scalableminds/util/Msg.scala
UPLOAD_SUCCESS = "Successfully uploaded file"
ARCHIVED = "Annotation is archived."
FINISH_FAILED = "Could not finish/archive the annotation."
CANCELLED = "This annotation is marked as cancelled and cannot be viewed."
TASK_CANCELLED = "Task annotation was successfully cancelled."
EDIT_NOT_ALLOWED = "You do not have permission to edit this annotation."
EDIT_SUCCESS = "Successfully updated the annotation."
SHARED_TEAM_FAILED = "Could not access a team during annotation shared team update."


def organization_not_found(organization: str) -> str:
    return f"Organization “{organization}” could not be found or accessed."


def dataset_not_found(dataset: str) -> str:
    return f"Dataset “{dataset}” could not be found or accessed."


# --- rules ---


def annotation_organization(state: SandboxState, a: StoredAnnotation) -> str:
    """The organization of the annotation's team (its dataset's if the team is unknown)."""
    team = state.teams.get(a.team_id or "")
    return str(team["organization"]) if team is not None else a.organization


def can_read(state: SandboxState, user: User | None, a: StoredAnnotation) -> bool:
    """`AnnotationDAO.readAccessQWithPrefix` (anonymous users: Public only)."""
    if a.visibility == "Public":
        return True
    if user is None:
        return False
    organization = annotation_organization(state, a)
    if a.visibility == "Internal" and user.get("organization") == organization:
        return True
    return (
        a.owner_id == user["id"]
        or (a.team_id is not None and a.team_id in managed_team_ids(user))
        or is_admin_of(user, organization)
    )


def is_listable(user: User, a: StoredAnnotation) -> bool:
    """`AnnotationDAO.listAccessQ`: one's own, or Public/Internal ones shared with one of one's teams."""
    if a.owner_id == user["id"]:
        return True
    return a.visibility in ("Public", "Internal") and bool(set(a.shared_team_ids) & team_ids(user))


def manages(state: SandboxState, user: User, a: StoredAnnotation) -> bool:
    """`UserService.isTeamManagerOrAdminOf(user, annotation._team)`."""
    team = state.teams.get(a.team_id or "") or {"id": a.team_id, "organization": a.organization}
    return is_team_manager_or_admin_of(user, team)


def suitable_team(state: SandboxState, user: User, dataset: CatalogDataset) -> str | None:
    """`AnnotationService.selectSuitableTeam`: the first of the dataset's allowed teams the user is in,
    else the organization's base team."""
    mine = team_ids(user)
    allowed = [t["id"] for t in dataset.json.get("allowedTeamsCumulative") or dataset.json.get("allowedTeams") or []]
    chosen = next((t for t in allowed if t in mine), None)
    if chosen is not None:
        return chosen
    return next(
        (t["id"] for t in state.teams.values() if t.get("isOrganizationTeam") and t["organization"] == user["organization"]),
        None,
    )


# --- upload ---


def known_organizations(state: SandboxState) -> set[str]:
    return (
        {d.organization for d in state.datasets.values()}
        | {str(u.get("organization")) for u in state.users.values()}
        | {str(t.get("organization")) for t in state.teams.values()}
    )


def resolve_dataset(request: Request, parsed: ParsedAnnotation) -> CatalogDataset | Response:
    """The dataset of an uploaded NML, as `AnnotationIOController.findDatasetForUploadedAnnotations`:
    the NML's organization must exist (404), the dataset must be readable by the uploader and belong
    to that organization (403 `Msg.Dataset.notFound`). NMLs without `datasetId` name the dataset in the
    NML's organization, else the uploader's."""
    state = state_of(request)
    user = request_user(request)
    if parsed.organization and parsed.organization not in known_organizations(state):
        return error(404, organization_not_found(parsed.organization))
    if parsed.dataset_id:
        found = state.datasets.get(parsed.dataset_id)
        ref = parsed.dataset_id
    else:
        org = parsed.organization or (user or {}).get("organization")
        found = next((d for d in state.datasets.values() if d.name == parsed.dataset_name and d.organization == org), None)
        ref = parsed.dataset_name
    if found is None or not visible(request, found):
        return error(403, dataset_not_found(ref))
    if parsed.organization and parsed.organization != found.organization:
        return error(403, dataset_not_found(ref))
    return found


def store_annotation(
    state: SandboxState,
    parsed: ParsedAnnotation,
    dataset: CatalogDataset,
    owner: User,
    *,
    typ: str = "Explorational",
    task_id: str | None = None,
    team_id: str | None = None,
) -> StoredAnnotation:
    """Keep an uploaded annotation; like the server, an explorational upload turns the task
    bounding box into a user bounding box named "task bounding box"."""
    boxes = list(parsed.user_bounding_boxes)
    if parsed.task_bounding_box is not None and typ == "Explorational":
        boxes.append({**parsed.task_bounding_box, "id": len(boxes), "name": TASK_BOX_NAME})
    annotation_id = new_object_id()
    common: dict[str, Any] = {
        "annotation_id": annotation_id,
        "dataset_id": dataset.id,
        "organization": dataset.organization,
        "owner_name": f"{owner['firstName']} {owner['lastName']}",
        "user_bounding_boxes": boxes,
    }
    stored = StoredAnnotation(
        id=annotation_id,
        name=parsed.name,
        description=parsed.description,
        dataset_id=dataset.id,
        dataset_name=dataset.name,
        organization=dataset.organization,
        owner_id=owner["id"],
        user_bounding_boxes=boxes,
        volume_layers=describe_volume_layers(  # the tracing store's mags and box (volume_mags.py)
            annotation_id,
            parsed.volume_layers,
            dataset,
            parsed.task_bounding_box,
            ((state.tasks.get(task_id) or {}).get("type") or {}).get("settings", {}).get("magRestrictions"),
        ),
        edit_position=parsed.edit_position,
        nml=build_nml(parsed, with_volume_data=True, **common),
        nml_without_volume_data=build_nml(parsed, with_volume_data=False, **common),
        volume_data=parsed.volume_data,
        created=int(time.time() * 1000),
        typ=typ,
        task_id=task_id,
        team_id=team_id or suitable_team(state, owner, dataset),
    )
    with state.lock:
        state.annotations[stored.id] = stored
    return stored


async def uploaded_files(request: Request) -> tuple[list[tuple[str, bytes]], dict[str, str]]:
    """(filename, content) of every file part of a multipart request, and its plain form fields."""
    form = await request.form()
    files, fields = [], {}
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            files.append((value.filename or "upload.nml", await value.read()))
        else:
            fields.setdefault(key, str(value))
    return files, fields


def server_error() -> Response:
    """Play's answer to an exception in an action (DefaultHttpErrorHandler.onServerError)."""
    return HTMLResponse("<h1>Internal server error</h1>", status_code=500)


@secured
async def upload(request: Request) -> Response:
    """`AnnotationIOController.upload`: the form field `createGroupForEachFile` is read with
    `dataParts("createGroupForEachFile")`, so a request without it fails (500); then the dataset rules
    of `resolve_dataset`. Answer: {"annotation": {"typ", "id"}, "messages": [{"success": ...}]}."""
    files, fields = await uploaded_files(request)
    if "createGroupForEachFile" not in fields:
        return server_error()
    if not files or not files[0][1]:
        return error(400, "No file or file with empty content uploaded")
    filename, content = files[0]
    try:
        parsed = parse_annotation_file(filename, content)
    except ValueError as e:
        return error(400, f"Couldn’t parse file: {filename}. {e}")
    dataset = resolve_dataset(request, parsed)
    if isinstance(dataset, Response):
        return dataset
    stored = store_annotation(state_of(request), parsed, dataset, identity(request))
    return JSONResponse(
        {"annotation": {"typ": stored.typ, "id": stored.id}, "messages": [{"success": UPLOAD_SUCCESS}]}
    )


# --- JSON views ---


def layers_json(a: StoredAnnotation) -> list[dict[str, Any]]:
    stats = a.recorded_layer_stats
    layers = [{"tracingId": tracing_id(a.id, "skeleton"), "typ": "Skeleton", "name": "Skeleton", "stats": stats.get("Skeleton", {})}]
    for v in a.volume_layers:
        layers.append({"tracingId": tracing_id(a.id, str(v["id"])), "typ": "Volume", "name": v["name"], "stats": stats.get(v["name"], {})})
    return layers


def _tags(a: StoredAnnotation) -> list[str]:
    """The annotation's tags plus its dataset name and tracing type (a Scala Set: no duplicates)."""
    out: list[str] = []
    for tag in [*a.tags, a.dataset_name, "hybrid" if a.volume_layers else "skeleton"]:
        if tag not in out:
            out.append(tag)
    return out


def _teams_json(state: SandboxState, a: StoredAnnotation) -> list[dict[str, Any]]:
    teams = [state.teams[t] for t in a.shared_team_ids if t in state.teams]
    return [{"id": t["id"], "name": t["name"], "organizationId": t["organization"]} for t in teams]


def readable_json(state: SandboxState, a: StoredAnnotation) -> dict[str, Any]:
    """An entry of `/annotations/readable`: exactly the keys of `AnnotationService.writeCompactInfo`."""
    owner = state.users.get(a.owner_id) or {"id": a.owner_id, "firstName": "", "lastName": ""}
    return {
        "modified": a.modified_ms,
        "state": a.state,
        "id": a.id,
        "name": a.name,
        "description": a.description,
        "typ": a.typ,
        "stats": {},
        "isLockedByOwner": a.is_locked_by_owner,
        "annotationLayers": layers_json(a),
        "dataSetName": a.dataset_name,
        "organization": a.organization,
        "visibility": a.visibility,
        "tracingTime": a.tracing_time,
        "teams": _teams_json(state, a),
        "tags": _tags(a),
        "owner": {"id": owner["id"], "firstName": owner["firstName"], "lastName": owner["lastName"]},
        "othersMayEdit": a.others_may_edit,
    }


def _restrictions(state: SandboxState, user: User | None, a: StoredAnnotation) -> dict[str, bool]:
    """`AnnotationRestrictionDefaults.defaultsFor`, written by `AnnotationRestrictions.writeAsJson`."""
    access = can_read(state, user, a)
    mutable = a.state != "Finished" and not a.is_locked_by_owner
    owner = user is not None and a.owner_id == user["id"]
    finish = user is not None and (owner or manages(state, user, a)) and mutable
    return {"allowAccess": access, "allowUpdate": owner and mutable, "allowFinish": finish, "allowDownload": access}


def info_json(request: Request, a: StoredAnnotation) -> dict[str, Any]:
    """The answer of `/annotations/{id}/info` (AnnotationService.publicWrites)."""
    state = state_of(request)
    owner = user_compact(state.users[a.owner_id]) if a.owner_id in state.users else None
    task = state.tasks.get(a.task_id) if a.task_id else None
    settings = (task or {}).get("type", {}).get("settings") or {
        "allowedModes": ["orthogonal", "oblique", "flight"],
        "branchPointsAllowed": True,
        "somaClickingAllowed": True,
        "volumeInterpolationAllowed": True,
        "mergerMode": False,
        "magRestrictions": {},
    }
    return {
        "modified": a.modified_ms,
        "state": a.state,
        "isLockedByOwner": a.is_locked_by_owner,
        "id": a.id,
        "name": a.name,
        "description": a.description,
        "viewConfiguration": None,
        "typ": a.typ,
        "task": None if task is None else {k: v for k, v in task.items() if not k.startswith("_")},
        "stats": {},
        "restrictions": _restrictions(state, request_user(request), a),
        "annotationLayers": layers_json(a),
        "datasetId": a.dataset_id,
        "dataSetName": a.dataset_name,
        "organization": a.organization,
        "dataStore": datastore_json(request),
        "tracingStore": {"name": "sandbox", "url": base_url(request)},
        "visibility": a.visibility,
        "settings": settings,
        "tracingTime": a.tracing_time,
        "teams": _teams_json(state, a),
        "tags": _tags(a),
        "user": owner,
        "owner": owner,
        "contributors": [],
        "othersMayEdit": a.others_may_edit,
    }


# --- reading ---


def find_readable(request: Request) -> StoredAnnotation | Response:
    """`AnnotationInformationProvider.provideAnnotation`: the annotation if the caller may read it, else 404."""
    state = state_of(request)
    user = request_user(request)
    annotation = state.annotations.get(request.path_params["annotation_id"])
    if annotation is None or not can_read(state, user, annotation):
        return error(404, NOT_FOUND if user is not None else NOT_FOUND_ANONYMOUS)
    typ = request.path_params.get("typ")
    if typ is not None and typ != annotation.typ:
        return error(404, NOT_FOUND)
    return annotation


async def info(request: Request) -> Response:
    """`AnnotationController.infoWithoutType` (UserAwareAction): 404 unless readable; a cancelled one 400."""
    found = find_readable(request)
    if isinstance(found, Response):
        return found
    if found.state == "Cancelled":
        return error(400, CANCELLED)
    return JSONResponse(info_json(request, found))


async def download(request: Request) -> Response:
    """`AnnotationIOController.downloadWithoutType` (UserAwareAction): 404 unless readable."""
    found = find_readable(request)
    if isinstance(found, Response):
        return found
    skip = request.query_params.get("skipVolumeData", "false").lower() == "true"
    filename, body = download_file(
        found.name or default_name(state_of(request), found),
        found.nml_without_volume_data if skip else found.nml,
        None if skip else found.volume_data,
        found.volume_layers,
    )
    media_type = "application/zip" if filename.endswith(".zip") else "application/xml"
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment;filename="{filename}"'})


def default_name(state: SandboxState, a: StoredAnnotation) -> str:
    """`SavedTracingInformationHandler.nameForAnnotation` of an unnamed annotation:
    `{dataset}__{typ}__{first initial + last name}__{last 6 id characters}`."""
    owner = state.users.get(a.owner_id) or {"firstName": "", "lastName": ""}
    user = (owner["firstName"][:1] + owner["lastName"]).lower()
    return f"{a.dataset_name}__{a.typ.lower()}__{user}__{a.id[-6:]}"


def _bool_param(request: Request, name: str) -> bool | None | Response:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if raw.lower() not in ("true", "false"):
        return error(400, f"Cannot parse parameter {name} as Boolean: should be true, false, 0 or 1")
    return raw.lower() == "true"


def _int_param(request: Request, name: str, default: int) -> int | Response:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        return error(400, f"Cannot parse parameter {name} as Int: For input string: \"{raw}\"")


def state_matches(state: str, is_finished: bool | None) -> bool:
    """`AnnotationDAO.getStateQuery`: true → Finished, false → Active, none → everything but Cancelled."""
    if is_finished is None:
        return state != "Cancelled"
    return state == ("Finished" if is_finished else "Active")


def _list_params(request: Request) -> tuple[bool | None, int, int, bool] | Response:
    """`isFinished`, `limit` (default 1000), `pageNumber` (default 0), `includeTotalCount` of a list route,
    or Play's 400 for a value it cannot parse."""
    values = [
        _bool_param(request, "isFinished"),
        _int_param(request, "limit", DEFAULT_LIST_LIMIT),
        _int_param(request, "pageNumber", 0),
        _bool_param(request, "includeTotalCount"),
    ]
    bad = next((v for v in values if isinstance(v, Response)), None)
    if bad is not None:
        return bad
    is_finished, limit, page, with_count = values
    return is_finished, int(limit or 0), int(page or 0), bool(with_count)  # type: ignore[arg-type]


@secured
async def readable(request: Request) -> Response:
    """`AnnotationController.listExplorationals` (`AnnotationDAO.findAllListableExplorationals` with
    `filterOwnedOrShared`): the caller's own explorationals and the Public/Internal ones shared with one
    of the caller's teams, not cancelled (or filtered by `isFinished`), newest first (`ORDER BY _id DESC`),
    `limit` (default 1000) per `pageNumber`; `includeTotalCount=true` adds `X-Total-Count`. The page joins
    the (not deleted) datasets before its LIMIT, so an annotation of a deleted dataset takes no place in
    it; `countAllListableExplorationals` joins nothing and still counts it."""
    params = _list_params(request)
    if isinstance(params, Response):
        return params
    is_finished, limit, page, with_count = params
    state = state_of(request)
    me = identity(request)
    with state.lock:
        listed = [
            a
            for a in state.annotations.values()
            if a.typ == "Explorational" and state_matches(a.state, is_finished) and is_listable(me, a)
        ]
        listed.sort(key=lambda a: a.id, reverse=True)
        with_dataset = [a for a in listed if a.dataset_id in state.datasets]
        entries = [readable_json(state, a) for a in with_dataset[page * limit : (page + 1) * limit]]
    headers = {"X-Total-Count": str(len(listed))} if with_count else None
    return JSONResponse(entries, headers=headers)


# --- changing ---


@secured
async def finish(request: Request) -> Response:
    """`AnnotationController.finish` (`AnnotationService.finish`, `allowFinishSoft`): its owner, or a team
    manager of its team or an organization admin, archives an Active annotation (Finished stays
    Finished); otherwise 400 `Msg.Annotation.finishFailed`. `timestamp` is a required parameter."""
    if "timestamp" not in request.query_params:
        return error(400, "Missing parameter: timestamp")
    found = find_readable(request)
    if isinstance(found, Response):
        return found
    state = state_of(request)
    me = identity(request)
    allowed = (found.owner_id == me["id"] or manages(state, me, found)) and not found.is_locked_by_owner
    if not allowed or found.state not in ("Active", "Finished"):
        return error(400, FINISH_FAILED)
    with state.lock:
        if found.state == "Active":
            found.state = "Finished"
            found.modified = int(time.time() * 1000)
    message = ARCHIVED if found.task_id is None else "Task is finished."
    return JSONResponse({**info_json(request, found), "messages": [{"success": message}]})


@secured
async def cancel(request: Request) -> Response:
    """`AnnotationController.cancelWithoutType`: team managers of the annotation's team and
    organization admins only (others get the 404 of a failed `Fox.assertTrue`, owners too). A task
    annotation becomes Cancelled; an explorational one stays as it is ("Annotation is archived.")."""
    found = find_readable(request)
    if isinstance(found, Response):
        return found
    state = state_of(request)
    if not manages(state, identity(request), found):
        return empty_box()
    if found.typ == "Task" and found.task_id is not None:
        with state.lock:
            found.state = "Cancelled"
        return JSONResponse({"messages": [{"success": TASK_CANCELLED}]})
    return JSONResponse({"messages": [{"success": ARCHIVED}]})


@secured
async def edit(request: Request) -> Response:
    """`AnnotationController.editAnnotation`: `allowUpdate` (the owner, while not finished or locked),
    else 403 `Msg.Annotation.Edit.notAllowed`; sets name, visibility (Private drops the shared teams), tags."""
    found = find_readable(request)
    if isinstance(found, Response):
        return found
    state = state_of(request)
    body = await json_body(request)
    if not isinstance(body, dict):
        return error(400, "Invalid Json format")
    if not _restrictions(state, identity(request), found)["allowUpdate"]:
        return error(403, EDIT_NOT_ALLOWED)
    visibility = body.get("visibility")
    with state.lock:
        if isinstance(body.get("name"), str):
            found.name = body["name"]
        if visibility in VISIBILITIES:
            found.visibility = visibility
            if visibility == "Private":
                found.shared_team_ids = []
        if isinstance(body.get("tags"), list):
            found.tags = [str(t) for t in body["tags"]]
    return JSONResponse({"messages": [{"success": EDIT_SUCCESS}]})


def _team_json(team: dict[str, Any]) -> dict[str, Any]:
    return {"id": team["id"], "name": team["name"], "organization": team["organization"]}


@secured
async def shared_teams(request: Request) -> Response:
    """`AnnotationController.getSharedTeams`: the owner only (403 `Msg.notAllowed`)."""
    found = find_readable(request)
    if isinstance(found, Response):
        return found
    if found.owner_id != identity(request)["id"]:
        return not_allowed()
    state = state_of(request)
    return JSONResponse([_team_json(state.teams[t]) for t in found.shared_team_ids if t in state.teams])


@secured
async def update_shared_teams(request: Request) -> Response:
    """`AnnotationController.updateSharedTeams`: the owner of a non-Private annotation (else 403) shares
    it with the teams of the body's id list (each readable by the owner, else 400)."""
    found = find_readable(request)
    if isinstance(found, Response):
        return found
    me = identity(request)
    if found.owner_id != me["id"] or found.visibility == "Private":
        return not_allowed()
    body = await json_body(request)
    if not isinstance(body, list) or not all(isinstance(t, str) for t in body):
        return error(400, "Invalid Json format")
    state = state_of(request)
    if not all(t in state.teams and can_read_team(me, state.teams[t]) for t in body):
        return error(400, SHARED_TEAM_FAILED)
    with state.lock:
        found.shared_team_ids = list(dict.fromkeys(body))
    return JSONResponse(found.shared_team_ids)


routes = [
    Route("/annotations/upload", upload, methods=["POST"]),
    Route("/annotations/readable", readable),
    Route("/annotations/{annotation_id}/info", info),
    Route("/annotations/{annotation_id}/download", download),
    Route("/annotations/{annotation_id}", cancel, methods=["DELETE"]),
    Route("/annotations/{typ}/{annotation_id}/finish", finish, methods=["PATCH"]),
    Route("/annotations/{typ}/{annotation_id}/edit", edit, methods=["PATCH"]),
    Route("/annotations/{typ}/{annotation_id}/sharedTeams", shared_teams),
    Route("/annotations/{typ}/{annotation_id}/sharedTeams", update_shared_teams, methods=["PATCH"]),
]
