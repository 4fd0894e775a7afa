"""Regions, mag-aligned corners, box centres in nm, and clashes with occupied boxes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from ..errors import InvalidInput
from .vectors import Vec3, format_vec


def kd_tree(points: np.ndarray) -> Any:
    """scipy's KD-tree, imported on first use (scipy.spatial costs ~0.2 s at CLI start).

    Built unbalanced and uncompacted: half the build time, and queries cost about the same.
    """
    from scipy.spatial import cKDTree

    return cKDTree(points, balanced_tree=False, compact_nodes=False)


@attrs.frozen
class Region:
    """An axis-aligned region in mag-1 voxels."""

    topleft: Vec3
    size: Vec3

    @property
    def end(self) -> Vec3:
        return tuple(t + s for t, s in zip(self.topleft, self.size))  # type: ignore[return-value]

    def contains(self, other: Region) -> bool:
        return all(a <= b for a, b in zip(self.topleft, other.topleft)) and all(
            a >= b for a, b in zip(self.end, other.end)
        )

    def intersects(self, other: Region) -> bool:
        """Whether the two regions share at least one voxel."""
        return all(a < d and c < b for a, b, c, d in zip(self.topleft, self.end, other.topleft, other.end))

    def intersection(self, other: Region) -> Region | None:
        """The voxels both regions hold, or None when they share none."""
        lo = tuple(max(a, b) for a, b in zip(self.topleft, other.topleft))
        hi = tuple(min(a, b) for a, b in zip(self.end, other.end))
        if any(h <= low for low, h in zip(lo, hi)):
            return None
        return Region(lo, tuple(h - low for low, h in zip(lo, hi)))  # type: ignore[arg-type]

    def in_mag(self, mag: Sequence[int]) -> Region:
        """The region in voxels of ``mag``, rounded out: every mag voxel it touches."""
        lo = tuple(t // m for t, m in zip(self.topleft, mag))
        hi = tuple(-(-e // m) for e, m in zip(self.end, mag))
        return Region(lo, tuple(h - low for low, h in zip(lo, hi)))  # type: ignore[arg-type]

    @property
    def volume(self) -> int:
        return math.prod(self.size)

    def shrunk(self, margin: int) -> Region:
        size = tuple(s - 2 * margin for s in self.size)
        if any(s <= 0 for s in size):
            raise InvalidInput(f"--margin {margin} leaves nothing of the region {self}")
        return Region(tuple(t + margin for t in self.topleft), size)  # type: ignore[arg-type]

    def __str__(self) -> str:
        return f"{','.join(map(str, self.topleft))},{','.join(map(str, self.size))}"


def aligned_corner_range(region: Region, box_size_mag1: Vec3, mag: Vec3) -> tuple[np.ndarray, np.ndarray]:
    """First and last mag-aligned top-left corner of a box that lies inside ``region``."""
    lo = np.asarray(region.topleft)
    hi = np.asarray(region.end) - np.asarray(box_size_mag1)
    m = np.asarray(mag)
    first = -(-lo // m) * m
    last = (hi // m) * m
    if np.any(last < first):
        raise InvalidInput(
            f"a box of {format_vec(box_size_mag1)} mag-1 voxels (mag-aligned) does not fit "
            f"in the region {format_vec(region.size)} at {format_vec(region.topleft, ',')}"
        )
    return first, last


def max_fitting(region: Region, box_size_mag1: Vec3, mag: Vec3) -> int:
    """How many disjoint, mag-aligned boxes of this size fit in the region at most."""
    m = np.asarray(mag)
    first = -(-np.asarray(region.topleft) // m) * m
    end = (np.asarray(region.end) // m) * m
    per_axis = np.maximum((end - first) // np.asarray(box_size_mag1), 0)
    return int(np.prod(per_axis))


def overlapping_pairs(corners: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Index pairs (k, 2) of equal-size boxes that share at least one voxel.

    Boxes overlap when their corners differ by less than the box size on every axis, i.e.
    when their box-scaled corners are closer than 1 in the maximum norm.
    """
    radius = 1 - 0.5 / float(np.max(box))
    return kd_tree(np.asarray(corners) / np.asarray(box)).query_pairs(radius, p=np.inf, output_type="ndarray")


