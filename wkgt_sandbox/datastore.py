"""Datastore zarr streaming (`/data/v{N}/zarr/{datasetId}/...`): metadata and chunks of each layer.

The same zarr views serve an annotation (`annotation_zarr.py`): `zarr_routes` builds them over any
function that finds the (possibly composed) dataset a request asks for. API versions 5 to 9 address a
dataset by organization and directory name (`/data/v{N}/zarr/{organizationId}/{directoryName}/...`,
webknossos-datastore `controllers/DSLegacyApiController.scala`, the `...V9` zarr routes: an unknown name
answers the datastore's 403 like an unreadable dataset, `resolveDatasetIdFox`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.convertors import Convertor, register_url_convertor
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .api import readable_with_sharing_token, state_of
from .auth import datastore_forbidden, error
from .catalog import CatalogDataset
from .imagedata import CHUNK, Mag, mag_literal, parse_mag


def dataset_for_datastore(request: Request) -> CatalogDataset | Response:
    """The requested dataset, or the datastore's 403 (its access check also fails for unknown ids).
    A dataset's sharing token (`?token=`) grants read access like a user token."""
    dataset = state_of(request).datasets.get(request.path_params["dataset_id"])
    if dataset is None or not readable_with_sharing_token(request, dataset):
        return datastore_forbidden()
    return dataset


def _layer_mag(request: Request, dataset: CatalogDataset) -> tuple[str, Mag] | Response:
    layer_name = request.path_params["layer"]
    if dataset.layer(layer_name) is None:
        return error(404, f"DataLayer “{layer_name}” not found")
    try:
        mag = parse_mag(request.path_params["mag"])
    except ValueError:
        return error(404, f"Magnification {request.path_params['mag']} of layer {layer_name} does not exist")
    if dataset.zarray(layer_name, mag) is None:
        return error(404, f"Magnification {request.path_params['mag']} of layer {layer_name} does not exist")
    return layer_name, mag


Resolver = Callable[[Request], CatalogDataset | Response]
Handler = Callable[[Request], Awaitable[Response]]


def zarr_routes(resolve: Resolver) -> list[Route]:
    """The zarr streaming routes (datasource properties, group/array metadata, chunks) over the dataset
    `resolve` finds for a request (or the error it answers)."""

    def bind(view: Callable[[Request, CatalogDataset], Awaitable[Response]]) -> Handler:
        async def handler(request: Request) -> Response:
            found = resolve(request)
            return found if isinstance(found, Response) else await view(request, found)

        handler.__name__ = handler.__qualname__ = view.__name__
        return handler

    return [
        Route("/datasource-properties.json", bind(datasource_properties)),
        Route("/.zgroup", bind(zgroup)),
        Route("/{layer}/.zgroup", bind(zgroup)),
        Route("/{layer}/.zattrs", bind(zattrs)),
        Route("/{layer}/{mag}/.zarray", bind(zarray)),
        Route("/{layer}/{mag}/{chunk}", bind(chunk)),
    ]


async def datasource_properties(request: Request, found: CatalogDataset) -> Response:
    return JSONResponse(found.datasource_properties())


async def zgroup(request: Request, found: CatalogDataset) -> Response:
    if "layer" in request.path_params and found.layer(request.path_params["layer"]) is None:
        return error(404, f"DataLayer “{request.path_params['layer']}” not found")
    return JSONResponse({"zarr_format": 2})


async def zattrs(request: Request, found: CatalogDataset) -> Response:
    """OME-NGFF 0.4 multiscales metadata of a layer."""
    layer = found.layer(request.path_params["layer"])
    if layer is None:
        return error(404, f"DataLayer “{request.path_params['layer']}” not found")
    scale = found.json["dataSource"]["scale"]
    unit = scale.get("unit", "nanometer")
    axes = [{"name": "c", "type": "channel"}] + [{"name": a, "type": "space", "unit": unit} for a in "xyz"]
    datasets = [
        {
            "path": mag_literal(tuple(m["mag"])),  # type: ignore[arg-type]
            "coordinateTransformations": [
                {"type": "scale", "scale": [1.0] + [f * s for f, s in zip(scale["factor"], m["mag"])]}
            ],
        }
        for m in layer["mags"]
    ]
    return JSONResponse(
        {"multiscales": [{"version": "0.4", "name": layer["name"], "axes": axes, "datasets": datasets}]}
    )


async def zarray(request: Request, found: CatalogDataset) -> Response:
    layer_mag = _layer_mag(request, found)
    if isinstance(layer_mag, Response):
        return layer_mag
    return JSONResponse(found.zarray(*layer_mag))


async def chunk(request: Request, found: CatalogDataset) -> Response:
    """Raw chunk bytes; a chunk outside the array or without data answers 404 (tensorstore then
    reads the fill value, as with the real datastore)."""
    layer_mag = _layer_mag(request, found)
    if isinstance(layer_mag, Response):
        return layer_mag
    layer_name, mag = layer_mag
    key = request.path_params["chunk"]
    try:
        c, x, y, z = (int(p) for p in key.split("."))
    except ValueError:
        return error(404, f"Invalid chunk key {key}")
    shape = found.zarray(layer_name, mag)["shape"]  # type: ignore[index]
    grid = [-(-n // CHUNK) for n in shape[1:]]
    if c != 0 or not all(0 <= i < g for i, g in zip((x, y, z), grid)):
        return error(404, f"Chunk {key} is outside of the array")
    data = found.sources[layer_name].chunk(mag, (x, y, z))
    if data is None:
        return error(404, "No data at coordinates")
    return Response(data, media_type="application/octet-stream")


routes = zarr_routes(dataset_for_datastore)


class LegacyZarrVersion(Convertor[int]):
    """API versions whose datastore zarr routes take organization and directory name (5 to 9)."""

    regex = "[5-9]"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("legacy_zarr_version", LegacyZarrVersion())
LEGACY_MOUNT = "/data/v{version:legacy_zarr_version}/zarr/{organization}/{directory_name}"


def dataset_by_name_for_datastore(request: Request) -> CatalogDataset | Response:
    """`DSLegacyApiController.resolveDatasetIdFox` then the read check: the dataset of that organization
    and directory name, or the datastore's 403."""
    org, directory = request.path_params["organization"], request.path_params["directory_name"]
    dataset = next((d for d in state_of(request).datasets.values() if d.organization == org and d.directory_name == directory), None)
    if dataset is None or not readable_with_sharing_token(request, dataset):
        return datastore_forbidden()
    return dataset


async def legacy_directory_contents(request: Request) -> Response:
    """`DSLegacyApiController.requestDataSourceDirectoryContentsV9`: an HTML listing of the dataset's
    folder (`datasource-properties.json`, `.zgroup` and the layers)."""
    found = dataset_by_name_for_datastore(request)
    if isinstance(found, Response):
        return found
    entries = ["datasource-properties.json", ".zgroup", *(layer["name"] for layer in found.layers)]
    items = "".join(f'<li><a href="{e}">{e}</a></li>' for e in entries)
    return HTMLResponse(f"<!DOCTYPE html><html><head><title>Datastore</title></head><body><h1>{found.id}</h1><ul>{items}</ul></body></html>")


legacy_routes = [Route("/", legacy_directory_contents), *zarr_routes(dataset_by_name_for_datastore)]
