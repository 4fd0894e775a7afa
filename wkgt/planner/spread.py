"""How evenly boxes are spread: closest pair of centres against the even spacing.

The even spacing is measured in the region's effective dimension. Box centres can lie in the
region minus one box per axis (the centre range, in nm). With its extents sorted longest first,
``e1 ≥ e2 ≥ e3``, and ``N`` boxes, the even spacing is the largest of

    e1 / N  (length per box),  (e1·e2 / N)^½  (area per box),  (e1·e2·e3 / N)^⅓  (volume per box).

The largest is always the one of the region's effective dimension: an axis counts when it is
at least as long as the spacing the counted axes give (a 32-slice slab under boxes 32 slices
deep is 2-D, a strip one box wide is 1-D, a cube holding many boxes is 3-D). A ratio of about
1 is lattice-even in that dimension; the best packings reach 1.07 (2-D) and 1.12 (3-D) in
large regions, more for a few boxes, which can sit in the corners.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np

from .geometry import Region, kd_tree
from .vectors import Vec3, Vec3f


@attrs.frozen
class Spread:
    """How evenly the boxes are spread, in nm (see the module docstring for the even spacing)."""

    min_center_distance_nm: float
    mean_nearest_neighbour_nm: float
    ideal_spacing_nm: float
    dimension: int = 3

    @property
    def ratio(self) -> float:
        """Closest pair of centres ÷ the even spacing in the region's effective dimension."""
        return self.min_center_distance_nm / self.ideal_spacing_nm if self.ideal_spacing_nm else 0.0


def even_spacing(centre_extent_nm: Sequence[float], count: float) -> tuple[float, int]:
    """The even spacing of ``count`` centres in a centre range of these extents (nm), and the
    effective dimension (1–3) it is measured in; ``(0.0, 0)`` when the range is a point."""
    extents = sorted((max(float(e), 0.0) for e in centre_extent_nm), reverse=True)
    count = max(count, 1.0)
    best, dimension = 0.0, 0
    product = 1.0
    for d, extent in enumerate(extents, start=1):
        product *= extent
        spacing = (product / count) ** (1 / d)
        if spacing > best:
            best, dimension = spacing, d
    return best, dimension


def centre_extent_nm(region: Region, box_size_mag1: Sequence[int], voxel_size_nm: Sequence[float]) -> np.ndarray:
    """Extents (nm) of the range box centres can take: the region minus one box per axis."""
    return np.maximum(np.asarray(region.size) - np.asarray(box_size_mag1), 0) * np.asarray(voxel_size_nm, dtype=float)


def measure_spread(topleft: np.ndarray, box_size_mag1: Vec3, region: Region, voxel_size_nm: Vec3f) -> Spread:
    """Closest-pair and mean nearest-neighbour distances of box centres in nm, and the even spacing."""
    ideal, dimension = even_spacing(centre_extent_nm(region, box_size_mag1, voxel_size_nm), len(topleft))
    if len(topleft) < 2:
        return Spread(0.0, 0.0, ideal, dimension)
    centres = (np.asarray(topleft) + np.asarray(box_size_mag1) / 2) * np.asarray(voxel_size_nm)
    distances, _ = kd_tree(centres).query(centres, k=2)
    nearest = distances[:, 1]
    return Spread(float(nearest.min()), float(nearest.mean()), ideal, dimension)
