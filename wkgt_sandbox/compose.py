"""Composing a dataset in place: adding a layer, a mag or an attachment of another dataset by reference.

webknossos `app/controllers/DatasetController.scala` (`composeAddLayer`, `composeAddMag`,
`composeAddAttachment`, routes `POST /datasets/:datasetId/compose/addLayer|addMag|addAttachment` in
`conf/webknossos.latest.routes`): each is a `SecuredAction` (401 without a user) with a JSON body
(`validateJson`: 400 "Invalid Json format") that calls `ComposeService.addLayer|addMag|addAttachment`
and wraps any failure in `Msg.Dataset.Compose.addLayerFailed|addMagFailed|addAttachmentFailed` (400, the
inner reason as the chained message); success is an empty 200. Nothing is copied: the target refers to
the source's mag and attachment paths.

The rules (`util/.../Msg.scala`, `Msg.Dataset.Compose` and `Msg.Dataset.Layer`): the target dataset
must be readable, virtual (`inPlaceMustBeVirtual`) and editable by the user (`DatasetService.isEditableBy`,
`Msg.notAllowed`); the source dataset must be readable and hold the source layer (`Layer.notFound`), mag
(`Layer.magNotFound`) or attachment (`Layer.attachmentNotFound`); a new layer name must be free
(`Layer.duplicateNames`) and valid (`Layer.nameInvalidCharacters`, `nameInvalidStartsWithDot`); a new mag
must not be in the target layer yet (`Compose.duplicateMag`); attachments go to segmentation layers only
(`Layer.mustBeSegmentation`) under a free name (`Layer.attachmentNameTaken`, or
`attachmentSingletonAlreadyFilled` for the one-per-layer types). The sandbox has one datastore, so
`Compose.differingDataStores` cannot occur. (The body of `ComposeService` at the version with these
routes is not in the reference index; the order of the checks follows the messages above.)
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .api import dataset_of_path, identity, secured, state_of, visible
from .auth import NOT_ALLOWED, can_edit_dataset, chained_error, error, json_object
from .catalog import CatalogDataset
from .imagedata import ChunkSource, Mag, NoData, mag_literal
from .upload import properties_folder, upload_root

ADD_LAYER_FAILED = "Could not add layer to composed dataset."
ADD_MAG_FAILED = "Could not add mag to composed dataset."
ADD_ATTACHMENT_FAILED = "Could not add attachment to composed dataset."
MUST_BE_VIRTUAL = (
    'This feature is not available for disk-based ("non-virtual") datasets. If you have access on disk, edit it directly.'
)
DUPLICATE_MAG = "Cannot compose dataset: duplicate mag in resulting layer."
DUPLICATE_LAYER_NAMES = "Dataset layers must have unique names."
LAYER_NAME_INVALID = "Layer name contains invalid characters."
LAYER_NAME_STARTS_WITH_DOT = "Layer name must not start with a dot."
MUST_BE_SEGMENTATION = "Data layer must be a segmentation layer."
ATTACHMENT_NAME_TAKEN = "An attachment with this name already exists in this layer. Please choose a different name."
ATTACHMENT_SINGLETON_FILLED = (
    "There is already an attachment of this type in this layer. Only one attachment of this type can be registered per layer."
)
ATTACHMENT_KEYS = {"mesh": "meshes", "agglomerate": "agglomerates", "segmentIndex": "segmentIndex", "connectome": "connectomes", "cumsum": "cumsum"}
"""`LayerAttachmentType` → its key in a layer's `attachments` (`DataLayerAttachments`)."""
SINGLETON_ATTACHMENTS = {"segmentIndex", "cumsum"}
"""`LayerAttachmentType.isSingletonAttachment`: one per layer, stored as an object rather than a list."""
NAME_CHARACTERS = re.compile(r"^[A-Za-z0-9_\-.]+$")
"""The characters a layer or dataset name may hold (`DatasetService`, `DataLayer` name checks)."""
UNSAFE_PATH_CHARACTERS = re.compile(r"[^A-Za-z0-9_\-.]")
"""What an attachment's file name may not hold on disk (replaced by ``_``)."""
ATTACHMENT_PENDING = "Conflict with existing pending attachment. Pass overwritePending to overwrite."


class ComposeFailure(Exception):
    """A failed check of `ComposeService` (the chained reason of the route's 400)."""


def layer_not_found(name: str) -> str:
    return f"Could not find layer “{name}” in dataset."


