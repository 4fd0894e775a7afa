"""Exploring a remote dataset and adding it as a new (virtual) dataset.

webknossos `app/controllers/DatasetController.scala`, `exploreAndAddRemoteDataset` (route `POST
/datasets/exploreAndAddRemote` in `conf/webknossos.latest.routes`; a `SecuredAction`, 401 without a
user), body `ExploreAndAddRemoteDatasetParameters` {remoteUri, datasetName, folderId, folderPath,
dataStoreName}: the datastore explores the URI (`WKExploreRemoteLayerService.exploreRemoteDatasource`);
the sandbox knows one explorer, webknossos-datastore `explore/WebknossosZarrExplorer.scala`: the URI's
`datasource-properties.json`, each mag's path resolved against the URI. Then, in order: nothing explored
is 400 `Msg.Dataset.Explore.failed`, no layers 400 `Explore.zeroLayers`, a mag path that is not remote
400 `DataSource.addPathsNotAllowed` (`DatasetService.validatePaths`), the name must be valid
(`assertValidDatasetName`: `Msg.Dataset.Name`), and each layer name (`assertValidLayerNameLax`). The new
dataset (directory `{name}-{id}`, virtual, not public, no teams) goes to `folderId` (a folder of the user's
organization) or the organization's root folder; the answer is its id as a JSON string. A folder given by
`folderPath` (`FolderService.getOrCreateFromPathLiteral`) is not supported by the sandbox (400
`Explore.autoAddGetFolderFailed`).

Voxels: mags that point at this sandbox's own zarr streaming are served from the dataset they point
at; others have no voxels here.
"""

from __future__ import annotations

import copy
import re
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .api import base_url, identity, secured, state_of
from .auth import error, json_object
from .catalog import CatalogDataset
from .compose import LAYER_NAME_INVALID, LAYER_NAME_STARTS_WITH_DOT, NAME_CHARACTERS
from .imagedata import ChunkSource, NoData, parse_mag
from .state import new_object_id
from .upload import dataset_object, upload_root

EXPLORE_FAILED = "Could not explore remote dataset."
ZERO_LAYERS = "Explored dataset has no layers."
ADD_PATHS_NOT_ALLOWED = (
    "Cannot directly add a data source with local paths that leave the dataset, or with paths that match the WEBKNOSSOS reserved paths."
)
GET_FOLDER_FAILED = "Could not get or create folder during dataset exploration."
NAME_INVALID = "Dataset name is invalid. Please use only letters, digits, dots, underscores, hyphens."
NAME_TOO_SHORT = "Dataset name is invalid. Please use at least three characters."
NAME_STARTS_WITH_DOT = "Dataset name is invalid. Please use a name that does not start with a dot."
EXPLORE_TIMEOUT_S = 20.0
_LAYER_NAME_LAX = re.compile(r"^[^/\\]+$")
_OWN_ZARR = re.compile(r"^/data/v(?P<version>\d+)/zarr/(?:(?P<id>[0-9a-f]{24})|(?P<org>[^/]+)/(?P<dir>[^/]+))/(?P<layer>[^/]+)/(?P<mag>[^/]+)/?$")


def _name_problem(name: str) -> str | None:
    """`DatasetService.assertValidDatasetName` (`Msg.Dataset.Name`)."""
    if name.startswith("."):
        return NAME_STARTS_WITH_DOT
    if len(name) < 3:
        return NAME_TOO_SHORT
    return None if NAME_CHARACTERS.match(name) else NAME_INVALID


async def _explore(remote_uri: str) -> list[dict[str, Any]] | None:
    """`WebknossosZarrExplorer.explore`: the layers of the URI's `datasource-properties.json` (zarr
    layers only), mag paths resolved against the URI; None when nothing could be explored."""
    base = remote_uri if remote_uri.endswith("/") else remote_uri + "/"
    if urlsplit(base).scheme not in ("http", "https"):
        return None
    try:
        async with httpx.AsyncClient(timeout=EXPLORE_TIMEOUT_S) as client:
            answer = await client.get(urljoin(base, "datasource-properties.json"))
        properties = answer.json() if answer.status_code == 200 else None
        layers = [copy.deepcopy(x) for x in properties["dataLayers"]]  # type: ignore[index]
        scale = properties["scale"]  # type: ignore[index]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None
    explored = []
    for layer in layers:
        if not isinstance(layer, dict) or layer.get("dataFormat") not in ("zarr", "zarr3"):
            return None  # "Only remote Zarr2 or Zarr3 layers are supported"
        for m in layer.get("mags") or []:
            path = str(m.get("path") or f"{layer['name']}/{_mag_dir(m['mag'])}")
            # relative paths are relative to the dataset's folder; absolute local ones stay (and are refused)
            m["path"] = path if "://" in path or path.startswith("/") else urljoin(base, path)
        layer["resolutions"] = [m["mag"] for m in layer.get("mags") or []]
        layer["_scale"] = scale
        explored.append(layer)
    return explored


