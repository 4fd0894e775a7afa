#!/usr/bin/env python3
"""Planner benchmark: placement spread, speed and tissue filtering against baselines run alongside.

Placement (issue 17), every figure next to its baselines computed in the same run:
- spread = closest pair of box centres ÷ the even spacing in the region's effective dimension
  (length, area or volume per box after subtracting the box from each extent; see
  ``wkgt.planner.spread``), median over seeds, for a cube (l4_sample 1024³), H01's shape
  (500,000 × 300,000 × 5,000 at 8×8×33 nm), a 32-slice slab and a rod one box across
  (4×4×33 nm), against best-candidate (Mitchell) sampling, uniform random placement (the
  WEBKNOSSOS dialog's method) and the planner as it was before (a copy kept below).
  Goal: wkgt ≥ 0.85 × best-candidate, and ≥ 0.85, in every row.
- the issue's slab (`wkgt plan --voxel-size 4,4,33 --bbox 0,0,0,500000,300000,32 --count 20`):
  the share of each axis the box centres span (before: 2.4 % of the width).
- CPU time for 1,000 and 10,000 boxes and its growth (goal: 10,000 boxes under 3 s), and the
  time 10,000 avoided boxes add (goal: under 0.5 s), wkgt and before.
- the tissue filter: planning with it ÷ without it, and how often it is called, wkgt and before.
- ``wkgt --help``: wall time and the heavy modules it loads, now and at bench_tissue's baseline
  commit (goal: typer and rich only).
- sections 2–4 of issue 17 (tissue memory and CPU, ``--jobs 2``, requests, 10¹⁷ voxels, nuclei):
  ``scripts/bench_tissue.py``, run from here so one run prints every figure (``--skip-tissue``
  leaves it out; ``make bench`` runs it on its own).

Then, on the sandbox's ``partial_tissue`` dataset (tissue fills about half its bounding box,
black elsewhere): the share of boxes on tissue (≥ 90 % non-black at the coarsest mag) for wkgt
with and without the tissue check and for the dialog's method; tissue-scoring time and bytes
read as the region grows (bytes within 1.2× the coarse mag over the region, time following the
coarse-mag volume only); and summed-volume look-ups per 100,000 candidate boxes.

Usage: python scripts/bench_planner.py [--seeds 20] [--quick] [--skip-tissue]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from collections.abc import Callable, Sequence

import numpy as np

os.environ.setdefault("WEBKNOSSOS_SKIP_VERSION_CHECK", "True")
os.environ.setdefault("WEBKNOSSOS_SHOWED_IMAGE_READER_IMPORT_WARNING", "True")

from wkgt.planner import PlanOptions, PlanRequest, Region, make_plan  # noqa: E402
from wkgt.planner.baselines import best_candidate_corners, uniform_random_corners  # noqa: E402
from wkgt.planner.geometry import aligned_corner_range, kd_tree, max_fitting, overlapping_pairs  # noqa: E402
from wkgt.planner.placement import measure_spread, place_boxes  # noqa: E402
from wkgt.planner.spread import centre_extent_nm  # noqa: E402
from wkgt.planner.tissue import TissueMap, array_reader, score_region  # noqa: E402
from wkgt.jobs.planning import TissueOptions, plan_boxes  # noqa: E402

MAGS = ((1, 1, 1), (2, 2, 1), (4, 4, 1), (8, 8, 2))
SHAPES = {
    "cube: l4_sample 1024³ @ 11.24×11.24×28": ((11.24, 11.24, 28.0), Region((0, 0, 0), (1024, 1024, 1024)), (40, 1000)),
    "H01 500k×300k×5k @ 8×8×33": ((8.0, 8.0, 33.0), Region((0, 0, 0), (500_000, 300_000, 5_000)), (5, 40, 1000)),
    "slab 500k×300k×32 @ 4×4×33": ((4.0, 4.0, 33.0), Region((0, 0, 0), (500_000, 300_000, 32)), (20, 1000)),
    "rod 500k×250×32 @ 4×4×33": ((4.0, 4.0, 33.0), Region((0, 0, 0), (500_000, 250, 32)), (20, 1000)),
}
SEEDS_AT_1000 = 5  # best-candidate sampling costs O(N²)
webknossos_dialog_boxes = uniform_random_corners


# -- the planner before issue 17, kept as a baseline --------------------------------------


def before_place_boxes(
    region: Region,
    box_size_mag1,
    mag,
    voxel_size_nm,
    count: int,
    seed: int,
    *,
    occupied: Sequence = (),
    gap: int = 0,
    candidate_filter: Callable | None = None,
) -> np.ndarray:
    """wkgt's placement before issue 17: farthest-point sampling (each step scans every
    candidate; the walls of every axis cap the score), then soft-sphere relaxation at two fixed
    targets, 150 steps each, with a KD-tree over boxes and avoided boxes and a filter call per step."""
    rng = np.random.default_rng(seed)
    voxel, box, m = np.asarray(voxel_size_nm, dtype=float), np.asarray(box_size_mag1), np.asarray(mag)
    first, last = aligned_corner_range(region, box_size_mag1, mag)
    lo_nm, hi_nm = np.asarray(region.topleft) * voxel, np.asarray(region.end) * voxel

    def centres_of(corners):
        return (corners + box / 2) * voxel

    def corners_of(centres):
        snapped = np.round((centres / voxel - box / 2) / m).astype(np.int64) * m
        return np.clip(snapped, first, last)

    def overlaps(corners, start, size, margin):
        return np.all((corners < start + size + margin) & (corners + box + margin > start), axis=1)

    def grid(step, n):
        counts = (last - first) // step + 1
        if float(np.prod(counts.astype(float))) <= n:
            index = np.indices(counts).reshape(3, -1).T
        else:
            index = np.unique(rng.integers(0, counts, size=(n, 3)), axis=0)
        return first + index * step

    def farthest_points(corners):
        if len(corners) == 0:
            return corners
        centres = centres_of(corners)
        tree = kd_tree(centres)
        clearance = 2 * np.minimum(centres - lo_nm, hi_nm - centres).min(axis=1)

        def place(start, size, margin):
            centre = (start + size / 2) * voxel
            reach = max(float(clearance.max()), float(np.linalg.norm((size + box + 2 * margin) * voxel)))
            near = np.asarray(tree.query_ball_point(centre, reach), dtype=np.int64)
            if len(near):
                clearance[near] = np.minimum(clearance[near], np.linalg.norm(centres[near] - centre, axis=1))
                clearance[near[overlaps(corners[near], start, size, margin)]] = -np.inf

        for start, size in taken:
            place(start, size, gap)
        chosen: list[int] = []
        while len(chosen) < count:
            best = int(np.argmax(clearance))
            if clearance[best] == -np.inf:
                break
            chosen.append(best)
            place(corners[best], box, 0)
        return corners[chosen]

    def repel(corners, fixed_centres, target):
        n, points = len(corners), centres_of(corners).astype(float)
        half = box * voxel / 2
        inner_lo, inner_hi = first * voxel + half, last * voxel + half
        box_nm = (box + m) * voxel
        reach = max(target, float(np.linalg.norm(box_nm)))
        for _ in range(150):
            everything = np.concatenate([points, fixed_centres])
            pairs = kd_tree(everything).query_pairs(reach, output_type="ndarray")
            pairs = pairs[(pairs[:, 0] < n) | (pairs[:, 1] < n)]
            diff = everything[pairs[:, 0]] - everything[pairs[:, 1]]
            distance = np.maximum(np.linalg.norm(diff, axis=1), 1e-6)
            push = diff * (np.maximum(target - distance, 0) / (2 * distance))[:, None]
            penetration = box_nm - np.abs(diff)
            rows = np.flatnonzero(np.all(penetration > 0, axis=1))
            axis = np.argmin(penetration, axis=1)[rows]
            push[rows, axis] += np.where(diff[rows, axis] >= 0, 1.0, -1.0) * penetration[rows, axis] / 2
            move = np.zeros((len(everything), 3))
            for a in range(3):
                move[:, a] += np.bincount(pairs[:, 0], push[:, a], len(everything))
                move[:, a] -= np.bincount(pairs[:, 1], push[:, a], len(everything))
            move = move[:n]
            wall = 0.25 * target
            move += np.maximum(0, wall - (points - lo_nm)) - np.maximum(0, wall - (hi_nm - points))
            if not np.any(move):
                break
            proposed = np.clip(points + move, inner_lo, inner_hi)
            if candidate_filter is not None:
                stay = ~candidate_filter(corners_of(proposed))
                proposed[stay] = points[stay]
            points = proposed
        return corners_of(points)

    def keep_valid(proposed, fallback):
        result = proposed.copy()
        bad = np.zeros(len(result), dtype=bool)
        if candidate_filter is not None:
            bad |= ~candidate_filter(result)
        for start, size in taken:
            bad |= overlaps(result, start, size, gap)
        result[bad] = fallback[bad]
        while True:
            clashing = np.unique(overlapping_pairs(result, box))
            clashing = clashing[np.any(result[clashing] != fallback[clashing], axis=1)]
            if len(clashing) == 0:
                return result
            result[clashing] = fallback[clashing]

    def closest(corners):
        points = np.concatenate([centres_of(corners), fixed])
        return float(kd_tree(points).query(centres_of(corners), k=2)[0][:, 1].min()) if len(points) > 1 else 0.0

    if count > max_fitting(region, box_size_mag1, mag):
        raise ValueError("the boxes do not fit")
    taken = [(np.asarray(t), np.asarray(s)) for t, s in occupied]
    for corners in (grid(m, max(4096, 16 * count)), grid(box, 400_000)):
        if candidate_filter is not None:
            corners = corners[candidate_filter(corners)]
        placed = farthest_points(corners)
        if len(placed) == count:
            break
    else:
        raise ValueError("the boxes do not fit")
    fixed = np.array([(t + s / 2) * voxel for t, s in taken]).reshape(-1, 3)
    ideal = (float(np.prod(hi_nm - lo_nm)) / (count + len(fixed))) ** (1 / 3)
    tries = [placed] + [keep_valid(repel(placed, fixed, f * ideal), placed) for f in (1.05, 0.95)]
    return max(tries, key=closest).astype(np.int64)


# -- placement: spread, coverage, speed, filter cost ---------------------------------------


def bench_spread(seeds: int) -> bool:
    """Spread of wkgt, best-candidate, uniform random and the planner before, per shape and count."""
    print(f"Spread: closest pair ÷ even spacing in the region's effective dimension (median over {seeds} seeds, "
          f"{SEEDS_AT_1000} for 1,000 boxes)")
    print(f"  {'region':38s} {'dim':>3s} {'boxes':>5s} | {'wkgt':>5s} {'best-cand':>9s} {'uniform':>7s} {'before':>6s} | "
          f"{'wkgt÷best-cand':>14s} | {'plan ms':>7s}")
    ok = True
    for name, (voxel, region, counts) in SHAPES.items():
        for count in counts:
            ours, best, uniform, before, times = [], [], [], [], []
            dimension = 0
            for seed in range(seeds if count < 1000 else SEEDS_AT_1000):
                start = time.process_time()
                plan = make_plan(PlanRequest(voxel, MAGS, region, PlanOptions(count=count, seed=seed)))
                times.append(time.process_time() - start)
                ours.append(plan.spread.ratio)
                dimension = plan.spread.dimension
                box, mag = plan.box_size_mag1, plan.mag_vec
                best.append(measure_spread(best_candidate_corners(region, box, mag, voxel, count, seed), box, region, voxel).ratio)
                uniform.append(measure_spread(uniform_random_corners(region, box, mag, count, seed), box, region, voxel).ratio)
                before.append(measure_spread(before_place_boxes(region, box, mag, voxel, count, seed), box, region, voxel).ratio)
            share = statistics.median(ours) / statistics.median(best)
            good = share >= 0.85 and statistics.median(ours) >= 0.85
            ok &= good
            print(f"  {name:38s} {dimension:3d} {count:5d} | {statistics.median(ours):5.2f} {statistics.median(best):9.2f} "
                  f"{statistics.median(uniform):7.2f} {statistics.median(before):6.2f} | {share:13.2f}{' ' if good else '!'} | "
                  f"{statistics.median(times) * 1000:7.0f}")
    print("  goal: wkgt ≥ 0.85 × best-candidate and ≥ 0.85 in every row:", "held" if ok else "MISSED")
    return ok


def bench_coverage() -> bool:
    """The issue's slab with 20 boxes: the share of each long axis the box centres span."""
    voxel, region, _ = SHAPES["slab 500k×300k×32 @ 4×4×33"]
    plan = make_plan(PlanRequest(voxel, MAGS, region, PlanOptions(count=20)))
    box, mag = plan.box_size_mag1, plan.mag_vec
    extent = centre_extent_nm(region, box, voxel)
    placements = {"wkgt": np.array([b.topleft for b in plan.boxes]), "before": before_place_boxes(region, box, mag, voxel, 20, 0)}
    print("The issue's slab (--voxel-size 4,4,33 --bbox 0,0,0,500000,300000,32 --count 20): share of each axis the centres span")
    ok = True
    for name, corners in placements.items():
        centres = (corners + np.asarray(box) / 2) * np.asarray(voxel)
        x, y = (float(np.ptp(centres[:, a]) / extent[a]) for a in (0, 1))
        print(f"  {name:7s} x {x:6.1%}  y {y:6.1%}   spread {measure_spread(corners, box, region, voxel).ratio:5.2f}")
        if name == "wkgt":
            ok = min(x, y) >= 0.7
    print("  goal: wkgt spans ≥ 70 % of both axes:", "held" if ok else "MISSED")
    return ok


