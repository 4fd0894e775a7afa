"""Where boxes may go, sampled once: the candidate filter on a regular grid of corners.

The relaxation moves boxes hundreds of times; asking the filter (e.g. the tissue check) each
time would cost hundreds of calls. Instead the filter judges one grid of mag-aligned corners,
and a position counts as usable when every grid corner around it is usable. Boxes start from
candidates in usable cells, so each can move; the final boxes are still checked with the
filter itself.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .geometry import BoxGeometry
from .spread import even_spacing

GRID_POINTS_PER_BOX = 4
MIN_GRID_POINTS = 8_192


class UsableGrid:
    """The filter's verdict on a grid over the corner range, looked up by box centre (nm)."""

    def __init__(self, geo: BoxGeometry, candidate_filter: Callable[[np.ndarray], np.ndarray], count: int):
        self.geo = geo
        span = (geo.last - geo.first).astype(float)
        points = max(MIN_GRID_POINTS, GRID_POINTS_PER_BOX * count)
        self.shape = _grid_shape(span * geo.voxel_size, points)
        steps = np.maximum(np.asarray(self.shape) - 1, 1)
        self.step = span / steps  # mag-1 voxels between grid corners (before snapping to the mag)
        axes = [np.round((geo.first[a] + np.arange(self.shape[a]) * self.step[a]) / geo.mag[a]) * geo.mag[a] for a in range(3)]
        corners = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3).astype(np.int64)
        mask = np.asarray(candidate_filter(corners), dtype=bool).reshape(self.shape)
        # usable between grid corners only when all corners of the cell are usable
        for axis in range(3):
            if self.shape[axis] > 1:
                upper = np.take(mask, range(1, self.shape[axis]), axis=axis)
                lower = np.take(mask, range(self.shape[axis] - 1), axis=axis)
                mask = np.concatenate([lower & upper, np.take(mask, [-1], axis=axis)], axis=axis)
        self.cells = mask
        self.share = max(float(mask.mean()), 1e-3)
        """The share of the grid cells that are usable."""

    def allows(self, centres: np.ndarray) -> np.ndarray:
        """Mask of centres (nm) whose surrounding grid corners are all usable."""
        corners = centres / self.geo.voxel_size - self.geo.box / 2
        index = np.floor((corners - self.geo.first) / np.where(self.step > 0, self.step, 1)).astype(np.int64)
        index = np.clip(index, 0, np.asarray(self.shape) - 1)
        return self.cells[index[:, 0], index[:, 1], index[:, 2]]


def _grid_shape(span_nm: np.ndarray, points: int) -> tuple[int, int, int]:
    """Grid points per axis, about ``points`` in all, spaced equally in nm (at least 2 on
    every axis with room to move, 1 on the others)."""
    spacing, _ = even_spacing(span_nm, points)
    if spacing <= 0:
        return (1, 1, 1)
    shape = np.where(span_nm > 0, np.maximum(np.floor(span_nm / spacing).astype(np.int64) + 1, 2), 1)
    return tuple(int(s) for s in shape)  # type: ignore[return-value]