class MagSources:
    """A layer's voxels taken mag by mag from other layers' sources (a layer composed of referenced mags)."""

    def __init__(self, by_mag: dict[Mag, tuple[ChunkSource, Mag]]) -> None:
        self.by_mag = by_mag

    def chunk(self, mag: Mag, index: tuple[int, int, int]) -> bytes | None:
        found = self.by_mag.get(mag)
        return None if found is None else found[0].chunk(found[1], index)


def _layer_mags(layer: dict[str, Any]) -> list[Mag]:
    return [(int(m["mag"][0]), int(m["mag"][1]), int(m["mag"][2])) for m in layer.get("mags") or []]


def _target(request: Request) -> CatalogDataset | Response:
    """The dataset to compose into, or the route's own 400/404 (an invalid id, an unreadable dataset)."""
    return dataset_of_path(request)


def _editable_virtual(request: Request, dataset: CatalogDataset) -> None:
    if not dataset.json.get("isVirtual", False):
        raise ComposeFailure(MUST_BE_VIRTUAL)
    if not can_edit_dataset(identity(request), dataset):
        raise ComposeFailure(NOT_ALLOWED)


def _source_layer(request: Request, dataset_id: Any, layer_name: Any) -> tuple[CatalogDataset, dict[str, Any]]:
    source = state_of(request).datasets.get(str(dataset_id))
    if source is None or not visible(request, source):
        raise ComposeFailure(f"Dataset “{dataset_id}” could not be found or accessed.")
    layer = source.layer(str(layer_name))
    if layer is None:
        raise ComposeFailure(layer_not_found(str(layer_name)))
    return source, layer


def _serve(request: Request, dataset: CatalogDataset, layer_name: str, source: ChunkSource) -> None:
    """Serve the changed layer: from its mags' paths when they all lie in the datastore's folder, else
    from the sources it refers to."""
    if layer_name in dataset.layers_stored_in(upload_root(request)):
        dataset.serve_from_mag_paths(properties_folder(request, dataset.id), {layer_name})
    else:
        dataset.sources[layer_name] = source


async def _compose(request: Request, failed: str, change: Callable[[Request, CatalogDataset, dict[str, Any]], None]) -> Response:
    target = _target(request)
    if isinstance(target, Response):
        return target
    body = await json_object(request)
    if body is None:
        return error(400, "Invalid Json format")
    state = state_of(request)
    with state.lock:
        try:
            _editable_virtual(request, target)
            change(request, target, body)
        except (KeyError, TypeError, ValueError, IndexError):
            return error(400, "Invalid Json format")
        except ComposeFailure as reason:
            return chained_error(400, failed, str(reason))
    return Response(status_code=200)


def _add_layer(request: Request, target: CatalogDataset, body: dict[str, Any]) -> None:
    new_name = str(body["targetLayerName"])
    source, layer = _source_layer(request, body["sourceDatasetId"], body["sourceLayerName"])
    if new_name.startswith("."):
        raise ComposeFailure(LAYER_NAME_STARTS_WITH_DOT)
    if not NAME_CHARACTERS.match(new_name):
        raise ComposeFailure(LAYER_NAME_INVALID)
    if target.layer(new_name) is not None:
        raise ComposeFailure(DUPLICATE_LAYER_NAMES)
    added = {**copy.deepcopy(layer), "name": new_name}
    target.json["dataSource"]["dataLayers"].append(added)
    for mag in _layer_mags(layer):
        recorded = source.recorded_zarrays.get((layer["name"], mag))
        if recorded is not None:
            target.recorded_zarrays[(new_name, mag)] = copy.deepcopy(recorded)
    _serve(request, target, new_name, source.sources.get(layer["name"], NoData()))


@secured
async def compose_add_layer(request: Request) -> Response:
    """`DatasetController.composeAddLayer` (`ComposeService.addLayer`): body {sourceDatasetId,
    sourceLayerName, targetLayerName}; the target gets a copy of the source layer's description (its
    mags and attachments keep their paths) under the new name."""
    return await _compose(request, ADD_LAYER_FAILED, _add_layer)


def _mag(value: Any) -> Mag:
    values = [int(v) for v in value]
    if len(values) != 3:
        raise ValueError("a mag has three components")
    return (values[0], values[1], values[2])