def bench_few_boxes(seeds: int) -> None:
    """H01's shape with 5 boxes in the issue's measure too: closest pair ÷ (region volume / N)^⅓."""
    voxel, region, _ = SHAPES["H01 500k×300k×5k @ 8×8×33"]
    volume_spacing = (math.prod(s * v for s, v in zip(region.size, voxel)) / 5) ** (1 / 3)
    figures: dict[str, list[float]] = {"wkgt": [], "best-candidate": [], "before": []}
    for seed in range(seeds):
        plan = make_plan(PlanRequest(voxel, MAGS, region, PlanOptions(count=5, seed=seed)))
        box, mag = plan.box_size_mag1, plan.mag_vec
        for name, corners in (
            ("wkgt", np.array([b.topleft for b in plan.boxes])),
            ("best-candidate", best_candidate_corners(region, box, mag, voxel, 5, seed)),
            ("before", before_place_boxes(region, box, mag, voxel, 5, seed)),
        ):
            figures[name].append(measure_spread(corners, box, region, voxel).min_center_distance_nm / volume_spacing)
    print("H01's shape, 5 boxes, in the issue's measure (closest pair ÷ (region volume/5)^⅓; before: 1.05, 1.8–1.9 reachable): "
          + ", ".join(f"{name} {statistics.median(values):.2f}" for name, values in figures.items()))


