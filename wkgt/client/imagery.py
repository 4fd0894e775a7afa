"""Reading image data: one mag of a layer, straight through tensorstore (the only voxels wkgt reads).

Remote reads open the datastore's zarr array of the mag directly (its ``.zarray`` is the only
metadata request: the dataset's facts and datastore URL come from the session), with the
token as the SDK sends it. Local reads open the mag's zarr/zarr3 array on disk, sharing one
cache so a shard's index is read once. Every read ends within a budget derived from
``--timeout`` and the retry policy (see :func:`read_budget_s`), never with the SDK's own
hours-long retries. Readers are small picklable values; coordinates are voxels of the mag;
data outside the layer's bounding box reads as 0 (padding).
"""

from __future__ import annotations

import math
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from ..errors import AuthError, ServerError, WkgtError
from ..planner.mag_choice import coarsest_mag
from ..planner.placement import Region
from ..planner.vectors import Vec3, format_mag
from .config import RetryPolicy
from .facts import DatasetFacts, LayerFacts
from .sdk import webknossos

REQUEST_CONCURRENCY = 32  # chunk requests in flight at once (tensorstore's default)
CACHE_BYTES = 64 << 20  # decoded chunks and shard indices kept for re-use
_OPEN: dict[tuple[Any, ...], Any] = {}
_LOCK = threading.Lock()


def retry_delays(retry: RetryPolicy) -> list[float]:
    """The waits between the attempts of one request (doubling)."""
    return [retry.first_delay_s * 2**i for i in range(max(0, retry.attempts - 1))]


def read_budget_s(timeout_s: float, retry: RetryPolicy, requests: int) -> float:
    """The longest a read of ``requests`` chunks may take: per wave of ``REQUEST_CONCURRENCY``
    requests, every attempt may stall for ``timeout_s`` and wait between attempts."""
    waves = max(1, math.ceil(requests / REQUEST_CONCURRENCY))
    return waves * (retry.attempts * timeout_s + sum(retry_delays(retry))) + 1.0


def bytes_transferred() -> int:
    """Bytes tensorstore read from storage in this process so far (HTTP bodies, files)."""
    import tensorstore

    total = 0
    for metric in tensorstore.experimental_collect_matching_metrics("/tensorstore/kvstore/"):
        if metric["name"].endswith("/bytes_read"):
            total += sum(int(v.get("value", 0)) for v in metric["values"])
    return total


def forget_open_datasets() -> None:
    """Drop the arrays this process opened (each reader opens its array once per process)."""
    with _LOCK:
        _OPEN.clear()


def _context(retry: RetryPolicy) -> Any:
    import tensorstore

    delays = retry_delays(retry) or [retry.first_delay_s]
    return tensorstore.Context(
        {
            "http_request_retries": {
                "max_retries": max(0, retry.attempts - 1),
                "initial_delay": f"{retry.first_delay_s}s",
                "max_delay": f"{max(delays)}s",
            },
            "cache_pool": {"total_bytes_limit": CACHE_BYTES},
        }
    )


def _stall_limit(timeout_s: float) -> None:
    """A request that receives nothing for ``timeout_s`` fails (curl's low-speed limit; the
    first value set in a process applies to it)."""
    seconds = str(max(1, math.ceil(timeout_s)))
    os.environ.setdefault("TENSORSTORE_CURL_LOW_SPEED_TIME_SECONDS", seconds)
    os.environ.setdefault("TENSORSTORE_CURL_LOW_SPEED_LIMIT_BYTES", "1")
    os.environ.setdefault("TENSORSTORE_CURL_CONNECT_TIMEOUT_SECONDS", seconds)


def _read_box(array: Any, bbox: Region, mag: Vec3, start: Vec3, size: Vec3, deadline_s: float | None) -> np.ndarray:
    """Voxels ``[start, start + size)`` of a (c, x, y, z) array; only what lies inside both the
    layer's box (rounded out to the mag) and the array is requested, the rest is 0."""
    out = np.zeros(size, dtype=array.dtype.numpy_dtype)
    layer = bbox.in_mag(mag)
    array_hi = array.domain.exclusive_max[1:4]
    lo = [max(a, b, 0) for a, b in zip(start, layer.topleft)]
    hi = [min(s + n, b, int(c)) for s, n, b, c in zip(start, size, layer.end, array_hi)]
    if any(h <= low for low, h in zip(lo, hi)):
        return out
    future = array[0, lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]].read()
    try:
        data = future.result(timeout=deadline_s)
    except TimeoutError:
        future.cancel()
        raise TimeoutError(f"no complete answer within {deadline_s:.0f} s") from None
    out[tuple(slice(a - s, b - s) for a, b, s in zip(lo, hi, start))] = data
    return out


