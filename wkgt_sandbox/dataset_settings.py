"""Changing datasets and reading their settings, after webknossos `app/controllers/DatasetController.scala`
and `DatasetConfigurationController.scala`.

Edits (`updatePartial`, `teams`, delete) need a user of the dataset's organization who may edit it
(`DatasetService.isEditableBy`: admin or dataset manager); others get 403. An unknown or invisible
dataset is 404, as for reads.
"""

from __future__ import annotations

import copy
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .api import dataset_json, dataset_not_found, dataset_of_path, identity, secured, sharing_token_of, state_of, visible
from .auth import can_edit_dataset, error, json_body
from .catalog import CatalogDataset
from .imagedata import NoData
from .upload import properties_folder, upload_root

NOT_EDITABLE = "You are not allowed to edit this dataset."
UPDATABLE_KEYS = ("name", "description", "tags", "isPublic", "folderId", "metadata", "sortingKey")
LAYER_VIEW_DEFAULTS: dict[str, Any] = {
    "color": [255, 255, 255],
    "alpha": 100,
    "gammaCorrectionValue": 1,
    "isDisabled": False,
    "isInverted": False,
    "isInEditMode": False,
}
"""`LayerViewConfiguration.default` of the server (merged under each layer's default view configuration)."""


def _editable_dataset(request: Request) -> CatalogDataset | Response:
    dataset = dataset_of_path(request)
    if isinstance(dataset, Response):
        return dataset
    if not can_edit_dataset(identity(request), dataset):
        return error(403, NOT_EDITABLE)
    return dataset


def _apply_data_source(dataset: CatalogDataset, body: dict[str, Any]) -> str | None:
    """Replace the layers with `body["dataSource"]`'s, carrying voxels over renamed layers."""
    layers = (body.get("dataSource") or {}).get("dataLayers")
    if not isinstance(layers, list) or not all(isinstance(x, dict) and "name" in x for x in layers):
        return "Invalid dataSource"
    renamed = {r["oldName"]: r["newName"] for r in body.get("layerRenamings") or [] if "oldName" in r and "newName" in r}
    sources = {renamed.get(name, name): source for name, source in dataset.sources.items()}
    dataset.sources = {x["name"]: sources.get(x["name"], NoData()) for x in layers}
    dataset.recorded_zarrays = {
        (renamed.get(name, name), mag): z for (name, mag), z in dataset.recorded_zarrays.items() if renamed.get(name, name) in dataset.sources
    }
    dataset.json["dataSource"]["dataLayers"] = copy.deepcopy(layers)
    return None


@secured
async def update_partial(request: Request) -> Response:
    """`DatasetController.updatePartial`: every key present is set (null included); answers the dataset."""
    found = _editable_dataset(request)
    if isinstance(found, Response):
        return found
    body = await json_body(request)
    if not isinstance(body, dict):
        return error(400, "Invalid Json format")
    state = state_of(request)
    with state.lock:
        if "folderId" in body and body["folderId"] not in state.folders:
            return error(404, "Folder could not be found.")
        if "dataSource" in body and (problem := _apply_data_source(found, body)) is not None:
            return error(400, problem)
        if "dataSource" in body and (uploaded := found.layers_stored_in(upload_root(request))):
            # layers stored in the datastore's folder (uploads) are read as now described (e.g. a widened box)
            found.serve_from_mag_paths(properties_folder(request, found.id), uploaded)
        for key in UPDATABLE_KEYS:
            if key in body:
                found.json[key] = copy.deepcopy(body[key])
    return JSONResponse(dataset_json(request, found))


DUPLICATE_METADATA_KEYS = "Metadata keys must be unique."