def cpu_seconds(place: Callable, *args, **kwargs) -> float:
    start = time.process_time()
    place(*args, **kwargs)
    return time.process_time() - start


def bench_scaling() -> bool:
    """CPU time for 1,000 and 10,000 boxes in H01's shape, and what 10,000 avoided boxes add."""
    voxel, region, _ = SHAPES["H01 500k×300k×5k @ 8×8×33"]
    box, mag = (250, 250, 32), (2, 2, 1)
    avoided = [(tuple(int(v) for v in c), box) for c in place_boxes(region, box, mag, voxel, 10_000, 99)]
    print("CPU time in H01's shape (boxes 1×1×1.06 µm in mag 2-2-1); avoided: 10,000 earlier boxes, gap 62 voxels")
    ok = True
    for name, place in (("wkgt", place_boxes), ("before", before_place_boxes)):
        alone = {n: cpu_seconds(place, region, box, mag, voxel, n, 0) for n in (1000, 10_000)}
        added = {n: cpu_seconds(place, region, box, mag, voxel, n, 0, occupied=avoided, gap=62) - alone[n] for n in alone}
        exponent = math.log(alone[10_000] / alone[1000]) / math.log(10)
        print(f"  {name:7s} 1,000 boxes {alone[1000]:6.2f} s, 10,000 boxes {alone[10_000]:6.2f} s (∝ N^{exponent:.2f}); "
              f"10,000 avoided boxes add {added[1000]:+6.2f} s to 1,000 boxes, {added[10_000]:+6.2f} s to 10,000")
        if name == "wkgt":
            ok = alone[10_000] < 3 and max(added.values()) < 0.5
    print("  goal: 10,000 boxes under 3 s CPU, 10,000 avoided boxes adding under 0.5 s:", "held" if ok else "MISSED")
    return ok


