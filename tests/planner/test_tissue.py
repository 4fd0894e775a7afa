"""The foreground rule, the summed-volume table and chunked scoring (pure numpy, no server)."""

from __future__ import annotations

import numpy as np
import pytest

from wkgt.planner.tissue import (
    TissueMap,
    array_reader,
    chunk_jobs,
    foreground_mask,
    score_region,
    summed_volume_table,
    window_shape,
)


def textured(shape, seed=0, mean=140.0, spread=30.0):
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(mean, spread, shape), 1, 254).astype(np.uint8)


def test_black_padding_flat_resin_and_texture():
    data = textured((60, 40, 20))
    data[40:] = 0  # black padding
    data[:20, :, :] = 200  # flat resin (textureless), not saturated
    data[:20, :, :] += np.random.default_rng(1).integers(0, 2, (20, 40, 20)).astype(np.uint8)  # a little noise
    mask = foreground_mask(data)
    assert mask[25:35].mean() > 0.95  # tissue
    assert mask[:18].mean() < 0.02  # resin
    assert mask[42:].mean() == 0  # padding


def test_white_padding_and_isolated_dark_voxels():
    data = textured((40, 40, 10), seed=2)
    data[:, 30:] = 255
    holes = np.random.default_rng(3).random(data.shape) < 0.05
    data[holes & (np.arange(40)[None, :, None] < 25)] = 0  # saturated membrane voxels inside tissue
    mask = foreground_mask(data)
    assert mask[:, :25].mean() > 0.95
    assert mask[:, 32:].mean() == 0


def test_constant_data_has_no_foreground():
    assert not foreground_mask(np.full((20, 20, 20), 117, np.uint8)).any()
    assert not foreground_mask(np.zeros((20, 20, 20), np.uint16)).any()


def test_uint16_with_low_contrast_is_judged_relative_to_itself():
    data = (textured((40, 40, 10), spread=10) .astype(np.uint16) + 1000)
    data[20:] = 1060
    mask = foreground_mask(data)
    assert mask[:18].mean() > 0.95 and mask[22:].mean() == 0


def test_window_is_physically_isotropic():
    assert window_shape((10, 10, 10)) == (5, 5, 5)
    assert window_shape((160, 160, 100)) == (3, 3, 5)
    assert window_shape((64, 64, 560)) == (5, 5, 1)


def test_summed_volume_table():
    mask = np.random.default_rng(4).random((5, 6, 7)) < 0.5
    table = summed_volume_table(mask)
    assert table.shape == (6, 7, 8)
    assert table[-1, -1, -1] == mask.sum()
    assert table[2, 3, 4] == mask[:2, :3, :4].sum()


def test_box_fractions_are_exact_for_unaligned_boxes():
    rng = np.random.default_rng(5)
    mag = (4, 4, 2)
    mask = rng.random((10, 12, 9)) < 0.6
    tissue = TissueMap(mag, (3, 1, 2), mask)
    fine = mask.repeat(4, 0).repeat(4, 1).repeat(2, 2)  # in mag-1 voxels, from (12, 4, 4)
    origin = np.array((12, 4, 4))
    size = (9, 7, 5)
    corners = origin + rng.integers(0, np.array(fine.shape) - size, (200, 3))
    got = tissue.fractions(corners, size)
    want = [fine[tuple(slice(c - o, c - o + s) for c, o, s in zip(corner, origin, size))].mean() for corner in corners]
    assert np.allclose(got, want, atol=1e-9)
    usable = tissue.candidate_filter(size, 0.7)(corners)
    assert np.array_equal(usable, np.asarray(want) >= 0.7)


def _partial(shape=(48, 40, 24)):
    data = textured(shape, seed=6)
    x = np.arange(shape[0])[:, None, None]
    y = np.arange(shape[1])[None, :, None]
    data[np.broadcast_to(x + 0.5 * y > 30, shape)] = 0
    return data


@pytest.mark.parametrize("chunk", [7, 16, (20, 9, 30), 128])
def test_chunked_scoring_reads_each_voxel_once_and_matches_away_from_seams(chunk):
    data = _partial()
    mag, voxel = (8, 8, 2), (10.0, 10.0, 40.0)
    region = ((0, 0, 0), tuple(n * m for n, m in zip(data.shape, mag)))
    whole = foreground_mask(data, [v * m for v, m in zip(voxel, mag)])
    tissue = score_region(array_reader(data), mag, *region, voxel, chunk=chunk)
    assert tissue.bytes_read == data.nbytes == tissue.coarse_bytes
    sizes = (chunk,) * 3 if isinstance(chunk, int) else chunk
    window = window_shape([v * m for v, m in zip(voxel, mag)])
    away = np.ones(data.shape, bool)  # voxels farther than half a window from every seam
    for axis, (n, c, w) in enumerate(zip(data.shape, sizes, window)):
        position = np.arange(n) % c
        keep = (position >= w // 2) & (position < c - w // 2) | (np.arange(n) < w // 2) | (np.arange(n) >= n - w // 2)
        keep |= n <= c
        away &= np.expand_dims(keep, [a for a in range(3) if a != axis])
    assert np.array_equal(tissue.mask[away], whole[away])
    assert (tissue.mask == whole).mean() > 0.97
    assert 0.3 < tissue.foreground_fraction < 0.8


def test_jobs_are_cut_at_absolute_multiples_of_the_chunk():
    jobs = chunk_jobs(None, (100, 0, 30), (200, 64, 10), (5, 5, 5), 128)
    assert sorted({(j.start[0], j.shape[0]) for j in jobs}) == [(0, 28), (28, 128), (156, 44)]
    assert {(j.start[2], j.shape[2]) for j in jobs} == {(0, 10)}


def test_region_not_aligned_to_the_coarse_mag_reads_the_covering_voxels():
    data = _partial()
    tissue = score_region(array_reader(data), (8, 8, 2), (5, 9, 3), (100, 120, 20), (10, 10, 40))
    assert tissue.origin == (0, 1, 1) and tissue.mask.shape == (14, 16, 11)
    assert tissue.bytes_read == tissue.coarse_bytes == 14 * 16 * 11


def test_scoring_runs_through_a_cluster_tools_executor():
    import cluster_tools

    data = _partial()
    args = (array_reader(data), (8, 8, 2), (0, 0, 0), (384, 320, 48), (10.0, 10.0, 40.0))
    alone = score_region(*args, chunk=16)
    with cluster_tools.get_executor("multiprocessing", max_workers=2) as executor:
        spread = score_region(*args, chunk=16, executor=executor)
    assert np.array_equal(alone.mask, spread.mask) and alone.bytes_read == spread.bytes_read


def test_float_layers_treat_zero_and_nan_as_padding():
    data = np.random.default_rng(7).normal(0.0, 1.0, (30, 30, 10)).astype(np.float32)  # negative values are tissue too
    data[20:] = 0
    data[:, 25:] = np.nan
    mask = foreground_mask(data)
    assert mask[:18, :23].mean() > 0.95 and not mask[22:].any() and not mask[:, 27:].any()
