"""Volume layers' mags and bounding boxes as the tracing store fixes them, and the zarr view that
serves them (`/tracings/volume/zarr/{tracingId}/...`).

Rules (scalableminds/webknossos):
- mags: `VolumeTracingMags.magsForVolumeTracing`
  (webknossos-tracingstore/.../tracings/volume/VolumeTracingMags.scala): the fallback layer's
  mags; without one the union of all layers' mags, or, when two share their largest factor
  (e.g. 2-2-1 and 2-2-2), the mags of the (first) layer with most mags; sorted by largest factor.
  A task's annotation keeps those its task type's `MagRestrictions` allow
  (`min <= maxDim <= max`, same file; `AnnotationService.createVolumeTracing`).
- bounding box: `AnnotationIOController.adaptPropertiesToFallbackLayer` (app/controllers): the
  uploaded NML's task bounding box, else the fallback layer's box, else the dataset's (the union
  of its layers).
- routes: webknossos-tracingstore/conf/tracingstore.latest.routes,
  `VolumeTracingZarrStreamingController.volumeTracingFolderContentJson` (the folder listing, mags
  as literals) and `.zarrSource` (a zarr segmentation layer with `mags` and `boundingBox`).

`describe_volume_layers` is called where an uploaded annotation's volume layers are stored
(`annotations.store_annotation`); each layer dict gains `tracingId`, `mags` and `boundingBox`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .auth import error, is_authenticated
from .catalog import CatalogDataset
from .state import tracing_id

JsonDict = dict[str, Any]
Mag = tuple[int, int, int]


def _mags(layer: JsonDict) -> list[Mag]:
    return [tuple(int(v) for v in m["mag"]) for m in layer["mags"]]  # type: ignore[misc]


def mags_for_volume_tracing(layers: list[JsonDict], fallback: JsonDict | None) -> list[Mag]:
    """`VolumeTracingMags.magsForVolumeTracing` over a dataset's layer JSON."""
    if fallback is not None:
        mags = list(dict.fromkeys(_mags(fallback)))
    else:
        union = list(dict.fromkeys(m for layer in layers for m in _mags(layer)))
        if len({max(m) for m in union}) == len(union):
            mags = union
        else:
            mags = list(dict.fromkeys(_mags(max(layers, key=lambda layer: len(layer["mags"])))))
    return sorted(mags, key=max)


def allowed(mags: list[Mag], restrictions: JsonDict | None) -> list[Mag]:
    """`MagRestrictions.filterAllowed`: `min <= maxDim <= max`."""
    low = (restrictions or {}).get("min")
    high = (restrictions or {}).get("max")
    return [m for m in mags if (low or 0) <= max(m) and (high is None or max(m) <= high)]


def _union_box(layers: list[JsonDict]) -> JsonDict:
    lo = [min(layer["boundingBox"]["topLeft"][i] for layer in layers) for i in range(3)]
    sizes = ("width", "height", "depth")
    hi = [max(layer["boundingBox"]["topLeft"][i] + layer["boundingBox"][sizes[i]] for layer in layers) for i in range(3)]
    return {"topLeft": lo, "width": hi[0] - lo[0], "height": hi[1] - lo[1], "depth": hi[2] - lo[2]}


def _nml_box(box: JsonDict) -> JsonDict:
    return {"topLeft": list(box["topLeft"]), "width": box["size"][0], "height": box["size"][1], "depth": box["size"][2]}


def describe_volume_layers(
    annotation_id: str,
    volume_layers: list[JsonDict],
    dataset: CatalogDataset,
    task_bounding_box: JsonDict | None = None,
    mag_restrictions: JsonDict | None = None,
) -> list[JsonDict]:
    """The stored volume layers with the tracing store's `tracingId`, `mags` and `boundingBox`."""
    layers = dataset.layers
    out = []
    for volume in volume_layers:
        fallback = next(
            (x for x in layers if x["category"] == "segmentation" and x["name"] == volume.get("fallbackLayer")), None
        )
        mags = allowed(mags_for_volume_tracing(layers, fallback), mag_restrictions)
        if task_bounding_box is not None:
            box = _nml_box(task_bounding_box)
        else:
            box = dict(fallback["boundingBox"]) if fallback is not None else _union_box(layers)
        out.append(
            {
                **volume,
                "tracingId": tracing_id(annotation_id, str(volume["id"])),
                "mags": [list(m) for m in mags],
                "boundingBox": box,
                "elementClass": fallback["elementClass"] if fallback is not None else "uint32",
            }
        )
    return out


def _find_volume(request: Request) -> JsonDict | Response:
    if not is_authenticated(request):
        return error(403, "Forbidden")
    wanted = request.path_params["tracing_id"]
    for annotation in request.app.state.sandbox.annotations.values():
        for layer in annotation.volume_layers:
            if layer.get("tracingId") == wanted:
                return layer  # type: ignore[no-any-return]
    return error(404, "Tracing not found")


def _literal(mag: list[int]) -> str:
    return str(mag[0]) if mag[0] == mag[1] == mag[2] else "-".join(map(str, mag))


async def folder_content_json(request: Request) -> Response:
    """`GET /tracings/volume/zarr/json/{tracingId}`: `.zattrs`, `.zgroup` and the mags."""
    found = _find_volume(request)
    if isinstance(found, Response):
        return found
    return JSONResponse([".zattrs", ".zgroup", *(_literal(m) for m in found["mags"])])


async def zarr_source(request: Request) -> Response:
    """`GET /tracings/volume/zarr/{tracingId}/zarrSource`: the layer as a zarr segmentation layer."""
    found = _find_volume(request)
    if isinstance(found, Response):
        return found
    return JSONResponse(
        {
            "name": request.query_params.get("tracingName") or found["tracingId"],
            "category": "segmentation",
            "boundingBox": found["boundingBox"],
            "elementClass": found["elementClass"],
            "mags": [{"mag": m, "axisOrder": {"x": 1, "y": 2, "z": 3, "c": 0}} for m in found["mags"]],
            "largestSegmentId": found.get("largestSegmentId"),
            "numChannels": 1,
            "dataFormat": "zarr",
        }
    )


routes = [
    Route("/volume/zarr/json/{tracing_id}", folder_content_json),
    Route("/volume/zarr/{tracing_id}/zarrSource", zarr_source),
]