class CountingFilter:
    """A candidate filter that counts its calls."""

    def __init__(self, usable: Callable[[np.ndarray], np.ndarray]):
        self.usable, self.calls = usable, 0

    def __call__(self, corners: np.ndarray) -> np.ndarray:
        self.calls += 1
        return self.usable(corners)


def bench_filter_cost() -> None:
    """Planning with the tissue filter (a synthetic volume, black on one side) ÷ without it."""
    size = (4096, 4096, 1024)
    shape = tuple(s // c for s, c in zip(size, COARSE))
    tissue = score_region(array_reader(synthetic_partial(shape)), COARSE, (0, 0, 0), size, PARTIAL_VOXEL)  # type: ignore[arg-type]
    region = Region((0, 0, 0), size)
    plan = make_plan(PlanRequest(PARTIAL_VOXEL, PARTIAL_MAGS, region, PlanOptions(count=40)))
    box, mag = plan.box_size_mag1, plan.mag_vec
    print(f"Tissue filter ({tissue.foreground_fraction:.0%} of {'×'.join(map(str, size))} is tissue; boxes ≥ 90 % tissue): "
          "CPU time with ÷ without, filter calls, closest pair")
    for count in (40, 1000):
        for name, place in (("wkgt", place_boxes), ("before", before_place_boxes)):
            without = cpu_seconds(place, region, box, mag, PARTIAL_VOXEL, count, 0)
            usable = CountingFilter(tissue.candidate_filter(box, 0.9))
            start = time.process_time()
            corners = place(region, box, mag, PARTIAL_VOXEL, count, 0, candidate_filter=usable)
            with_filter = time.process_time() - start
            closest = measure_spread(corners, box, region, PARTIAL_VOXEL).min_center_distance_nm / 1000
            print(f"  {name:7s} {count:5d} boxes: {with_filter:6.2f} s with, {without:6.2f} s without "
                  f"({with_filter / without:4.1f}×), {usable.calls:4d} filter calls, closest pair {closest:5.2f} µm")


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
    print(f"spread with the tissue check (closest pair ÷ even spacing over the whole region): median {statistics.median(ratios):.2f}")


HEAVY = ("numpy", "attrs", "cattrs", "scipy", "webknossos")
STARTUP_PROBE = (
    "import runpy, sys, time\n"
    "start = time.perf_counter()\n"
    "sys.argv = ['wkgt', '--help']\n"
    "try:\n"
    "    runpy.run_module('wkgt', run_name='__main__')\n"
    "except SystemExit:\n"
    "    pass\n"
    "print(time.perf_counter() - start, ' '.join(m for m in %r if m in sys.modules), file=sys.stderr)\n"
) % (HEAVY,)


def startup(tree: Path, runs: int = 7) -> tuple[float, str]:
    """Median seconds of ``wkgt --help`` in a fresh interpreter importing wkgt from ``tree``, and
    the heavy modules it loaded."""
    times, loaded = [], ""
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", STARTUP_PROBE], cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)},
            capture_output=True, text=True, check=True,
        )
        seconds, _, loaded = done.stderr.strip().splitlines()[-1].partition(" ")
        times.append(float(seconds))
    return statistics.median(times), loaded or "none"


