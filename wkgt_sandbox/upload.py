"""Dataset upload to the datastore, after webknossos-datastore `controllers/DataSourceController.scala`
(`reserveUpload`, `uploadChunk`, `finishUpload`) and `services/uploading/UploadService.scala`.

    POST /data/v{N}/datasets/upload/dataset/reserveUpload   {resumableUploadInfo: {uploadId, totalFileCount, ...},
                                                            datasetName, organizationId, folderId, ...}   (v14+)
    POST /data/v{N}/datasets/reserveUpload                  {uploadId, name, organization, totalFileCount, ...} (≤ v13)
    POST /data/v{N}/datasets/upload/dataset  and  POST /data/datasets (≤ v13)
                                                            resumable.js chunks (multipart: fields + "file")
    POST /data/v{N}/datasets/upload/dataset/finishUpload?uploadId=...   → {"datasetId": ...}
    POST /data/v{N}/datasets/finishUpload {uploadId}                    → {"newDatasetId": ...} (≤ v13)

Rules: uploads need a user of the target organization; chunk paths must stay inside the upload; a
chunk of an unreserved upload is 400; finishing needs every announced file and a readable
`datasource-properties.json`. The new dataset gets the directory name `{name}-{id}` and absolute mag
and attachment paths inside the datastore's folder (as the real server reports them), and serves the
uploaded voxels.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .api import is_authenticated, not_authenticated, state_of
from .auth import error, json_object, request_user
from .catalog import CatalogDataset
from .folders import root_folder
from .imagedata import DTYPES, LocalDatasetVoxels, NoData, mag_literal
from .state import new_object_id


def upload_root(request: Request) -> Path:
    """The datastore's folder for uploads (one temporary folder per app, removed with it)."""
    app_state = request.app.state
    if getattr(app_state, "upload_root", None) is None:
        folder = Path(tempfile.mkdtemp(prefix="wkgt-sandbox-datastore-"))
        weakref.finalize(request.app, shutil.rmtree, folder, True)
        app_state.upload_root = folder
        app_state.pending_uploads = {}
    return app_state.upload_root  # type: ignore[no-any-return]


def properties_folder(request: Request, dataset_id: str) -> Path:
    """Where the sandbox describes a dataset's layers that it serves from their mags' paths."""
    return upload_root(request) / "properties" / dataset_id


def _pending(request: Request) -> dict[str, dict[str, Any]]:
    upload_root(request)
    return request.app.state.pending_uploads  # type: ignore[no-any-return]


def _reserve(request: Request, upload_id: str, name: str, organization: str, total_files: int, folder_id: str | None) -> Response:
    state = state_of(request)
    user = request_user(request)
    if user is None or organization != user["organization"]:
        return error(403, "Access denied: you may only upload to your own organization")
    if not upload_id or "/" in upload_id or upload_id.startswith("."):
        return error(400, "Invalid upload id")
    if folder_id is not None and folder_id not in state.folders:
        return error(404, "Folder could not be found.")
    _pending(request)[upload_id] = {"name": name, "organization": organization, "totalFileCount": total_files, "folderId": folder_id, "files": set()}
    return Response(status_code=200)


async def reserve_upload(request: Request) -> Response:
    """`DataSourceController.reserveUpload` (v14+ body)."""
    if not is_authenticated(request):
        return not_authenticated()
    body = await json_object(request)
    try:
        info = body["resumableUploadInfo"]  # type: ignore[index]
        return _reserve(request, str(info["uploadId"]), str(body["datasetName"]), str(body["organizationId"]), int(info["totalFileCount"]), body.get("folderId"))  # type: ignore[index,union-attr]
    except (KeyError, TypeError, ValueError):
        return error(400, "Invalid Json format")


async def reserve_upload_v13(request: Request) -> Response:
    """`DataSourceController.reserveUpload` (API ≤ 13 body)."""
    if not is_authenticated(request):
        return not_authenticated()
    body = await json_object(request)
    try:
        return _reserve(request, str(body["uploadId"]), str(body["name"]), str(body["organization"]), int(body["totalFileCount"]), body.get("folderId"))  # type: ignore[index,union-attr]
    except (KeyError, TypeError, ValueError):
        return error(400, "Invalid Json format")


async def upload_chunk(request: Request) -> Response:
    """`DataSourceController.uploadChunk`: one resumable.js chunk, written at its offset."""
    if not is_authenticated(request):
        return not_authenticated()
    return await receive_chunk(request, _pending(request), lambda upload_id: upload_root(request) / upload_id)


async def receive_chunk(request: Request, pending_uploads: dict[str, dict[str, Any]], folder_of: Callable[[str], Path]) -> Response:
    """Write one resumable.js chunk (multipart: `resumableIdentifier` = "{uploadId}/{file path}",
    `resumableChunkNumber`, `resumableChunkSize`, `file`) of a reserved upload into `folder_of(uploadId)`;
    the upload's `files` remember which files arrived."""
    form = await request.form()
    try:
        upload_id, _, relative = str(form["resumableIdentifier"]).partition("/")
        number = int(str(form["resumableChunkNumber"]))
        chunk_size = int(str(form["resumableChunkSize"]))
        part = form["file"]
    except (KeyError, ValueError):
        return error(400, "Invalid resumable chunk")
    pending = pending_uploads.get(upload_id)
    if pending is None:
        return error(400, "This upload was not reserved (dataset.upload.validation.failed)")
    path = PurePosixPath(relative)
    if not relative or path.is_absolute() or ".." in path.parts or not path.parts:
        return error(400, f"Invalid file path {relative}")
    data = await part.read() if isinstance(part, UploadFile) else str(part).encode()
    target = folder_of(upload_id) / path
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "r+b" if target.exists() else "wb") as f:
        f.seek((number - 1) * chunk_size)
        f.write(data)
    pending["files"].add(relative)
    return Response(status_code=200)


