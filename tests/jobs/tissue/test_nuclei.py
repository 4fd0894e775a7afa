"""Flat-looking tissue (nuclei) stays usable: the check keeps boxes off padding, not off nuclei."""

from __future__ import annotations

import attrs
import numpy as np

from wkgt.jobs.planning import TissueOptions, plan_boxes
from wkgt.planner import PlanOptions, PlanRequest, Region

VOXEL_NM = (10.0, 10.0, 25.0)
MAGS = ((1, 1, 1), (2, 2, 1), (4, 4, 1), (8, 8, 2), (16, 16, 4))
READ = (8, 8, 2)  # a 100×100×40 box spans 12.5×12.5×20 voxels here
GRID = (128, 128, 64)  # voxels of 8-8-2: 10.24 × 10.24 × 3.2 µm


def nuclei_dataset(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Textured neuropil with flat nuclei of 1 µm radius (about 5.6 % of the volume), none at the border."""
    rng = np.random.default_rng(seed)
    data = np.clip(rng.normal(140, 30, GRID), 1, 254).astype(np.uint8)
    centres_nm = np.array([[1600, 1700, 1600], [5000, 2500, 1500], [8400, 1900, 1700], [2500, 7800, 1600], [6600, 8000, 1500]])
    nm = np.meshgrid(*[(np.arange(n) + 0.5) * v * m for n, v, m in zip(GRID, VOXEL_NM, READ)], indexing="ij")
    nuclei = np.zeros(GRID, dtype=bool)
    for centre in centres_nm:
        nuclei |= sum((axis - c) ** 2 for axis, c in zip(nm, centre)) < 1000.0**2
    data[nuclei] = np.clip(rng.normal(100, 1.5, int(nuclei.sum())), 1, 254).astype(np.uint8)
    return data, nuclei


@attrs.frozen(eq=False)
class OneMag:
    """An in-memory layer that holds voxels at ``READ`` only (asks for another mag fail)."""

    data: np.ndarray
    mag: tuple[int, int, int] = READ

    def at(self, mag: tuple[int, int, int]) -> OneMag:
        assert tuple(mag) == READ, mag
        return self

    def __call__(self, start, size) -> np.ndarray:
        from wkgt.planner.tissue import array_reader

        return array_reader(self.data)(start, size)


def touching(boxes, nuclei: np.ndarray) -> float:
    hits = []
    for box in boxes:
        lo = [t // m for t, m in zip(box.topleft, READ)]
        hi = [-(-(t + s) // m) for t, s, m in zip(box.topleft, box.size, READ)]
        hits.append(bool(nuclei[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]].any()))
    return float(np.mean(hits))


def test_boxes_touch_nuclei_as_often_with_the_check_as_without():
    data, nuclei = nuclei_dataset()
    assert 0.045 < nuclei.mean() < 0.07
    region = Region((0, 0, 0), tuple(n * m for n, m in zip(GRID, READ)))
    with_check, without = [], []
    for seed in range(3):
        request = PlanRequest(VOXEL_NM, MAGS, region, PlanOptions(count=24, seed=seed))
        checked, tissue = plan_boxes(request, reader=OneMag(data), itemsize=1, options=TissueOptions())
        unchecked, _ = plan_boxes(request)
        assert tissue is not None and checked.tissue is not None and checked.tissue.mag == "8-8-2"
        assert tissue.mask[nuclei].mean() > 0.95  # nuclei are tissue
        assert min(checked.tissue.box_fractions) >= 0.9
        with_check.append(touching(checked.boxes, nuclei))
        without.append(touching(unchecked.boxes, nuclei))
    share_with, share_without = float(np.mean(with_check)), float(np.mean(without))
    print(f"boxes touching a nucleus: with the check {share_with:.0%}, without {share_without:.0%}")
    assert share_without > 0.2
    assert abs(share_with - share_without) <= 0.2 * share_without
