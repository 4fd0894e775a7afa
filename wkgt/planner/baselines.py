"""Reference samplers that placement is judged against (benchmarks and tests); not used to plan.

- uniform random: the WEBKNOSSOS dialog's "auto-generate bounding boxes" (random corners
  snapped down to the mag, overlapping ones rejected, giving up after 500 rejections);
- best-candidate (Mitchell 1991): each new box is the one of ``k·n`` random mag-aligned
  candidates (n boxes so far) farthest from the boxes already placed.
"""

from __future__ import annotations

import numpy as np

from .geometry import Region, aligned_corner_range, kd_tree
from .vectors import Vec3, Vec3f

BEST_CANDIDATE_FACTOR = 10


def uniform_random_corners(region: Region, box_mag1: Vec3, mag: Vec3, count: int, seed: int, max_rejections: int = 500) -> np.ndarray:
    """The WEBKNOSSOS dialog's method; fewer than ``count`` corners when it gives up."""
    rng = np.random.default_rng(seed)
    lo, box, m = np.asarray(region.topleft), np.asarray(box_mag1), np.asarray(mag)
    hi = lo + np.asarray(region.size) - box
    placed: list[np.ndarray] = []
    rejections = 0
    while len(placed) < count and rejections < max_rejections:
        corner = (rng.integers(lo, hi + 1) // m) * m
        corner = np.maximum(corner, -(-lo // m) * m)
        if any(np.all((corner < p + box) & (p < corner + box)) for p in placed):
            rejections += 1
            continue
        placed.append(corner)
    return np.array(placed, dtype=np.int64).reshape(-1, 3)


def best_candidate_corners(
    region: Region, box_mag1: Vec3, mag: Vec3, voxel_size_nm: Vec3f, count: int, seed: int, factor: int = BEST_CANDIDATE_FACTOR
) -> np.ndarray:
    """Mitchell's best-candidate sampling of disjoint, mag-aligned boxes (fewer when none fits)."""
    rng = np.random.default_rng(seed)
    box, m, voxel = np.asarray(box_mag1), np.asarray(mag), np.asarray(voxel_size_nm, dtype=float)
    first, last = aligned_corner_range(region, box_mag1, mag)
    steps = (last - first) // m + 1
    corners = np.empty((count, 3), dtype=np.int64)
    for n in range(count):
        candidates = first + rng.integers(0, steps, size=(factor * max(n, 1), 3)) * m
        if n == 0:
            corners[0] = candidates[0]
            continue
        distance, _ = kd_tree((corners[:n] + box / 2) * voxel).query((candidates + box / 2) * voxel)
        for index in np.argsort(-distance, kind="stable"):
            if not np.any(np.all(np.abs(corners[:n] - candidates[index]) < box, axis=1)):
                corners[n] = candidates[index]
                break
        else:
            return corners[:n]
    return corners
