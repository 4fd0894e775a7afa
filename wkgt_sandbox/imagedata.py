"""Voxel sources for sandbox layers and the zarr (v2) encoding the datastore streams.

Chunks are produced lazily, one 32³ chunk at a time, and cached; nothing is generated at start-up.
"""

from __future__ import annotations

import functools
from typing import Any, Protocol

import numpy as np

Mag = tuple[int, int, int]
Vec3 = tuple[int, int, int]

CHUNK = 32
DTYPES = {
    "uint8": "|u1", "uint16": "<u2", "uint32": "<u4", "uint64": "<u8",
    "int8": "|i1", "int16": "<i2", "int32": "<i4", "int64": "<i8", "float": "<f4", "double": "<f8",
}  # fmt: skip


def parse_mag(text: str) -> Mag:
    """Parse a mag literal: "16-16-4" → (16, 16, 4), "2" → (2, 2, 2)."""
    parts = [int(p) for p in text.split("-")]
    if len(parts) == 1:
        parts *= 3
    if len(parts) != 3 or min(parts) < 1:
        raise ValueError(text)
    return (parts[0], parts[1], parts[2])


def mag_literal(mag: Mag) -> str:
    """The datastore's path form: "1" for isotropic mags, "2-2-1" otherwise."""
    return str(mag[0]) if mag[0] == mag[1] == mag[2] else "-".join(map(str, mag))


