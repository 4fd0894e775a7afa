"""Datastore raw cuboid reads (`GET /data/v{N}/datasets/{datasetId}/layers/{layer}/data`).

webknossos-datastore `BinaryDataController.requestRawCuboid` (route `GET /datasets/:datasetId/layers/
:dataLayerName/data` in `webknossos-datastore/conf/datastore.latest.routes`): `x`, `y`, `z` are the
top-left corner in mag-1 voxels, `width`/`height`/`depth` the size in voxels of the requested `mag`
(a literal such as `2-2-1`, or one number). The answer is the raw voxels, channel-first and in Fortran
order (c, x, y, z), with the `MISSING-BUCKETS` header listing the requests that found no data at all
(`[0]` for a mag the layer does not have; the SDK's download refuses such an answer). Regions without
data (outside the layer, or never written) read as zeros, as the datastore fills empty buckets.
"""

from __future__ import annotations

import numpy as np
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .auth import error
from .datastore import dataset_for_datastore
from .imagedata import CHUNK, DTYPES, Mag, parse_mag

MAX_VOXELS = 1024**3
"""The largest cuboid answered (the datastore's own limit is the memory of one request)."""


def read_cuboid(source: object, dtype: np.dtype, mag: Mag, offset: tuple[int, int, int], size: tuple[int, int, int]) -> np.ndarray:
    """Voxels (x, y, z) of `size` at `offset` (both in voxels of `mag`) assembled from 32³ chunks."""
    out = np.zeros(size, dtype)
    first = [o // CHUNK for o in offset]
    last = [(o + s - 1) // CHUNK for o, s in zip(offset, size)]
    for cx in range(max(first[0], 0), last[0] + 1):
        for cy in range(max(first[1], 0), last[1] + 1):
            for cz in range(max(first[2], 0), last[2] + 1):
                raw = source.chunk(mag, (cx, cy, cz))  # type: ignore[attr-defined]
                if raw is None:
                    continue
                chunk = np.frombuffer(raw, dtype).reshape((1, CHUNK, CHUNK, CHUNK), order="F")[0]
                lo = [max(c * CHUNK, o) for c, o in zip((cx, cy, cz), offset)]
                hi = [min((c + 1) * CHUNK, o + s) for c, o, s in zip((cx, cy, cz), offset, size)]
                out[lo[0] - offset[0] : hi[0] - offset[0], lo[1] - offset[1] : hi[1] - offset[1], lo[2] - offset[2] : hi[2] - offset[2]] = chunk[
                    lo[0] - cx * CHUNK : hi[0] - cx * CHUNK,
                    lo[1] - cy * CHUNK : hi[1] - cy * CHUNK,
                    lo[2] - cz * CHUNK : hi[2] - cz * CHUNK,
                ]
    return out


def _int_params(request: Request, names: tuple[str, ...]) -> list[int] | Response:
    values = []
    for name in names:
        raw = request.query_params.get(name)
        if raw is None:
            return error(400, f"Missing parameter for {name}")
        try:
            values.append(int(raw))
        except ValueError:
            return error(400, f"Cannot parse parameter {name} as Int: {raw}")
    return values


async def raw_cuboid(request: Request) -> Response:
    """`BinaryDataController.requestRawCuboid`: the voxels of one box of one layer and mag."""
    found = dataset_for_datastore(request)
    if isinstance(found, Response):
        return found
    layer_name = request.path_params["layer"]
    layer = found.layer(layer_name)
    if layer is None:
        return error(404, f"DataLayer “{layer_name}” not found")
    params = _int_params(request, ("x", "y", "z", "width", "height", "depth"))
    if isinstance(params, Response):
        return params
    x, y, z, width, height, depth = params
    try:
        mag = parse_mag(request.query_params.get("mag", ""))
    except ValueError:
        return error(400, f"Malformed mag: {request.query_params.get('mag')}")
    if min(width, height, depth) < 1 or width * height * depth > MAX_VOXELS:
        return error(400, "Requested cuboid is empty or too large")
    dtype = np.dtype(DTYPES[layer["elementClass"]])
    has_mag = any(tuple(m["mag"]) == mag for m in layer["mags"])
    if has_mag:
        offset = (x // mag[0], y // mag[1], z // mag[2])
        data = read_cuboid(found.sources[layer_name], dtype, mag, offset, (width, height, depth))
    else:
        data = np.zeros((width, height, depth), dtype)
    headers = {"MISSING-BUCKETS": "[]" if has_mag else "[0]", "Access-Control-Expose-Headers": "MISSING-BUCKETS"}
    return Response(data[np.newaxis].tobytes(order="F"), media_type="application/octet-stream", headers=headers)


routes = [Route("/datasets/{dataset_id}/layers/{layer}/data", raw_cuboid)]
