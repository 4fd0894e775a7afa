"""Annotation zarr streaming (`/data/v{N}/annotations/zarr/{annotationId}/...`): the annotation's
dataset with its volume layers, as the SDK's `Annotation.get_remote_annotation_dataset()` and
`RemoteDataset.open(annotation_id_or_url=...)` read it.

webknossos-datastore `controllers/ZarrStreamingController.scala`:
- `dataSourceWithAnnotationPrivateLink`: the dataset's layers, minus those named like a volume
  layer of the annotation, plus each volume layer as a zarr segmentation layer (the tracing store's
  `getVolumeLayerAsZarrLayer`: its mags and bounding box, `volume_mags.py`). An annotation the
  caller may not read (`getAnnotationSource`, webknossos `AnnotationPrivateLinkController`) is 404.
- `zAttrsWithAnnotationPrivateLink`, `rawZarrCubePrivateLink` (`ifIsAnnotationLayerOrElse`): a
  volume layer's chunks come from the tracing store (a chunk never written is 404), every other
  layer's from the dataset.
The voxels of a volume layer are those of its uploaded data zip (zarr3 arrays
`volumeAnnotationData/{mag}/c.0.x.y.z`, 32³ chunks, as the SDK and the server write them).
"""

from __future__ import annotations

import copy
import io
import os
import tempfile
import threading
import weakref
import zipfile
from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import Response

from .annotations import NOT_FOUND, can_read
from .api import state_of
from .auth import error, request_user
from .catalog import CatalogDataset
from .datastore import zarr_routes
from .imagedata import CHUNK, DTYPES, ChunkSource, Mag, Vec3, encode_chunk, mag_literal
from .nml import data_zip_name
from .state import StoredAnnotation


class VolumeZipChunks:
    """The chunks of one volume layer's data zip (zarr3, one array per mag, 32³ chunks)."""

    def __init__(self, data_zip: bytes, element_class: str) -> None:
        self._data = data_zip
        self._dtype = np.dtype(DTYPES.get(element_class, "<u4"))
        with zipfile.ZipFile(io.BytesIO(data_zip)) as zf:
            self._names = set(zf.namelist())
        self._lock = threading.Lock()
        self._file: str | None = None
        self._arrays: dict[str, Any] = {}

    def __deepcopy__(self, memo: dict[int, Any]) -> VolumeZipChunks:
        return self

    def _mag_folder(self, mag: Mag) -> str | None:
        for literal in dict.fromkeys((mag_literal(mag), "-".join(map(str, mag)))):
            if f"volumeAnnotationData/{literal}/zarr.json" in self._names:
                return literal
        return None

    def _array(self, folder: str) -> Any:
        import tensorstore as ts

        with self._lock:
            if self._file is None:
                handle, self._file = tempfile.mkstemp(prefix="wkgt-sandbox-volume-", suffix=".zip")
                with os.fdopen(handle, "wb") as f:
                    f.write(self._data)
                weakref.finalize(self, os.unlink, self._file)
            if folder not in self._arrays:
                spec = {
                    "driver": "zarr3",
                    "kvstore": {"driver": "zip", "path": f"volumeAnnotationData/{folder}/", "base": {"driver": "file", "path": self._file}},
                }
                self._arrays[folder] = ts.open(spec, open=True, read=True).result()
            return self._arrays[folder]

    def chunk(self, mag: Mag, index: Vec3) -> bytes | None:
        folder = self._mag_folder(mag)
        if folder is None or f"volumeAnnotationData/{folder}/c.0.{index[0]}.{index[1]}.{index[2]}" not in self._names:
            return None
        array = self._array(folder)
        lo = [i * CHUNK for i in index]
        hi = [min(a + CHUNK, int(n)) for a, n in zip(lo, array.shape[1:])]
        data = array[0, lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]].read().result()
        out = np.zeros((CHUNK,) * 3, self._dtype)
        out[: data.shape[0], : data.shape[1], : data.shape[2]] = data
        return encode_chunk(out)


class NoVolumeData:
    """A volume layer uploaded without data: every chunk is missing."""

    def chunk(self, mag: Mag, index: Vec3) -> bytes | None:
        return None


def _volume_source(request: Request, annotation: StoredAnnotation, layer: dict[str, Any]) -> ChunkSource:
    """The layer's chunks, decoded once per running sandbox."""
    cache: dict[str, ChunkSource] | None = getattr(request.app.state, "volume_sources", None)
    if cache is None:
        cache = request.app.state.volume_sources = {}
    key = str(layer.get("tracingId"))
    if key not in cache:
        blob = annotation.volume_data.get(data_zip_name(layer["id"], layer["name"]))
        try:
            cache[key] = VolumeZipChunks(blob, layer.get("elementClass", "uint32")) if blob else NoVolumeData()
        except zipfile.BadZipFile:
            cache[key] = NoVolumeData()
    return cache[key]


def annotation_dataset(request: Request) -> CatalogDataset | Response:
    """The annotation's dataset with its volume layers (`dataSourceWithAnnotationPrivateLink`), or 404."""
    state = state_of(request)
    annotation = state.annotations.get(request.path_params["annotation_id"])
    if annotation is None or not can_read(state, request_user(request), annotation):
        return error(404, NOT_FOUND)
    dataset = state.datasets.get(annotation.dataset_id or "")
    if dataset is None:
        return error(404, f"Dataset {annotation.dataset_name} does not exist or could not be accessed")
    volume_names = {v["name"] for v in annotation.volume_layers}
    layers = [copy.deepcopy(x) for x in dataset.layers if x["name"] not in volume_names]
    sources = {x["name"]: dataset.sources[x["name"]] for x in layers if x["name"] in dataset.sources}
    for volume in annotation.volume_layers:
        layers.append(
            {
                "name": volume["name"],
                "category": "segmentation",
                "boundingBox": volume["boundingBox"],
                "elementClass": volume["elementClass"],
                "mags": [{"mag": list(m)} for m in volume["mags"]],
                "largestSegmentId": volume.get("largestSegmentId"),
            }
        )
        sources[volume["name"]] = _volume_source(request, annotation, volume)
    view = {**dataset.json, "dataSource": {**dataset.json["dataSource"], "dataLayers": layers}}
    recorded = {k: v for k, v in dataset.recorded_zarrays.items() if k[0] not in volume_names}
    return CatalogDataset(json=view, sources=sources, recorded_zarrays=recorded)


routes = zarr_routes(annotation_dataset)
