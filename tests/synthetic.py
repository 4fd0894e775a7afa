"""Synthetic volumes for the strategy tests and ``scripts/bench_strategies.py`` (made here, no downloads).

- :func:`four_textures`: an EM-like image of four textures, one of them rare, and the truth
  of which texture each voxel is;
- :func:`voronoi_cells`: a label volume of compact cells (a "ground truth" segmentation);
- :func:`inject_errors`: a "prediction" copy with merges (two neighbouring cells as one) and
  splits (a cell shattered into small fragments), and the mask of the cells they touch.
"""

from __future__ import annotations

import numpy as np

COMMON, MEMBRANES, NOISY, RARE = 0, 1, 2, 3


def four_textures(shape: tuple[int, int, int], seed: int, rare_share: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 image, texture index per voxel): three textures in slabs along x with uneven
    widths, the rare one a cube of ``rare_share`` of the volume at a random place."""
    rng = np.random.default_rng(seed)
    texture = np.zeros(shape, dtype=np.uint8)
    cuts = np.sort(rng.uniform(0.25, 0.75, 2)) * shape[0]
    x = np.arange(shape[0])[:, None, None]
    texture[:] = np.where(x < cuts[0], COMMON, np.where(x < cuts[1], MEMBRANES, NOISY))
    side = np.round(np.asarray(shape) * rare_share ** (1 / 3)).astype(int)
    corner = [int(rng.integers(0, n - s + 1)) for n, s in zip(shape, side)]
    texture[tuple(slice(c, c + s) for c, s in zip(corner, side))] = RARE
    image = np.empty(shape, dtype=np.float32)
    grid = np.indices(shape)
    lines = np.zeros(shape, dtype=bool)
    for axis in range(3):
        lines |= grid[axis] % 6 == 0
    noise = rng.normal(0, 1, shape).astype(np.float32)
    image[texture == COMMON] = 125 + 25 * noise[texture == COMMON]
    membranes = np.where(lines, 60.0, 190.0) + 8 * noise
    image[texture == MEMBRANES] = membranes[texture == MEMBRANES]
    image[texture == NOISY] = 140 + 45 * noise[texture == NOISY]
    image[texture == RARE] = 75 + 22 * noise[texture == RARE]
    return np.clip(image, 1, 254).astype(np.uint8), texture


def voronoi_cells(shape: tuple[int, int, int], cell: int, seed: int) -> np.ndarray:
    """uint32 labels 1..n of Voronoi cells around a jittered grid of seeds ``cell`` voxels apart."""
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(seed)
    axes = [np.arange(cell / 2, n, cell) for n in shape]
    seeds = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    seeds = seeds + rng.uniform(-0.2, 0.2, seeds.shape) * cell
    points = np.indices(shape).reshape(3, -1).T
    _, nearest = cKDTree(seeds).query(points)
    return (nearest + 1).astype(np.uint32).reshape(shape)


def inject_errors(labels: np.ndarray, merges: int, splits: int, seed: int, fragments: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(prediction, parts, owner): ``merges`` pairs of touching cells given one id and ``splits``
    cells cut into ``fragments``³ pieces, cells picked apart from each other and the border.
    ``parts`` numbers the voxels of each error's pieces (0 elsewhere): the two cells of a merge,
    the fragments of a split; ``owner[part]`` is the error it belongs to."""
    rng = np.random.default_rng(seed)
    prediction = labels.copy()
    parts = np.zeros(labels.shape, dtype=np.int32)
    owner = [-1]
    inner = np.unique(labels[tuple(slice(n // 8, n - n // 8) for n in labels.shape)])
    counts = np.bincount(labels.ravel())
    grid = np.indices(labels.shape).reshape(3, -1)
    sums = np.stack([np.bincount(labels.ravel(), weights=g, minlength=len(counts)) for g in grid], axis=1)
    centres = {int(i): sums[i] / counts[i] for i in inner}
    spacing = np.cbrt(labels.size / len(np.unique(labels)))
    chosen: list[np.ndarray] = []
    next_id = int(labels.max()) + 1
    for error, kind in enumerate(["merge"] * merges + ["split"] * splits):
        apart = 2.5 * spacing
        while True:
            cell = int(rng.choice(inner))
            if all(np.linalg.norm(centres[cell] - c) > apart for c in chosen):
                break
            apart *= 0.99  # crowded: accept errors a little closer
        chosen.append(centres[cell])
        voxels = labels == cell
        if kind == "merge":
            grown = np.zeros_like(voxels)
            grown[1:] |= voxels[:-1]
            grown[:-1] |= voxels[1:]
            neighbour = int(np.bincount(labels[grown & ~voxels]).argmax())
            prediction[labels == neighbour] = cell
            for piece in (voxels, labels == neighbour):
                parts[piece] = len(owner)
                owner.append(error)
        else:
            where = np.argwhere(voxels)
            lo = where.min(axis=0)
            piece = ((where - lo) * fragments // (where.max(axis=0) - lo + 1)) @ np.array([fragments**2, fragments, 1])
            prediction[tuple(where.T)] = next_id + piece
            next_id += fragments**3
            parts[tuple(where.T)] = len(owner) + piece
            owner += [error] * fragments**3
    return prediction, parts, np.asarray(owner)


def shows_error(parts: np.ndarray, owner: np.ndarray, min_share: float = 0.02) -> bool:
    """Whether a box (its slice of ``parts``) shows an injected error: at least ``min_share`` of
    its voxels belong to one error, and it holds two or more of that error's pieces (both cells
    of a merge, two fragments of a split)."""
    present = np.bincount(parts.ravel(), minlength=len(owner))
    present[0] = 0
    for error in np.unique(owner[1:]):
        mine = owner == error
        if present[mine].sum() >= min_share * parts.size and np.count_nonzero(present[mine]) >= 2:
            return True
    return False
