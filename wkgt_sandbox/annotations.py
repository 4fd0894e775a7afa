"""Annotation routes: upload, info, download and the readable list."""

from __future__ import annotations

import time
import uuid
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .api import base_url, datastore_json, secured, state_of, visible
from .auth import error, is_authenticated
from .catalog import CatalogDataset
from .nml import ParsedAnnotation, build_nml, download_file, parse_annotation_file
from .state import SandboxState, StoredAnnotation, new_object_id
from .volume_mags import describe_volume_layers
from .world import user_compact

TASK_BOX_NAME = "task bounding box"


def resolve_dataset(request: Request, parsed: ParsedAnnotation) -> CatalogDataset | None:
    """The dataset an NML refers to: by `datasetId`, else by name (and organization)."""
    state = state_of(request)
    if parsed.dataset_id:
        found = state.datasets.get(parsed.dataset_id)
        return found if found is not None and visible(request, found) else None
    org = parsed.organization or state.current_user["organization"]
    return next(
        (
            d
            for d in state.datasets.values()
            if d.name == parsed.dataset_name and d.organization == org and visible(request, d)
        ),
        None,
    )


def store_annotation(
    state: SandboxState,
    parsed: ParsedAnnotation,
    dataset: CatalogDataset,
    *,
    typ: str = "Explorational",
    task_id: str | None = None,
) -> StoredAnnotation:
    """Keep an uploaded annotation; like the server, an explorational upload turns the task
    bounding box into a user bounding box named "task bounding box"."""
    boxes = list(parsed.user_bounding_boxes)
    if parsed.task_bounding_box is not None and typ == "Explorational":
        boxes.append({**parsed.task_bounding_box, "id": len(boxes), "name": TASK_BOX_NAME})
    user = state.current_user
    annotation_id = new_object_id()
    common: dict[str, Any] = {
        "annotation_id": annotation_id,
        "dataset_id": dataset.id,
        "organization": dataset.organization,
        "owner_name": f"{user['firstName']} {user['lastName']}",
        "user_bounding_boxes": boxes,
    }
    stored = StoredAnnotation(
        id=annotation_id,
        name=parsed.name,
        description=parsed.description,
        dataset_id=dataset.id,
        dataset_name=dataset.name,
        organization=dataset.organization,
        owner_id=user["id"],
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
    )
    with state.lock:
        state.annotations[stored.id] = stored
    return stored


async def uploaded_files(request: Request) -> list[tuple[str, bytes]]:
    """(filename, content) of every file part of a multipart request."""
    form = await request.form()
    out = []
    for _, value in form.multi_items():
        if isinstance(value, UploadFile):
            out.append((value.filename or "upload.nml", await value.read()))
    return out


@secured
async def upload(request: Request) -> Response:
    files = await uploaded_files(request)
    if not files or not files[0][1]:
        return error(400, "No file or file with empty content uploaded")
    filename, content = files[0]
    try:
        parsed = parse_annotation_file(filename, content)
    except ValueError as e:
        return error(400, f"Couldn’t parse file: {filename}. {e}")
    dataset = resolve_dataset(request, parsed)
    if dataset is None:
        return error(404, f"Dataset {parsed.dataset_id or parsed.dataset_name} does not exist or could not be accessed")
    stored = store_annotation(state_of(request), parsed, dataset)
    return JSONResponse(
        {"annotation": {"typ": stored.typ, "id": stored.id}, "messages": [{"success": "Successfully uploaded file"}]}
    )


def _layers(a: StoredAnnotation) -> list[dict[str, Any]]:
    layers = [
        {
            "tracingId": str(uuid.uuid5(uuid.NAMESPACE_OID, a.id + "/skeleton")),
            "typ": "Skeleton",
            "name": "Skeleton",
            "stats": {},
        }
    ]
    for v in a.volume_layers:
        tracing_id = str(uuid.uuid5(uuid.NAMESPACE_OID, f"{a.id}/{v['id']}"))
        layers.append({"tracingId": tracing_id, "typ": "Volume", "name": v["name"], "stats": {}})
    return layers


