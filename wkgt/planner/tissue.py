"""Where the tissue is: a foreground mask of one mag and box scoring (pure numpy/scipy).

The foreground rule (one voxel of the scored mag at a time, with a window ``w`` of about
five voxels, physically isotropic):

1. **Padding.** A voxel is *saturated* when it holds the dtype's extreme value (0 or the
   maximum: black or white padding, unwritten chunks; for float layers exact 0 and NaN).
   A voxel is padding when at least half of its window is saturated, so an isolated black
   membrane voxel inside tissue stays tissue and the edge of a black area is clean.
2. **Texture.** The local standard deviation of the *unsaturated* voxels of the window
   (normalized convolution: padding does not fake texture at a tissue edge). Windows are
   cut at the border of the scored grid, never at a chunk seam (chunks are read with a halo).
3. **Flat.** A voxel is flat when its texture is at most ``RELATIVE_TEXTURE`` (0.25) of the
   ``TEXTURE_QUANTILE`` (90th percentile) texture of all non-padding voxels, and never above
   half an intensity step of an integer dtype (constant data is flat). The percentile comes
   from a streaming histogram of log-binned textures (``Coding``: 2.5 % bins for uint8).
4. **Background** is padding and every flat region connected (6-connectivity) to padding or
   to the border of the scored region: resin around the sample, empty slices. Flat islands
   enclosed by textured tissue — nuclei, somata, myelin, vessel lumen — are tissue, since a
   model must learn them too.

A candidate box's foreground fraction is read off a summed-volume table of the mask:
trilinear interpolation of the table is the exact integral of the piecewise-constant mask,
so boxes that cover voxels partly are scored exactly. The table may be held modulo 2¹⁶
(``uint16``): box counts are differences of table entries, exact as long as a box covers
fewer than 65,536 voxels of the scored mag (the job picks the dtype from the box size).

Scoring streams the grid in slabs along its longest axis (``SLAB_VOXELS`` thick, cut at
absolute multiples so no storage chunk is read twice); the slab before and after supply
the halo, so the result does not depend on the chunking. Each slab is cut into pieces
(``DEFAULT_CHUNK_VOXELS`` across) that an executor (any with ``submit``, e.g. a
``cluster_tools`` executor) turns into texture codes, then into flat-region classes; the
parent joins the flat regions across seams and builds the table slab by slab. Peak memory
is about one byte per voxel for the codes plus the table (2 bytes per voxel for uint16);
workers get and return 1 byte per voxel (uint8 data). Workers that share memory with the
parent (an executor's ``shared_memory``: local processes) exchange no voxels at all: blocks
wait in shared slots, codes go straight into a shared store, and the workers also fill and
sum the table's slabs there, while the parent adds the plane before each slab.
"""

from __future__ import annotations

import collections
import itertools
import math
import mmap
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import attrs
import numpy as np

DEFAULT_MIN_TISSUE = 0.9
WINDOW_VOXELS = 5
SATURATED_SHARE = 0.5
RELATIVE_TEXTURE = 0.25
TEXTURE_QUANTILE = 0.9
DEFAULT_CHUNK_VOXELS = 128
SLAB_VOXELS = 32
PROJECTION_LIMIT = 1 << 24  # entries per preview projection; larger grids get none
IN_FLIGHT_PER_WORKER = 2

Vec3 = tuple[int, int, int]


class Reader(Protocol):
    """Reads the scored mag: ``reader(start, size)`` in voxels of that mag → (x, y, z) array."""

    def __call__(self, start: Vec3, size: Vec3) -> np.ndarray: ...


class SharedRegion(Protocol):
    """Bytes that this process and the executor's workers both map (``wkgt.jobs.shared_memory``)."""

    size: int

    def array(self, shape: tuple[int, ...], dtype: Any, offset: int = 0) -> np.ndarray: ...

    def release(self, start: int, stop: int) -> None: ...

    def free(self) -> None: ...

    def detach(self) -> None: ...


class SharedMemory(Protocol):
    """What an executor whose workers share memory with this process offers as ``shared_memory``."""

    def allocate(self, nbytes: int) -> SharedRegion: ...


# -- the texture coding ---------------------------------------------------------------------


@attrs.frozen
class Coding:
    """Log-binned texture codes: 0 padding, 1 below ``2**log_min``, then ``steps`` codes per octave."""

    dtype: str
    steps: float
    log_min: float

    @property
    def top(self) -> int:
        return int(np.iinfo(self.dtype).max)

    def encode(self, log2_std: np.ndarray) -> np.ndarray:
        """Codes of finite float32 log2 textures (changes ``log2_std`` in place)."""
        log2_std *= np.float32(self.steps)
        log2_std += np.float32(2 - self.log_min * self.steps)
        np.clip(log2_std, 1, self.top, out=log2_std)
        return log2_std.astype(self.dtype)  # truncation is floor for values ≥ 1

    def code_of(self, std: float) -> int:
        if std < 2.0**self.log_min:
            return 1
        return int(min(self.top, math.floor((math.log2(std) - self.log_min) * self.steps) + 2))

    def std_of(self, code: int) -> float:
        """The texture a code stands for (its bin's geometric middle; 0 for code 1)."""
        return 0.0 if code <= 1 else 2.0 ** (self.log_min + (code - 1.5) / self.steps)


def coding_for(dtype: np.dtype | str) -> Coding:
    """uint8 layers: 1-byte codes (textures 0.25–128, 28 bins per octave); others: 2-byte codes."""
    if np.dtype(dtype) == np.uint8:
        return Coding("uint8", 28.0, -2.0)
    return Coding("uint16", 1024.0, -30.0)


# -- the mask rule ------------------------------------------------------------------------


def window_shape(voxel_size_nm: Sequence[float], voxels: int = WINDOW_VOXELS) -> Vec3:
    """An odd window of about ``voxels`` of the median axis, the same physical length on each
    axis (at most ``_PACK_WINDOW`` voxels in all)."""
    length = voxels * sorted(voxel_size_nm)[1]
    out = []
    for v in voxel_size_nm:
        n = max(1, round(length / v))
        out.append(n if n % 2 else n + 1)
    while math.prod(out) > _PACK_WINDOW:
        widest = out.index(max(out))
        out[widest] -= 2
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


def _box_sum(a: np.ndarray, axis: int, w: int) -> np.ndarray:
    """Sums over windows of ``w`` along ``axis`` ("valid": the output is ``w - 1`` shorter)."""
    if w == 1:
        return a
    n = a.shape[axis] - w + 1

    def shifted(k: int) -> np.ndarray:
        return a[tuple(slice(k, k + n) if i == axis else slice(None) for i in range(a.ndim))]

    out = shifted(0) + shifted(1)
    for k in range(2, w):
        out += shifted(k)
    return out


def _inside_counts(shape: Vec3, window: Vec3, missing_lo: Vec3, missing_hi: Vec3) -> np.ndarray:
    """Voxels of each window that lie inside the scored grid (a product of 1-D counts)."""
    total = np.ones((1, 1, 1), dtype=np.int32)
    for axis, (n, w, lo, hi) in enumerate(zip(shape, window, missing_lo, missing_hi)):
        position = np.arange(n)
        outside = np.maximum(0, lo - position) + np.maximum(0, hi - (n - 1 - position))
        counts = (w - outside).astype(np.int32)
        total = total * counts.reshape([-1 if i == axis else 1 for i in range(3)])
    return total


