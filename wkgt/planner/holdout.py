"""``--holdout K``: evaluation boxes, spatially apart from training and covering the strata alike (pure).

WEBKNOSSOS trains on every box of an annotation and holds back a random fraction as its
test set, next to the training boxes. A fair test set is separate in space: each holdout box
keeps ``gap`` mag-1 voxels (at least ``--holdout-gap-nm`` on every axis) from every training
box, and the holdout boxes are spread over the strata in proportion to the training boxes'
strata (every stratum with a training box gets one when K allows), so both sets see the same
kinds of tissue. When the strata have no room left, the rest go anywhere usable (the gap kept).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InvalidInput
from .placement import place_boxes
from .strata import StrataMap, place_per_stratum
from .strategy import PlacementTask, allocate, place_up_to
from .vectors import Vec3


def place_holdout(
    task: PlacementTask,
    training: np.ndarray,
    training_strata: Sequence[int],
    count: int,
    gap: int,
    strata: StrataMap | None,
) -> tuple[np.ndarray, tuple[int, ...]]:
    """``count`` holdout corners and their strata, ``gap`` voxels clear of the training boxes and
    of ``task.occupied`` (then ``max(gap, task.gap)`` applies to both)."""
    occupied: list[tuple[Vec3, Vec3]] = list(task.occupied) + [
        (tuple(int(v) for v in corner), task.box_size_mag1) for corner in training  # type: ignore[misc]
    ]
    distance = max(gap, task.gap)
    if count <= 0:
        return np.empty((0, 3), dtype=np.int64), ()
    if strata is None or strata.count == 0:
        corners = place_boxes(
            task.region, task.box_size_mag1, task.mag, task.voxel_size_nm, count, task.seed + 7919,
            occupied=occupied, gap=distance, candidate_filter=task.candidate_filter,
        )
        return corners, tuple(0 for _ in corners)
    histogram = np.bincount([s for s in training_strata if s > 0], minlength=strata.count + 1)[1:].astype(float)
    weights = histogram if histogram.sum() else strata.volume_shares()
    wanted = allocate(count, weights)
    shifted = PlacementTask(
        task.region, task.box_size_mag1, task.mag, task.voxel_size_nm, count, task.seed + 7919,
        candidate_filter=task.candidate_filter,
    )
    corners, numbers, _ = place_per_stratum(shifted, strata, wanted, occupied, distance)
    if len(corners) < count:  # the strata are full: the rest anywhere usable, the gap still kept
        taken = occupied + [(tuple(int(v) for v in c), task.box_size_mag1) for c in corners]  # type: ignore[misc]
        more = place_up_to(shifted, count - len(corners), task.seed + 7919, task.candidate_filter, taken, distance)
        corners = np.concatenate([corners, more])
        numbers = list(numbers) + list(strata.majority(more, task.box_size_mag1))
    if len(corners) < count:
        raise InvalidInput(
            f"--holdout {count}: only {len(corners)} evaluation box(es) fit {distance} mag-1 voxels away from the "
            "training boxes in their strata; lower --holdout, --holdout-gap-nm or --count"
        )
    return corners, tuple(numbers)
