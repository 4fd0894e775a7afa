"""Where the tissue is: a foreground mask of the coarsest mag and box scoring (pure numpy/scipy).

The foreground rule (one coarse voxel at a time, with a window ``w`` of about five coarse
voxels, physically isotropic):

1. **Padding.** A voxel is *saturated* when it holds the dtype's extreme value (0 or the
   maximum: black or white padding, unwritten chunks; for float layers exact 0 and NaN).
   A voxel is padding when at least half of its window is saturated, so an isolated black
   membrane voxel inside tissue stays tissue and the edge of a black area is clean.
2. **Texture.** The local standard deviation of the *unsaturated* voxels of the window
   (normalized convolution: padding does not fake texture at a tissue edge). Tissue keeps
   membranes, organelles and nuclei at any mag; resin, vessel lumen and empty slices are
   flat once downsampled, because downsampling averages their noise away.
3. **Threshold.** A voxel is flat when its texture is at most ``RELATIVE_TEXTURE`` (0.25) of
   the ``TEXTURE_QUANTILE`` (90th percentile) texture of all non-padding voxels of the region,
   and never above half an intensity step of an integer dtype (so constant data is flat).
   Relative, because contrast differs by orders of magnitude between datasets and dtypes.

``foreground = not padding and not flat``. A candidate box's foreground fraction is read off
a summed-volume table of the mask: trilinear interpolation of the table is the exact integral
of the piecewise-constant mask, so boxes that cover coarse voxels partly are scored exactly,
and a candidate costs 64 table look-ups (8 corners, each interpolated from 8 entries),
whatever the box size.

Scoring works in chunks of the coarse grid (cut at multiples of 128 coarse voxels, so at
storage-chunk borders), each read once and filtered by a separate job (any executor with
``map_to_futures``, e.g. ``cluster_tools.get_executor``). There is no halo: a window at a
seam holds only its own chunk's voxels, as at the region's border, so every voxel is read
exactly once; the result does not depend on the number of jobs, only on the chunk size.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import attrs
import numpy as np

DEFAULT_MIN_TISSUE = 0.9
WINDOW_VOXELS = 5
SATURATED_SHARE = 0.5
RELATIVE_TEXTURE = 0.25
TEXTURE_QUANTILE = 0.9
DEFAULT_CHUNK_VOXELS = 128

Vec3 = tuple[int, int, int]


class Reader(Protocol):
    """Reads the coarse mag: ``reader(start, size)`` in coarse voxels → (x, y, z) array.

    Must be picklable to run in other processes or on a cluster.
    """

    def __call__(self, start: Vec3, size: Vec3) -> np.ndarray: ...


# -- the mask rule ------------------------------------------------------------------------


def window_shape(voxel_size_nm: Sequence[float], voxels: int = WINDOW_VOXELS) -> Vec3:
    """An odd window of about ``voxels`` of the finest axis, the same physical length on each axis."""
    finest = min(voxel_size_nm)
    out = []
    for v in voxel_size_nm:
        n = max(1, round(voxels * finest / v))
        out.append(n if n % 2 else n + 1)
    return tuple(out)  # type: ignore[return-value]


def saturation_limits(dtype: np.dtype) -> tuple[float, float]:
    """The padding values of an integer dtype: its minimum and maximum (0 and 255 for uint8)."""
    dtype = np.dtype(dtype)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return float(min(0, info.min)), float(info.max)
    return 0.0, math.inf


def flat_floor(dtype: np.dtype) -> float:
    """Texture at or below which a region is flat whatever the rest looks like."""
    return 0.5 if np.issubdtype(np.dtype(dtype), np.integer) else 0.0


def local_texture(data: np.ndarray, window: Vec3) -> np.ndarray:
    """Local standard deviation of unsaturated voxels; NaN where the voxel is padding.

    The filters treat everything outside ``data`` as missing (not as zeros): at the border
    of the array the statistics are those of the voxels that are there.
    """
    from scipy import ndimage  # on first use: keeps ``wkgt --help`` quick

    lo, hi = saturation_limits(data.dtype)
    values = data.astype(np.float64)
    if np.issubdtype(data.dtype, np.integer):
        saturated = (values <= lo) | (values >= hi)
    else:  # float layers: exact 0 (unwritten) and NaN/inf are padding
        saturated = (values == 0) | ~np.isfinite(values)
    if saturated.all():  # nothing but padding (e.g. unwritten chunks): no filtering needed
        return np.full(data.shape, np.nan, dtype=np.float32)
    ok = (~saturated).astype(np.float64)
    values = np.where(saturated, 0.0, values)

    def mean(a: np.ndarray) -> np.ndarray:
        return ndimage.uniform_filter(a, size=window, mode="constant", cval=0.0)

    inside = np.ones(1)  # the share of the window inside the array: a product of 1-D shares
    for axis, (n, w) in enumerate(zip(data.shape, window)):
        share = ndimage.uniform_filter1d(np.ones(n), size=w, mode="constant", cval=0.0)
        inside = np.multiply.outer(inside, share) if axis else share
    count = mean(ok)
    safe = np.maximum(count, 1e-12)
    m1 = mean(values) / safe
    m2 = mean(values * values) / safe
    texture = np.sqrt(np.maximum(m2 - m1 * m1, 0.0)).astype(np.float32)
    padding = count < (1 - SATURATED_SHARE) * inside + 1e-9
    texture[padding] = np.nan
    return texture


def texture_threshold(texture: np.ndarray, dtype: np.dtype) -> float:
    """``RELATIVE_TEXTURE`` × the ``TEXTURE_QUANTILE`` of the non-padding texture (with a floor)."""
    values = texture[np.isfinite(texture)]
    relative = RELATIVE_TEXTURE * float(np.quantile(values, TEXTURE_QUANTILE)) if values.size else 0.0
    return max(relative, flat_floor(dtype))


def mask_from_texture(texture: np.ndarray, threshold: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.isfinite(texture) & (texture > threshold)


def foreground_mask(data: np.ndarray, voxel_size_nm: Sequence[float] = (1.0, 1.0, 1.0)) -> np.ndarray:
    """The foreground (tissue) mask of a whole (x, y, z) array of the coarse mag."""
    texture = local_texture(data, window_shape(voxel_size_nm))
    return mask_from_texture(texture, texture_threshold(texture, data.dtype))


# -- summed-volume table -------------------------------------------------------------------


def summed_volume_table(mask: np.ndarray) -> np.ndarray:
    """``S[i, j, k]`` = number of foreground voxels in ``mask[:i, :j, :k]`` (shape + 1 per axis)."""
    dtype = np.uint32 if mask.size < 2**32 else np.uint64  # half the memory of int64 for any real coarse mag
    table = np.zeros(tuple(n + 1 for n in mask.shape), dtype=dtype)
    inner = table[1:, 1:, 1:]
    np.cumsum(mask, axis=0, dtype=dtype, out=inner)
    np.cumsum(inner, axis=1, dtype=dtype, out=inner)
    np.cumsum(inner, axis=2, dtype=dtype, out=inner)
    return table


def _integral(table: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The mask's integral from the origin to each (fractional) point: trilinear in the table."""
    shape = np.asarray(table.shape) - 1
    p = np.clip(points, 0, shape)
    base = np.minimum(np.floor(p).astype(np.int64), np.maximum(shape - 1, 0))
    t = p - base
    out = np.zeros(len(points))
    for dx, dy, dz in itertools.product((0, 1), repeat=3):
        weight = (
            (t[:, 0] if dx else 1 - t[:, 0]) * (t[:, 1] if dy else 1 - t[:, 1]) * (t[:, 2] if dz else 1 - t[:, 2])
        )
        index = np.minimum(base + (dx, dy, dz), shape)
        out += weight * table[index[:, 0], index[:, 1], index[:, 2]].astype(np.float64)
    return out


