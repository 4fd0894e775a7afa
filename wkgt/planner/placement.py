"""Step 4 of a plan: where the boxes go.

Boxes are placed by farthest-point sampling in physical space over mag-aligned candidate
corners: each new box takes the free candidate whose centre is farthest (in nm) from every
box placed so far and from its mirror image across the region's walls. The candidates are
a fixed number per box, so the cost grows with the box count, never with the volume.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np

from ..errors import InvalidInput
from .vectors import Vec3, Vec3f, format_vec

CANDIDATES_PER_BOX = 16
MIN_CANDIDATES = 4096
MAX_LATTICE_CANDIDATES = 400_000
REPULSION_ITERATIONS = 150
REPULSION_TARGETS = (1.05, 0.95)
WALL_FACTOR = 0.25


def _kd_tree(points: np.ndarray) -> Any:
    """scipy's KD-tree, imported on first use (scipy.spatial costs ~0.2 s at CLI start)."""
    from scipy.spatial import cKDTree

    return cKDTree(points)


CandidateFilter = Callable[[np.ndarray], np.ndarray]
"""Takes an (n, 3) array of mag-1 top-left corners, returns an (n,) boolean mask of usable ones."""


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

    def shrunk(self, margin: int) -> Region:
        size = tuple(s - 2 * margin for s in self.size)
        if any(s <= 0 for s in size):
            raise InvalidInput(f"--margin {margin} leaves nothing of the region {self}")
        return Region(tuple(t + margin for t in self.topleft), size)  # type: ignore[arg-type]

    def __str__(self) -> str:
        return f"{','.join(map(str, self.topleft))},{','.join(map(str, self.size))}"


@attrs.frozen
class Spread:
    """How evenly the boxes are spread, in nm."""

    min_center_distance_nm: float
    mean_nearest_neighbour_nm: float
    ideal_spacing_nm: float

    @property
    def ratio(self) -> float:
        """Closest pair of centres ÷ (region volume / count)^(1/3): ~1 is lattice-even."""
        return self.min_center_distance_nm / self.ideal_spacing_nm if self.ideal_spacing_nm else 0.0


def measure_spread(
    topleft: np.ndarray, box_size_mag1: Vec3, region: Region, voxel_size_nm: Vec3f
) -> Spread:
    """Closest-pair and mean nearest-neighbour distances of box centres in nm."""
    volume_nm3 = float(np.prod(np.asarray(region.size) * np.asarray(voxel_size_nm)))
    ideal = (volume_nm3 / max(len(topleft), 1)) ** (1 / 3)
    if len(topleft) < 2:
        return Spread(0.0, 0.0, ideal)
    centres = (topleft + np.asarray(box_size_mag1) / 2) * np.asarray(voxel_size_nm)
    distances, _ = _kd_tree(centres).query(centres, k=2)
    nearest = distances[:, 1]
    return Spread(float(nearest.min()), float(nearest.mean()), ideal)


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
            f"in the region {format_vec(region.size)} at {format_vec(region.topleft)}"
        )
    return first, last


