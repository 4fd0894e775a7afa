"""Uploads to paths: the client writes a dataset's (or a new mag's) files itself to paths the server
chose, then announces them (the SDK's `TransferMode.COPY` / `MOVE_AND_SYMLINK`).

webknossos `app/controllers/DatasetController.scala` and `app/models/dataset/DatasetUploadToPathsService.scala`:
- `reserveUploadToPaths` (`POST /api/v{N}/datasets/reserveUploadToPaths`): a new dataset id, its directory
  `{name}-{id}` and each mag's path `{prefix}/{organization}/{directory}/{layer}/{mag literal}`
  (`addPathsToDatasource`; the prefix is the datastore's folder, a requested `pathPrefix` must be it:
  `dataset.uploadToPaths.noMatchingPrefix`); at least one layer (`dataset.reserveUploadToPaths.noLayers`);
  `requireUniqueName`: the name must be free in the organization. Answer: {"newDatasetId", "dataSource"}.
- `finishUploadToPaths` (`POST /api/v{N}/datasets/{id}/finishUploadToPaths`): the dataset becomes usable.
  Until then the sandbox does not list it (the server lists it as not yet uploaded).
- `reserveAttachmentUploadToPath` / `finishAttachmentUploadToPath`: a new attachment of a layer (see
  those routes).
- `reserveMagUploadToPath` / `finishMagUploadToPath`: a new mag of an existing layer at
  `{prefix}/{organization}/{directory}/{layer}/{mag literal}` (answer: that path as a JSON string); the
  mag must be new; finishing adds it to the layer. Both need a user who may edit the dataset.
The sandbox serves the voxels at those paths (zarr streaming, raw cuboids) with the webknossos library.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .api import dataset_not_found, dataset_of_path, identity, secured, state_of
from .auth import NOT_ALLOWED, can_edit_dataset, error, json_object
from .catalog import CatalogDataset
from .compose import ATTACHMENT_PENDING, UNSAFE_PATH_CHARACTERS, ComposeFailure, add_attachment, layer_not_found
from .dataset_settings import NOT_EDITABLE
from .imagedata import mag_literal
from .state import new_object_id
from .upload import dataset_object, properties_folder, upload_root

NO_MATCHING_PREFIX = "Requested path prefix is not in list of configured ones."
NO_LAYERS = "Cannot reserve upload to paths for a dataset without layers."
NAME_TAKEN = "A dataset with this name already exists."
MAG_EXISTS = "This mag already exists in the layer."


def paths_root(request: Request) -> Path:
    """The datastore's folder that uploads to paths go to (`uploadToPathsPrefixes`: the datastore's base folder)."""
    folder = upload_root(request).resolve() / "paths"
    folder.mkdir(exist_ok=True)
    return folder


def _pending(request: Request) -> dict[str, dict[str, Any]]:
    pending: dict[str, dict[str, Any]] | None = getattr(request.app.state, "pending_path_uploads", None)
    if pending is None:
        pending = request.app.state.pending_path_uploads = {}
    return pending


def _prefix(request: Request, requested: Any) -> Path | None:
    root = paths_root(request)
    return root if requested in (None, "", str(root)) else None


@secured
async def reserve_upload_to_paths(request: Request) -> Response:
    """`DatasetController.reserveUploadToPaths`."""
    body = await json_object(request)
    me = identity(request)
    try:
        name = str(body["datasetName"])  # type: ignore[index]
        source = body["dataSource"]  # type: ignore[index]
        layers = [copy.deepcopy(x) for x in source["dataLayers"]]
        scale = source["scale"]
    except (KeyError, TypeError):
        return error(400, "Invalid Json format")
    prefix = _prefix(request, body.get("pathPrefix"))  # type: ignore[union-attr]
    if prefix is None:
        return error(400, NO_MATCHING_PREFIX)
    if not layers:
        return error(400, NO_LAYERS)
    state = state_of(request)
    organization = str(me["organization"])
    if body.get("requireUniqueName") and any(d.name == name and d.organization == organization for d in state.datasets.values()):  # type: ignore[union-attr]
        return error(400, NAME_TAKEN)
    folder_id = body.get("folderId")  # type: ignore[union-attr]
    if folder_id is not None and folder_id not in state.folders:
        return error(404, "Folder could not be found.")
    dataset_id = new_object_id()
    folder = prefix / organization / f"{name}-{dataset_id}"
    for layer in layers:
        for m in layer.get("mags") or []:
            m["path"] = str(folder / layer["name"] / mag_literal(tuple(m["mag"])))
        layer["resolutions"] = [m["mag"] for m in layer.get("mags") or []]
    built = dataset_object(state, dataset_id, name, organization, folder_id, layers, scale, folder)
    _pending(request)[dataset_id] = {"json": built, "folder": folder, "organization": organization}
    return JSONResponse({"newDatasetId": dataset_id, "dataSource": built["dataSource"]})


@secured
async def finish_upload_to_paths(request: Request) -> Response:
    """`DatasetController.finishUploadToPaths`: the reserved dataset becomes usable."""
    pending = _pending(request)
    dataset_id = request.path_params["dataset_id"]
    reserved = pending.get(dataset_id)
    if reserved is None:
        return dataset_not_found(request, dataset_id)
    if reserved["organization"] != identity(request).get("organization"):
        return error(403, NOT_EDITABLE)
    folder: Path = reserved["folder"]
    dataset = CatalogDataset(json=reserved["json"], sources={})
    dataset.json["usedStorageBytes"] = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0
    dataset.serve_from_mag_paths(properties_folder(request, dataset_id), dataset.layers_stored_in(upload_root(request)))
    state = state_of(request)
    with state.lock:
        state.datasets[dataset_id] = dataset
        del pending[dataset_id]
    return Response(status_code=200)


def _mag_request(request: Request, body: dict[str, Any] | None) -> tuple[CatalogDataset, dict[str, Any], list[int], Path] | Response:
    """The editable dataset, its layer, the mag and the mag's path of a mag upload to a path."""
    dataset = dataset_of_path(request)
    if isinstance(dataset, Response):
        return dataset
    if not can_edit_dataset(identity(request), dataset):
        return error(403, NOT_EDITABLE)
    try:
        layer_name = str(body["layerName"])  # type: ignore[index]
        mag = [int(v) for v in body["mag"]]  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        return error(400, "Invalid Json format")
    layer = dataset.layer(layer_name)
    if layer is None:
        return error(404, f"DataLayer “{layer_name}” not found")
    prefix = _prefix(request, body.get("pathPrefix"))  # type: ignore[union-attr]
    if prefix is None or len(mag) != 3:
        return error(400, NO_MATCHING_PREFIX if prefix is None else "Invalid mag")
    return dataset, layer, mag, prefix / dataset.organization / dataset.directory_name / layer_name / mag_literal((mag[0], mag[1], mag[2]))