def _chunk_requests(array: Any, size: Sequence[int]) -> int:
    chunks = array.chunk_layout.read_chunk.shape[1:4] if array.chunk_layout.read_chunk.shape else (32, 32, 32)
    return math.prod(math.ceil(n / max(1, int(c))) + 1 for n, c in zip(size, chunks))


@attrs.frozen
class RemoteReader:
    """Reads one mag of a layer from a datastore's zarr streaming (``…/zarr/{id}/{layer}/{mag}``)."""

    zarr_url: str
    token: str | None = attrs.field(repr=False)
    layer: str
    mag: Vec3
    bbox: Region
    timeout_s: float
    retry: RetryPolicy = RetryPolicy()
    counts_storage_bytes: bool = True

    @property
    def url(self) -> str:
        return f"{self.zarr_url.rstrip('/')}/{self.layer}/{format_mag(self.mag)}/"

    def _open(self) -> Any:
        key = ("remote", self.url, self.token)
        with _LOCK:
            if key in _OPEN:
                return _OPEN[key]
        import tensorstore

        _stall_limit(self.timeout_s)
        headers = [] if self.token is None else [f"X-Auth-Token: {self.token}"]
        spec = {"driver": "zarr", "kvstore": {"driver": "http", "base_url": self.url, "headers": headers}}
        future = tensorstore.open(spec, read=True, context=_context(self.retry))
        budget = read_budget_s(self.timeout_s, self.retry, 1)
        try:
            array = future.result(timeout=budget)
        except TimeoutError:
            raise ServerError(
                f"opening mag {format_mag(self.mag)} of layer {self.layer} at the datastore took longer than "
                f"{budget:.0f} s (--timeout {self.timeout_s:g} s, {self.retry.attempts} attempts)"
            ) from None
        except Exception as err:  # noqa: BLE001 - tensorstore reports HTTP failures as ValueError
            raise self._open_error(err) from None
        with _LOCK:
            _OPEN[key] = array
        return array

    def _open_error(self, err: BaseException) -> WkgtError:
        """One line for a mag the datastore did not serve: 401/403 → exit 4 (the token), a
        redirect → not followed (no token goes where it was not configured for), else exit 5."""
        what = f"reading mag {format_mag(self.mag)} of layer {self.layer} at the datastore"
        status = _http_status(err)
        if status in (401, 403):
            has = "" if self.token else " (no token given)"
            return AuthError(f"{what}: refused access (HTTP {status}): the token is missing, wrong or expired, or may not read the dataset{has}")
        if status is not None and 300 <= status < 400:
            return ServerError(f"{what}: the datastore answered with a redirect (HTTP {status}), which wkgt does not follow")
        return ServerError(
            f"the datastore did not serve mag {format_mag(self.mag)} of layer {self.layer} ({_first_line(err)}); "
            "is it up, and may this token read the dataset? --no-tissue-check plans without image data"
        )

    def at(self, mag: Vec3) -> RemoteReader:
        """The same layer at another mag."""
        return attrs.evolve(self, mag=tuple(mag))

    def __call__(self, start: Vec3, size: Vec3) -> np.ndarray:
        array = self._open()
        budget = read_budget_s(self.timeout_s, self.retry, _chunk_requests(array, size))
        return _read_box(array, self.bbox, self.mag, tuple(start), tuple(size), budget)  # type: ignore[arg-type]