def _mag_dir(mag: list[int]) -> str:
    return str(mag[0]) if mag[0] == mag[1] == mag[2] else "-".join(map(str, mag))


def _own_source(request: Request, layer: dict[str, Any]) -> tuple[ChunkSource, CatalogDataset | None, str]:
    """The voxels of a layer whose mags all point at one layer of this sandbox's zarr streaming."""
    own = urlsplit(base_url(request))
    found: set[tuple[str, str]] = set()
    for m in layer.get("mags") or []:
        url = urlsplit(str(m["path"]))
        match = _OWN_ZARR.match(url.path)
        if url.netloc != own.netloc or match is None:
            return NoData(), None, ""
        found.add((match["id"] or f"{match['org']}/{match['dir']}", match["layer"]))
    if len(found) != 1:
        return NoData(), None, ""
    ref, layer_name = found.pop()
    for d in state_of(request).datasets.values():
        if (d.id == ref or f"{d.organization}/{d.directory_name}" == ref) and layer_name in d.sources:
            return d.sources[layer_name], d, layer_name
    return NoData(), None, ""


@secured
async def explore_and_add_remote(request: Request) -> Response:
    """`DatasetController.exploreAndAddRemoteDataset` (see the module docstring)."""
    body = await json_object(request)
    try:
        remote_uri, name = str(body["remoteUri"]), str(body["datasetName"])  # type: ignore[index]
        folder_id, folder_path = body.get("folderId"), body.get("folderPath")  # type: ignore[union-attr]
    except (KeyError, TypeError):
        return error(400, "Invalid Json format")
    me = identity(request)
    state = state_of(request)
    explored = await _explore(remote_uri)
    if explored is None:
        return error(400, EXPLORE_FAILED)
    if not explored:
        return error(400, ZERO_LAYERS)
    if any("://" not in str(m.get("path")) for layer in explored for m in layer.get("mags") or []):
        return error(400, ADD_PATHS_NOT_ALLOWED)
    organization = str(me["organization"])
    if folder_id is None and folder_path is not None:
        return error(400, GET_FOLDER_FAILED)
    if folder_id is not None and (state.folders.get(folder_id) or {}).get("organization") != organization:
        return error(404, "Could not find the requested folder.")
    problem = _name_problem(name)
    if problem is not None:
        return error(400, problem)
    for layer in explored:
        if layer["name"].startswith("."):
            return error(400, LAYER_NAME_STARTS_WITH_DOT)
        if not _LAYER_NAME_LAX.match(layer["name"]):
            return error(400, LAYER_NAME_INVALID)
    scale = explored[0].pop("_scale")
    for layer in explored:
        layer.pop("_scale", None)
    dataset_id = new_object_id()
    with state.lock:
        built = dataset_object(state, dataset_id, name, organization, folder_id, explored, scale, upload_root(request) / "explored" / dataset_id)
        dataset = CatalogDataset(json=built, sources={})
        for layer in explored:
            source, referenced, referenced_layer = _own_source(request, layer)
            dataset.sources[layer["name"]] = source
            for m in layer.get("mags") or []:
                mag = parse_mag("-".join(str(v) for v in m["mag"]))
                recorded = None if referenced is None else referenced.recorded_zarrays.get((referenced_layer, mag))
                if recorded is not None:
                    dataset.recorded_zarrays[(layer["name"], mag)] = copy.deepcopy(recorded)
        state.datasets[dataset_id] = dataset
    return JSONResponse(dataset_id)


routes = [Route("/datasets/exploreAndAddRemote", explore_and_add_remote, methods=["POST"])]