@secured
async def reserve_mag_upload_to_path(request: Request) -> Response:
    """`DatasetController.reserveMagUploadToPath`: the path the client writes the new mag to."""
    found = _mag_request(request, await json_object(request))
    if isinstance(found, Response):
        return found
    _, layer, mag, path = found
    if any(list(m["mag"]) == mag for m in layer.get("mags") or []):
        return error(400, MAG_EXISTS)
    return JSONResponse(str(path))


@secured
async def finish_mag_upload_to_path(request: Request) -> Response:
    """`DatasetController.finishMagUploadToPath`: the written mag joins its layer."""
    body = await json_object(request)
    found = _mag_request(request, body)
    if isinstance(found, Response):
        return found
    dataset, layer, mag, path = found
    if not path.exists():
        return error(400, "The mag was not uploaded to its reserved path.")
    state = state_of(request)
    with state.lock:
        mags = [m for m in layer.get("mags") or [] if list(m["mag"]) != mag]
        mags.append({"mag": mag, "path": str(path), "axisOrder": (body or {}).get("axisOrder") or {"x": 1, "y": 2, "z": 3, "c": 0}})
        layer["mags"] = sorted(mags, key=lambda m: max(m["mag"]))
        layer["resolutions"] = [m["mag"] for m in layer["mags"]]
        dataset.serve_from_mag_paths(properties_folder(request, dataset.id), {layer["name"]})
    return Response(status_code=200)


ATTACHMENT_DIRECTORIES = {"mesh": "meshes", "agglomerate": "agglomerates", "segmentIndex": "segmentIndex", "connectome": "connectomes", "cumsum": "agglomerates"}
"""`LayerAttachmentType.defaultDirectoryNameFor` (`MeshFileInfo.directoryName`, ...; the cumsum file lives
with the agglomerates)."""
ATTACHMENT_SUFFIXES = {"hdf5": ".hdf5", "json": ".json", "zarr3": "", "neuroglancerPrecomputed": ""}
"""`LayerAttachmentDataformat.suffixFor`."""
ATTACHMENT_NOT_PENDING = "This attachment has no pending upload to a path."


def _pending_attachments(request: Request) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    """Attachments reserved for an upload to a path: (dataset id, layer, type, name) → attachment."""
    pending: dict[tuple[str, str, str, str], dict[str, Any]] | None = getattr(request.app.state, "pending_attachment_paths", None)
    if pending is None:
        pending = request.app.state.pending_attachment_paths = {}
    return pending