def array_shape(layer: dict[str, Any], mag: Mag) -> Vec3:
    """Shape (x, y, z) of the zarr array of one mag: from the origin to the end of the bounding box."""
    bb = layer["boundingBox"]
    end = [bb["topLeft"][i] + (bb["width"], bb["height"], bb["depth"])[i] for i in range(3)]
    return (-(-end[0] // mag[0]), -(-end[1] // mag[1]), -(-end[2] // mag[2]))


def zarray(layer: dict[str, Any], mag: Mag) -> dict[str, Any]:
    """The `.zarray` the datastore answers for a layer's mag (channel-first, Fortran order)."""
    return {
        "dtype": DTYPES[layer["elementClass"]],
        "fill_value": 0,
        "zarr_format": 2,
        "order": "F",
        "chunks": [1, CHUNK, CHUNK, CHUNK],
        "compressor": None,
        "filters": None,
        "shape": [1, *array_shape(layer, mag)],
        "dimension_separator": ".",
    }


def encode_chunk(data: np.ndarray) -> bytes:
    """(x, y, z) voxels → raw chunk bytes of a (1, 32, 32, 32) Fortran-order zarr chunk."""
    return np.asfortranarray(data[np.newaxis]).tobytes(order="F")


class ChunkSource(Protocol):
    """Where a layer's voxels come from."""

    def chunk(self, mag: Mag, index: Vec3) -> bytes | None:
        """Encoded chunk at chunk index (x, y, z), or None if there is no data."""


class NoData:
    """A layer without image data: every chunk is missing."""

    def chunk(self, mag: Mag, index: Vec3) -> bytes | None:
        return None


class RecordedChunks:
    """Encoded chunks taken from recorded traffic, by (mag, chunk index)."""

    def __init__(self, chunks: dict[tuple[Mag, Vec3], bytes]) -> None:
        self._chunks = chunks

    def chunk(self, mag: Mag, index: Vec3) -> bytes | None:
        return self._chunks.get((mag, index))

    def __deepcopy__(self, memo: dict[int, Any]) -> RecordedChunks:
        return self


def _hash01(ix: np.ndarray, iy: np.ndarray, iz: np.ndarray, seed: int) -> np.ndarray:
    """Deterministic pseudo-random values in [0, 1) for integer lattice points."""
    h = (
        ix.astype(np.uint64) * np.uint64(0x9E3779B185EBCA87)
        ^ iy.astype(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F)
        ^ iz.astype(np.uint64) * np.uint64(0x165667B19E3779F9)
        ^ np.uint64(seed * 0x27D4EB2F165667C5 & 0xFFFFFFFFFFFFFFFF)
    )
    h ^= h >> np.uint64(31)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(29)
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _value_noise(axes: list[np.ndarray], cell: float, seed: int) -> np.ndarray:
    """Smooth value noise in [-1, 1] with lattice spacing `cell` (nm) on the grid spanned by the
    1-d coordinate arrays `axes` (nm). Random values live on the lattice only; they are
    interpolated (smoothstep) one axis at a time, so the cost grows with the lattice, not the grid."""
    q = [a / cell for a in axes]
    lo = [int(np.floor(c.min())) for c in q]
    lattice = [np.arange(first, int(np.floor(c.max())) + 2) for first, c in zip(lo, q)]
    lx, ly, lz = np.meshgrid(*lattice, indexing="ij")
    values = _hash01(lx, ly, lz, seed)
    for axis, (c, first) in enumerate(zip(q, lo)):
        i = np.floor(c).astype(np.int64) - first
        t = c - np.floor(c)
        t = t * t * (3 - 2 * t)
        shape = [1, 1, 1]
        shape[axis] = len(c)
        t = t.reshape(shape)
        values = np.take(values, i, axis=axis) * (1 - t) + np.take(values, i + 1, axis=axis) * t
    return values * 2 - 1


class GeneratedVoxels:
    """Procedural, deterministic EM-like data (or segment ids) for one layer.

    generator "em": grey cytoplasm texture with dark membranes and blobs (uint8).
    generator "segments": piecewise-constant ids of wobbly cells (integer dtypes).
    tissue "partial": tissue only where a smooth field is positive (about half the box), 0 elsewhere.
    Values are a function of the physical position, so all mags show the same structures.
    """

    def __init__(
        self,
        *,
        generator: str,
        seed: int,
        layer: dict[str, Any],
        voxel_size: tuple[float, float, float],
        mags: list[Mag] | None,
        tissue: str = "full",
    ) -> None:
        if generator not in ("em", "segments"):
            raise ValueError(f"unknown sandbox generator {generator!r}")
        self.generator = generator
        self.seed = seed
        self.dtype = np.dtype(DTYPES[layer["elementClass"]])
        bb = layer["boundingBox"]
        self.top_left = np.array(bb["topLeft"])
        self.size = np.array([bb["width"], bb["height"], bb["depth"]])
        self.voxel_size = voxel_size
        self.mags = None if mags is None else set(mags)
        self.tissue = tissue
        self.chunk = functools.lru_cache(maxsize=512)(self._chunk)  # type: ignore[method-assign]

    def __deepcopy__(self, memo: dict[int, Any]) -> GeneratedVoxels:
        return self

    def has_mag(self, mag: Mag) -> bool:
        return self.mags is None or mag in self.mags

    def _chunk(self, mag: Mag, index: Vec3) -> bytes | None:
        if not self.has_mag(mag):
            return None
        # voxel centres of this chunk in mag-1 voxel coordinates, per axis
        vox = [(index[i] * CHUNK + np.arange(CHUNK) + 0.5) * mag[i] for i in range(3)]
        inside_axes = [(v >= t) & (v < t + n) for v, t, n in zip(vox, self.top_left, self.size)]
        if not all(a.any() for a in inside_axes):
            return encode_chunk(np.zeros((CHUNK,) * 3, self.dtype))
        nm = [v * s for v, s in zip(vox, self.voxel_size)]
        spacing = min(m * s for m, s in zip(mag, self.voxel_size))
        values = self._em(nm, spacing) if self.generator == "em" else self._segments(nm)
        mask = inside_axes[0].reshape(-1, 1, 1) & inside_axes[1].reshape(1, -1, 1) & inside_axes[2].reshape(1, 1, -1)
        if self.tissue == "partial":
            mask = mask & self._tissue(vox, nm)
        return encode_chunk(np.where(mask, values, 0).astype(self.dtype))

    def _noise(self, nm: list[np.ndarray], cell: float, offset: int, spacing: float) -> np.ndarray | float:
        """One octave; octaves finer than the sampling average out to 0 (as in downsampled data)."""
        return _value_noise(nm, cell, self.seed + offset) if cell >= spacing else 0.0

    def _em(self, nm: list[np.ndarray], spacing: float) -> np.ndarray:
        texture = (
            0.6 * self._noise(nm, 600.0, 0, spacing)
            + 0.3 * self._noise(nm, 150.0, 1, spacing)
            + 0.1 * self._noise(nm, 40.0, 2, spacing)
        )
        grain = self._noise(nm, 3.0 * min(self.voxel_size), 6, spacing)
        membrane = np.abs(_value_noise(nm, 900.0, self.seed + 3) + 0.5 * self._noise(nm, 300.0, 4, spacing))
        blobs = np.clip(_value_noise(nm, 250.0, self.seed + 5) - 0.55, 0, None)
        grey = 150 + 35 * texture + 12 * grain - 90 * np.exp(-((membrane / 0.06) ** 2)) - 300 * blobs
        return np.clip(grey, 1, 255)

    def _segments(self, nm: list[np.ndarray]) -> np.ndarray:
        cell = 1200.0
        grid = np.meshgrid(*nm, indexing="ij")
        warped = [g + 300.0 * _value_noise(nm, 800.0, self.seed + 10 + i) for i, g in enumerate(grid)]
        cx, cy, cz = (np.floor(w / cell).astype(np.int64) for w in warped)
        ids = _hash01(cx, cy, cz, self.seed)
        return 1 + (ids * 4_000_000).astype(np.int64)

    def _tissue(self, vox: list[np.ndarray], nm: list[np.ndarray]) -> np.ndarray:
        rel = [(v - t) / n for v, t, n in zip(vox, self.top_left, self.size)]
        extent = float(self.size[0] * self.voxel_size[0])
        wobble = _value_noise(nm, extent / 3, self.seed + 20) * 0.18
        return (rel[0].reshape(-1, 1, 1) + 0.5 * rel[1].reshape(1, -1, 1)) * 0.8 + wobble < 0.6


class LocalDatasetVoxels:
    """Voxels read from a local WEBKNOSSOS (wkw/zarr/zarr3) dataset with the webknossos library."""

    def __init__(self, path: str, layer_name: str, element_class: str) -> None:
        self.path = path
        self.layer_name = layer_name
        self.dtype = np.dtype(DTYPES[element_class])
        self.chunk = functools.lru_cache(maxsize=256)(self._chunk)  # type: ignore[method-assign]

    def __deepcopy__(self, memo: dict[int, Any]) -> LocalDatasetVoxels:
        return self

    @functools.cached_property
    def _layer(self) -> Any:
        import webknossos as wk

        return wk.Dataset.open(self.path).get_layer(self.layer_name)

    def has_mag(self, mag: Mag) -> bool:
        return any(tuple(m.to_list()) == mag for m in self._layer.mags)

    def _chunk(self, mag: Mag, index: Vec3) -> bytes | None:
        if not self.has_mag(mag):
            return None
        import webknossos as wk

        view = self._layer.get_mag(mag_literal(mag))
        box = wk.BoundingBox(tuple(i * CHUNK * m for i, m in zip(index, mag)), tuple(CHUNK * m for m in mag))
        # the part of the chunk inside the layer, widened to whole voxels of the mag (a layer box need
        # not be aligned with its coarser mags)
        box_in = box.intersected_with(self._layer.bounding_box, dont_assert=True)
        if not box_in.is_empty():
            box_in = box_in.align_with_mag(wk.Mag(mag), ceil=True).intersected_with(box, dont_assert=True)
        out = np.zeros((CHUNK,) * 3, self.dtype)
        if box_in.is_empty():
            return encode_chunk(out)
        data = view.read(absolute_bounding_box=box_in)[0]
        start = [(a - b) // m for a, b, m in zip(box_in.topleft, box.topleft, mag)]
        out[
            start[0] : start[0] + data.shape[0],
            start[1] : start[1] + data.shape[1],
            start[2] : start[2] + data.shape[2],
        ] = data
        return encode_chunk(out)
