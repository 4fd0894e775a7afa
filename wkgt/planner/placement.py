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
from .usable import UsableGrid
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
TARGET_FACTOR = {0: 1.0, 1: 1.0, 2: 1.0, 3: 1.08}
"""The relaxation's first target ÷ the even spacing, by effective dimension: in 3-D, packings
beat the lattice spacing (FCC: 1.12×) and a target above it relaxes further; in 1-D and 2-D
a target at the spacing relaxes best (it still grows while it is reached)."""
MIN_CANDIDATES = 4096
MAX_LATTICE_CANDIDATES = 400_000
DENSE_FACTOR = 4
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
    tissue): it judges each candidate set, one grid that keeps the relaxation on usable ground
    (:class:`.usable.UsableGrid`), and the relaxed boxes, a few calls in all. Raises
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
    taken = Occupied.from_boxes(occupied, gap, voxel_size)
    extent = geo.centre_hi - geo.centre_lo
    spacing, dimension = even_spacing(extent, count)
    wall_axes = extent >= spacing if spacing > 0 else np.zeros(3, dtype=bool)
    grid = UsableGrid(geo, candidate_filter, count) if candidate_filter is not None else None
    placed, pool = _sample(geo, count, taken, candidate_filter, grid, rng, wall_axes, spacing)
    fixed = taken.centres_nm
    best, best_gap = placed, _closest_pair(geo.centres(placed), fixed)
    usable_share = grid.share if grid is not None else 1.0
    target = max(best_gap, TARGET_FACTOR[dimension] * even_spacing(extent, (count + len(taken)) / usable_share)[0])
    starts = [geo.centres(placed)]
    if dimension == 1 and count > 2:
        evened = _evened_along(starts[0], int(np.argmax(extent)), geo)
        if grid is not None:
            evened = np.where(grid.allows(evened)[:, None], evened, starts[0])
        starts.append(evened)
    for start in starts:
        relaxed = geo.corners(relax(geo, start, fixed, wall_axes, WALL_FACTOR, target, usable=grid.allows if grid else None))
        relaxed = _made_valid(geo, relaxed, placed, taken, candidate_filter, pool, wall_axes, spacing)
        gap = _closest_pair(geo.centres(relaxed), fixed)
        if gap >= best_gap:
            best, best_gap = relaxed, gap
    return best.astype(np.int64)


def _sample(
    geo: BoxGeometry,
    count: int,
    taken: Occupied,
    candidate_filter: CandidateFilter | None,
    grid: UsableGrid | None,
    rng: np.random.Generator,
    wall_axes: np.ndarray,
    spacing: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Farthest-point sampling of ``count`` boxes, and the usable candidates it chose from.

    Candidates are random mag-aligned corners; where boxes fill much of the region and too few
    of them stay free, ``DENSE_FACTOR`` times as many, then the corners of the box lattice.
    With a filter, each set is tried first with only the candidates in usable grid cells,
    where the relaxation can move them. Raises :class:`InvalidInput` when not all boxes fit.
    """
    n_candidates = max(MIN_CANDIDATES, CANDIDATES_PER_BOX * count)
    placed = np.empty((0, 3), dtype=np.int64)
    for make in (
        lambda: grid_candidates(geo.first, geo.last, geo.mag, n_candidates, rng),
        lambda: grid_candidates(geo.first, geo.last, geo.mag, DENSE_FACTOR * n_candidates, rng),
        lambda: grid_candidates(geo.first, geo.last, geo.box, MAX_LATTICE_CANDIDATES, rng),
    ):
        pool = make()
        if candidate_filter is not None:
            pool = pool[candidate_filter(pool)]
        pools = [pool] if grid is None else [pool[grid.allows(geo.centres(pool))], pool]
        for candidates in pools:
            placed = farthest_point_sampling(geo, candidates, count, taken, wall_axes, WALL_FACTOR, spacing)
            if len(placed) == count:
                return placed, pool
    where = "on usable ground in " if candidate_filter is not None else "in "
    raise InvalidInput(
        f"{count} boxes of {format_vec(tuple(geo.box))} mag-1 voxels do not fit {where}the "
        f"region: only {len(placed)} could be placed"
    )


def _evened_along(centres: np.ndarray, axis: int, geo: BoxGeometry) -> np.ndarray:
    """The centres moved, in their order along ``axis``, to even steps along it (half a step
    from the walls): a rod's ideal, which relaxing alone reaches slowly."""
    evened = centres.copy()
    order = np.argsort(centres[:, axis], kind="stable")
    lo, hi = geo.centre_lo[axis], geo.centre_hi[axis]
    evened[order, axis] = lo + (np.arange(len(centres)) + 0.5) * (hi - lo) / len(centres)
    return evened


def _made_valid(
    geo: BoxGeometry,
    proposed: np.ndarray,
    fallback: np.ndarray,
    occupied: Occupied,
    candidate_filter: CandidateFilter | None,
    pool: np.ndarray,
    wall_axes: np.ndarray,
    spacing: float,
) -> np.ndarray:
    """``proposed`` corners, except those that moved onto unusable ground, into an occupied box's
    gap or onto another box: these are re-placed by farthest-point sampling among the usable
    ``pool`` (or, if it runs out, everything invalid reverts to ``fallback``, a valid placement)."""
    moved = np.flatnonzero(np.any(proposed != fallback, axis=1))
    bad = np.zeros(len(proposed), dtype=bool)
    bad[moved] = occupied.clashes(proposed[moved], geo.box)
    if candidate_filter is not None and len(moved):
        bad[moved] |= ~np.asarray(candidate_filter(proposed[moved]), dtype=bool)
    good = np.flatnonzero(~bad)
    bad[good[overlapping_pairs(proposed[good], geo.box)[:, 1]]] = True
    if not np.any(bad):
        return proposed
    kept = proposed[~bad]
    refill = farthest_point_sampling(geo, pool, int(bad.sum()), occupied.plus(kept, geo.box), wall_axes, WALL_FACTOR, spacing)
    if len(refill) == int(bad.sum()):
        return np.concatenate([kept, refill])
    return _reverted(geo, proposed, fallback, occupied, candidate_filter)


def _reverted(
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
    """Closest distance from a centre to another centre or a fixed one (0 for a lone box)."""
    points = np.concatenate([centres, fixed])
    if len(points) < 2:
        return 0.0
    distances, _ = kd_tree(points).query(centres, k=2)
    return float(distances[:, 1].min())