def max_fitting(region: Region, box_size_mag1: Vec3, mag: Vec3) -> int:
    """How many disjoint, mag-aligned boxes of this size fit in the region at most."""
    m = np.asarray(mag)
    first = -(-np.asarray(region.topleft) // m) * m
    end = (np.asarray(region.end) // m) * m
    per_axis = np.maximum((end - first) // np.asarray(box_size_mag1), 0)
    return int(np.prod(per_axis))


def _grid_candidates(
    first: np.ndarray, last: np.ndarray, step: np.ndarray, n: int, rng: np.random.Generator
) -> np.ndarray:
    """Up to ``n`` distinct corners of the grid ``first + k * step`` (≤ ``last``), drawn
    uniformly; all of them when the grid has no more than ``n``.

    With ``step = mag`` these are all mag-aligned corners; with ``step = box size`` the
    corners of the densest packing, disjoint by construction.
    """
    counts = (last - first) // step + 1
    if float(np.prod(counts.astype(float))) <= n:
        index = np.indices(counts).reshape(3, -1).T
    else:
        index = np.unique(rng.integers(0, counts, size=(n, 3)), axis=0)
    return first + index * step


class _Geometry:
    """Converts between mag-1 corners and centres in nm for one region, box size and mag."""

    def __init__(self, region: Region, box: np.ndarray, mag: np.ndarray, voxel_size: np.ndarray):
        self.region, self.box, self.mag, self.voxel_size = region, box, mag, voxel_size
        self.first, self.last = aligned_corner_range(region, tuple(box), tuple(mag))
        self.lo_nm = np.asarray(region.topleft) * voxel_size
        self.hi_nm = np.asarray(region.end) * voxel_size

    def centres(self, corners: np.ndarray) -> np.ndarray:
        return (corners + self.box / 2) * self.voxel_size

    def corners(self, centres: np.ndarray) -> np.ndarray:
        """Nearest mag-aligned corner inside the region for each centre."""
        raw = centres / self.voxel_size - self.box / 2
        snapped = np.round(raw / self.mag).astype(np.int64) * self.mag
        return np.clip(snapped, self.first, self.last)

    def wall_clearance(self, centres: np.ndarray) -> np.ndarray:
        """Distance to the mirror image across the nearest wall (twice the wall distance)."""
        return 2 * np.minimum(centres - self.lo_nm, self.hi_nm - centres).min(axis=1)

    def overlaps(self, corners: np.ndarray, start: np.ndarray, size: np.ndarray, gap: int) -> np.ndarray:
        return np.all((corners < start + size + gap) & (corners + self.box + gap > start), axis=1)


def _farthest_point_sampling(
    geo: _Geometry,
    corners: np.ndarray,
    count: int,
    occupied: Sequence[tuple[np.ndarray, np.ndarray]],
    gap: int,
) -> np.ndarray:
    """Greedy maximin choice of ``count`` disjoint boxes; fewer if the candidates run out.

    Only candidates within reach of the newest box are touched (a KD-tree ball query), so a
    step costs what its neighbourhood holds, not what the whole candidate set holds.
    """
    if len(corners) == 0:
        return corners
    centres = geo.centres(corners)
    tree = _kd_tree(centres)
    clearance = geo.wall_clearance(centres)

    def place(start: np.ndarray, size: np.ndarray, margin: int) -> None:
        centre = (start + size / 2) * geo.voxel_size
        reach = max(float(clearance.max()), float(np.linalg.norm((size + geo.box + 2 * margin) * geo.voxel_size)))
        near = np.asarray(tree.query_ball_point(centre, reach), dtype=np.int64)
        if len(near) == 0:
            return
        distance = np.linalg.norm(centres[near] - centre, axis=1)
        clearance[near] = np.minimum(clearance[near], distance)
        clearance[near[geo.overlaps(corners[near], start, size, margin)]] = -np.inf

    for start, size in occupied:
        place(start, size, gap)
    chosen: list[int] = []
    while len(chosen) < count:
        best = int(np.argmax(clearance))
        if clearance[best] == -np.inf:
            break
        chosen.append(best)
        place(corners[best], geo.box, 0)
    return corners[chosen]


def _repel(
    geo: _Geometry,
    corners: np.ndarray,
    candidate_filter: CandidateFilter | None,
    fixed_centres: np.ndarray,
    target_nm: float,
) -> np.ndarray:
    """Soft-sphere relaxation: push apart every pair of centres closer than ``target_nm``.

    Pairs share the overlap equally; walls push back within ``WALL_FACTOR × target``;
    a box whose move would leave usable ground stays where it was.
    """
    n = len(corners)
    points = geo.centres(corners).astype(float)
    half_box = geo.box * geo.voxel_size / 2
    inner_lo, inner_hi = geo.first * geo.voxel_size + half_box, geo.last * geo.voxel_size + half_box
    wall = WALL_FACTOR * target_nm
    box_nm = (geo.box + geo.mag) * geo.voxel_size  # one mag step of slack survives snapping
    reach = max(target_nm, float(np.linalg.norm(box_nm)))
    for _ in range(REPULSION_ITERATIONS):
        everything = np.concatenate([points, fixed_centres])
        pairs = _kd_tree(everything).query_pairs(reach, output_type="ndarray")
        pairs = pairs[(pairs[:, 0] < n) | (pairs[:, 1] < n)]
        diff = everything[pairs[:, 0]] - everything[pairs[:, 1]]
        distance = np.maximum(np.linalg.norm(diff, axis=1), 1e-6)
        push = diff * (np.maximum(target_nm - distance, 0) / (2 * distance))[:, None]
        push += _box_separation(diff, box_nm)
        move = np.zeros((len(everything), 3))
        for axis in range(3):
            move[:, axis] += np.bincount(pairs[:, 0], push[:, axis], len(everything))
            move[:, axis] -= np.bincount(pairs[:, 1], push[:, axis], len(everything))
        move = move[:n]
        move += np.maximum(0, wall - (points - geo.lo_nm)) - np.maximum(0, wall - (geo.hi_nm - points))
        if not np.any(move):
            break
        proposed = np.clip(points + move, inner_lo, inner_hi)
        if candidate_filter is not None:
            stay = ~candidate_filter(geo.corners(proposed))
            proposed[stay] = points[stay]
        points = proposed
    return geo.corners(points)


def _box_separation(diff: np.ndarray, box_nm: np.ndarray) -> np.ndarray:
    """Half the push that separates overlapping boxes along their least-overlapping axis."""
    penetration = box_nm - np.abs(diff)
    overlapping = np.all(penetration > 0, axis=1)
    axis = np.argmin(penetration, axis=1)
    push = np.zeros_like(diff)
    rows = np.flatnonzero(overlapping)
    sign = np.where(diff[rows, axis[rows]] >= 0, 1.0, -1.0)
    push[rows, axis[rows]] = sign * penetration[rows, axis[rows]] / 2
    return push


def _keep_valid(
    geo: _Geometry,
    proposed: np.ndarray,
    fallback: np.ndarray,
    occupied: Sequence[tuple[np.ndarray, np.ndarray]],
    gap: int,
    candidate_filter: CandidateFilter | None,
) -> np.ndarray:
    """``proposed`` corners where they are usable and disjoint, ``fallback`` corners elsewhere.

    ``fallback`` is a valid placement, so reverting conflicting boxes always terminates.
    """
    result = proposed.copy()
    bad = np.zeros(len(result), dtype=bool)
    if candidate_filter is not None:
        bad |= ~candidate_filter(result)
    for start, size in occupied:
        bad |= geo.overlaps(result, start, size, gap)
    result[bad] = fallback[bad]
    while True:
        clashing = np.unique(overlapping_pairs(result, geo.box))
        clashing = clashing[np.any(result[clashing] != fallback[clashing], axis=1)]
        if len(clashing) == 0:
            return result
        result[clashing] = fallback[clashing]


def overlapping_pairs(corners: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Index pairs (k, 2) of equal-size boxes that share at least one voxel.

    Boxes overlap when their corners differ by less than the box size on every axis, i.e.
    when their box-scaled corners are closer than 1 in the maximum norm.
    """
    radius = 1 - 0.5 / float(np.max(box))
    return _kd_tree(corners / box).query_pairs(radius, p=np.inf, output_type="ndarray")


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

    Farthest-point sampling gives a valid, spread start; Lloyd relaxation then evens it out
    and is kept where it stays valid. ``occupied`` boxes (top-left, size in mag-1 voxels)
    are avoided with ``gap`` voxels to spare and repel new boxes; ``candidate_filter``
    rejects corners (e.g. boxes off the tissue). Raises :class:`InvalidInput` saying how
    many fit when not all do.
    """
    if count <= 0:
        raise InvalidInput(f"the box count must be at least 1, got {count}")
    rng = np.random.default_rng(seed)
    voxel_size = np.asarray(voxel_size_nm, dtype=float)
    geo = _Geometry(region, np.asarray(box_size_mag1), np.asarray(mag), voxel_size)
    fit = max_fitting(region, box_size_mag1, mag)
    if count > fit:
        raise InvalidInput(
            f"{count} boxes of {format_vec(box_size_mag1)} mag-1 voxels do not fit in the region "
            f"{format_vec(region.size)}: at most {fit} fit"
        )
    taken = [(np.asarray(t), np.asarray(s)) for t, s in occupied]
    n_candidates = max(MIN_CANDIDATES, CANDIDATES_PER_BOX * count)
    placed = np.empty((0, 3), dtype=np.int64)
    for make in (
        lambda: _grid_candidates(geo.first, geo.last, geo.mag, n_candidates, rng),
        lambda: _grid_candidates(geo.first, geo.last, geo.box, MAX_LATTICE_CANDIDATES, rng),
    ):
        corners = make()
        if candidate_filter is not None:
            corners = corners[candidate_filter(corners)]
        placed = _farthest_point_sampling(geo, corners, count, taken, gap)
        if len(placed) == count:
            break
    else:
        where = "on usable ground in " if candidate_filter is not None else "in "
        raise InvalidInput(
            f"{count} boxes of {format_vec(box_size_mag1)} mag-1 voxels do not fit {where}the "
            f"region: only {len(placed)} could be placed"
        )
    fixed = np.array([(t + s / 2) * voxel_size for t, s in taken]).reshape(-1, 3)
    volume_nm3 = float(np.prod(geo.hi_nm - geo.lo_nm))
    ideal = (volume_nm3 / (count + len(fixed))) ** (1 / 3)
    tries = [placed] + [
        _keep_valid(geo, _repel(geo, placed, candidate_filter, fixed, f * ideal), placed, taken, gap, candidate_filter)
        for f in REPULSION_TARGETS
    ]
    best = max(tries, key=lambda c: _closest_pair(geo.centres(c), fixed))
    return best.astype(np.int64)


def _closest_pair(centres: np.ndarray, fixed: np.ndarray) -> float:
    points = np.concatenate([centres, fixed])
    if len(points) < 2:
        return 0.0
    distances, _ = _kd_tree(points).query(centres, k=2)
    return float(distances[:, 1].min())
