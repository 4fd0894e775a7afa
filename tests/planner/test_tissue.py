"""The foreground rule, the summed-volume table, streaming scoring and the mag choice (pure numpy, no server)."""

from __future__ import annotations

import numpy as np
import pytest

from wkgt.planner.tissue import (
    WORK_BYTES,
    TissueMap,
    array_reader,
    choose_tissue_read,
    foreground_mask,
    held_bytes_per_voxel,
    parse_bytes,
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
    assert window_shape((160, 160, 100)) == (5, 5, 9)
    assert window_shape((80, 80, 50)) == (5, 5, 9)
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


def _with_flat_islands(shape=(64, 56, 40)):
    """Textured tissue, black padding at high x, a flat band joining the padding, flat islands inside."""
    data = _partial(shape)
    data[40:44, :, :] = 90  # a flat band (resin) at the edge of the padding: background
    data[8:20, 10:22, 8:20] = 120  # flat islands enclosed by tissue (nuclei): tissue
    data[2:8, 26:40, 14:22] = 200
    data[2:5, 2:50, 30:33] = 60  # a flat sheet, enclosed: tissue
    data[0:6, 36:48, 2:10] = 80  # a flat pocket touching the region's border: background
    return data


@pytest.mark.parametrize(("chunk", "slab"), [(7, 4), (16, 32), ((20, 9, 30), 8), (128, 32)])
def test_scoring_does_not_depend_on_the_chunking(chunk, slab):
    data = _with_flat_islands()
    mag, voxel = (8, 8, 2), (10.0, 10.0, 40.0)
    region = ((0, 0, 0), tuple(n * m for n, m in zip(data.shape, mag)))
    whole = score_region(array_reader(data), mag, *region, voxel, chunk=512, slab=512)
    tissue = score_region(array_reader(data), mag, *region, voxel, chunk=chunk, slab=slab)
    assert tissue.bytes_read == data.nbytes == tissue.coarse_bytes
    assert np.array_equal(tissue.mask, whole.mask)
    assert tissue.foreground_voxels == whole.foreground_voxels == int(whole.mask.sum())
    assert np.array_equal(tissue.table, whole.table)


def test_flat_islands_inside_tissue_are_tissue_flat_regions_reaching_padding_or_the_border_are_not():
    data = _with_flat_islands()
    mask = score_region(array_reader(data), (1, 1, 1), (0, 0, 0), data.shape, (10, 10, 10), chunk=16, slab=8).mask
    assert mask[10:18, 12:20, 10:18].all() and mask[3:7, 27:39, 15:21].all() and mask[3, 3:49, 31].all()  # islands, across piece seams
    assert not mask[41:43].any()  # the band that reaches the padding
    assert not mask[0:3, 39:45, 4:8].any()  # the pocket that reaches the border
    assert not mask[46:].any()  # padding


def test_flat_region_joined_across_many_pieces_to_the_padding_is_background():
    data = textured((60, 60, 30), seed=11)
    data[50:] = 0
    data[5:15, 5:15, 5:25] = 100  # an island ...
    data[5:50, 7:13, 11:19] = 100  # ... with a flat corridor through several pieces to the padding
    mask = score_region(array_reader(data), (1, 1, 1), (0, 0, 0), data.shape, (10, 10, 10), chunk=8, slab=4).mask
    assert not mask[7:13, 7:13, 7:23].any() and not mask[20:45, 9:11, 13:17].any()
    data[42:50, 7:13, 11:19] = textured((8, 6, 8), seed=12)  # cut the corridor: now an enclosed island
    mask = score_region(array_reader(data), (1, 1, 1), (0, 0, 0), data.shape, (10, 10, 10), chunk=8, slab=4).mask
    assert mask[7:13, 7:13, 7:23].all() and mask[20:38, 9:11, 13:17].all()


def test_sixteen_bit_tables_score_boxes_exactly():
    rng = np.random.default_rng(8)
    mask = rng.random((60, 50, 40)) < 0.7
    table = summed_volume_table(mask, np.uint16)
    assert table.dtype == np.uint16 and int(table[-1, -1, -1]) != int(mask.sum())  # wrapped
    tissue = TissueMap((2, 2, 2), (0, 0, 0), None, table=table, foreground_voxels=int(mask.sum()))
    corners = rng.integers(-4, 60, (300, 3))
    size = (14, 10, 12)
    exact = TissueMap((2, 2, 2), (0, 0, 0), mask)
    assert np.allclose(tissue.fractions(corners, size), exact.fractions(corners, size), atol=1e-12)
    assert np.array_equal(tissue.mask, mask)


def test_region_not_aligned_to_the_coarse_mag_reads_the_covering_voxels():
    data = _partial()
    tissue = score_region(array_reader(data), (8, 8, 2), (5, 9, 3), (100, 120, 20), (10, 10, 40))
    assert tissue.origin == (0, 1, 1) and tissue.mask.shape == (14, 16, 11)
    assert tissue.bytes_read == tissue.coarse_bytes == 14 * 16 * 11


@pytest.mark.parametrize("strategy", ["multiprocessing", "sequential"])
def test_scoring_runs_through_a_cluster_tools_executor(strategy):
    from wkgt.jobs.distribute import Distribution, executor_for

    data = _with_flat_islands()
    args = (array_reader(data), (8, 8, 2), (0, 0, 0), (512, 448, 80), (10.0, 10.0, 40.0))
    alone = score_region(*args, chunk=16, slab=8)
    with executor_for(Distribution(jobs=2, strategy=strategy)) as executor:
        assert executor is not None
        spread = score_region(*args, chunk=16, slab=8, executor=executor, workers=2)
    assert np.array_equal(alone.table, spread.table) and alone.bytes_read == spread.bytes_read
    assert alone.projections.keys() == spread.projections.keys() and all(
        np.allclose(alone.projections[k], spread.projections[k]) for k in alone.projections
    )


def test_the_mag_read_is_where_a_box_spans_about_eight_voxels_within_the_budget():
    mags = [(1, 1, 1), (2, 2, 1), (4, 4, 1), (8, 8, 2), (16, 16, 4)]
    box = (100, 100, 40)
    region = ((0, 0, 0), (2048, 2048, 512))
    read = choose_tissue_read(mags, box, *region, 1, 1 << 30)
    assert read.mag == (8, 8, 2) and not read.sampled and "12.5×12.5×20" in read.reason
    tight = choose_tissue_read(mags, box, (0, 0, 0), (4096, 4096, 1024), 1, 256 << 20)
    assert tight.mag == (16, 16, 4) and "exceed --tissue-budget" in tight.reason and not tight.sampled


def test_a_region_too_large_for_the_budget_at_any_mag_reads_a_part_that_fits():
    mags = [(1, 1, 1), (2, 2, 1), (4, 4, 1), (8, 8, 2), (16, 16, 4)]
    huge = (1_000_000, 1_000_000, 100_000)  # 10¹⁷ voxels
    read = choose_tissue_read(mags, (100, 100, 40), (0, 0, 0), huge, 1, 1 << 30)
    assert read.sampled and read.mag == (16, 16, 4)
    assert read.voxels * held_bytes_per_voxel(1) <= (1 << 30) and read.voxels > 0.5 * ((1 << 30) - WORK_BYTES) / 4
    assert all(0 <= t and t + s <= h for t, s, h in zip(read.topleft, read.size, huge))
    assert abs(read.topleft[0] + read.size[0] / 2 - huge[0] / 2) < 16  # the centre
    assert "centre" in read.reason


def test_bytes_parse():
    assert parse_bytes("1GiB") == 1 << 30 and parse_bytes("512M") == 512 << 20 and parse_bytes("2e9") == 2_000_000_000
    with pytest.raises(ValueError):
        parse_bytes("lots")


def test_float_layers_treat_zero_and_nan_as_padding():
    data = np.random.default_rng(7).normal(0.0, 1.0, (30, 30, 10)).astype(np.float32)  # negative values are tissue too
    data[20:] = 0
    data[:, 25:] = np.nan
    mask = foreground_mask(data)
    assert mask[:18, :23].mean() > 0.95 and not mask[22:].any() and not mask[:, 27:].any()
