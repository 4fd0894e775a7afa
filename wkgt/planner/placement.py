"""Step 4 of a plan: where the boxes go.

Farthest-point sampling over mag-aligned candidate corners gives a valid, spread start
(:mod:`.sampling`); a soft-sphere relaxation then spreads it further and is kept where it
stays valid (:mod:`.relaxation`). Both work in nm and in the region's effective dimension:
walls count only on axes longer than the boxes' spacing, so thin slabs and rods spread along
their long axes. Candidates are a fixed number per box, so the cost grows with the box count
(about N log N), never with the volume.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..errors import InvalidInput
from .geometry import (
    BoxGeometry,
    Occupied,
    Region,
    aligned_corner_range,
    kd_tree,
    max_fitting,
    overlapping_pairs,
)
from .relaxation import relax
from .sampling import farthest_point_sampling, grid_candidates
from .spread import Spread, even_spacing, measure_spread
from .vectors import Vec3, Vec3f, format_vec

__all__ = [
    "CandidateFilter",
    "Region",
    "Spread",
    "aligned_corner_range",
    "max_fitting",
    "measure_spread",
    "overlapping_pairs",
    "place_boxes",
]

CANDIDATES_PER_BOX = 8
TARGET_FACTOR = {0: 1.0, 1: 1.0, 2: 1.0, 3: 1.05}
MIN_CANDIDATES = 4096
MAX_LATTICE_CANDIDATES = 400_000
WALL_FACTOR = 0.25
"""Boxes keep about a quarter of their spacing from the walls of the region's long axes."""

CandidateFilter = Callable[[np.ndarray], np.ndarray]
"""Takes an (n, 3) array of mag-1 top-left corners, returns an (n,) boolean mask of usable ones."""


def place_boxes(
    region: Region,
    box_size_mag1: Vec3,
    mag: Vec3,
    voxel_size_nm: Vec3f,
    count: int,
    seed: int,
    *,
    occupied: Sequence[tuple[Vec3, Vec3]] = (),
    gap: int = 0,
    candidate_filter: CandidateFilter | None = None,
) -> np.ndarray:
    """Top-left corners (mag-1 voxels, shape (count, 3)) of ``count`` well-spread boxes.

    ``occupied`` boxes (top-left, size in mag-1 voxels) are avoided with ``gap`` voxels to
    spare and repel new boxes; ``candidate_filter`` rejects corners (e.g. boxes off the
    tissue) and is called once per candidate set and once on the relaxed boxes. Raises
    :class:`InvalidInput` saying how many fit when not all do.
    """
    if count <= 0:
        raise InvalidInput(f"the box count must be at least 1, got {count}")
    rng = np.random.default_rng(seed)
    voxel_size = np.asarray(voxel_size_nm, dtype=float)
    geo = BoxGeometry(region, np.asarray(box_size_mag1), np.asarray(mag), voxel_size)
    fit = max_fitting(region, box_size_mag1, mag)
    if count > fit:
        raise InvalidInput(
            f"{count} boxes of {format_vec(box_size_mag1)} mag-1 voxels do not fit in the region "
            f"{format_vec(region.size)}: at most {fit} fit"
        )
    taken = Occupied(occupied, gap, voxel_size)
    extent = geo.centre_hi - geo.centre_lo
    spacing, dimension = even_spacing(extent, count)
    wall_axes = extent >= spacing if spacing > 0 else np.zeros(3, dtype=bool)
    n_candidates = max(MIN_CANDIDATES, CANDIDATES_PER_BOX * count)
    placed = np.empty((0, 3), dtype=np.int64)
    for make in (
        lambda: grid_candidates(geo.first, geo.last, geo.mag, n_candidates, rng),
        lambda: grid_candidates(geo.first, geo.last, geo.box, MAX_LATTICE_CANDIDATES, rng),
    ):
        corners = make()
        if candidate_filter is not None:
            corners = corners[candidate_filter(corners)]
        placed = farthest_point_sampling(geo, corners, count, taken, wall_axes, WALL_FACTOR, spacing)
        if len(placed) == count:
            break
    else:
        where = "on usable ground in " if candidate_filter is not None else "in "
        raise InvalidInput(
            f"{count} boxes of {format_vec(box_size_mag1)} mag-1 voxels do not fit {where}the "
            f"region: only {len(placed)} could be placed"
        )
    fixed = taken.centres_nm
    best, best_gap = placed, _closest_pair(geo.centres(placed), fixed)
    target = max(best_gap, TARGET_FACTOR[dimension] * even_spacing(extent, count + len(taken))[0])
    starts = [geo.centres(placed)]
    if dimension == 1 and count > 2:
        starts.append(_evened_along(geo.centres(placed), int(np.argmax(extent)), geo))
    for start in starts:
        relaxed = geo.corners(relax(geo, start, fixed, wall_axes, WALL_FACTOR, target))
        relaxed = _keep_valid(geo, relaxed, placed, taken, candidate_filter)
        gap = _closest_pair(geo.centres(relaxed), fixed)
        if gap >= best_gap:
            best, best_gap = relaxed, gap
    return best.astype(np.int64)


def _evened_along(centres: np.ndarray, axis: int, geo: BoxGeometry) -> np.ndarray:
    """The centres moved, in their order along ``axis``, to even steps along it (half a step
    from the walls): a rod's ideal, which relaxing alone reaches slowly."""
    evened = centres.copy()
    order = np.argsort(centres[:, axis], kind="stable")
    lo, hi = geo.centre_lo[axis], geo.centre_hi[axis]
    evened[order, axis] = lo + (np.arange(len(centres)) + 0.5) * (hi - lo) / len(centres)
    return evened


def _keep_valid(
    geo: BoxGeometry,
    proposed: np.ndarray,
    fallback: np.ndarray,
    occupied: Occupied,
    candidate_filter: CandidateFilter | None,
) -> np.ndarray:
    """``proposed`` corners where they are usable and disjoint, ``fallback`` corners elsewhere.

    ``fallback`` is a valid placement, so reverting conflicting boxes always terminates.
    """
    result = proposed.copy()
    moved = np.flatnonzero(np.any(result != fallback, axis=1))
    bad = occupied.clashes(result[moved], geo.box)
    if candidate_filter is not None and len(moved):
        bad |= ~np.asarray(candidate_filter(result[moved]), dtype=bool)
    result[moved[bad]] = fallback[moved[bad]]
    while True:
        clashing = np.unique(overlapping_pairs(result, geo.box))
        clashing = clashing[np.any(result[clashing] != fallback[clashing], axis=1)]
        if len(clashing) == 0:
            return result
        result[clashing] = fallback[clashing]


def _closest_pair(centres: np.ndarray, fixed: np.ndarray) -> float:
    points = np.concatenate([centres, fixed])
    if len(points) < 2:
        return 0.0
    distances, _ = kd_tree(points).query(centres, k=2)
    return float(distances[:, 1].min())
