"""--jobs 2 (local workers through shared memory) scores exactly as one job does."""

from __future__ import annotations

import numpy as np
import pytest

from wkgt.jobs.distribute import Distribution, executor_for
from wkgt.jobs.planning import TissueOptions, score_tissue
from wkgt.planner import Region
from wkgt.planner.tissue import array_reader, score_region

VOXEL_NM = (10.0, 10.0, 10.0)


def textured(shape, seed, dtype=np.uint8, mean=140.0, spread=30.0):
    info = np.iinfo(dtype)
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(mean, spread, shape), info.min + 1, info.max - 1).astype(dtype)


def tissue_with_flat_regions(dtype=np.uint8, scale=1):
    """Padding, a flat band reaching it through several pieces, enclosed islands across seams."""
    data = textured((96, 80, 72), seed=5, dtype=dtype, mean=140.0 * scale, spread=30.0 * scale)
    data[84:] = 0  # padding
    data[60:84, 30:40, 20:30] = 90 * scale  # a flat corridor into the padding: background
    data[10:30, 10:30, 25:45] = 120 * scale  # an island across piece seams: tissue
    data[40:52, 50:70, 5:15] = 200 * scale  # another island
    data[0:8, 60:80, 60:72] = 80 * scale  # a pocket at the grid's border: background
    return data


def scores_of(tissue, rng):
    corners = rng.integers(-8, 100, (2000, 3))
    return tissue.fractions(corners, (24, 20, 16))


@pytest.mark.parametrize(("dtype", "scale", "box"), [(np.uint8, 1, (12, 12, 10)), (np.uint16, 50, None)])
def test_two_local_jobs_give_the_mask_table_and_scores_of_one(dtype, scale, box):
    data = tissue_with_flat_regions(dtype, scale)
    region = Region((0, 0, 0), data.shape)
    options = TissueOptions(chunk_voxels=24)  # several pieces per slab, three slabs
    one, read_one = score_tissue(array_reader(data), (1, 1, 1), region, VOXEL_NM, options, Distribution(jobs=1), box)
    two, read_two = score_tissue(array_reader(data), (1, 1, 1), region, VOXEL_NM, options, Distribution(jobs=2), box)
    assert one.table.dtype == two.table.dtype == (np.uint16 if box else np.uint32)
    assert np.array_equal(one.table, two.table) and np.array_equal(one.mask, two.mask)
    assert one.foreground_voxels == two.foreground_voxels == int(one.mask.sum())
    assert 0.3 < one.foreground_fraction < 0.95 and one.padding_fraction == two.padding_fraction > 0
    assert (read_one, one.threshold) == (read_two, two.threshold)
    assert np.array_equal(scores_of(one, np.random.default_rng(1)), scores_of(two, np.random.default_rng(1)))
    assert one.projections.keys() == two.projections.keys() and all(
        np.array_equal(one.projections[k], two.projections[k]) for k in one.projections
    )
    assert one.mask[15:25, 15:25, 30:40].all() and not one.mask[65:80, 33:37, 23:27].any()  # island, corridor


def test_pieces_with_more_flat_regions_than_their_codes_hold_score_alike():
    """Hundreds of flat blobs crossing a slab seam: their classes outgrow 1-byte codes."""
    data = textured((152, 144, 144), seed=9)
    for y in range(1, 144, 8):
        for z in range(1, 144, 8):
            data[4:13, y : y + 7, z : z + 7] = 100 + (y + z) % 50  # flat cores cross the seam at x = 8
    args = (array_reader(data), (1, 1, 1), (0, 0, 0), data.shape, VOXEL_NM)
    one = score_region(*args, chunk=144, slab=8)
    with executor_for(Distribution(jobs=2)) as executor:
        assert executor.shared_memory is not None  # the local workers share memory on Linux
        two = score_region(*args, chunk=144, slab=8, executor=executor, workers=2)
    assert np.array_equal(one.table, two.table) and one.foreground_voxels == two.foreground_voxels
    assert one.mask[6:11, 3:6, 3:6].all()  # an enclosed blob is tissue ...
    assert not one.mask[6:11, 139:142, 139:142].any()  # ... one reaching the grid's border is not