@attrs.frozen
class LocalReader:
    """Reads one mag of a layer of a dataset on disk (zarr/zarr3 through tensorstore, wkw through the SDK)."""

    path: str
    layer: str
    mag: Vec3
    counts_storage_bytes: bool = True

    def _open(self) -> tuple[Any, Region, Any]:
        key = ("local", self.path, self.layer, self.mag)
        with _LOCK:
            if key in _OPEN:
                return _OPEN[key]
        layer = webknossos().Dataset.open(self.path).get_layer(self.layer)
        view = layer.get_mag(format_mag(self.mag))
        box = layer.bounding_box
        bbox = Region(tuple(int(v) for v in box.topleft_xyz), tuple(int(v) for v in box.size_xyz))  # type: ignore[arg-type]
        array = None
        driver = str(getattr(view.info.data_format, "value", view.info.data_format))
        if driver in ("zarr", "zarr3"):
            import tensorstore

            spec = {"driver": driver, "kvstore": {"driver": "file", "path": str(view.path)}}
            array = tensorstore.open(spec, read=True, context=_context(RetryPolicy(attempts=1))).result()
        with _LOCK:
            _OPEN[key] = (array, bbox, view)
        return array, bbox, view

    def at(self, mag: Vec3) -> LocalReader:
        """The same layer at another mag."""
        return attrs.evolve(self, mag=tuple(mag))

    def __call__(self, start: Vec3, size: Vec3) -> np.ndarray:
        array, bbox, view = self._open()
        if array is not None:
            return _read_box(array, bbox, self.mag, tuple(start), tuple(size), None)  # type: ignore[arg-type]
        wk = webknossos()  # wkw: the SDK reads it
        out = np.zeros(size, dtype=view.info.voxel_type)
        wanted = wk.BoundingBox(tuple(s * m for s, m in zip(start, self.mag)), tuple(n * m for n, m in zip(size, self.mag)))
        layer_box = wk.BoundingBox(bbox.topleft, bbox.size).align_with_mag(wk.Mag(self.mag), ceil=True)
        inside = wanted.intersected_with(layer_box, dont_assert=True)
        if inside.is_empty():
            return out
        data = view.read(absolute_bounding_box=inside)[0]
        offset = [(a - b) // m for a, b, m in zip(inside.topleft.to_tuple(), wanted.topleft.to_tuple(), self.mag)]
        out[tuple(slice(o, o + n) for o, n in zip(offset, data.shape))] = data
        return out


def zarr_streaming_url(session: Any, dataset: DatasetFacts) -> str:
    """The datastore's zarr streaming URL of a dataset, as the SDK forms it (no request)."""
    from webknossos.client.context import _get_context

    datastore = session.datastore_url(dataset.id or "")
    with session.context():
        return str(_get_context().get_datastore_api_client(datastore).zarr_streaming_dataset_url(dataset.id))


def remote_reader(session: Any, dataset: DatasetFacts, layer: LayerFacts, mag: Vec3 | None = None) -> RemoteReader:
    """A reader of ``mag`` (default: the coarsest) of ``layer`` on the session's datastore."""
    if session.api_version is None:
        session.negotiate()
    return RemoteReader(
        zarr_url=zarr_streaming_url(session, dataset),
        token=session.config.token,
        layer=layer.name,
        mag=tuple(mag or coarsest_mag(layer.mags)),  # type: ignore[arg-type]
        bbox=layer.bbox,
        timeout_s=session.config.timeout_s,
        retry=session.retry,
    )


def local_reader(path: Path | str, layer: LayerFacts, mag: Vec3 | None = None) -> LocalReader:
    return LocalReader(str(path), layer.name, tuple(mag or coarsest_mag(layer.mags)))  # type: ignore[arg-type]


def read_error(what: str, err: BaseException) -> WkgtError:
    """One line for a failed image read (tensorstore, timeouts, executors): a datastore that
    refuses the token (HTTP 401/403) is exit 4, anything else exit 5; never the response body
    or tensorstore's spec (which holds the headers)."""
    status = _http_status(err)
    if status in (401, 403):
        return AuthError(f"{what}: the datastore refused access (HTTP {status}): the token is missing, wrong or expired, or may not read the dataset")
    return ServerError(f"{what} failed: {_first_line(err)}")


def _first_line(err: BaseException) -> str:
    """The error's first line, without tensorstore's echo of its spec (which holds the headers)."""
    text = re.sub(r"\s*\[tensorstore_spec=.*", "", str(err), flags=re.S)
    text = re.sub(r"\s*\[http_response_body=.*?\](?=\s*(\[|$))", "", text, flags=re.S)
    lines = [line.strip() for line in text.splitlines() if any(c.isalnum() for c in line)]
    return (lines[0] if lines else type(err).__name__)[:300]


def _http_status(err: BaseException) -> int | None:
    """The HTTP status tensorstore names in its message (``[HTTP code 401]``), if any."""
    match = re.search(r"\[HTTP code (\d{3})\]", str(err))
    return int(match.group(1)) if match else None