def _add_mag(request: Request, target: CatalogDataset, body: dict[str, Any]) -> None:
    source_mag, target_mag = _mag(body["sourceMag"]), _mag(body["targetMag"])
    target_layer = target.layer(str(body["targetLayerName"]))
    source, layer = _source_layer(request, body["sourceDatasetId"], body["sourceLayerName"])
    locator = next((m for m in layer.get("mags") or [] if tuple(m["mag"]) == source_mag), None)
    if locator is None:
        raise ComposeFailure(f"Data layer “{layer['name']}” does not have mag “{mag_literal(source_mag)}”.")
    if target_layer is None:
        raise ComposeFailure(layer_not_found(str(body["targetLayerName"])))
    if target_mag in _layer_mags(target_layer):
        raise ComposeFailure(DUPLICATE_MAG)
    before = {m: (target.sources.get(target_layer["name"], NoData()), m) for m in _layer_mags(target_layer)}
    target_layer["mags"] = sorted(
        [*(target_layer.get("mags") or []), {**copy.deepcopy(locator), "mag": list(target_mag)}], key=lambda m: max(m["mag"])
    )
    target_layer["resolutions"] = [m["mag"] for m in target_layer["mags"]]
    recorded = source.recorded_zarrays.get((layer["name"], source_mag))
    if recorded is not None and source_mag == target_mag:
        target.recorded_zarrays[(target_layer["name"], target_mag)] = copy.deepcopy(recorded)
    by_mag = {**before, target_mag: (source.sources.get(layer["name"], NoData()), source_mag)}
    _serve(request, target, target_layer["name"], MagSources(by_mag))


@secured
async def compose_add_mag(request: Request) -> Response:
    """`DatasetController.composeAddMag` (`ComposeService.addMag`): body {sourceDatasetId,
    sourceLayerName, targetLayerName, sourceMag, targetMag}; the target layer gets the source mag (its
    path) as `targetMag`."""
    return await _compose(request, ADD_MAG_FAILED, _add_mag)


def _add_attachment(request: Request, target: CatalogDataset, body: dict[str, Any]) -> None:
    attachment_type = str(body["attachmentType"])
    key = ATTACHMENT_KEYS.get(attachment_type)
    if key is None:
        raise ValueError(f"unknown attachment type {attachment_type}")
    source_name, new_name = str(body["sourceAttachmentName"]), str(body["targetAttachmentName"])
    target_layer = target.layer(str(body["targetLayerName"]))
    _, layer = _source_layer(request, body["sourceDatasetId"], body["sourceLayerName"])
    found = attachments_of(layer, attachment_type)
    attachment = next((a for a in found if a.get("name") == source_name), None)
    if attachment is None:
        raise ComposeFailure(f"Data layer “{layer['name']}” does not have attachment “{source_name}”.")
    if target_layer is None:
        raise ComposeFailure(layer_not_found(str(body["targetLayerName"])))
    if target_layer.get("category") != "segmentation":
        raise ComposeFailure(MUST_BE_SEGMENTATION)
    add_attachment(target_layer, attachment_type, {**copy.deepcopy(attachment), "name": new_name})


def attachments_of(layer: dict[str, Any], attachment_type: str) -> list[dict[str, Any]]:
    """The layer's attachments of one `LayerAttachmentType`."""
    held = (layer.get("attachments") or {}).get(ATTACHMENT_KEYS[attachment_type])
    if held is None:
        return []
    return [held] if isinstance(held, dict) else list(held)


def add_attachment(layer: dict[str, Any], attachment_type: str, attachment: dict[str, Any]) -> None:
    """Add an attachment to a segmentation layer: a free name for list types, an empty slot for the
    singleton types (else `ComposeFailure`)."""
    existing = attachments_of(layer, attachment_type)
    key = ATTACHMENT_KEYS[attachment_type]
    attachments = layer.setdefault("attachments", {})
    if attachment_type in SINGLETON_ATTACHMENTS:
        if existing:
            raise ComposeFailure(ATTACHMENT_SINGLETON_FILLED)
        attachments[key] = attachment
        return
    if any(a.get("name") == attachment["name"] for a in existing):
        raise ComposeFailure(ATTACHMENT_NAME_TAKEN)
    attachments[key] = [*existing, attachment]


@secured
async def compose_add_attachment(request: Request) -> Response:
    """`DatasetController.composeAddAttachment` (`ComposeService.addAttachment`): body {sourceDatasetId,
    sourceLayerName, targetLayerName, attachmentType, sourceAttachmentName, targetAttachmentName}; the
    target segmentation layer gets the source attachment (its path) under the new name."""
    return await _compose(request, ADD_ATTACHMENT_FAILED, _add_attachment)


routes = [
    Route("/datasets/{dataset_id}/compose/addLayer", compose_add_layer, methods=["POST"]),
    Route("/datasets/{dataset_id}/compose/addMag", compose_add_mag, methods=["POST"]),
    Route("/datasets/{dataset_id}/compose/addAttachment", compose_add_attachment, methods=["POST"]),
]
