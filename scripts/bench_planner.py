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

Then, on the sandbox's ``partial_tissue`` dataset (tissue fills about half its bounding box,
black elsewhere): the share of boxes on tissue (≥ 90 % non-black at the coarsest mag) for wkgt
with and without the tissue check and for the dialog's method; tissue-scoring time and bytes
read as the region grows (bytes within 1.2× the coarse mag over the region, time following the
coarse-mag volume only); and summed-volume look-ups per 100,000 candidate boxes.

Usage: python scripts/bench_planner.py [--seeds 20] [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

os.environ.setdefault("WEBKNOSSOS_SKIP_VERSION_CHECK", "True")
os.environ.setdefault("WEBKNOSSOS_SHOWED_IMAGE_READER_IMPORT_WARNING", "True")

from wkgt.planner import PlanOptions, PlanRequest, Region, make_plan  # noqa: E402
from wkgt.planner.placement import measure_spread  # noqa: E402
from wkgt.jobs.planning import TissueOptions, plan_boxes  # noqa: E402
from wkgt.planner.tissue import TissueMap, array_reader, score_region  # noqa: E402

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
        plan = make_plan(PlanRequest(voxel_size, MAGS, region, PlanOptions(count=count, seed=seed)))
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


# -- tissue: partial_tissue, scoring cost, look-ups ------------------------------------

PARTIAL_ID = "66e1c3a2b7f0d94e1a2b1004"
PARTIAL_VOXEL = (10.0, 10.0, 25.0)
PARTIAL_BBOX = Region((0, 0, 0), (2048, 2048, 512))
PARTIAL_MAGS = ((1, 1, 1), (2, 2, 1), (4, 4, 1), (8, 8, 2), (16, 16, 4))
COARSE = (16, 16, 4)


def read_partial_tissue() -> np.ndarray:
    """The partial_tissue color layer at 16-16-4, read from a sandbox through the SDK."""
    from wkgt.client.sdk import webknossos
    from wkgt_sandbox import run_sandbox

    wk = webknossos()
    with run_sandbox() as sb, wk.webknossos_context(url=sb.url, token=sb.token):
        layer = wk.RemoteDataset.open(dataset_id=PARTIAL_ID).get_layer("color")
        return layer.get_mag("16-16-4").read(absolute_bounding_box=layer.bounding_box)[0]


def on_tissue(nonblack: TissueMap, corners: np.ndarray, box_mag1) -> np.ndarray:
    """Non-black share of each box (ground truth independent of wkgt's foreground rule)."""
    return nonblack.fractions(corners, box_mag1) if len(corners) else np.zeros(0)


def bench_partial_tissue(seeds: int = 10, count: int = 20) -> dict[str, float]:
    data = read_partial_tissue()
    nonblack = TissueMap(COARSE, (0, 0, 0), data > 0)
    reader = array_reader(data)
    shares: dict[str, list[float]] = {"wkgt (tissue check)": [], "wkgt (--no-tissue-check)": [], "WEBKNOSSOS dialog": []}
    fractions: dict[str, list[float]] = {k: [] for k in shares}
    for seed in range(seeds):
        request = PlanRequest(PARTIAL_VOXEL, PARTIAL_MAGS, PARTIAL_BBOX, PlanOptions(count=count, seed=seed))
        checked, _ = plan_boxes(request, reader=reader, tissue_mag=COARSE)
        unchecked = make_plan(request)
        corners = {
            "wkgt (tissue check)": np.array([b.topleft for b in checked.boxes]),
            "wkgt (--no-tissue-check)": np.array([b.topleft for b in unchecked.boxes]),
            "WEBKNOSSOS dialog": webknossos_dialog_boxes(PARTIAL_BBOX, checked.box_size_mag1, checked.mag_vec, count, seed),
        }
        for name, c in corners.items():
            f = on_tissue(nonblack, c, checked.box_size_mag1)
            shares[name].append(float(np.mean(f >= 0.9)))
            fractions[name].append(float(np.mean(f)))
    print(f"partial_tissue ({nonblack.foreground_fraction:.0%} non-black), {count} boxes, {seeds} seeds:")
    out = {}
    for name, values in shares.items():
        share = statistics.mean(values)
        out[name] = share
        print(f"  {name:26s} boxes on tissue (≥90% non-black) {share:6.1%}   mean non-black share {statistics.mean(fractions[name]):6.1%}")
    return out


def synthetic_partial(shape: tuple[int, int, int], seed: int = 0) -> np.ndarray:
    """Noise texture with a black half (a diagonal cut), like partial_tissue."""
    rng = np.random.default_rng(seed)
    data = np.clip(rng.normal(140, 30, shape), 1, 254).astype(np.uint8)
    x = np.arange(shape[0])[:, None, None] / shape[0]
    y = np.arange(shape[1])[None, :, None] / shape[1]
    data[np.broadcast_to(x + 0.5 * y > 0.75, shape)] = 0
    return data


def bench_scoring(sizes=((1024, 1024, 512), (2048, 2048, 512), (4096, 4096, 1024), (8192, 8192, 2048))) -> None:
    print("scoring cost as the region grows (mag-1 region, coarse mag 16-16-4; then 32-32-8):")
    print(f"  {'region (mag 1)':>22s} {'mag':>8s} {'coarse voxels':>14s} {'bytes read':>12s} {'× coarse':>9s} {'time':>8s} {'ms/Mvx':>7s}")
    for size in sizes:
        for mag in (COARSE, (32, 32, 8)):
            shape = tuple(s // m for s, m in zip(size, mag))
            reader = array_reader(synthetic_partial(shape))  # type: ignore[arg-type]
            start = time.perf_counter()
            tissue = score_region(reader, mag, (0, 0, 0), size, PARTIAL_VOXEL)
            elapsed = time.perf_counter() - start
            voxels = int(np.prod(shape))
            print(
                f"  {'×'.join(map(str, size)):>22s} {'-'.join(map(str, mag)):>8s} {voxels:14,d} {tissue.bytes_read:12,d} "
                f"{tissue.bytes_read / tissue.coarse_bytes:9.3f} {elapsed:7.2f}s {elapsed * 1000 / (voxels / 1e6):7.0f}"
            )


def bench_lookup(n: int = 100_000) -> None:
    data = synthetic_partial((256, 256, 128))
    tissue = score_region(array_reader(data), COARSE, (0, 0, 0), (4096, 4096, 512), PARTIAL_VOXEL)
    corners = np.random.default_rng(0).integers(0, (4000, 4000, 470), (n, 3))
    start = time.perf_counter()
    tissue.fractions(corners, (100, 100, 40))
    print(f"summed-volume lookups: {n:,} candidate boxes in {(time.perf_counter() - start) * 1000:.0f} ms")


def bench_spread_on_tissue(seeds: int = 5, count: int = 20) -> None:
    """Spread among the boxes on tissue (the ratio uses the whole region, so it is lower)."""
    data = read_partial_tissue()
    ratios = []
    for seed in range(seeds):
        request = PlanRequest(PARTIAL_VOXEL, PARTIAL_MAGS, PARTIAL_BBOX, PlanOptions(count=count, seed=seed))
        plan, _ = plan_boxes(request, reader=array_reader(data), tissue_mag=COARSE, options=TissueOptions())
        corners = np.array([b.topleft for b in plan.boxes])
        ratios.append(measure_spread(corners, plan.box_size_mag1, plan.region, PARTIAL_VOXEL).ratio)
    print(f"spread with the tissue check (closest pair ÷ (region volume/N)^⅓): median {statistics.median(ratios):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="smaller regions for the scoring table")
    args = parser.parse_args()
    print("Planning time and spread (closest pair ÷ (V/N)^⅓, median over seeds); targets: <1 s, ≥0.85, ≥3× dialog")
    for name, (voxel_size, region) in VOLUMES.items():
        for count in (40, 1000):
            bench(name, voxel_size, region, count, args.seeds)
    print()
    bench_partial_tissue(min(args.seeds, 10))
    bench_spread_on_tissue(min(args.seeds, 5))
    bench_scoring(((1024, 1024, 512), (2048, 2048, 512)) if args.quick else bench_scoring.__defaults__[0])
    bench_lookup()


if __name__ == "__main__":
    main()
