"""Uploading a new mag or attachment of an existing dataset over HTTP (the SDK's `TransferMode.HTTP`).

webknossos-datastore `controllers/UploadController.scala` (`reserveMagUpload`, `reserveAttachmentUpload`,
`uploadChunk(uploadDomain)`, `finishUpload(uploadDomain, uploadId)`) and `services/uploading/
UploadService.scala` (`finishMagUpload`, `finishAttachmentUpload`), with the checks the datastore asks
webknossos for (`app/controllers/WKRemoteDataStoreController.scala`, `reserveMagUpload`,
`reserveAttachmentUpload`, `reportMagUpload`, `reportAttachmentUpload`):

    POST /data/v{N}/datasets/upload/mag/reserveUpload         {resumableUploadInfo: {uploadId, totalFileCount,
                                                               totalFileSizeInBytes}, datasetId, layerName,
                                                               mag: {mag, channelIndex, axisOrder}, overwritePending}
    POST /data/v{N}/datasets/upload/attachment/reserveUpload  {resumableUploadInfo, datasetId, layerName,
                                                               attachmentType, attachment: {name, path, dataFormat},
                                                               overwritePending}
    POST /data/v{N}/datasets/upload/mag|attachment            resumable.js chunks
    POST /data/v{N}/datasets/upload/mag|attachment/finishUpload?uploadId=...   → {"datasetId": ...}

Every step needs write access to the dataset (`UserAccessRequest.writeDataset`: a user who may edit it,
`DatasetService.isEditableBy`; else the datastore's 403). Reserving an upload id again is a no-op
(`isKnownUpload`). Reserving checks (400 `Msg.Dataset.Upload.validationFailed` with the reason chained):
the dataset is virtual, has the layer, the mag's largest component differs from every mag of the layer
(`maxDim`), an attachment's name (or, for the one-per-layer types, its type) is free in the layer, and
no upload of the same mag or attachment is pending unless `overwritePending`. A chunk or finish of an
unknown upload is 400 (`Msg.Dataset.Upload.noSuchUpload`). Finishing needs every announced file within
the announced size (else 400 `Msg.Dataset.Upload.finishFailed`, the reason chained); the files move to
`{datastore folder}/{organization}/{directory}/{layer}/{mag literal}__{id}` (an attachment:
`{layer}/{attachment type}/{name}__{id}`) and the mag or attachment joins the layer with that path.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .api import state_of
from .auth import can_edit_dataset, chained_error, error, json_object, request_user
from .catalog import CatalogDataset
from .compose import ATTACHMENT_KEYS, ATTACHMENT_PENDING, UNSAFE_PATH_CHARACTERS, ComposeFailure, add_attachment, layer_not_found
from .imagedata import mag_literal
from .state import new_object_id
from .upload import properties_folder, receive_chunk, upload_root

WRITE_FORBIDDEN = "Token may be expired, consider reloading. Access forbidden: No write access on dataset"
VALIDATION_FAILED = "Could not validate dataset information for upload."
MAG_UPLOAD_ONLY_VIRTUAL = "Adding mags to existing datasets is only allowed for virtual datasets."
MAG_ALREADY_PENDING = "This mag is already pending."
ATTACHMENT_DATA_FORMATS = ("hdf5", "json", "zarr3", "neuroglancerPrecomputed")
"""`LayerAttachmentDataformat`."""
DOMAINS = ("mag", "attachment")


def no_such_upload(upload_id: str) -> str:
    return f"Could not find running upload with upload id “{upload_id}”."


def finish_failed(dataset_id: str) -> str:
    return f"Could not finalize upload for dataset “{dataset_id}”."


def _pending(request: Request, domain: str) -> dict[str, dict[str, Any]]:
    """Reserved uploads of one domain by upload id."""
    store: dict[str, dict[str, dict[str, Any]]] | None = getattr(request.app.state, "pending_part_uploads", None)
    if store is None:
        store = request.app.state.pending_part_uploads = {d: {} for d in DOMAINS}
    return store[domain]


def _chunk_folder(request: Request, domain: str, upload_id: str) -> Path:
    return upload_root(request) / ".uploading" / domain / upload_id


def _writable(request: Request, dataset_id: str) -> CatalogDataset | Response:
    dataset = state_of(request).datasets.get(dataset_id)
    if dataset is None or not can_edit_dataset(request_user(request), dataset):
        return PlainTextResponse(WRITE_FORBIDDEN, status_code=403)
    return dataset


def _mag(value: Any) -> tuple[int, int, int]:
    values = [int(v) for v in value]
    if len(values) != 3 or min(values) < 1:
        raise ValueError("a mag has three positive components")
    return (values[0], values[1], values[2])


def _reserve_checks(dataset: CatalogDataset, domain: str, body: dict[str, Any], pending: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What the upload will add, after webknossos' checks (`ComposeFailure` names the failed one)."""
    layer_name = str(body["layerName"])
    overwrite = bool(body.get("overwritePending", False))
    if not dataset.json.get("isVirtual", False):
        raise ComposeFailure(MAG_UPLOAD_ONLY_VIRTUAL)
    layer = dataset.layer(layer_name)
    if layer is None:
        raise ComposeFailure(layer_not_found(layer_name))
    same_target = [k for k, p in pending.items() if p["datasetId"] == dataset.id and p["target"] == _target_key(domain, body)]
    if same_target and not overwrite:
        raise ComposeFailure(MAG_ALREADY_PENDING if domain == "mag" else ATTACHMENT_PENDING)
    if domain == "mag":
        props = body["mag"]
        mag = _mag(props["mag"])
        if any(max(m["mag"]) == max(mag) for m in layer.get("mags") or []):
            raise ComposeFailure(f"New mag ({mag[0]}, {mag[1]}, {mag[2]}) conflicts with existing mag of the layer.")
        added: dict[str, Any] = {"mag": list(mag), "axisOrder": copy.deepcopy(props.get("axisOrder")) or {"x": 1, "y": 2, "z": 3, "c": 0}}
        if props.get("channelIndex") is not None:
            added["channelIndex"] = int(props["channelIndex"])
    else:
        attachment_type = str(body["attachmentType"])
        props = body["attachment"]
        if attachment_type not in ATTACHMENT_KEYS or props.get("dataFormat") not in ATTACHMENT_DATA_FORMATS:
            raise ValueError("unknown attachment type or data format")
        added = {"name": str(props["name"]), "dataFormat": props["dataFormat"]}
        add_attachment(copy.deepcopy(layer), attachment_type, {**added, "path": ""})  # the name (or slot) must be free
    for key in same_target:
        del pending[key]
    return added


