"""Soft-sphere relaxation: push apart box centres closer than a target distance that grows
while it is reached, so a few boxes spread as far as the region allows and many even out.

Pairs within reach come from Verlet lists (KD-tree queries with a skin, repeated only when
some centre has moved far enough), so a step costs O(n) and a rebuild O(n log n); fixed
centres have their own tree, built once. The step count shrinks as the box count grows
(``steps_for``), so the whole relaxation stays about O(n log n).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .geometry import BoxGeometry, kd_tree

STEP_BUDGET = 1_500_000
MIN_STEPS, MAX_STEPS = 60, 300
PATIENCE = 100
GROWTH = 1.03
REACHED = 0.995
SKIN = 0.3
MAX_MOVE = 0.1
FIXED_NEIGHBOURS = 12


def steps_for(count: int) -> int:
    """Relaxation steps for ``count`` centres (moving, and fixed among them): 300 for up to
    5,000, then fewer (≥ 60)."""
    return int(np.clip(STEP_BUDGET // max(count, 1), MIN_STEPS, MAX_STEPS))


def relax(
    geo: BoxGeometry,
    centres: np.ndarray,
    fixed: np.ndarray,
    wall_axes: np.ndarray,
    wall_factor: float,
    target_nm: float,
    steps: int | None = None,
    usable: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """The centres (nm) at the step whose closest pair was widest with no boxes overlapping.

    Each step, pairs closer than the target move apart by half the shortfall each; ``fixed``
    centres push but do not move; walls of the long axes (``wall_axes``) push back centres
    within ``wall_factor × target``; no centre moves more than ``MAX_MOVE × target``; then
    overlapping boxes move apart along their least-overlapping axis. Centres stay in the
    geometry's centre range, and one whose new place ``usable`` rejects stays where it was.
    Each time the closest pair reaches the target, the target grows by ``GROWTH``. Stops
    after ``PATIENCE`` overlap-free steps without a wider closest pair.
    """
    points = np.asarray(centres, dtype=float).copy()
    n = len(points)
    if n == 0:
        return points
    box_nm = geo.box * geo.voxel_size
    padded_nm = box_nm + geo.mag * geo.voxel_size  # one mag step of slack survives snapping
    box_reach = float(np.linalg.norm(padded_nm))
    target = max(target_nm, 1e-9)
    neighbours = _Neighbours(fixed)
    walls = np.flatnonzero(wall_axes)
    lo, hi = geo.wall_lo[walls], geo.wall_hi[walls]
    best, best_gap, since_best = points, -1.0, 0
    for _ in range(steps_for(n + neighbours.fixed_near(points)) if steps is None else steps):
        reach = max(target, box_reach)
        pairs, fixed_pairs = neighbours.within(points, reach)
        diff = points[pairs[:, 0]] - points[pairs[:, 1]]
        distance = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        closest = float(distance.min(initial=np.inf))
        touching = distance < box_reach
        overlapping = bool(np.any(np.all(np.abs(diff[touching]) < box_nm, axis=1)))
        move = _accumulate(n, pairs, diff * (np.maximum(target - distance, 0) / (2 * np.maximum(distance, 1e-6)))[:, None])
        if len(fixed_pairs):
            closest = min(closest, _push_from_fixed(move, points, fixed, fixed_pairs, target, padded_nm))
        if closest > reach:  # nothing within reach: measure it
            closest = _closest(points, neighbours.fixed_tree)
        gap = 0.0 if overlapping else closest
        if gap > best_gap:
            best, best_gap, since_best = points, gap, 0
        elif not overlapping and (since_best := since_best + 1) > PATIENCE:
            break
        if closest >= REACHED * target:
            target *= GROWTH
        if len(walls):
            wall = wall_factor * target
            near_wall = points[:, walls]
            move[:, walls] += np.maximum(0, wall - (near_wall - lo)) - np.maximum(0, wall - (hi - near_wall))
        length = np.sqrt(np.einsum("ij,ij->i", move, move))
        move *= np.minimum(1.0, MAX_MOVE * target / np.maximum(length, 1e-9))[:, None]
        previous = points
        points = np.clip(points + move, geo.centre_lo, geo.centre_hi)
        may_overlap = distance < box_reach + 2 * MAX_MOVE * target
        if np.any(may_overlap):
            points = _separate(points, pairs[may_overlap], padded_nm, geo)
        if usable is not None:
            points = np.where(usable(points)[:, None], points, previous)
    return best


class _Neighbours:
    """Verlet lists: pairs of centres (and each centre's ``FIXED_NEIGHBOURS`` nearest fixed
    centres) within a reach plus a skin, rebuilt only once some centre has moved far enough
    that a pair could have slipped in."""

    def __init__(self, fixed: np.ndarray):
        self.fixed = fixed
        self.fixed_tree = kd_tree(fixed) if len(fixed) else None
        self.anchor: np.ndarray | None = None
        self.radius = 0.0
        self.pairs = self.fixed_pairs = np.empty((0, 2), dtype=np.int64)

    def fixed_near(self, points: np.ndarray) -> int:
        """How many fixed centres lie within the bounding box of ``points``."""
        if self.fixed_tree is None:
            return 0
        inside = np.all((self.fixed >= points.min(axis=0)) & (self.fixed <= points.max(axis=0)), axis=1)
        return int(np.count_nonzero(inside))

    def within(self, points: np.ndarray, reach: float) -> tuple[np.ndarray, np.ndarray]:
        """Pairs (i, j) of points and (i, fixed j) that include every pair closer than ``reach``."""
        if self.anchor is not None:
            shift = points - self.anchor
            drift = float(np.sqrt(np.einsum("ij,ij->i", shift, shift).max()))
            if reach + 2 * drift <= self.radius:
                return self.pairs, self.fixed_pairs
        self.anchor, self.radius = points, reach * (1 + SKIN)
        tree = kd_tree(points)
        self.pairs = tree.query_pairs(self.radius, output_type="ndarray").astype(np.int64).reshape(-1, 2)
        if self.fixed_tree is not None:
            _, index = self.fixed_tree.query(points, k=FIXED_NEIGHBOURS, distance_upper_bound=self.radius)
            rows, cols = np.nonzero(index.reshape(len(points), -1) < len(self.fixed))
            self.fixed_pairs = np.stack([rows, index.reshape(len(points), -1)[rows, cols]], axis=1).astype(np.int64)
        return self.pairs, self.fixed_pairs


def _push_from_fixed(
    move: np.ndarray, points: np.ndarray, fixed: np.ndarray, pairs: np.ndarray, target: float, padded_nm: np.ndarray
) -> float:
    """Add to ``move`` the pushes of fixed centres: half the shortfall to the target, and out
    of the fixed box along the least-overlapping axis. Returns the closest distance."""
    diff = points[pairs[:, 0]] - fixed[pairs[:, 1]]
    distance = np.maximum(np.sqrt(np.einsum("ij,ij->i", diff, diff)), 1e-6)
    push = diff * (np.maximum(target - distance, 0) / (2 * distance))[:, None]
    touching = np.flatnonzero(distance < float(np.linalg.norm(padded_nm)))
    push[touching] += 2 * _box_separation(diff[touching], padded_nm)
    move += _add_up(len(points), pairs[:, 0], push)
    return float(distance.min())


def _separate(points: np.ndarray, pairs: np.ndarray, box_nm: np.ndarray, geo: BoxGeometry) -> np.ndarray:
    """Move overlapping boxes apart along their least-overlapping axis (each half the way)."""
    push = _box_separation(points[pairs[:, 0]] - points[pairs[:, 1]], box_nm)
    if not np.any(push):
        return points
    return np.clip(points + _accumulate(len(points), pairs, push), geo.centre_lo, geo.centre_hi)


def _accumulate(n: int, pairs: np.ndarray, push: np.ndarray) -> np.ndarray:
    """Per point: the pushes of pairs where it comes first, minus those where it comes second."""
    return _add_up(n, pairs[:, 0], push) - _add_up(n, pairs[:, 1], push)


def _add_up(n: int, index: np.ndarray, push: np.ndarray) -> np.ndarray:
    """Per point, the sum of the (k, 3) ``push`` rows whose ``index`` it is."""
    slots = (index[:, None] * 3 + np.arange(3)).ravel()
    return np.bincount(slots, push.ravel(), 3 * n).astype(float, copy=False).reshape(n, 3)  # int when empty


def _closest(points: np.ndarray, fixed_tree: Any) -> float:
    """Closest distance between two points, or between a point and a fixed one."""
    gap = np.inf
    if len(points) > 1:
        distances, _ = kd_tree(points).query(points, k=2)
        gap = float(distances[:, 1].min())
    if fixed_tree is not None:
        distances, _ = fixed_tree.query(points)
        gap = min(gap, float(distances.min()))
    return gap


def _box_separation(diff: np.ndarray, box_nm: np.ndarray) -> np.ndarray:
    """Half the push that separates overlapping boxes along their least-overlapping axis."""
    penetration = box_nm - np.abs(diff)
    overlapping = np.all(penetration > 0, axis=1)
    push = np.zeros_like(diff)
    rows = np.flatnonzero(overlapping)
    if len(rows) == 0:
        return push
    axis = np.argmin(penetration[rows], axis=1)
    sign = np.where(diff[rows, axis] >= 0, 1.0, -1.0)
    push[rows, axis] = sign * penetration[rows, axis] / 2
    return push