def _tags(a: StoredAnnotation) -> list[str]:
    return [a.dataset_name, "hybrid" if a.volume_layers else "skeleton"]


def readable_json(state: SandboxState, a: StoredAnnotation) -> dict[str, Any]:
    """An entry of `/annotations/readable`."""
    owner = state.users[a.owner_id]
    return {
        "modified": a.created,
        "state": "Active",
        "id": a.id,
        "name": a.name,
        "description": a.description,
        "typ": a.typ,
        "stats": {},
        "isLockedByOwner": False,
        "annotationLayers": _layers(a),
        "dataSetName": a.dataset_name,
        "organization": a.organization,
        "visibility": "Internal",
        "tracingTime": 0,
        "teams": [],
        "tags": _tags(a),
        "owner": {"id": owner["id"], "firstName": owner["firstName"], "lastName": owner["lastName"]},
        "othersMayEdit": False,
    }


def info_json(request: Request, a: StoredAnnotation) -> dict[str, Any]:
    """The answer of `/annotations/{id}/info`."""
    state = state_of(request)
    owner = user_compact(state.users[a.owner_id])
    task = state.tasks.get(a.task_id) if a.task_id else None
    return {
        "modified": a.created,
        "state": "Active",
        "isLockedByOwner": False,
        "id": a.id,
        "name": a.name,
        "description": a.description,
        "viewConfiguration": None,
        "typ": a.typ,
        "task": task,
        "stats": {},
        "restrictions": {"allowAccess": True, "allowUpdate": True, "allowFinish": True, "allowDownload": True},
        "annotationLayers": _layers(a),
        "datasetId": a.dataset_id,
        "dataSetName": a.dataset_name,
        "organization": a.organization,
        "dataStore": datastore_json(request),
        "tracingStore": {"name": "sandbox", "url": base_url(request)},
        "visibility": "Internal",
        "settings": {
            "allowedModes": ["orthogonal", "oblique", "flight"],
            "branchPointsAllowed": True,
            "somaClickingAllowed": True,
            "volumeInterpolationAllowed": True,
            "mergerMode": False,
            "magRestrictions": {},
        },
        "tracingTime": None,
        "teams": [],
        "tags": _tags(a),
        "user": owner,
        "owner": owner,
        "contributors": [],
        "othersMayEdit": False,
    }


def _find(request: Request) -> StoredAnnotation | Response:
    annotation = state_of(request).annotations.get(request.path_params["annotation_id"])
    if annotation is None or not is_authenticated(request):
        suffix = "" if is_authenticated(request) else ". If the annotation is not public, you need to log in to see it."
        return error(404, "Annotation could not be found" + suffix)
    return annotation


async def info(request: Request) -> Response:
    found = _find(request)
    return found if isinstance(found, Response) else JSONResponse(info_json(request, found))


async def download(request: Request) -> Response:
    found = _find(request)
    if isinstance(found, Response):
        return found
    skip = request.query_params.get("skipVolumeData", "false").lower() == "true"
    filename, body = download_file(
        found.name,
        found.nml_without_volume_data if skip else found.nml,
        None if skip else found.volume_data,
        found.volume_layers,
    )
    media_type = "application/zip" if filename.endswith(".zip") else "application/xml"
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment;filename="{filename}"'})


@secured
async def readable(request: Request) -> Response:
    state = state_of(request)
    finished = request.query_params.get("isFinished", "").lower() == "true"
    listed = (
        []
        if finished
        else [readable_json(state, a) for a in state.annotations.values() if a.owner_id == state.current_user_id]
    )
    return JSONResponse(sorted(listed, key=lambda a: -a["modified"]))


routes = [
    Route("/annotations/upload", upload, methods=["POST"]),
    Route("/annotations/readable", readable),
    Route("/annotations/{annotation_id}/info", info),
    Route("/annotations/{annotation_id}/download", download),
]