def _target_key(domain: str, body: dict[str, Any]) -> tuple[str, ...]:
    if domain == "mag":
        return (str(body["layerName"]), mag_literal(_mag(body["mag"]["mag"])))
    return (str(body["layerName"]), str(body["attachmentType"]), str(body["attachment"]["name"]))


async def _reserve(request: Request, domain: str) -> Response:
    body = await json_object(request)
    try:
        info = body["resumableUploadInfo"]  # type: ignore[index]
        upload_id = str(info["uploadId"])
        total_files, total_bytes = int(info["totalFileCount"]), int(info["totalFileSizeInBytes"])
        dataset_id = str(body["datasetId"])  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        return error(400, "Invalid Json format")
    found = _writable(request, dataset_id)
    if isinstance(found, Response):
        return found
    if not upload_id or "/" in upload_id or upload_id.startswith("."):
        return error(400, "Invalid upload id")
    pending = _pending(request, domain)
    state = state_of(request)
    with state.lock:
        if upload_id in pending:  # `isKnownUpload`: a retried reservation
            return Response(status_code=200)
        try:
            added = _reserve_checks(found, domain, body, pending)  # type: ignore[arg-type]
            target = _target_key(domain, body)  # type: ignore[arg-type]
        except (KeyError, TypeError, ValueError):
            return error(400, "Invalid Json format")
        except ComposeFailure as reason:
            return chained_error(400, VALIDATION_FAILED, str(reason))
        pending[upload_id] = {
            "datasetId": dataset_id,
            "layerName": str(body["layerName"]),  # type: ignore[index]
            "attachmentType": body.get("attachmentType"),  # type: ignore[union-attr]
            "added": added,
            "target": target,
            "totalFileCount": total_files,
            "totalFileSizeInBytes": total_bytes,
            "files": set(),
        }
    return Response(status_code=200)


async def reserve_mag_upload(request: Request) -> Response:
    """`UploadController.reserveMagUpload` (+ `WKRemoteDataStoreController.reserveMagUpload`)."""
    return await _reserve(request, "mag")


async def reserve_attachment_upload(request: Request) -> Response:
    """`UploadController.reserveAttachmentUpload` (+ `WKRemoteDataStoreController.reserveAttachmentUpload`)."""
    return await _reserve(request, "attachment")