_PACK_WINDOW = 511  # count (9 bits), sum (17 bits) and sum of squares (from bit 26) of up to 511 uint8 voxels
_UINT8_PACK = np.zeros(256, dtype=np.int64)
_UINT8_PACK[1:255] = 1 + (np.arange(1, 255, dtype=np.int64) << 9) + (np.arange(1, 255, dtype=np.int64) ** 2 << 26)


def texture_codes(block: np.ndarray, window: Vec3, missing_lo: Vec3 = (0, 0, 0), missing_hi: Vec3 = (0, 0, 0)) -> np.ndarray:
    """Texture codes (see :class:`Coding`) of the interior of ``block``, which carries a halo of
    ``window // 2`` voxels on every side; ``missing_lo/hi`` of those halo layers lie outside
    the grid (zero-filled) and count neither as data nor as window.
    """
    coding = coding_for(block.dtype)
    h = tuple(w // 2 for w in window)
    shape: Vec3 = tuple(n - 2 * k for n, k in zip(block.shape, h))  # type: ignore[assignment]
    inside = _inside_counts(shape, window, missing_lo, missing_hi)
    if block.dtype == np.uint8 and math.prod(window) <= _PACK_WINDOW:
        # count, sum and sum of squares packed into one int64: one pass per axis for all three
        packed = np.take(_UINT8_PACK, block)
        for axis, w in enumerate(window):
            packed = _box_sum(packed, axis, w)
        count = (packed & 511).astype(np.int32)
        total = (packed >> 9) & (2**17 - 1)
        squares = packed >> 26
        del packed
        spread = (count * squares - total * total).astype(np.float32)  # variance × count²
        del total, squares
        scale = np.maximum(count, 1).astype(np.float32)
        scale *= scale
        spread /= scale
        del scale
        log2_std = np.log2(np.maximum(spread, np.float32(2.0**-60), out=spread), out=spread)
        log2_std *= np.float32(0.5)
    else:
        lo, hi = saturation_limits(block.dtype)
        values = block.astype(np.float64)
        if np.issubdtype(block.dtype, np.integer):
            saturated = (values <= lo) | (values >= hi)
        else:
            saturated = (values == 0) | ~np.isfinite(values)
        values[saturated] = 0.0
        sums = [(~saturated).astype(np.float64), values, values * values]
        del values, saturated
        for axis, w in enumerate(window):
            sums = [_box_sum(s, axis, w) for s in sums]
        count = np.rint(sums[0]).astype(np.int32)
        safe = np.maximum(sums[0], 1.0)
        mean = sums[1] / safe
        variance = np.maximum(sums[2] / safe - mean * mean, 0.0)
        log2_std = (0.5 * np.log2(np.maximum(variance, 2.0**-200))).astype(np.float32)
    codes = coding.encode(log2_std)
    codes[2 * count < inside] = 0  # padding: at least half of the window saturated
    return codes


def texture_threshold_code(histogram: np.ndarray, coding: Coding, dtype: np.dtype | str) -> int:
    """The highest flat code: ``RELATIVE_TEXTURE`` × the ``TEXTURE_QUANTILE`` texture (with a floor)."""
    counts = np.asarray(histogram[1:], dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return coding.code_of(flat_floor(dtype))
    quantile_code = 1 + int(np.searchsorted(np.cumsum(counts), TEXTURE_QUANTILE * total))
    threshold = max(RELATIVE_TEXTURE * coding.std_of(quantile_code), flat_floor(dtype))
    return coding.code_of(threshold)


# -- flat regions: which belong to the background --------------------------------------------

TISSUE, BACKGROUND = 0, 1


def flat_classes(codes: np.ndarray, flat_code: int) -> np.ndarray:
    """Classes of the interior of ``codes`` (which has a 1-voxel halo; 0 outside the grid).

    0: tissue (textured, or flat and enclosed by tissue within this piece); 1: background
    (flat and touching padding, inside or in the halo, or the grid's border); k ≥ 2: a flat
    region that touches a flat neighbour across the piece's border, to be joined there.
    """
    from scipy import ndimage

    interior = codes[1:-1, 1:-1, 1:-1]
    flat = interior <= flat_code
    if not flat.any():
        return np.zeros(interior.shape, dtype=np.uint8)
    padding = interior == 0
    if not (flat & ~padding).any():  # every flat voxel is padding: all of it background
        return padding.astype(np.uint8)
    labels, n = ndimage.label(flat)
    background = np.zeros(n + 1, dtype=bool)
    joined = np.zeros(n + 1, dtype=bool)
    background[labels[padding]] = True
    for axis in range(3):
        for inner, outer in ((0, 0), (-1, -1)):
            face = np.take(labels, inner, axis=axis)
            halo = np.take(codes, outer, axis=axis)[1:-1, 1:-1]
            touching = face > 0
            background[face[touching & (halo == 0)]] = True
            joined[face[touching & (halo > 0) & (halo <= flat_code)]] = True
    background[0] = False
    joined &= ~background
    n_joined = int(joined.sum())
    dtype = np.uint8 if n_joined <= 253 else np.uint16 if n_joined <= 65533 else np.uint32
    lookup = np.zeros(n + 1, dtype=dtype)
    lookup[background] = BACKGROUND
    lookup[joined] = np.arange(2, 2 + n_joined, dtype=dtype)
    return np.take(lookup, labels)


# -- summed-volume table -------------------------------------------------------------------


def table_dtype_for(box_voxels: Sequence[float] | None, grid_voxels: int) -> np.dtype:
    """uint16 when a box covers fewer than 2¹⁶ voxels (counts taken modulo 2¹⁶ stay exact)."""
    if box_voxels is not None and math.prod(math.ceil(b) + 2 for b in box_voxels) < 2**16:
        return np.dtype(np.uint16)
    return np.dtype(np.uint32 if grid_voxels < 2**32 else np.uint64)


def summed_volume_table(mask: np.ndarray, dtype: np.dtype | type | None = None) -> np.ndarray:
    """``S[i, j, k]`` = number of foreground voxels in ``mask[:i, :j, :k]`` (shape + 1 per axis),
    modulo the range of ``dtype``."""
    dtype = np.dtype(dtype or table_dtype_for(None, mask.size))
    table = np.zeros(tuple(n + 1 for n in mask.shape), dtype=dtype)
    inner = table[1:, 1:, 1:]
    np.cumsum(mask, axis=0, dtype=dtype, out=inner)
    np.cumsum(inner, axis=1, dtype=dtype, out=inner)
    np.cumsum(inner, axis=2, dtype=dtype, out=inner)
    return table


def _axis_terms(lo: np.ndarray, hi: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per box, 4 table indices and 3 weights along one axis: the integral over ``[lo, hi)`` is
    1 × count[i1, i2) + w1 × count[i0, i1) + w2 × count[i2, i3) (all counts non-negative)."""
    lo = np.clip(lo, 0, n)
    hi = np.clip(hi, lo, n)
    base_lo = np.minimum(np.floor(lo).astype(np.int64), max(n - 1, 0))
    base_hi = np.minimum(np.floor(hi).astype(np.int64), max(n - 1, 0))
    t_lo, t_hi = lo - base_lo, hi - base_hi
    same = base_hi <= base_lo
    i0 = base_lo
    i1 = base_lo + 1
    i2 = np.where(same, i1, base_hi)
    i3 = np.where(same, i1, base_hi + 1)
    indices = np.minimum(np.stack([i0, i1, i2, i3], axis=1), n)
    weights = np.stack(
        [np.where(same, 0.0, 1.0), np.where(same, t_hi - t_lo, 1.0 - t_lo), np.where(same, 0.0, t_hi)], axis=1
    )
    return indices, weights


def box_sums(table: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Foreground volume (in voxels, fractional) of boxes ``[lo, hi)`` given in voxel units."""
    lo = np.asarray(lo, dtype=np.float64).reshape(-1, 3)
    hi = np.asarray(hi, dtype=np.float64).reshape(-1, 3)
    shape = np.asarray(table.shape) - 1
    terms = [_axis_terms(lo[:, a], hi[:, a], int(shape[a])) for a in range(3)]
    (ix, wx), (iy, wy), (iz, wz) = terms
    values = table[ix[:, :, None, None], iy[:, None, :, None], iz[:, None, None, :]]  # (n, 4, 4, 4)
    for axis in (1, 2, 3):  # count[a, b) = S[b] - S[a], modulo the table's range
        a = np.take(values, [1, 0, 2], axis=axis)
        b = np.take(values, [2, 1, 3], axis=axis)
        values = b - a
    counts = values.astype(np.float64)
    return np.einsum("nijk,ni,nj,nk->n", counts, wx, wy, wz)


# -- the tissue map ------------------------------------------------------------------------


@attrs.frozen(eq=False)
class TissueMap:
    """The foreground mask of the scored mag over a region, and box scoring on it.

    ``origin`` is the voxel index (in the scored mag) of ``mask[0, 0, 0]``; voxel ``i`` covers
    mag-1 voxels ``[i·mag, (i+1)·mag)``. Built from a ``mask`` (tests, benchmarks) or from a
    summed-volume ``table`` (the streaming scorer; the mask is then derived on demand).
    """

    mag: Vec3
    origin: Vec3
    _mask: np.ndarray | None = None
    threshold: float = 0.0
    bytes_read: int = 0
    itemsize: int = 1
    padding_fraction: float = 0.0
    projections: dict[str, np.ndarray] = attrs.field(factory=dict)
    table: np.ndarray = None  # type: ignore[assignment]
    foreground_voxels: int | None = None

    def __attrs_post_init__(self) -> None:
        if self.table is None:
            assert self._mask is not None, "a TissueMap needs a mask or a table"
            object.__setattr__(self, "table", summed_volume_table(self._mask))
        if self.foreground_voxels is None:
            total = int(self._mask.sum()) if self._mask is not None else 0
            object.__setattr__(self, "foreground_voxels", total)

    @property
    def shape(self) -> Vec3:
        return tuple(int(n) - 1 for n in self.table.shape)  # type: ignore[return-value]

    @property
    def mask(self) -> np.ndarray:
        """The foreground mask (derived from the table when not kept: for tests and small maps)."""
        if self._mask is not None:
            return self._mask
        values = self.table
        for axis in range(3):
            values = np.diff(values, axis=axis)
        return values.astype(bool)

    @property
    def voxels(self) -> int:
        return math.prod(self.shape)

    @property
    def foreground_fraction(self) -> float:
        return float(self.foreground_voxels or 0) / self.voxels if self.voxels else 0.0

    @property
    def coarse_bytes(self) -> int:
        """Bytes of the scored grid: the size of the scored mag over the region."""
        return self.voxels * self.itemsize

    def fractions(self, corners: np.ndarray, box_size_mag1: Sequence[int]) -> np.ndarray:
        """Foreground fraction of each box (top-left ``corners`` (n, 3) and size in mag-1 voxels)."""
        corners = np.asarray(corners, dtype=np.float64).reshape(-1, 3)
        mag = np.asarray(self.mag, dtype=np.float64)
        lo = corners / mag - np.asarray(self.origin)
        hi = lo + np.asarray(box_size_mag1, dtype=np.float64) / mag
        volume = np.prod(hi - lo, axis=1)
        out = np.empty(len(corners))
        step = 65536  # bounded temporaries: 64 table entries per box
        for start in range(0, len(corners), step):
            part = slice(start, start + step)
            out[part] = box_sums(self.table, lo[part], hi[part]) / volume[part]
        return np.clip(out, 0.0, 1.0)

    def candidate_filter(self, box_size_mag1: Sequence[int], min_tissue: float = DEFAULT_MIN_TISSUE) -> Callable[[np.ndarray], np.ndarray]:
        """The planner's ``candidate_filter``: corners whose box is at least ``min_tissue`` foreground."""
        size = tuple(int(v) for v in box_size_mag1)
        limit = min_tissue - 1e-9

        def usable(corners: np.ndarray) -> np.ndarray:
            return self.fractions(corners, size) >= limit

        return usable


# -- which mag to read ----------------------------------------------------------------------

BOX_SPAN_VOXELS = 8
WORK_BYTES = 96 << 20  # slabs, pieces in flight and their temporaries, whatever the grid


@attrs.frozen
class TissueRead:
    """What the tissue check reads: a mag over a region (mag-1 voxels), and why."""

    mag: Vec3
    topleft: Vec3
    size: Vec3
    reason: str
    sampled: bool = False

    @property
    def voxels(self) -> int:
        _, shape = coarse_grid(self.topleft, self.size, self.mag)
        return math.prod(shape)


def held_bytes_per_voxel(itemsize: int) -> int:
    """Memory the scorer holds per voxel at its peak: the codes and a 16-bit table (+2 spare)."""
    return (1 if itemsize == 1 else 2) + 2 + 1


def choose_tissue_read(
    mags: Sequence[Vec3],
    box_size_mag1: Sequence[int],
    region_topleft: Sequence[int],
    region_size: Sequence[int],
    itemsize: int,
    budget_bytes: int,
) -> TissueRead:
    """The mag at which a box spans about ``BOX_SPAN_VOXELS`` (8–16) voxels on its shortest axis,
    or a coarser one when that does not fit ``budget_bytes``; if not even the coarsest mag of the
    whole region fits, the largest centred part of the region that does (``sampled``)."""
    per_voxel = held_bytes_per_voxel(itemsize)
    allowed = max(0, budget_bytes - WORK_BYTES) // per_voxel
    ordered = sorted(set(tuple(int(v) for v in m) for m in mags), key=lambda m: (math.prod(m), max(m)))

    def voxels(mag: Vec3) -> int:
        return math.prod(coarse_grid(region_topleft, region_size, mag)[1])

    spanning = [m for m in ordered if all(b / f >= BOX_SPAN_VOXELS for b, f in zip(box_size_mag1, m))]
    preferred = spanning[-1] if spanning else ordered[0]
    start = ordered.index(preferred)
    for mag in ordered[start:]:
        if voxels(mag) <= allowed:
            span = "×".join(f"{b / f:.3g}" for b, f in zip(box_size_mag1, mag))
            why = "a box spans " + span + " voxels there"
            if mag != preferred:
                why += f" (finer mags exceed --tissue-budget {format_bytes(budget_bytes)})"
            return TissueRead(mag, tuple(region_topleft), tuple(region_size), why)  # type: ignore[arg-type]
    coarsest = ordered[-1]
    size = list(int(s) for s in region_size)
    floor_size = [min(int(s), 4 * int(b)) for s, b in zip(region_size, box_size_mag1)]
    while math.prod(coarse_grid(region_topleft, size, coarsest)[1]) > allowed:
        shrinkable = [i for i in range(3) if size[i] > floor_size[i]]
        if not shrinkable:
            break
        axis = max(shrinkable, key=lambda i: size[i] * 1.0)
        size[axis] = max(floor_size[axis], int(size[axis] * 0.9))
    topleft = [int(t) + (int(s) - n) // 2 for t, s, n in zip(region_topleft, region_size, size)]
    topleft = [t - t % f for t, f in zip(topleft, coarsest)]
    share = math.prod(size) / math.prod(int(s) for s in region_size)
    why = (
        f"even the coarsest mag of the region exceeds --tissue-budget {format_bytes(budget_bytes)}: "
        f"read its centre ({share * 100:.2g} % of the region) and placed the boxes there"
    )
    return TissueRead(coarsest, tuple(topleft), tuple(size), why, sampled=True)  # type: ignore[arg-type]


def format_bytes(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} B"


def parse_bytes(text: str) -> int:
    """``"1GiB"``, ``"512M"``, ``"2e9"`` → bytes (K/M/G/T: powers of 1024)."""
    cleaned = text.strip().upper().replace(" ", "").removesuffix("IB").removesuffix("B")
    factor = 1
    if cleaned and cleaned[-1] in "KMGT":
        factor = 1024 ** ("KMGT".index(cleaned[-1]) + 1)
        cleaned = cleaned[:-1]
    value = float(cleaned)
    if not value > 0:
        raise ValueError(text)
    return int(value * factor)


# -- streaming scoring -----------------------------------------------------------------------


def coarse_grid(region_topleft: Sequence[int], region_size: Sequence[int], mag: Sequence[int]) -> tuple[Vec3, Vec3]:
    """The voxels of ``mag`` (start, shape) that cover a mag-1 region."""
    start = [int(t) // int(m) for t, m in zip(region_topleft, mag)]
    end = [-(-(int(t) + int(s)) // int(m)) for t, s, m in zip(region_topleft, region_size, mag)]
    return tuple(start), tuple(e - s for s, e in zip(start, end))  # type: ignore[return-value]


def _cuts(start: int, length: int, chunk: int) -> list[tuple[int, int]]:
    """(offset, size) pieces of ``[start, start + length)`` cut at absolute multiples of ``chunk``."""
    edges = [start] + [k * chunk for k in range(start // chunk + 1, -(-(start + length) // chunk))] + [start + length]
    return [(a - start, b - a) for a, b in itertools.pairwise(edges) if b > a]


@attrs.frozen(eq=False)
class TexturePiece:
    """A block (interior + full halo, zero-filled outside the grid) to turn into texture codes."""

    block: np.ndarray
    window: Vec3
    missing_lo: Vec3
    missing_hi: Vec3
    projections: bool


@attrs.frozen(eq=False)
class TextureResult:
    codes: np.ndarray
    histogram: np.ndarray
    sum_z: np.ndarray | None
    sum_y: np.ndarray | None


def texture_piece(piece: TexturePiece) -> TextureResult:
    """Worker job 1: texture codes of a piece, their histogram and the image projections."""
    codes = texture_codes(piece.block, piece.window, piece.missing_lo, piece.missing_hi)
    histogram = np.bincount(codes.ravel(), minlength=coding_for(piece.block.dtype).top + 1)
    sum_z = sum_y = None
    if piece.projections:
        h = [w // 2 for w in piece.window]
        inner = piece.block[h[0] : piece.block.shape[0] - h[0], h[1] : piece.block.shape[1] - h[1], h[2] : piece.block.shape[2] - h[2]]
        if np.issubdtype(inner.dtype, np.integer):
            sum_z, sum_y = inner.sum(axis=2, dtype=np.float64), inner.sum(axis=1, dtype=np.float64)
        else:
            values = np.nan_to_num(inner.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
            sum_z, sum_y = values.sum(axis=2), values.sum(axis=1)
    return TextureResult(codes, histogram, sum_z, sum_y)


@attrs.frozen(eq=False)
class ClassPiece:
    codes: np.ndarray  # interior + 1-voxel halo, 0 outside the grid
    flat_code: int


def classify_piece(piece: ClassPiece) -> np.ndarray | None:
    """Worker job 2: the flat-region classes of a piece (see :func:`flat_classes`), or ``None``
    when its only flat voxels are padding: its classes are then ``codes == 0`` (padding is
    background, the rest tissue), which scoring reads off the codes it keeps."""
    if _only_padding_is_flat(piece):
        return None
    return flat_classes(piece.codes, piece.flat_code)


@attrs.frozen(eq=False)
class _SharedCodes:
    """The code store in shared memory, as a job names it: the region and the grid's layout."""

    region: SharedRegion
    shape: Vec3
    axis: int
    dtype: str

    def xyz(self) -> np.ndarray:
        return np.moveaxis(self.region.array(_stored_shape(self.shape, self.axis), self.dtype), 0, self.axis)

    def release(self, lo: int, hi: int) -> None:
        """Give back the pages of slab planes ``[lo, hi)`` (for every process that maps them)."""
        plane = math.prod(self.shape) // max(1, self.shape[self.axis]) * np.dtype(self.dtype).itemsize
        self.region.release(lo * plane, hi * plane)


@attrs.frozen(eq=False)
class SharedTexturePiece:
    """A texture piece whose block waits in shared memory (``slot`` at ``offset``) and whose
    codes go straight into the shared code store at ``start``."""

    slot: SharedRegion
    offset: int
    block_shape: Vec3
    dtype: str
    window: Vec3
    missing_lo: Vec3
    missing_hi: Vec3
    projections: bool
    codes: _SharedCodes
    start: Vec3


def shared_texture_piece(piece: SharedTexturePiece) -> TextureResult:
    """Worker job 1 through shared memory: codes into the store; histogram and projections back."""
    block = piece.slot.array(piece.block_shape, piece.dtype, piece.offset)
    result = texture_piece(TexturePiece(block, piece.window, piece.missing_lo, piece.missing_hi, piece.projections))
    piece.codes.xyz()[_box(piece.start, result.codes.shape)] = result.codes
    return TextureResult(None, result.histogram, result.sum_z, result.sum_y)


@attrs.frozen(eq=False)
class SharedClassPiece:
    """A class piece read (with its 1-voxel halo) from the shared code store."""

    codes: _SharedCodes
    start: Vec3
    shape: Vec3
    flat_code: int


def shared_classify_piece(piece: SharedClassPiece) -> np.ndarray | None:
    """Worker job 2 through shared memory (see :func:`classify_piece`)."""
    lo = [s - 1 for s in piece.start]
    codes = _padded(piece.codes.xyz(), (0, 0, 0), lo, [n + 2 for n in piece.shape])
    return classify_piece(ClassPiece(codes, piece.flat_code))


def _box(start: Sequence[int], shape: Sequence[int]) -> tuple[slice, ...]:
    return tuple(slice(s, s + n) for s, n in zip(start, shape))


def _stored_shape(shape: Sequence[int], axis: int) -> Vec3:
    """A grid's shape with the slab axis first (how the code store and the table keep it)."""
    return tuple(int(shape[a]) for a in [axis] + [a for a in range(3) if a != axis])  # type: ignore[return-value]


def _give_back_memory() -> None:
    """Return freed working memory to the system (glibc keeps freed heap pages otherwise), so
    the table does not grow on top of the previous passes' temporaries."""
    import ctypes
    import sys

    if sys.platform == "linux":
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass


def prepare_worker() -> None:
    """Import what the worker jobs use, once per worker process, before the first job arrives."""
    import scipy.ndimage  # noqa: F401
    import scipy.sparse.csgraph  # noqa: F401


@attrs.frozen
class _Done:
    value: Any

    def result(self) -> Any:
        return self.value

    def cancel(self) -> bool:
        return False


def _stream(
    executor: Any | None,
    fn: Callable[[Any], Any],
    items: Iterable[Any],
    workers: int,
    skip: Callable[[Any], bool] | None = None,
) -> Iterator[Any]:
    """``map(fn, items)`` in order, here or on ``executor`` with a bounded number in flight;
    items for which ``skip(item)`` holds are not sent anywhere (their result is ``None``)."""
    if executor is None:
        yield from map(fn, items)
        return
    pending: collections.deque[Any] = collections.deque()
    limit = _in_flight(workers)
    try:
        for item in items:
            skipped = skip is not None and skip(item)
            pending.append(_Done(None) if skipped else executor.submit(fn, item))
            while len(pending) >= limit:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()


def _in_flight(workers: int) -> int:
    """Pieces handed out and not yet taken back, at most (the results come back in order)."""
    return max(2, IN_FLIGHT_PER_WORKER * workers)


def _only_padding_is_flat(piece: ClassPiece) -> bool:
    """Whether a piece's only flat voxels (if any) are padding: no labelling needed."""
    interior = piece.codes[1:-1, 1:-1, 1:-1]
    flat = interior <= piece.flat_code
    flat &= interior != 0
    return not flat.any()


class _Grid:
    """The scored grid: slabs along its longest axis, pieces across, and the codes store."""

    def __init__(self, grid_start: Vec3, grid_shape: Vec3, chunk: Vec3, slab: int, halo: Vec3) -> None:
        self.start, self.shape, self.halo = grid_start, grid_shape, halo
        self.axis = int(np.argmax(grid_shape))
        others = [a for a in range(3) if a != self.axis]
        self.others = others
        self.slabs = _cuts(grid_start[self.axis], grid_shape[self.axis], slab)
        self.across = [_cuts(grid_start[a], grid_shape[a], chunk[a]) for a in others]

    def largest_block(self, halo: Vec3) -> int:
        """Voxels of the largest piece with its halo."""
        lengths = [max((n for _, n in self.slabs), default=0)] + [max((n for _, n in cuts), default=0) for cuts in self.across]
        return math.prod(n + 2 * halo[a] for n, a in zip(lengths, [self.axis, *self.others]))

    def pieces(self, slab: tuple[int, int]) -> list[tuple[Vec3, Vec3]]:
        """(start, shape) relative to the grid of the pieces of one slab."""
        out = []
        for (o1, n1), (o2, n2) in itertools.product(*self.across):
            start, shape = [0, 0, 0], [0, 0, 0]
            start[self.axis], shape[self.axis] = slab
            start[self.others[0]], shape[self.others[0]] = o1, n1
            start[self.others[1]], shape[self.others[1]] = o2, n2
            out.append((tuple(start), tuple(shape)))
        return out  # type: ignore[return-value]


def _slab_box(grid: _Grid, offset: int, length: int) -> tuple[Vec3, Vec3]:
    start, shape = [0, 0, 0], list(grid.shape)
    start[grid.axis], shape[grid.axis] = offset, length
    return tuple(start), tuple(shape)  # type: ignore[return-value]


def _padded(
    source: np.ndarray | Sequence[tuple[np.ndarray, Sequence[int]]],
    source_start: Sequence[int],
    start: Sequence[int],
    shape: Sequence[int],
    fill: int = 0,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """``shape`` voxels from ``start`` (grid coordinates) out of ``source`` (which begins at
    ``source_start``; or several (array, start) sources), ``fill`` where no source has data;
    into ``out`` when given."""
    sources = [(source, source_start)] if isinstance(source, np.ndarray) else list(source)
    parts = []
    for array, origin in sources:
        lo = [max(s, o) for s, o in zip(start, origin)]
        hi = [min(s + n, o + m) for s, n, o, m in zip(start, shape, origin, array.shape)]
        if all(h > low for low, h in zip(lo, hi)):
            dst = tuple(slice(a - s, b - s) for a, b, s in zip(lo, hi, start))
            src = tuple(slice(a - o, b - o) for a, b, o in zip(lo, hi, origin))
            parts.append((dst, array[src]))
    if out is None:
        out = np.full(tuple(shape), fill, dtype=sources[0][0].dtype)
    elif sum(part.size for _, part in parts) < out.size:  # sources do not overlap: then some is fill
        out.fill(fill)
    for dst, part in parts:
        out[dst] = part
    return out


class _CodeStore:
    """One code per voxel in an anonymous mapping (or a ``shared`` region the workers write
    to), slab axis first, so finished slabs give their memory back while the table grows."""

    def __init__(self, shape: Vec3, axis: int, dtype: str, shared: SharedMemory | None = None) -> None:
        self.axis = axis
        stored = _stored_shape(shape, axis)
        size = max(1, math.prod(stored) * np.dtype(dtype).itemsize)
        self._map: mmap.mmap | None = None
        self._region = shared.allocate(size) if shared is not None else None
        if self._region is not None:
            self.shared: _SharedCodes | None = _SharedCodes(self._region, shape, axis, dtype)
            self.stored = self._region.array(stored, dtype)
        else:
            self.shared = None
            self._map = mmap.mmap(-1, size)
            self.stored = np.frombuffer(self._map, dtype=dtype, count=math.prod(stored)).reshape(stored)
        self.xyz = np.moveaxis(self.stored, 0, axis)  # a view in (x, y, z) order

    def release(self, lo: int, hi: int) -> None:
        """Give back the pages of slab planes ``[lo, hi)`` (their codes are no longer needed)."""
        plane = self.stored[0].nbytes if self.stored.size else 0
        if self._region is not None:
            self._region.release(lo * plane, hi * plane)
            return
        first = -(-(lo * plane) // mmap.PAGESIZE) * mmap.PAGESIZE
        last = (hi * plane) // mmap.PAGESIZE * mmap.PAGESIZE
        if last > first and self._map is not None and hasattr(self._map, "madvise"):
            self._map.madvise(mmap.MADV_DONTNEED, first, last - first)

    def close(self) -> None:
        del self.stored, self.xyz
        if self._region is not None:
            self._region.free()
            return
        assert self._map is not None
        try:
            self._map.close()
        except BufferError:  # a view still alive somewhere: the mapping goes with it
            pass


def score_region(
    reader: Reader,
    mag: Sequence[int],
    region_topleft: Sequence[int],
    region_size: Sequence[int],
    voxel_size_nm: Sequence[float],
    *,
    executor: Any | None = None,
    workers: int = 1,
    chunk: int | Sequence[int] = DEFAULT_CHUNK_VOXELS,
    slab: int = SLAB_VOXELS,
    box_voxels: Sequence[float] | None = None,
) -> TissueMap:
    """Read ``mag`` over a mag-1 region slab by slab and build its :class:`TissueMap`.

    ``voxel_size_nm`` is the mag-1 voxel size. Pieces run on ``executor`` (anything with
    ``submit``, e.g. ``cluster_tools.get_executor("multiprocessing", max_workers=2)``, with
    ``workers`` jobs at once) or here; an executor with a ``shared_memory`` (:class:`SharedMemory`)
    gets its work through it, table included. ``box_voxels`` (a box's size in voxels of ``mag``)
    lets the table be 16-bit. Reads happen here, one slab ahead of the work.
    """
    mag_t: Vec3 = tuple(int(m) for m in mag)  # type: ignore[assignment]
    grid_start, grid_shape = coarse_grid(region_topleft, region_size, mag_t)
    window = window_shape([v * m for v, m in zip(voxel_size_nm, mag_t)])
    halo: Vec3 = tuple(w // 2 for w in window)  # type: ignore[assignment]
    sizes = (chunk,) * 3 if isinstance(chunk, int) else tuple(chunk)
    grid = _Grid(grid_start, grid_shape, tuple(max(1, int(c)) for c in sizes), max(4, slab), halo)  # type: ignore[arg-type]
    voxels = math.prod(grid_shape)
    projections = voxels // max(1, grid_shape[2]) <= PROJECTION_LIMIT and voxels // max(1, grid_shape[1]) <= PROJECTION_LIMIT

    codes_store: _CodeStore | None = None
    histogram: np.ndarray | None = None
    sum_z = np.zeros(grid_shape[:2]) if projections else None
    sum_y = np.zeros((grid_shape[0], grid_shape[2])) if projections else None
    decoded = 0
    dtype = np.dtype(np.uint8)

    shared: SharedMemory | None = getattr(executor, "shared_memory", None) if executor is not None else None
    in_flight = _in_flight(workers)
    slots: SharedRegion | None = None  # shared memory: the blocks of the pieces in flight
    table_region: SharedRegion | None = None
    table: np.ndarray | None = None

    # pass 1: read slab by slab (one ahead), texture codes of each piece
    def read_slab(index: int) -> np.ndarray:
        offset, length = grid.slabs[index]
        start, shape = _slab_box(grid, offset, length)
        absolute = tuple(int(a + b) for a, b in zip(grid_start, start))
        return np.asarray(reader(absolute, shape))

    def pieces_of(index: int, slabs: dict[int, np.ndarray]) -> Iterator[tuple[Vec3, Vec3, Any]]:
        nonlocal slots
        offset, length = grid.slabs[index]
        near = []
        for i in range(max(0, index - 1), min(len(grid.slabs), index + 2)):
            origin = [0, 0, 0]
            origin[grid.axis] = grid.slabs[i][0]
            near.append((slabs[i], origin))
        for start, shape in grid.pieces((offset, length)):
            lo = [s - h for s, h in zip(start, halo)]
            full: Vec3 = tuple(n + 2 * h for n, h in zip(shape, halo))  # type: ignore[assignment]
            missing_lo: Vec3 = tuple(max(0, -v) for v in lo)  # type: ignore[assignment]
            missing_hi: Vec3 = tuple(max(0, s + n + h - g) for s, n, h, g in zip(start, shape, halo, grid_shape))  # type: ignore[assignment]
            if codes_store is None or codes_store.shared is None:
                block = _padded(near, (0, 0, 0), lo, full)
                yield start, shape, TexturePiece(block, window, missing_lo, missing_hi, projections)
                continue
            # the block goes to the slot of the piece handed out ``in_flight`` pieces ago: done by now
            slot_bytes = grid.largest_block(halo) * dtype.itemsize
            if slots is None:
                slots = shared.allocate(slot_bytes * in_flight)  # type: ignore[union-attr]
            slot_offset = (len(placements) % in_flight) * slot_bytes
            _padded(near, (0, 0, 0), lo, full, out=slots.array(full, dtype, slot_offset))
            piece = SharedTexturePiece(
                slots, slot_offset, full, dtype.str, window, missing_lo, missing_hi, projections, codes_store.shared, start
            )
            yield start, shape, piece

    def all_pieces() -> Iterator[tuple[Vec3, Vec3, Any]]:
        nonlocal decoded, dtype, codes_store
        slabs: dict[int, np.ndarray] = {}
        with ThreadPoolExecutor(1, thread_name_prefix="wkgt-read") as io:
            ahead = io.submit(read_slab, 0) if grid.slabs else None
            for index in range(len(grid.slabs)):
                for needed in (index, index + 1):
                    if needed < len(grid.slabs) and needed not in slabs:
                        assert ahead is not None
                        slabs[needed] = ahead.result()
                        decoded += slabs[needed].nbytes
                        dtype = slabs[needed].dtype
                        ahead = io.submit(read_slab, needed + 1) if needed + 1 < len(grid.slabs) else None
                if shared is not None and codes_store is None:  # workers write their codes straight into it
                    codes_store = _CodeStore(grid_shape, grid.axis, coding_for(dtype).dtype, shared)
                yield from pieces_of(index, slabs)
                slabs.pop(index - 1, None)

    placements: list[tuple[Vec3, Vec3]] = []

    def texture_jobs() -> Iterator[Any]:
        for start, shape, piece in all_pieces():
            placements.append((start, shape))
            yield piece

    try:
        job = shared_texture_piece if shared is not None else texture_piece
        for number, result in enumerate(_stream(executor, job, texture_jobs(), workers)):
            start, shape = placements[number]
            if result.codes is not None:
                if codes_store is None:
                    codes_store = _CodeStore(grid_shape, grid.axis, str(result.codes.dtype))
                codes_store.xyz[_box(start, shape)] = result.codes
            histogram = result.histogram if histogram is None else histogram + result.histogram
            if sum_z is not None and sum_y is not None and result.sum_z is not None and result.sum_y is not None:
                sum_z[start[0] : start[0] + shape[0], start[1] : start[1] + shape[1]] += result.sum_z
                sum_y[start[0] : start[0] + shape[0], start[2] : start[2] + shape[2]] += result.sum_y
        if slots is not None:
            slots.free()
            slots = None
        coding = coding_for(dtype)
        if codes_store is None or histogram is None:  # an empty grid
            return TissueMap(mag_t, grid_start, np.zeros(grid_shape, bool), 0.0, decoded, dtype.itemsize, 1.0)
        flat_code = texture_threshold_code(histogram, coding, dtype)
        _give_back_memory()

        # pass 2: flat regions per piece, then joined across seams
        piece_boxes = [box for offset in grid.slabs for box in grid.pieces(offset)]
        slab_of = {offset: number for number, (offset, _) in enumerate(grid.slabs)}

        def class_jobs() -> Iterator[Any]:
            assert codes_store is not None
            for start, shape in piece_boxes:
                if codes_store.shared is not None:
                    yield SharedClassPiece(codes_store.shared, start, shape, flat_code)
                else:
                    lo = [s - 1 for s in start]
                    yield ClassPiece(_padded(codes_store.xyz, (0, 0, 0), lo, [n + 2 for n in shape]), flat_code)

        spilled: dict[int, np.ndarray] = {}
        waiting: list[tuple[int, np.ndarray]] = []
        as_codes = [False] * len(piece_boxes)  # only padding is flat: the codes stay, classes are codes == 0
        highest = [1] * len(piece_boxes)

        def settle(unfinished_slab: int) -> None:
            """Classes replace codes once no unfinished piece reads them as halo (pieces of slab
            ``unfinished_slab`` and after read codes of slab ``unfinished_slab - 1`` and after)."""
            assert codes_store is not None
            keep = []
            for number, result in waiting:
                start, shape = piece_boxes[number]
                if slab_of[start[grid.axis]] > unfinished_slab - 2:
                    keep.append((number, result))
                elif np.can_cast(result.dtype, codes_store.xyz.dtype):
                    codes_store.xyz[_box(start, shape)] = result
                else:
                    spilled[number] = result
            waiting[:] = keep

        if codes_store.shared is not None:
            classes = _stream(executor, shared_classify_piece, class_jobs(), workers)
        else:
            classes = _stream(executor, classify_piece, class_jobs(), workers, _only_padding_is_flat)
        for number, result in enumerate(classes):
            if result is None:
                as_codes[number] = True
            else:
                highest[number] = int(result.max()) if result.size else 0
                waiting.append((number, result))
            unfinished = number + 1
            settle(slab_of[piece_boxes[unfinished][0][grid.axis]] if unfinished < len(piece_boxes) else len(grid.slabs) + 1)
        background_of = _join_flat_regions(piece_boxes, codes_store, spilled, highest, as_codes)

        # pass 3: the summed-volume table, slab by slab along the slab axis
        _give_back_memory()
        table_dtype = table_dtype_for(box_voxels, voxels)
        table_shape: Vec3 = tuple(n + 1 for n in codes_store.stored.shape)  # type: ignore[assignment]
        foreground = 0
        by_slab = collections.defaultdict(list)
        for number, (start, shape) in enumerate(piece_boxes):
            by_slab[start[grid.axis]].append(number)

        def table_piece(number: int) -> _TablePiece:
            start, shape = piece_boxes[number]
            return _TablePiece(start, shape, background_of[number], as_codes[number], spilled.get(number))

        if codes_store.shared is not None:
            # workers fill and sum the slabs in shared memory; here each slab gets the plane before it
            assert shared is not None
            table_region = shared.allocate(math.prod(table_shape) * table_dtype.itemsize)
            table_stored = table_region.array(table_shape, table_dtype)
            slab_jobs = (
                SharedTableSlab(
                    codes_store.shared, table_region, table_shape, table_dtype.str, offset, length,
                    tuple(table_piece(n) for n in by_slab[offset]),
                )
                for offset, length in grid.slabs
            )
            for (offset, length), count in zip(grid.slabs, _stream(executor, shared_table_slab, slab_jobs, workers)):
                foreground += count
                if offset > 0:
                    table_stored[offset + 1 : offset + 1 + length, 1:, 1:] += table_stored[offset, 1:, 1:]
            table_region.detach()  # the map's table: mapped here for as long as it lives
        else:
            table_stored = np.zeros(table_shape, dtype=table_dtype)
            threads = max(1, workers if executor is not None else 1)
            largest = max((math.prod(shape) for _, shape in piece_boxes), default=1)
            # scratch memory for the threads, taken here once (threads would grow their own heaps)
            masks = [np.empty(largest, dtype=bool) for _ in range(threads)]
            plane_size = math.prod(table_shape[1:])
            sums = [np.empty(plane_size, dtype=table_dtype) for _ in range(threads)]

            def fill(offset: int, numbers: list[int], scratch: np.ndarray) -> int:
                """These pieces' mask into the slab's part of the table; their tissue voxels."""
                assert codes_store is not None
                pieces = [table_piece(n) for n in numbers]
                values = [p.spilled if p.spilled is not None else codes_store.xyz[_box(p.start, p.shape)] for p in pieces]
                return _fill_planes(table_stored[offset + 1 :, 1:, 1:], grid.axis, zip(pieces, values), scratch)

            # with several jobs their cores are free now: threads share each slab (no slab runs ahead,
            # so the table grows only as the codes of finished slabs are given back)
            with ThreadPoolExecutor(threads, thread_name_prefix="wkgt-table") as pool:
                for offset, length in grid.slabs:
                    numbers = by_slab[offset]
                    foreground += sum(pool.map(lambda i: fill(offset, numbers[i::threads], masks[i]), range(threads)))
                    codes_store.release(offset, offset + length)  # read for the last time
                    planes = table_stored[offset + 1 : offset + 1 + length, 1:, 1:]
                    bounds = np.linspace(0, length, threads + 1).astype(int)
                    parts = [(planes[a:b], sums[i]) for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]))]
                    list(pool.map(lambda part: _plane_sums(*part), parts))
                    planes[0] += table_stored[offset, 1:, 1:]
                    for plane in range(1, length):
                        planes[plane] += planes[plane - 1]
        table = np.moveaxis(table_stored, 0, grid.axis)
        padding = float(histogram[0]) / voxels if voxels else 1.0
        flat_std = coding.std_of(flat_code + 1) if flat_code >= 1 else 0.0
    finally:
        if slots is not None:
            slots.free()
        if codes_store is not None:
            codes_store.close()
        if table_region is not None and table is None:  # failed before the table was done
            table_region.free()
    maps: dict[str, np.ndarray] = {}
    if sum_z is not None and sum_y is not None:
        last_z = table[:, :, -1].astype(np.int64) if table.dtype != np.uint16 else table[:, :, -1]
        last_y = table[:, -1, :].astype(np.int64) if table.dtype != np.uint16 else table[:, -1, :]
        column_z = np.diff(np.diff(last_z, axis=0), axis=1).astype(np.float64)
        column_y = np.diff(np.diff(last_y, axis=0), axis=1).astype(np.float64)
        maps = {
            "image_xy": sum_z / max(grid_shape[2], 1),
            "image_xz": sum_y / max(grid_shape[1], 1),
            "mask_xy": column_z / max(grid_shape[2], 1),
            "mask_xz": column_y / max(grid_shape[1], 1),
        }
    return TissueMap(
        mag_t, grid_start, None, flat_std, decoded, dtype.itemsize, padding, maps, table=table, foreground_voxels=foreground
    )


@attrs.frozen(eq=False)
class _TablePiece:
    """A piece's part of a table slab: where it lies and how its values become tissue."""

    start: Vec3
    shape: Vec3
    lookup: np.ndarray  # class → 1 tissue / 0 background
    as_codes: bool  # the values are codes: tissue is all but the padding
    spilled: np.ndarray | None = None  # classes too wide for the code store


def _fill_planes(planes: np.ndarray, axis: int, pieces: Iterable[tuple[_TablePiece, np.ndarray]], scratch: np.ndarray) -> int:
    """Pieces' masks (from their values) into a slab's planes of the table (slab axis first,
    without the table's zero border); their tissue voxels."""
    other = [a for a in range(3) if a != axis]
    count = 0
    for piece, values in pieces:
        tissue = scratch[: values.size].reshape(values.shape)
        if piece.as_codes:
            np.not_equal(values, 0, out=tissue)
        elif len(piece.lookup) <= 2:  # no joined regions: all but the background is tissue
            np.not_equal(values, BACKGROUND, out=tissue)
        else:
            tissue[...] = np.take(piece.lookup, values)  # class → 1 tissue / 0 background
        across = tuple(slice(piece.start[a], piece.start[a] + piece.shape[a]) for a in other)
        planes[(slice(0, piece.shape[axis]), *across)] = np.moveaxis(tissue, axis, 0)
        count += int(np.count_nonzero(tissue))
    return count


@attrs.frozen(eq=False)
class SharedTableSlab:
    """A slab of the summed-volume table (``offset``, ``length`` along the slab axis) in shared
    memory, with the pieces whose classes (in the shared code store) it sums."""

    codes: _SharedCodes
    table: SharedRegion
    table_shape: Vec3
    table_dtype: str
    offset: int
    length: int
    pieces: tuple[_TablePiece, ...]


def shared_table_slab(job: SharedTableSlab) -> int:
    """Worker job 3: a slab of the table in shared memory (its pieces' masks summed within each
    plane and along the slab; the parent then adds the plane before the slab); its tissue voxels."""
    table = job.table.array(job.table_shape, job.table_dtype)
    planes = table[job.offset + 1 : job.offset + 1 + job.length, 1:, 1:]
    xyz = job.codes.xyz()
    largest = max((math.prod(p.shape) for p in job.pieces), default=1)
    values = (p.spilled if p.spilled is not None else xyz[_box(p.start, p.shape)] for p in job.pieces)
    count = _fill_planes(planes, job.codes.axis, zip(job.pieces, values), np.empty(largest, dtype=bool))
    job.codes.release(job.offset, job.offset + job.length)  # read for the last time
    _plane_sums(planes, np.empty(planes[0].size, dtype=planes.dtype))
    for plane in range(1, job.length):
        planes[plane] += planes[plane - 1]
    return count


def _plane_sums(planes: np.ndarray, scratch: np.ndarray) -> None:
    """In place: inclusive prefix sums of each plane over its two axes (rows by vectorized
    adds: faster than ``cumsum`` along a non-contiguous axis; ``scratch`` holds a few planes)."""
    for row in range(1, planes.shape[1]):
        planes[:, row] += planes[:, row - 1]
    step = max(1, scratch.size // max(1, planes[0].size))
    for first in range(0, planes.shape[0], step):
        part = planes[first : first + step]
        out = scratch[: part.size].reshape(part.shape)
        np.cumsum(part, axis=2, out=out)
        part[...] = out


def _join_flat_regions(
    boxes: list[tuple[Vec3, Vec3]], store: _CodeStore, spilled: dict[int, np.ndarray], highest: list[int], as_codes: list[bool]
) -> list[np.ndarray]:
    """Join the flat regions that cross piece borders; per piece a lookup class → tissue (1/0).

    ``highest`` is each piece's highest class; pieces ``as_codes`` kept their codes (classes
    ``codes == 0``, see :func:`classify_piece`)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    def face(number: int, side: int, axis: int) -> np.ndarray:
        start, shape = boxes[number]
        values = spilled[number] if number in spilled else store.xyz[_box(start, shape)]
        cut = np.take(values, side, axis=axis)
        return (cut == 0).view(np.uint8) if as_codes[number] else cut

    index = {start: number for number, (start, _) in enumerate(boxes)}
    offsets = np.concatenate([[1], 1 + np.cumsum([max(0, h - 1) for h in highest])]).astype(np.int64)
    sources: list[np.ndarray] = []
    targets: list[np.ndarray] = []
    total = int(offsets[-1])

    def nodes(number: int, cls: np.ndarray) -> np.ndarray:
        return np.where(cls == BACKGROUND, 0, offsets[number] + cls.astype(np.int64) - 2)

    for number, (start, shape) in enumerate(boxes):
        for axis in range(3):
            neighbour_start = list(start)
            neighbour_start[axis] += shape[axis]
            other = index.get(tuple(neighbour_start))  # type: ignore[arg-type]
            if other is None or boxes[other][1][axis] == 0 or max(highest[number], highest[other]) < 2:
                continue  # no neighbour, or no flat region to join on either side
            here = face(number, -1, axis)
            there = face(other, 0, axis)
            if here.shape != there.shape:
                continue
            both = (here >= 1) & (there >= 1) & ((here >= 2) | (there >= 2))
            if not both.any():
                continue
            pairs = np.unique(nodes(number, here[both]) * total + nodes(other, there[both]))
            sources.append(pairs // total)
            targets.append(pairs % total)
    if sources:
        edges = (np.concatenate(sources), np.concatenate(targets))
        graph = coo_matrix((np.ones(len(edges[0]), dtype=np.int8), edges), shape=(total, total))
        _, component = connected_components(graph, directed=False)
    else:
        component = np.arange(total)
    background = component == component[0]
    lookups = []
    for number, h in enumerate(highest):
        lookup = np.ones(max(h, 1) + 1, dtype=np.uint8)
        lookup[BACKGROUND] = 0
        if h >= 2:
            lookup[2:] = ~background[offsets[number] : offsets[number] + h - 1]
        lookups.append(lookup)
    return lookups


def foreground_mask(data: np.ndarray, voxel_size_nm: Sequence[float] = (1.0, 1.0, 1.0)) -> np.ndarray:
    """The foreground (tissue) mask of a whole (x, y, z) array, scored as one region."""
    region = tuple(int(n) for n in data.shape)
    return score_region(array_reader(data), (1, 1, 1), (0, 0, 0), region, voxel_size_nm).mask


def array_reader(data: np.ndarray, origin: Sequence[int] = (0, 0, 0)) -> Callable[[Vec3, Vec3], np.ndarray]:
    """A reader over an in-memory array whose ``[0, 0, 0]`` is voxel ``origin``."""
    return _ArrayReader(data, tuple(int(v) for v in origin))  # type: ignore[arg-type]


@attrs.frozen(eq=False)
class _ArrayReader:
    data: np.ndarray
    origin: Vec3

    def __call__(self, start: Vec3, size: Vec3) -> np.ndarray:
        return _padded(self.data, self.origin, start, size)
