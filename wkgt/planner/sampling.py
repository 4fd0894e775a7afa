"""Candidate corners and farthest-point sampling among them.

Farthest-point sampling takes, box after box, the free candidate whose centre is farthest (nm)
from every box placed or occupied so far and from the region's walls (a wall counts its
distance ÷ ``wall_factor``, and only on the region's long axes). A new box lowers the
clearance only of candidates within the clearance it was taken with (a KD-tree ball query),
and a running maximum per block of 32 spatially sorted candidates finds the next one, so the
sampling costs about C·log C for C candidates.
"""

from __future__ import annotations

import numpy as np

from .geometry import BoxGeometry, Occupied, kd_tree

BLOCK = 32


def grid_candidates(first: np.ndarray, last: np.ndarray, step: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
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


def wall_clearance(geo: BoxGeometry, centres: np.ndarray, wall_axes: np.ndarray, wall_factor: float) -> np.ndarray:
    """Distance to the nearest wall of a long axis ÷ ``wall_factor`` (∞ when no axis is long).

    Short axes (shorter than the spacing the boxes get) have no say: in a slab every centre is
    near its floor, and counting that would make every candidate equally bad.
    """
    if not np.any(wall_axes):
        return np.full(len(centres), np.inf)
    to_wall = np.minimum(centres - geo.wall_lo, geo.wall_hi - centres)[:, wall_axes]
    return to_wall.min(axis=1) / wall_factor


def farthest_point_sampling(
    geo: BoxGeometry,
    corners: np.ndarray,
    count: int,
    occupied: Occupied,
    wall_axes: np.ndarray,
    wall_factor: float,
    spacing: float,
) -> np.ndarray:
    """Greedy maximin choice of ``count`` disjoint boxes among ``corners`` (fewer if they run out).

    ``spacing`` (nm) sizes the cells by which candidates are sorted, so that a ball query
    touches few blocks of the running maximum.
    """
    if len(corners) == 0 or count <= 0:
        return corners[:0]
    corners = corners[_spatial_order(geo.centres(corners), spacing)]
    centres = geo.centres(corners)
    clearance = wall_clearance(geo, centres, wall_axes, wall_factor)
    if len(occupied):
        nearest, _ = kd_tree(occupied.centres_nm).query(centres)
        clearance = np.minimum(clearance, nearest)
        clearance[occupied.clashes(corners, geo.box)] = -np.inf
    tree = kd_tree(centres)
    box_reach = float(np.linalg.norm(geo.box * geo.voxel_size))  # overlapping boxes are closer than this
    n_blocks = -(-len(corners) // BLOCK)
    blocks = np.full(n_blocks * BLOCK, -np.inf)
    blocks[: len(corners)] = clearance
    blocks = blocks.reshape(n_blocks, BLOCK)
    clearance = blocks.reshape(-1)  # a view: writes reach the blocks
    block_max = blocks.max(axis=1)
    chosen: list[int] = []
    while len(chosen) < count:
        block = int(np.argmax(block_max))
        if block_max[block] == -np.inf:
            break
        index = block * BLOCK + int(np.argmax(blocks[block]))
        reach = max(float(clearance[index]), box_reach)
        chosen.append(index)
        if reach == np.inf:
            near = np.arange(len(centres))
        else:
            near = np.asarray(tree.query_ball_point(centres[index], reach, return_sorted=True), dtype=np.int64)
        offset = centres[near] - centres[index]
        distance = np.sqrt(np.einsum("ij,ij->i", offset, offset))
        lowered = np.minimum(clearance[near], distance)
        lowered[np.all(np.abs(corners[near] - corners[index]) < geo.box, axis=1)] = -np.inf  # overlapping
        clearance[near] = lowered
        touched = near // BLOCK
        first_in_block = np.empty(len(touched), dtype=bool)
        first_in_block[0] = True
        np.not_equal(touched[1:], touched[:-1], out=first_in_block[1:])
        touched = touched[first_in_block]
        block_max[touched] = blocks[touched].max(axis=1)
    return corners[chosen]


def _spatial_order(centres: np.ndarray, cell: float) -> np.ndarray:
    """An order of the centres in which neighbours are mostly near each other (cells of ``cell`` nm)."""
    if not cell > 0:
        return np.arange(len(centres))
    keys = np.floor((centres - centres.min(axis=0)) / cell).astype(np.int64)
    return np.lexsort((keys[:, 2], keys[:, 1], keys[:, 0]))
