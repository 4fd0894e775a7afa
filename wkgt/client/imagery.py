"""Reading image data: the coarsest mag of a layer, through the SDK (the only voxels wkgt reads).

Readers are small picklable values, so tissue scoring can run them in other processes or on
a cluster (each process opens the dataset once). Coordinates are coarse-mag voxels; the
data outside the layer's bounding box reads as 0 (padding).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from ..errors import ServerError
from ..planner.mag_choice import coarsest_mag
from ..planner.vectors import Vec3, format_mag
from .facts import DatasetFacts, LayerFacts
from .sdk import webknossos

_OPEN: dict[tuple[Any, ...], Any] = {}
HTTP_RETRIES = {"max_retries": 4, "initial_delay": "0.5s", "max_delay": "2s"}


def bound_http_retries() -> None:
    """Make the SDK's tensorstore give up on a failing chunk after a few seconds.

    Its default context retries a 5xx chunk 32 times with delays up to 32 s (a quarter of an
    hour per chunk). wkgt swaps the context its arrays read with (a private SDK module
    attribute; skipped if a future SDK moves it) for one with ``HTTP_RETRIES``.
    """
    import importlib

    try:
        array_module = importlib.import_module("webknossos.dataset.layer.view._array")
        import tensorstore
    except ImportError:
        return
    if getattr(array_module, "_wkgt_bounded", False) or not hasattr(array_module, "TS_CONTEXT"):
        return
    setattr(array_module, "TS_CONTEXT", tensorstore.Context({"http_request_retries": HTTP_RETRIES}))  # noqa: B010
    setattr(array_module, "_wkgt_bounded", True)  # noqa: B010


def forget_open_datasets() -> None:
    """Drop the datasets this process opened (each reader opens its dataset once per process)."""
    _OPEN.clear()


def _read(mag_view: Any, layer_bbox: Any, mag: Vec3, start: Vec3, size: Vec3) -> np.ndarray:
    """Read coarse voxels ``[start, start + size)``; only the part inside the layer's box is requested."""
    wk = webknossos()
    out = np.zeros(size, dtype=mag_view.info.voxel_type if hasattr(mag_view, "info") else np.uint8)
    wanted = wk.BoundingBox(tuple(s * m for s, m in zip(start, mag)), tuple(n * m for n, m in zip(size, mag)))
    inside = wanted.intersected_with(layer_bbox.align_with_mag(wk.Mag(mag), ceil=True), dont_assert=True)
    if inside.is_empty():
        return out
    data = mag_view.read(absolute_bounding_box=inside)[0]
    offset = [(a - b) // m for a, b, m in zip(inside.topleft.to_tuple(), wanted.topleft.to_tuple(), mag)]
    out = out.astype(data.dtype, copy=False)
    out[offset[0] : offset[0] + data.shape[0], offset[1] : offset[1] + data.shape[1], offset[2] : offset[2] + data.shape[2]] = data
    return out


@attrs.frozen
class RemoteReader:
    """Reads one mag of a layer of a dataset on a WEBKNOSSOS server (zarr streaming)."""

    url: str
    token: str | None = attrs.field(repr=False)
    api_version: int | None
    timeout_s: float
    dataset_id: str
    layer: str
    mag: Vec3

    def _key(self) -> tuple[Any, ...]:
        return ("remote", self.url, self.token, self.dataset_id, self.layer, self.mag)

    def _context(self) -> Any:
        return webknossos().webknossos_context(
            url=self.url, token=self.token, timeout=max(1, round(self.timeout_s)), api_version=self.api_version
        )

    def _open(self) -> tuple[Any, Any]:
        if self._key() not in _OPEN:
            wk = webknossos()
            bound_http_retries()
            with self._context(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the SDK warns per mag it cannot list
                layer = wk.RemoteDataset.open(dataset_id=self.dataset_id).get_layer(self.layer)
            if wk.Mag(self.mag) not in layer.mags:
                raise ServerError(
                    f"the datastore of {self.url} did not list mag {format_mag(self.mag)} of layer {self.layer} "
                    "(its datasource-properties.json could not be read: is the datastore up, and may this token "
                    "read the dataset?); --no-tissue-check plans without image data"
                )
            _OPEN[self._key()] = (layer.get_mag(format_mag(self.mag)), layer.bounding_box)
        return _OPEN[self._key()]

    def __call__(self, start: Vec3, size: Vec3) -> np.ndarray:
        view, bbox = self._open()
        with self._context():
            return _read(view, bbox, self.mag, tuple(start), tuple(size))  # type: ignore[arg-type]


@attrs.frozen
class LocalReader:
    """Reads one mag of a layer of a dataset on disk (``webknossos.Dataset.open``)."""

    path: str
    layer: str
    mag: Vec3

    def __call__(self, start: Vec3, size: Vec3) -> np.ndarray:
        key = ("local", self.path, self.layer, self.mag)
        if key not in _OPEN:
            layer = webknossos().Dataset.open(self.path).get_layer(self.layer)
            _OPEN[key] = (layer.get_mag(format_mag(self.mag)), layer.bounding_box)
        view, bbox = _OPEN[key]
        return _read(view, bbox, self.mag, tuple(start), tuple(size))  # type: ignore[arg-type]


def remote_reader(session: Any, dataset: DatasetFacts, layer: LayerFacts, mag: Vec3 | None = None) -> RemoteReader:
    """A reader of the coarsest mag (or ``mag``) of ``layer`` on the session's server."""
    if session.api_version is None:
        session.negotiate()
    return RemoteReader(
        url=session.config.url,
        token=session.config.token,
        api_version=session.api_version,
        timeout_s=session.config.timeout_s,
        dataset_id=dataset.id or "",
        layer=layer.name,
        mag=tuple(mag or coarsest_mag(layer.mags)),  # type: ignore[arg-type]
    )


def local_reader(path: Path | str, layer: LayerFacts, mag: Vec3 | None = None) -> LocalReader:
    return LocalReader(str(path), layer.name, tuple(mag or coarsest_mag(layer.mags)))  # type: ignore[arg-type]