class BoxGeometry:
    """Mag-1 corners ↔ centres in nm for one region, box size and mag.

    A centre can lie anywhere in ``[centre_lo, centre_hi]`` (nm): the region minus half a box
    at each side, rounded inwards to the mag. The region's walls are at ``wall_lo`` and
    ``wall_hi`` (nm).
    """

    def __init__(self, region: Region, box: np.ndarray, mag: np.ndarray, voxel_size: np.ndarray):
        self.region, self.box, self.mag, self.voxel_size = region, box, mag, voxel_size
        self.first, self.last = aligned_corner_range(region, tuple(box), tuple(mag))
        self.centre_lo = self.centres(self.first)
        self.centre_hi = self.centres(self.last)
        self.wall_lo = np.asarray(region.topleft) * voxel_size
        self.wall_hi = np.asarray(region.end) * voxel_size

    def centres(self, corners: np.ndarray) -> np.ndarray:
        return (corners + self.box / 2) * self.voxel_size

    def corners(self, centres: np.ndarray) -> np.ndarray:
        """Nearest mag-aligned corner inside the region for each centre."""
        raw = centres / self.voxel_size - self.box / 2
        snapped = np.round(raw / self.mag).astype(np.int64) * self.mag
        return np.clip(snapped, self.first, self.last)


class Occupied:
    """Boxes to keep clear of, each by its own gap (all in mag-1 voxels).

    Clash tests go through one KD-tree, so thousands of occupied boxes cost a tree query, not
    a pass over every candidate per occupied box.
    """

    def __init__(self, starts: np.ndarray, sizes: np.ndarray, gaps: np.ndarray, voxel_size: np.ndarray):
        self.starts = np.asarray(starts, dtype=np.int64).reshape(-1, 3)
        self.sizes = np.asarray(sizes, dtype=np.int64).reshape(-1, 3)
        self.gaps = np.broadcast_to(np.asarray(gaps, dtype=np.int64), (len(self.starts),))
        self.voxel_size = voxel_size
        self.centres_nm = (self.starts + self.sizes / 2) * voxel_size
        self._tree = kd_tree(self.starts + self.sizes / 2) if len(self) else None

    @classmethod
    def from_boxes(cls, boxes: Sequence[tuple[Sequence[int], Sequence[int]]], gap: int, voxel_size: np.ndarray) -> Occupied:
        """``boxes`` as (top-left, size) pairs, all kept clear of by ``gap``."""
        return cls([t for t, _ in boxes], [s for _, s in boxes], np.full(len(boxes), gap), voxel_size)

    def plus(self, corners: np.ndarray, box: np.ndarray) -> Occupied:
        """These boxes and more of size ``box`` at ``corners``, which need no gap."""
        n = len(corners)
        return Occupied(
            np.concatenate([self.starts, corners]),
            np.concatenate([self.sizes, np.broadcast_to(box, (n, 3))]),
            np.concatenate([self.gaps, np.zeros(n, dtype=np.int64)]),
            self.voxel_size,
        )

    def __len__(self) -> int:
        return len(self.starts)

    def clashes(self, corners: np.ndarray, box: np.ndarray) -> np.ndarray:
        """Mask of ``corners`` whose box of size ``box`` comes within the gap of an occupied box."""
        corners = np.asarray(corners).reshape(-1, 3)
        hit = np.zeros(len(corners), dtype=bool)
        if self._tree is None or len(corners) == 0:
            return hit
        # Overlap with gap on every axis ⇔ |Δcentre| < (size + box) / 2 + gap per axis.
        half = (self.sizes + box) / 2 + self.gaps[:, None]
        reach = float(half.max())
        pairs = kd_tree(corners + box / 2).query_ball_tree(self._tree, reach, p=np.inf)
        counts = np.fromiter((len(p) for p in pairs), dtype=np.int64, count=len(pairs))
        if not counts.any():
            return hit
        rows = np.repeat(np.arange(len(corners)), counts)
        cols = np.fromiter((j for p in pairs for j in p), dtype=np.int64, count=int(counts.sum()))
        delta = np.abs(corners[rows] + box / 2 - (self.starts[cols] + self.sizes[cols] / 2))
        clash = np.all(delta < half[cols], axis=1)
        hit[rows[clash]] = True
        return hit