@secured
async def update(request: Request) -> Response:
    """`DatasetController.update` (`PATCH /datasets/{id}`, the SDK's metadata writes send the whole
    dataset object): `datasetDAO.updateFields` sets description (absent: none), name (`displayName`
    first), sortingKey (absent: the creation time), isPublic, tags, metadata (absent: unchanged; keys
    must be unique, `assertNoDuplicateMetadataKeys`) and folder; answers the dataset."""
    found = _editable_dataset(request)
    if isinstance(found, Response):
        return found
    body = await json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get("isPublic"), bool) or not isinstance(body.get("tags", []), list):
        return error(400, "Invalid Json format")
    metadata = body.get("metadata")
    if metadata is None:
        metadata = found.json.get("metadata") or []
    if not isinstance(metadata, list) or not all(isinstance(m, dict) and "key" in m for m in metadata):
        return error(400, "Invalid Json format")
    if len({m["key"] for m in metadata}) != len(metadata):
        return error(400, DUPLICATE_METADATA_KEYS)
    state = state_of(request)
    with state.lock:
        folder_id = body.get("folderId") or found.json.get("folderId")
        if folder_id not in state.folders:
            return error(404, "Folder could not be found.")
        name = body.get("displayName") or body.get("name") or found.name
        found.json.update(
            description=body.get("description"),
            name=str(name),
            sortingKey=body.get("sortingKey", found.json.get("created")),
            isPublic=body["isPublic"],
            tags=copy.deepcopy(body.get("tags") or []),
            metadata=copy.deepcopy(metadata),
            folderId=folder_id,
        )
    return JSONResponse(dataset_json(request, found))


@secured
async def update_teams(request: Request) -> Response:
    """`DatasetController.updateTeams`: the allowed teams (ids of this organization's teams)."""
    found = _editable_dataset(request)
    if isinstance(found, Response):
        return found
    try:
        team_ids = [str(t) for t in await request.json()]
    except (ValueError, TypeError):
        return error(400, "Invalid Json format")
    state = state_of(request)
    unknown = [t for t in team_ids if t not in state.teams]
    if unknown:
        return error(400, f"Team {unknown[0]} could not be found.")
    with state.lock:
        found.json["allowedTeams"] = [copy.deepcopy(state.teams[t]) for t in team_ids]
        found.json["allowedTeamsCumulative"] = copy.deepcopy(found.json["allowedTeams"])
    return JSONResponse(team_ids)


@secured
async def sharing_token(request: Request) -> Response:
    """`DatasetController.getSharingToken`."""
    found = _editable_dataset(request)
    return found if isinstance(found, Response) else JSONResponse({"sharingToken": sharing_token_of(found)})


@secured
async def delete_dataset(request: Request) -> Response:
    """`DatasetController.deleteOnDisk`: removes the dataset."""
    found = _editable_dataset(request)
    if isinstance(found, Response):
        return found
    state = state_of(request)
    with state.lock:
        state.datasets.pop(found.id, None)
    return Response(status_code=200)


@secured
async def is_valid_new_name(request: Request) -> Response:
    """`DatasetController.isValidNewName`: names are checked for characters only (since datasets are
    addressed by id, names need not be unique)."""
    name = request.path_params["name"]
    if not name or any(c in name for c in "/\\") or name.startswith("."):
        return JSONResponse({"isValid": False, "errors": ["Dataset name contains invalid characters."]})
    return JSONResponse({"isValid": True})


async def dataset_view_configuration(request: Request) -> Response:
    """`DatasetConfigurationController.getDatasetViewConfigurationForDataset`: the dataset's default
    view configuration with every layer's configuration completed by the server's defaults."""
    dataset_id = request.path_params["dataset_id"]
    dataset = state_of(request).datasets.get(dataset_id)
    if dataset is None or not visible(request, dataset):
        return dataset_not_found(request, dataset_id)
    config = copy.deepcopy(dataset.json.get("defaultViewConfiguration") or {})
    config["layers"] = {
        layer["name"]: {**LAYER_VIEW_DEFAULTS, **(layer.get("defaultViewConfiguration") or {})} for layer in dataset.layers
    }
    return JSONResponse(config)


routes = [
    Route("/datasets/{dataset_id}/updatePartial", update_partial, methods=["PATCH"]),
    Route("/datasets/{dataset_id}/teams", update_teams, methods=["PATCH"]),
    Route("/datasets/{dataset_id}/sharingToken", sharing_token),
    Route("/datasets/{name}/isValidNewName", is_valid_new_name),
    Route("/datasets/{dataset_id}", delete_dataset, methods=["DELETE"]),
    Route("/datasets/{dataset_id}", update, methods=["PATCH"]),
    Route("/datasetConfigurations/{dataset_id}", dataset_view_configuration, methods=["POST"]),
]