def bench_startup() -> bool:
    """``wkgt --help``: wall time and heavy imports, now and at the tissue benchmark's baseline commit."""
    from bench_tissue import BASELINE, baseline_tree

    now, now_loaded = startup(Path(__file__).resolve().parents[1])
    old, old_loaded = startup(baseline_tree())
    print(f"wkgt --help (median of 7 fresh processes): now {now:.2f} s, loads {now_loaded}; "
          f"before ({BASELINE}) {old:.2f} s, loads {old_loaded}")
    ok = not set(now_loaded.split()) & set(HEAVY)
    print("  goal: --help loads typer and rich only (none of " + ", ".join(HEAVY) + "):", "held" if ok else "MISSED")
    return ok


def bench_tissue_sections(quick: bool) -> int:
    """Sections 2–4 of issue 17 (tissue memory and CPU, --jobs 2, requests, 10¹⁷ voxels, nuclei):
    scripts/bench_tissue.py in this run, each figure next to its baseline."""
    print("Tissue check, --jobs and requests (scripts/bench_tissue.py" + (" --quick" if quick else "") + "):", flush=True)
    return subprocess.run([sys.executable, str(Path(__file__).with_name("bench_tissue.py")), *(["--quick"] if quick else [])]).returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="smaller regions for the scoring table (and bench_tissue --quick)")
    parser.add_argument("--skip-tissue", action="store_true", help="skip scripts/bench_tissue.py (make bench runs it next)")
    args = parser.parse_args()
    goals = [bench_spread(args.seeds)]
    print()
    goals.append(bench_coverage())
    bench_few_boxes(args.seeds)
    print()
    goals.append(bench_scaling())
    print()
    bench_filter_cost()
    print()
    print("placement goals:", "all held" if all(goals) else "NOT all held")
    print()
    bench_partial_tissue(min(args.seeds, 10))
    bench_spread_on_tissue(min(args.seeds, 5))
    bench_scoring(((1024, 1024, 512), (2048, 2048, 512)) if args.quick else bench_scoring.__defaults__[0])
    bench_lookup()
    print()
    goals.append(bench_startup())
    if not args.skip_tissue:
        print()
        goals.append(bench_tissue_sections(args.quick) == 0)
    print()
    print("placement and start-up goals:", "all held" if all(goals) else "NOT all held",
          "" if args.skip_tissue else "(the tissue check's: each line above states its target)")


if __name__ == "__main__":
    main()
