#!/usr/bin/env python3
"""Planner benchmark: planning time and spread of wkgt vs. the WEBKNOSSOS dialog's method.

Prints, for an l4_sample-sized volume (1024³ at 11.24×11.24×28 nm) and an H01-sized one
(about 500,000 × 300,000 × 5,000 voxels at 8×8×33 nm), with 40 and 1,000 boxes:
- planning time (median of a few runs) — it must not grow with the volume;
- spread: median over 20 seeds of (closest pair of box centres in nm) ÷ (volume / N)^(1/3),
  for wkgt and for the dialog's method (uniform random top-left corners snapped down to the
  mag, overlapping boxes rejected, giving up after 500 rejections), and their ratio.
Targets: 1,000 boxes in < 1 s; spread ≥ 0.85 and ≥ 3× the dialog's. Where boxes fill a
large share of the volume (1,000 boxes of 1 µm³ in l4_sample's 3,800 µm³), non-overlap
alone keeps random boxes apart, so no method can be 3× the dialog there.

Usage: python scripts/bench_planner.py [--seeds 20]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from wkgt.planner import PlanRequest, Region, make_plan
from wkgt.planner.placement import measure_spread

VOLUMES = {
    "l4_sample 1024³ @ 11.24×11.24×28 nm": ((11.24, 11.24, 28.0), Region((0, 0, 0), (1024, 1024, 1024))),
    "H01 500k×300k×5k @ 8×8×33 nm": ((8.0, 8.0, 33.0), Region((0, 0, 0), (500_000, 300_000, 5_000))),
}
MAGS = ((1, 1, 1), (2, 2, 1), (4, 4, 1), (8, 8, 2))


def webknossos_dialog_boxes(region: Region, box_mag1, mag, count: int, seed: int, max_rejections: int = 500) -> np.ndarray:
    """The front end's "auto-generate bounding boxes": random corners snapped down to the
    mag, overlap → rejected; after ``max_rejections`` rejections it stops (placing fewer)."""
    rng = np.random.default_rng(seed)
    lo, box, m = np.asarray(region.topleft), np.asarray(box_mag1), np.asarray(mag)
    hi = lo + np.asarray(region.size) - box
    placed: list[np.ndarray] = []
    rejections = 0
    while len(placed) < count and rejections < max_rejections:
        corner = (rng.integers(lo, hi + 1) // m) * m
        corner = np.maximum(corner, -(-lo // m) * m)
        if any(np.all((corner < p + box) & (p < corner + box)) for p in placed):
            rejections += 1
            continue
        placed.append(corner)
    return np.array(placed).reshape(-1, 3)


def bench(name: str, voxel_size, region: Region, count: int, seeds: int) -> None:
    times, ours, theirs, placed = [], [], [], []
    for seed in range(seeds):
        start = time.perf_counter()
        plan = make_plan(PlanRequest(voxel_size, MAGS, region, count=count, seed=seed))
        times.append(time.perf_counter() - start)
        ours.append(plan.spread.ratio)
        corners = webknossos_dialog_boxes(region, plan.box_size_mag1, plan.mag_vec, count, seed)
        theirs.append(measure_spread(corners, plan.box_size_mag1, region, voxel_size).ratio)
        placed.append(len(corners))
    wkgt_spread, dialog_spread = statistics.median(ours), statistics.median(theirs)
    ratio = wkgt_spread / dialog_spread if dialog_spread else float("inf")
    print(
        f"{name:40s} {count:5d} boxes | plan {statistics.median(times) * 1000:7.1f} ms "
        f"(max {max(times) * 1000:7.1f}) | spread wkgt {wkgt_spread:5.2f}  dialog {dialog_spread:5.2f}  "
        f"ratio {ratio:5.1f}×" + (f"  (dialog placed only {min(placed)}–{max(placed)})" if min(placed) < count else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    print("Planning time and spread (closest pair ÷ (V/N)^⅓, median over seeds); targets: <1 s, ≥0.85, ≥3× dialog")
    for name, (voxel_size, region) in VOLUMES.items():
        for count in (40, 1000):
            bench(name, voxel_size, region, count, args.seeds)


if __name__ == "__main__":
    main()