def _mag_list(resolution: int | list[int]) -> list[int]:
    return [resolution] * 3 if isinstance(resolution, int) else [int(v) for v in resolution]


def _dataset_json(request: Request, upload_id: str, pending: dict[str, Any], folder: Path) -> dict[str, Any] | str:
    """The server's dataset object for a finished upload, or what is wrong with it."""
    try:
        properties = json.loads((folder / "datasource-properties.json").read_text())
        layers = properties["dataLayers"]
        scale = properties["scale"]
    except (OSError, ValueError, KeyError, TypeError):
        return "The uploaded dataset has no readable datasource-properties.json"
    dataset_id = new_object_id()
    for layer in layers:
        if not layer.get("mags") and layer.get("wkwResolutions"):
            # a WKW layer's `wkwResolutions` are stored as mags (each at its own path), as the server's
            # dataset JSON lists them
            layer["mags"] = [{"mag": _mag_list(r["resolution"])} for r in layer.pop("wkwResolutions")]
        for m in layer.get("mags") or []:
            relative = m.get("path") or f"./{layer['name']}/{mag_literal(tuple(m['mag']))}"
            m["path"] = str((folder / relative).resolve()) if "://" not in relative else relative
        layer["resolutions"] = [m["mag"] for m in layer.get("mags") or []]
        for held in (layer.get("attachments") or {}).values():
            for attachment in [held] if isinstance(held, dict) else held or []:
                # attachments too are stored with absolute paths (`resolvePathsInNewBasePath`)
                relative = str(attachment.get("path") or "")
                if relative and "://" not in relative:
                    attachment["path"] = str((folder / relative).resolve())
    if isinstance(scale, list):  # the legacy voxel size form, which the server reads as nanometers
        scale = {"factor": scale, "unit": "nanometer"}
    return dataset_object(state_of(request), dataset_id, pending["name"], pending["organization"], pending["folderId"], layers, scale, folder)


def dataset_object(
    state: Any, dataset_id: str, name: str, organization: str, folder_id: str | None, layers: list[dict[str, Any]], scale: Any, folder: Path
) -> dict[str, Any]:
    """The server's object of a new (virtual) dataset whose files are in `folder`: directory name
    `{name}-{id}` (`DatasetService.generateDirectoryName`), no teams, not public, in `folder_id` or the
    organization's root folder."""
    now = int(time.time() * 1000)
    directory = f"{name}-{dataset_id}"
    return {
        "id": dataset_id,
        "name": name,
        "dataSource": {"id": {"name": directory, "team": organization}, "dataLayers": layers, "scale": scale},
        "owningOrganization": organization,
        "allowedTeams": [],
        "allowedTeamsCumulative": [],
        "isActive": True,
        "isPublic": False,
        "description": None,
        "directoryName": directory,
        "created": now,
        "isEditable": True,
        "lastUsedByUser": now,
        "logoUrl": "/assets/images/mpi-logos.svg",
        "sortingKey": now,
        "metadata": [],
        "isUnreported": False,
        "tags": [],
        "folderId": folder_id or root_folder(state, organization)["id"],
        "usedStorageBytes": sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0,
        "isVirtual": True,
    }


def _finish(request: Request, upload_id: str) -> str | Response:
    pending = _pending(request).get(upload_id)
    if pending is None:
        return error(400, "This upload was not reserved (dataset.upload.validation.failed)")
    if len(pending["files"]) < pending["totalFileCount"]:
        return error(400, f"Only {len(pending['files'])} of {pending['totalFileCount']} announced files were uploaded")
    folder = upload_root(request) / upload_id
    built = _dataset_json(request, upload_id, pending, folder)
    if isinstance(built, str):
        return error(400, built)
    sources = {
        layer["name"]: LocalDatasetVoxels(str(folder), layer["name"], layer["elementClass"]) if layer.get("elementClass") in DTYPES else NoData()
        for layer in built["dataSource"]["dataLayers"]
    }
    dataset = CatalogDataset(json=built, sources=sources)  # type: ignore[arg-type]
    state = state_of(request)
    with state.lock:
        state.datasets[dataset.id] = dataset
        del _pending(request)[upload_id]
    return dataset.id


async def finish_upload(request: Request) -> Response:
    """`DataSourceController.finishUpload` (v14+): `?uploadId=` → {"datasetId"}."""
    if not is_authenticated(request):
        return not_authenticated()
    result = _finish(request, request.query_params.get("uploadId", ""))
    return result if isinstance(result, Response) else JSONResponse({"datasetId": result})


async def finish_upload_v13(request: Request) -> Response:
    """`DataSourceController.finishUpload` (API ≤ 13): {uploadId} → {"newDatasetId"}."""
    if not is_authenticated(request):
        return not_authenticated()
    body = await json_object(request)
    result = _finish(request, str((body or {}).get("uploadId", "")))
    return result if isinstance(result, Response) else JSONResponse({"newDatasetId": result})


routes = [
    Route("/datasets/upload/dataset/reserveUpload", reserve_upload, methods=["POST"]),
    Route("/datasets/upload/dataset", upload_chunk, methods=["POST"]),
    Route("/datasets/upload/dataset/finishUpload", finish_upload, methods=["POST"]),
    Route("/datasets/reserveUpload", reserve_upload_v13, methods=["POST"]),
    Route("/datasets/finishUpload", finish_upload_v13, methods=["POST"]),
]
unversioned_routes = [Route("/datasets", upload_chunk, methods=["POST"])]