def _attachment_request(request: Request, body: dict[str, Any] | None) -> tuple[CatalogDataset, dict[str, Any], tuple[str, str, str, str], Path] | Response:
    """The editable dataset, its layer, the pending key and the path of an attachment upload to a path."""
    try:
        layer_name, name = str(body["layerName"]), str(body["attachmentName"])  # type: ignore[index]
        attachment_type, data_format = str(body["attachmentType"]), str(body["attachmentDataformat"])  # type: ignore[index]
    except (KeyError, TypeError):
        return error(400, "Invalid Json format")
    if attachment_type not in ATTACHMENT_DIRECTORIES or data_format not in ATTACHMENT_SUFFIXES:
        return error(400, "Invalid Json format")
    dataset = dataset_of_path(request)
    if isinstance(dataset, Response):
        return dataset
    if not can_edit_dataset(identity(request), dataset):
        return error(403, NOT_ALLOWED)
    layer = dataset.layer(layer_name)
    if layer is None:
        return error(400, layer_not_found(layer_name))
    prefix = _prefix(request, body.get("pathPrefix"))  # type: ignore[union-attr]
    if prefix is None:
        return error(400, NO_MATCHING_PREFIX)
    safe_name = UNSAFE_PATH_CHARACTERS.sub("_", name) or f"{attachment_type}__{new_object_id()}"
    path = prefix / dataset.organization / dataset.directory_name / layer_name / ATTACHMENT_DIRECTORIES[attachment_type] / (safe_name + ATTACHMENT_SUFFIXES[data_format])
    return dataset, layer, (dataset.id, layer_name, attachment_type, name), path


@secured
async def reserve_attachment_upload_to_path(request: Request) -> Response:
    """`DatasetController.reserveAttachmentUploadToPath` → `UploadToPathsService.reserveAttachmentUploadToPath`:
    body {layerName, attachmentName, attachmentType, attachmentDataformat, pathPrefix, overwritePending};
    a user who may edit the dataset (403); no other pending upload of the attachment unless
    `overwritePending`; the name (for the one-per-layer types: the type) free in the layer
    (`attachmentNameTaken`, `attachmentSingletonAlreadyFilled`); answers the path
    `{prefix}/{organization}/{directory}/{layer}/{type's directory}/{name}{format's suffix}` as a JSON string."""
    body = await json_object(request)
    found = _attachment_request(request, body)
    if isinstance(found, Response):
        return found
    _, layer, key, path = found
    pending = _pending_attachments(request)
    state = state_of(request)
    with state.lock:
        if key in pending and not (body or {}).get("overwritePending"):
            return error(400, ATTACHMENT_PENDING)
        pending.pop(key, None)
        attachment = {"name": key[3], "path": str(path), "dataFormat": (body or {})["attachmentDataformat"]}
        try:
            add_attachment(copy.deepcopy(layer), key[2], attachment)  # the name (or slot) must be free
        except ComposeFailure as reason:
            return error(400, str(reason))
        pending[key] = attachment
    return JSONResponse(str(path))


@secured
async def finish_attachment_upload_to_path(request: Request) -> Response:
    """`DatasetController.finishAttachmentUploadToPath`: the reserved attachment (else 400, not pending)
    joins its layer with the reserved path."""
    found = _attachment_request(request, await json_object(request))
    if isinstance(found, Response):
        return found
    _, layer, key, _ = found
    pending = _pending_attachments(request)
    state = state_of(request)
    with state.lock:
        attachment = pending.get(key)
        if attachment is None:
            return error(400, ATTACHMENT_NOT_PENDING)
        try:
            add_attachment(layer, key[2], attachment)
        except ComposeFailure as reason:
            return error(400, str(reason))
        del pending[key]
    return Response(status_code=200)


routes = [
    Route("/datasets/{dataset_id}/reserveAttachmentUploadToPath", reserve_attachment_upload_to_path, methods=["POST"]),
    Route("/datasets/{dataset_id}/finishAttachmentUploadToPath", finish_attachment_upload_to_path, methods=["POST"]),
    Route("/datasets/reserveUploadToPaths", reserve_upload_to_paths, methods=["POST"]),
    Route("/datasets/{dataset_id}/finishUploadToPaths", finish_upload_to_paths, methods=["POST"]),
    Route("/datasets/{dataset_id}/reserveMagUploadToPath", reserve_mag_upload_to_path, methods=["POST"]),
    Route("/datasets/{dataset_id}/finishMagUploadToPath", finish_mag_upload_to_path, methods=["POST"]),
]
