"""Datastore zarr streaming (`/data/v{N}/zarr/{datasetId}/...`): metadata and chunks of each layer.

The same zarr views serve an annotation (`annotation_zarr.py`): `zarr_routes` builds them over any
function that finds the (possibly composed) dataset a request asks for.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
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