def _chunk_handler(domain: str) -> Any:
    async def upload_chunk(request: Request) -> Response:
        """`UploadController.uploadChunk(uploadDomain)`: a chunk of a reserved upload, by a user with
        write access to its dataset."""
        form = await request.form()
        upload_id = str(form.get("resumableIdentifier", "")).partition("/")[0]
        reserved = _pending(request, domain).get(upload_id)
        if reserved is None:
            return error(400, no_such_upload(upload_id))
        found = _writable(request, reserved["datasetId"])
        if isinstance(found, Response):
            return found
        return await receive_chunk(request, _pending(request, domain), lambda uid: _chunk_folder(request, domain, uid))

    upload_chunk.__name__ = f"upload_{domain}_chunk"
    return upload_chunk


def _final_folder(request: Request, dataset: CatalogDataset, reserved: dict[str, Any], domain: str) -> Path:
    """`UploadService.moveUnpackedMagOrAttachmentToTarget`: `{org}/{directory}/{layer}/{dir name}` in
    the datastore's folder, the dir name `{mag literal}__{id}` or `{attachment type}/{name}__{id}`."""
    added = reserved["added"]
    if domain == "mag":
        name = f"{mag_literal(tuple(added['mag']))}__{new_object_id()}"  # type: ignore[arg-type]
    else:
        name = f"{reserved['attachmentType']}/{UNSAFE_PATH_CHARACTERS.sub('_', added['name'])}__{new_object_id()}"
    return upload_root(request).resolve() / dataset.organization / dataset.directory_name / reserved["layerName"] / name


async def _finish(request: Request, domain: str) -> Response:
    upload_id = request.query_params.get("uploadId", "")
    pending = _pending(request, domain)
    reserved = pending.get(upload_id)
    if reserved is None:
        return error(400, no_such_upload(upload_id))
    found = _writable(request, reserved["datasetId"])
    if isinstance(found, Response):
        return found
    dataset_id = found.id
    chunks = _chunk_folder(request, domain, upload_id)
    arrived = sum(p.stat().st_size for p in chunks.rglob("*") if p.is_file()) if chunks.exists() else 0
    if len(reserved["files"]) < reserved["totalFileCount"]:
        return chained_error(400, finish_failed(dataset_id), "dataset.upload.allChunksUploadedCheck.failed")
    if arrived > reserved["totalFileSizeInBytes"]:
        reason = f"Uploaded {domain} {dataset_id} exceeds the reserved size of {reserved['totalFileSizeInBytes']} bytes, got {arrived} bytes."
        shutil.rmtree(chunks, ignore_errors=True)
        del pending[upload_id]
        return chained_error(400, finish_failed(dataset_id), reason)
    state = state_of(request)
    with state.lock:
        layer = found.layer(reserved["layerName"])
        if layer is None:
            return chained_error(400, finish_failed(dataset_id), layer_not_found(reserved["layerName"]))
        final = _final_folder(request, found, reserved, domain)
        final.parent.mkdir(parents=True, exist_ok=True)
        if chunks.exists():
            shutil.move(str(chunks), str(final))
        else:
            final.mkdir()
        added = {**reserved["added"], "path": str(final)}
        try:
            if domain == "mag":
                layer["mags"] = sorted([*(layer.get("mags") or []), added], key=lambda m: max(m["mag"]))
                layer["resolutions"] = [m["mag"] for m in layer["mags"]]
            else:
                add_attachment(layer, reserved["attachmentType"], added)
        except ComposeFailure as reason:
            return chained_error(400, finish_failed(dataset_id), str(reason))
        if domain == "mag" and layer["name"] in found.layers_stored_in(upload_root(request)):
            found.serve_from_mag_paths(properties_folder(request, dataset_id), {layer["name"]})
        del pending[upload_id]
    return JSONResponse({"datasetId": dataset_id})


async def finish_mag_upload(request: Request) -> Response:
    """`UploadController.finishUpload("mag")` → `UploadService.finishMagUpload`, `reportMagUpload`."""
    return await _finish(request, "mag")


async def finish_attachment_upload(request: Request) -> Response:
    """`UploadController.finishUpload("attachment")` → `UploadService.finishAttachmentUpload`,
    `reportAttachmentUpload`."""
    return await _finish(request, "attachment")


routes = [
    Route("/datasets/upload/mag/reserveUpload", reserve_mag_upload, methods=["POST"]),
    Route("/datasets/upload/mag", _chunk_handler("mag"), methods=["POST"]),
    Route("/datasets/upload/mag/finishUpload", finish_mag_upload, methods=["POST"]),
    Route("/datasets/upload/attachment/reserveUpload", reserve_attachment_upload, methods=["POST"]),
    Route("/datasets/upload/attachment", _chunk_handler("attachment"), methods=["POST"]),
    Route("/datasets/upload/attachment/finishUpload", finish_attachment_upload, methods=["POST"]),
]