def box_sums(table: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Foreground volume (in voxels, fractional) of boxes ``[lo, hi)`` given in voxel units."""
    total = np.zeros(len(lo))
    for corner in itertools.product((0, 1), repeat=3):
        point = np.where(np.asarray(corner, dtype=bool), hi, lo)
        sign = (-1) ** (3 - sum(corner))
        total += sign * _integral(table, point)
    return total


# -- the tissue map ------------------------------------------------------------------------


@attrs.frozen(eq=False)
class TissueMap:
    """The foreground mask of the coarse mag over a region, and box scoring on it.

    ``origin`` is the coarse-voxel index of ``mask[0, 0, 0]``; coarse voxel ``i`` covers
    mag-1 voxels ``[i·mag, (i+1)·mag)``.
    """

    mag: Vec3
    origin: Vec3
    mask: np.ndarray
    threshold: float = 0.0
    bytes_read: int = 0
    itemsize: int = 1
    padding_fraction: float = 0.0
    projections: dict[str, np.ndarray] = attrs.field(factory=dict)
    table: np.ndarray = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "table", summed_volume_table(self.mask))

    @property
    def foreground_fraction(self) -> float:
        return float(self.mask.mean()) if self.mask.size else 0.0

    @property
    def coarse_bytes(self) -> int:
        """Bytes of the coarse grid the map covers: the size of the coarse mag over the region."""
        return int(np.prod(self.mask.shape)) * self.itemsize

    def fractions(self, corners: np.ndarray, box_size_mag1: Sequence[int]) -> np.ndarray:
        """Foreground fraction of each box (top-left ``corners`` (n, 3) and size in mag-1 voxels)."""
        corners = np.asarray(corners, dtype=np.float64).reshape(-1, 3)
        mag = np.asarray(self.mag, dtype=np.float64)
        lo = corners / mag - np.asarray(self.origin)
        hi = lo + np.asarray(box_size_mag1, dtype=np.float64) / mag
        volume = np.prod(hi - lo, axis=1)
        return np.clip(box_sums(self.table, lo, hi) / volume, 0.0, 1.0)

    def candidate_filter(self, box_size_mag1: Sequence[int], min_tissue: float = DEFAULT_MIN_TISSUE) -> Callable[[np.ndarray], np.ndarray]:
        """The planner's ``candidate_filter``: corners whose box is at least ``min_tissue`` foreground."""
        size = tuple(int(v) for v in box_size_mag1)
        limit = min_tissue - 1e-9

        def usable(corners: np.ndarray) -> np.ndarray:
            return self.fractions(corners, size) >= limit

        return usable


# -- chunked scoring -----------------------------------------------------------------------


def coarse_grid(region_topleft: Sequence[int], region_size: Sequence[int], mag: Sequence[int]) -> tuple[Vec3, Vec3]:
    """The coarse voxels (start, shape) that cover a mag-1 region."""
    start = [int(t) // int(m) for t, m in zip(region_topleft, mag)]
    end = [-(-(int(t) + int(s)) // int(m)) for t, s, m in zip(region_topleft, region_size, mag)]
    return tuple(start), tuple(e - s for s, e in zip(start, end))  # type: ignore[return-value]


@attrs.frozen
class ChunkJob:
    """One chunk of the coarse grid to read and filter (picklable)."""

    reader: Any
    grid_start: Vec3
    grid_shape: Vec3
    start: Vec3  # chunk start, relative to grid_start
    shape: Vec3
    window: Vec3


@attrs.frozen
class ChunkResult:
    start: Vec3
    texture: np.ndarray
    sum_z: np.ndarray  # (x, y) intensity sums of the chunk interior along z
    sum_y: np.ndarray  # (x, z) intensity sums along y
    bytes_read: int
    dtype: str


def _cuts(start: int, length: int, chunk: int) -> list[tuple[int, int]]:
    """(offset, size) pieces of ``[start, start + length)`` cut at absolute multiples of ``chunk``."""
    edges = [start] + [k * chunk for k in range(start // chunk + 1, -(-(start + length) // chunk))] + [start + length]
    return [(a - start, b - a) for a, b in itertools.pairwise(edges) if b > a]


def chunk_jobs(reader: Reader, grid_start: Vec3, grid_shape: Vec3, window: Vec3, chunk: int | Sequence[int] = DEFAULT_CHUNK_VOXELS) -> list[ChunkJob]:
    """Jobs cut at absolute multiples of ``chunk`` coarse voxels: with a multiple of the storage
    chunk size (32), no two jobs read the same storage chunk."""
    sizes = (chunk,) * 3 if isinstance(chunk, int) else tuple(chunk)
    pieces = [_cuts(int(s), int(n), max(1, int(c))) for s, n, c in zip(grid_start, grid_shape, sizes)]
    return [
        ChunkJob(reader, grid_start, grid_shape, (x[0], y[0], z[0]), (x[1], y[1], z[1]), window)
        for x, y, z in itertools.product(*pieces)
    ]


def score_chunk(job: ChunkJob) -> ChunkResult:
    """Read one chunk (no halo: every voxel is read once) and compute its texture.

    At a seam between chunks the window holds only this chunk's voxels, exactly as at the
    region's border (normalized convolution), so each chunk is judged on its own data.
    """
    absolute = tuple(int(a + b) for a, b in zip(job.grid_start, job.start))
    data = np.asarray(job.reader(absolute, job.shape))
    texture = local_texture(data, job.window)
    values = np.nan_to_num(data.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    return ChunkResult(job.start, texture, values.sum(axis=2), values.sum(axis=1), int(data.nbytes), str(data.dtype))


def _run(jobs: list[ChunkJob], executor: Any | None) -> Iterator[ChunkResult]:
    if executor is None:
        yield from map(score_chunk, jobs)
    else:
        for future in executor.map_to_futures(score_chunk, jobs):
            yield future.result()


def score_region(
    reader: Reader,
    mag: Sequence[int],
    region_topleft: Sequence[int],
    region_size: Sequence[int],
    voxel_size_nm: Sequence[float],
    *,
    executor: Any | None = None,
    chunk: int | Sequence[int] = DEFAULT_CHUNK_VOXELS,
) -> TissueMap:
    """Read the coarse mag ``mag`` over a mag-1 region in chunks and build its :class:`TissueMap`.

    ``voxel_size_nm`` is the mag-1 voxel size. Chunks run on ``executor`` (e.g.
    ``cluster_tools.get_executor("multiprocessing", max_workers=4)``) or here, one by one.
    """
    mag_t: Vec3 = tuple(int(m) for m in mag)  # type: ignore[assignment]
    grid_start, grid_shape = coarse_grid(region_topleft, region_size, mag_t)
    window = window_shape([v * m for v, m in zip(voxel_size_nm, mag_t)])
    jobs = chunk_jobs(reader, grid_start, grid_shape, window, chunk)
    texture = np.empty(grid_shape, dtype=np.float32)
    sum_z = np.zeros(grid_shape[:2])
    sum_y = np.zeros((grid_shape[0], grid_shape[2]))
    bytes_read = 0
    dtype = "uint8"
    for result in _run(jobs, executor):
        s, n = result.start, result.texture.shape
        texture[s[0] : s[0] + n[0], s[1] : s[1] + n[1], s[2] : s[2] + n[2]] = result.texture
        sum_z[s[0] : s[0] + n[0], s[1] : s[1] + n[1]] += result.sum_z
        sum_y[s[0] : s[0] + n[0], s[2] : s[2] + n[2]] += result.sum_y
        bytes_read += result.bytes_read
        dtype = result.dtype
    threshold = texture_threshold(texture, np.dtype(dtype))
    mask = mask_from_texture(texture, threshold)
    projections = {
        "image_xy": sum_z / max(grid_shape[2], 1),
        "image_xz": sum_y / max(grid_shape[1], 1),
        "mask_xy": mask.mean(axis=2),
        "mask_xz": mask.mean(axis=1),
    }
    padding = float(np.isnan(texture).mean()) if texture.size else 1.0
    return TissueMap(mag_t, grid_start, mask, threshold, bytes_read, np.dtype(dtype).itemsize, padding, projections)


def array_reader(data: np.ndarray, origin: Sequence[int] = (0, 0, 0)) -> Callable[[Vec3, Vec3], np.ndarray]:
    """A reader over an in-memory coarse array whose ``[0, 0, 0]`` is coarse voxel ``origin``."""
    return _ArrayReader(data, tuple(int(v) for v in origin))  # type: ignore[arg-type]


@attrs.frozen(eq=False)
class _ArrayReader:
    data: np.ndarray
    origin: Vec3

    def __call__(self, start: Vec3, size: Vec3) -> np.ndarray:
        out = np.zeros(size, dtype=self.data.dtype)
        lo = np.asarray(start) - np.asarray(self.origin)
        src_lo = np.maximum(lo, 0)
        src_hi = np.minimum(lo + np.asarray(size), self.data.shape)
        if np.any(src_hi <= src_lo):
            return out
        dst = tuple(slice(int(a - b), int(c - b)) for a, b, c in zip(src_lo, lo, src_hi))
        out[dst] = self.data[tuple(slice(int(a), int(c)) for a, c in zip(src_lo, src_hi))]
        return out
