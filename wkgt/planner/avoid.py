"""Later rounds, the geometry: how far new boxes keep from the boxes of earlier rounds. No I/O.

The planner's gap is one number of mag-1 voxels on every axis, so a gap given in nm becomes
the voxel count that reaches it along the finest axis (on coarser axes it is then larger).
"""

from __future__ import annotations

import math

from ..errors import InvalidInput
from .vectors import Vec3f

DEFAULT_GAP_NM = 250.0


def check_gap_nm(gap_nm: float) -> float:
    """A gap is a finite length from 0 to 1 cm."""
    if not 0 <= gap_nm <= 1e7:
        raise InvalidInput(f"--gap-nm must be a length in nm from 0 to 10,000,000, got {gap_nm:g}")
    return gap_nm


def gap_voxels(gap_nm: float, voxel_size_nm: Vec3f) -> int:
    """A gap of at least ``gap_nm`` on every axis, in mag-1 voxels."""
    check_gap_nm(gap_nm)
    return math.ceil(gap_nm / min(voxel_size_nm)) if gap_nm else 0
