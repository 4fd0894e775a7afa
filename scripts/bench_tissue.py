#!/usr/bin/env python3
"""Tissue-check benchmark: memory, CPU, --jobs, requests, a 10¹⁷-voxel dataset, nuclei.

Every figure is printed next to its baseline, measured in the same run from the tissue check
of wkgt before this work (git commit ``BASELINE``: its ``wkgt/planner/tissue.py``, and its
whole tree for the request count). Each measurement runs in a fresh process, so peak RSS
(``ru_maxrss`` of that process, children not included) belongs to it alone.

1. Scoring a synthetic uint8 grid (noise texture, a black part) of 256³ and 512³ voxels:
   CPU ns per voxel (targets ≤ 60) and peak RSS over the process's RSS before scoring, per
   voxel (target ≤ 4 B).
2. ``--jobs 2`` (multiprocessing) vs one job at 512³: wall time (target ≥ 1.5× faster on 2
   cores) and the parent's peak RSS (target: no higher than with one job), ``--repeat`` times
   (median and spread), with the load average before each run; also each process's peak
   footprint counting the shared memory its workers write.
3. Metadata requests and bytes of a dry-run of ``partial_tissue`` against the sandbox.
4. A dataset of 10¹⁷ mag-1 voxels: planning with the check under the default --tissue-budget.
5. Boxes touching nuclei on a synthetic dataset (nuclei 5.6 % of the volume), with and
   without the check (target: within 20 %).

Usage: python scripts/bench_tissue.py [--quick] [--sizes 256 512] [--repeat 3] [--only-jobs]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import attrs
import numpy as np

os.environ.setdefault("WEBKNOSSOS_SKIP_VERSION_CHECK", "True")
os.environ.setdefault("WEBKNOSSOS_SHOWED_IMAGE_READER_IMPORT_WARNING", "True")

BASELINE = "8a436d4"
REPO = Path(__file__).resolve().parents[1]
VOXEL = (10.0, 10.0, 10.0)


@attrs.frozen(eq=False)
class Synthetic:
    """A procedural uint8 grid (picklable, nothing held): noise texture, black where x + y/2 > 0.75."""

    shape: tuple[int, int, int]

    def __call__(self, start, size) -> np.ndarray:
        tile = _tile()
        index = [(np.arange(s, s + n) * 7) % 128 for s, n in zip(start, size)]
        out = tile[np.ix_(*index)]
        x = np.arange(start[0], start[0] + size[0])[:, None, None] / self.shape[0]
        y = np.arange(start[1], start[1] + size[1])[None, :, None] / self.shape[1]
        out[np.broadcast_to(x + 0.5 * y > 0.75, out.shape)] = 0
        return out

    def at(self, mag):
        return self


_TILE: list[np.ndarray] = []


def _tile() -> np.ndarray:
    if not _TILE:
        _TILE.append(np.clip(np.random.default_rng(0).normal(140, 30, (128, 128, 128)), 1, 254).astype(np.uint8))
    return _TILE[0]


def baseline_tree() -> Path:
    """The baseline commit's files, unpacked once into a temporary folder."""
    target = Path(tempfile.gettempdir()) / f"wkgt-baseline-{BASELINE}"
    if not (target / "wkgt").exists():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(REPO), "archive", BASELINE], check=True, capture_output=True).stdout
        with tempfile.TemporaryFile() as handle:
            handle.write(archive)
            handle.seek(0)
            tarfile.open(fileobj=handle).extractall(target)
    return target


def baseline_tissue():
    """The baseline's ``wkgt/planner/tissue.py`` as the module ``baseline_tissue`` (importable by workers)."""
    tree = baseline_tree()
    copy = tree / "baseline_tissue.py"
    if not copy.exists():
        copy.write_text((tree / "wkgt" / "planner" / "tissue.py").read_text())
    if str(tree) not in sys.path:
        sys.path.append(str(tree))
    import baseline_tissue

    return baseline_tissue


def rss_bytes() -> int:
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# -- one measurement, in its own process ------------------------------------------------------


def measure(which: str, n: int, jobs: int) -> dict:
    import scipy.ndimage  # noqa: F401 - imports before the RSS baseline, for both implementations
    import scipy.sparse.csgraph  # noqa: F401
    # and for one job as for several: a run has cluster_tools (and multiprocessing) loaded by the SDK
    import cluster_tools.executors.multiprocessing_  # noqa: F401

    from wkgt.jobs.distribute import Distribution, executor_for
    from wkgt.planner import tissue

    shape = (n, n, n)
    reader = Synthetic(shape)
    module = baseline_tissue() if which == "baseline" else tissue
    module.score_region(Synthetic((32, 32, 32)), (1, 1, 1), (0, 0, 0), (32, 32, 32), VOXEL)  # warm up
    box = {} if which == "baseline" else {"box_voxels": (12.5, 12.5, 20.0)}  # as planning passes it: a 16-bit table
    before = rss_bytes()
    cpu, wall = time.process_time(), time.perf_counter()
    if jobs == 1:
        result = module.score_region(reader, (1, 1, 1), (0, 0, 0), shape, VOXEL, **box)
    elif which == "baseline":  # as the baseline's planning did
        import cluster_tools

        with cluster_tools.get_executor("multiprocessing", max_workers=jobs) as executor:
            result = module.score_region(reader, (1, 1, 1), (0, 0, 0), shape, VOXEL, executor=executor)
    else:
        with executor_for(Distribution(jobs=jobs)) as executor:
            result = module.score_region(reader, (1, 1, 1), (0, 0, 0), shape, VOXEL, executor=executor, workers=jobs, **box)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers_cpu = children.ru_utime + children.ru_stime
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "cpu_ns": cpu / n**3 * 1e9,
        "cpu_s": cpu,
        "workers_cpu_s": workers_cpu,
        "wall_s": wall,
        "peak_per_voxel": (peak - before) / n**3,
        "parent_peak_mb": peak / 2**20,
        "foreground": result.foreground_fraction,
    }


def huge(budget: int | None) -> dict:
    """Plan 20 boxes with the check on a 10¹⁷-voxel layer (1e6 × 1e6 × 1e5 at 10 nm)."""
    from wkgt.jobs.planning import TissueOptions, plan_boxes
    from wkgt.planner import PlanOptions, PlanRequest, Region

    mags = ((1, 1, 1), (2, 2, 2), (4, 4, 4), (8, 8, 8), (16, 16, 16))
    size = (1_000_000, 1_000_000, 100_000)
    request = PlanRequest(VOXEL, mags, Region((0, 0, 0), size), PlanOptions(count=20))
    options = TissueOptions() if budget is None else TissueOptions(budget_bytes=budget)
    grid = tuple(s // 16 for s in size)
    wall = time.perf_counter()
    plan, tissue = plan_boxes(request, reader=Synthetic(grid), itemsize=1, options=options)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "boxes": len(plan.boxes),
        "mag": plan.tissue.mag,
        "voxels_read": tissue.voxels,
        "peak_gb": peak / 2**30,
        "wall_s": time.perf_counter() - wall,
        "reason": plan.tissue.mag_reason,
        "budget_gb": options.budget_bytes / 2**30,
    }


def huge_baseline() -> dict:
    """The baseline's scoring of the same layer's coarsest mag (limited to 4 GiB of address space)."""
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    module = baseline_tissue()
    try:
        module.score_region(Synthetic((62500, 62500, 6250)), (16, 16, 16), (0, 0, 0), (1_000_000, 1_000_000, 100_000), VOXEL)
    except MemoryError:
        return {"outcome": "MemoryError"}
    return {"outcome": "finished"}


def run_child(*args: str, timeout: float = 1800) -> dict:
    """Run a measurement in a fresh process; also sample its footprint every 10 ms from here."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(baseline_tree())]))
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen([sys.executable, __file__, "--child", *args], stdout=out, stderr=err, text=True, env=env)
        peak, started = 0, time.monotonic()
        while child.poll() is None:
            peak = max(peak, footprint(child.pid))
            if time.monotonic() - started > timeout:
                child.kill()
            time.sleep(0.01)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if child.returncode != 0:
        return {"error": (stderr.strip().splitlines() or ["exit %d" % child.returncode])[-1]}
    return dict(json.loads(stdout.strip().splitlines()[-1]), footprint_mb=peak / 2**20)


def footprint(pid: int) -> int:
    """A process's resident memory with all the shared memory it made (``memfd``s), whether it
    maps those pages itself or only its workers do: RssAnon + RssFile + max(RssShmem, memfd pages)."""
    try:
        fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status"))
        kib = {k: int(fields[k].split()[0]) for k in ("RssAnon", "RssFile", "RssShmem")}
        files = {}  # by inode: mmap holds a duplicate descriptor of the file per mapping
        for fd in os.listdir(f"/proc/{pid}/fd"):
            link = f"/proc/{pid}/fd/{fd}"
            if os.readlink(link).startswith("/memfd:"):
                info = os.stat(link)
                files[info.st_ino] = info.st_blocks * 512
        shared = sum(files.values())
    except (OSError, KeyError, ValueError):  # the process just ended
        return 0
    return (kib["RssAnon"] + kib["RssFile"]) * 1024 + max(kib["RssShmem"] * 1024, shared)


# -- --jobs 2 against one job --------------------------------------------------------------------


def bench_jobs(n: int, repeat: int) -> None:
    print(
        f"2. --jobs 2 (multiprocessing) vs one job at {n}³, {repeat} run(s) each: wall time; the parent's peak RSS "
        "(ru_maxrss), and its peak footprint with the shared memory its workers write (sampled every 10 ms)"
    )
    for which in ("now", "baseline"):
        ratios, walls, rows = [], [], []
        for run in range(repeat):
            load = os.getloadavg()
            one, two = run_child("measure", which, str(n), "1"), run_child("measure", which, str(n), "2")
            if "error" in one or "error" in two:
                print(f"   {which}: {one} {two}")
                break
            ratios.append(one["wall_s"] / two["wall_s"])
            walls.append((one["wall_s"], two["wall_s"]))
            rows.append((one, two))
            print(
                f"   {which:8s} run {run + 1} (load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}): "
                f"wall 1 job {one['wall_s']:5.2f} s, 2 jobs {two['wall_s']:5.2f} s = {ratios[-1]:4.2f}× faster; "
                f"CPU 1 job {one['cpu_s']:5.2f} s, 2 jobs parent {two['cpu_s']:5.2f} s + workers {two['workers_cpu_s']:5.2f} s; "
                f"parent peak {two['parent_peak_mb']:5.1f} MB vs {one['parent_peak_mb']:5.1f} MB with one job, "
                f"footprint {two['footprint_mb']:5.1f} MB vs {one['footprint_mb']:5.1f} MB"
            )
        if len(ratios) > 1:
            peaks = [two["parent_peak_mb"] - one["parent_peak_mb"] for one, two in rows]
            print(
                f"   {which:8s} median {statistics.median(ratios):4.2f}× (spread {min(ratios):4.2f}–{max(ratios):4.2f}×; "
                f"1 job median {statistics.median(w[0] for w in walls):.2f} s, 2 jobs {statistics.median(w[1] for w in walls):.2f} s); "
                f"parent peak 2 jobs minus 1 job: median {statistics.median(peaks):+.1f} MB "
                f"(spread {min(peaks):+.1f} to {max(peaks):+.1f}); targets ≥ 1.5×, ≤ +0"
            )


# -- requests against the sandbox ------------------------------------------------------------------


def requests_of(tree: Path, url: str, token: str) -> str:
    """Run a dry-run of partial_tissue with the wkgt of ``tree``; return its JSON output."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    argv = [sys.executable, "-m", "wkgt", "create-boxes", "--dataset", "partial_tissue", "--webknossos-url", url, "--token", token, "--dry-run", "--json", "--count", "8"]
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(tree), timeout=600).stdout


def bench_requests() -> None:
    from wkgt_sandbox import run_sandbox

    print("3. dry-run of partial_tissue against the sandbox (metadata requests; bytes):")
    with run_sandbox() as sb:
        for name, tree in (("baseline", baseline_tree()), ("now", REPO)):
            sb.reset()
            out = requests_of(tree, sb.url, sb.token)
            log = list(sb.state.request_log)
            chunks = [e for e in log if e.path.rsplit("/", 1)[-1].replace(".", "").isdigit()]
            meta = [f"{e.method} {e.path.split('?')[0]}" for e in log if e not in chunks]
            tissue = json.loads(out)["tissue"] if out.strip() else {}
            extra = f"; decoded {tissue.get('decoded_bytes', 0):,}" if "decoded_bytes" in tissue else ""
            print(
                f"   {name:8s} {len(meta)} metadata requests, {len(chunks)} chunk requests; mag {tissue.get('mag')}; "
                f"bytes_read {tissue.get('bytes_read', 0):,}{extra} (mag over the region {tissue.get('coarse_bytes', 0):,})"
            )
            for line in meta:
                print(f"            {line}")
    print("   target: 4 metadata requests (version, lookup, dataset, .zarray)")


# -- nuclei ---------------------------------------------------------------------------------------


def bench_nuclei(seeds: int = 5) -> None:
    sys.path.insert(0, str(REPO))
    from tests.jobs.tissue.test_nuclei import GRID, MAGS, READ, VOXEL_NM, OneMag, nuclei_dataset, touching
    from wkgt.jobs.planning import plan_boxes
    from wkgt.planner import PlanOptions, PlanRequest, Region, make_plan

    old = baseline_tissue()
    data, nuclei = nuclei_dataset()
    region = Region((0, 0, 0), tuple(n * m for n, m in zip(GRID, READ)))
    coarse = data.reshape(GRID[0] // 2, 2, GRID[1] // 2, 2, GRID[2] // 2, 2).mean(axis=(1, 3, 5)).astype(np.uint8)
    old_map = old.score_region(old.array_reader(coarse), (16, 16, 4), region.topleft, region.size, VOXEL_NM)  # the coarsest mag
    rows: dict[str, list[tuple[float, float]]] = {"no check": [], "check now": [], "check baseline": []}

    def measured(boxes) -> tuple[float, float]:
        content = [nuclei[tuple(slice(t // m, -(-(t + s) // m)) for t, s, m in zip(b.topleft, b.size, READ))].mean() for b in boxes]
        return touching(boxes, nuclei), float(np.mean(content))

    for seed in range(seeds):
        request = PlanRequest(VOXEL_NM, MAGS, region, PlanOptions(count=24, seed=seed))
        rows["no check"].append(measured(make_plan(request).boxes))
        rows["check now"].append(measured(plan_boxes(request, reader=OneMag(data))[0].boxes))
        plan = make_plan(request, filter_for_box=lambda box, mag: old_map.candidate_filter(box, 0.9))
        rows["check baseline"].append(measured(plan.boxes))
    base_touch, base_share = (float(np.mean([r[i] for r in rows["no check"]])) for i in (0, 1))
    print(f"5. nuclei ({nuclei.mean():.1%} of the volume), {seeds} seeds × 24 boxes: boxes touching one; mean nucleus share of a box")
    for name, values in rows.items():
        touch, share = (float(np.mean([r[i] for r in values])) for i in (0, 1))
        print(
            f"   {name:15s} touching {touch:6.1%} ({touch / base_touch:4.2f}× no check; target 0.8–1.2×)   "
            f"nucleus share {share:5.1%} ({share / base_share:4.2f}×)"
        )


# -- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="256³ only; skip the 10¹⁷ dataset")
    parser.add_argument("--sizes", type=int, nargs="*", default=None)
    parser.add_argument("--repeat", type=int, default=1, help="runs of section 2 (--jobs 2 vs one job)")
    parser.add_argument("--only-jobs", action="store_true", help="section 2 only")
    parser.add_argument("--child", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        kind = args.child[0]
        if kind == "measure":
            print(json.dumps(measure(args.child[1], int(args.child[2]), int(args.child[3]))))
        elif kind == "huge":
            print(json.dumps(huge(None)))
        elif kind == "huge-baseline":
            print(json.dumps(huge_baseline()))
        return
    sizes = args.sizes or ([256] if args.quick else [256, 512])
    print(f"baseline: wkgt at {BASELINE}, measured in this run; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.only_jobs:
        bench_jobs(max(sizes), args.repeat)
        return
    print("1. scoring a uint8 grid, one job (CPU per voxel; peak RSS over the RSS before scoring, per voxel):")
    for n in sizes:
        now, old = run_child("measure", "now", str(n), "1"), run_child("measure", "baseline", str(n), "1")
        if "error" in now or "error" in old:
            print(f"   {n}³: now {now} baseline {old}")
            continue
        print(
            f"   {n}³: CPU {now['cpu_ns']:5.1f} ns/voxel (baseline {old['cpu_ns']:5.1f}, target ≤ 60)   "
            f"peak +{now['peak_per_voxel']:4.2f} B/voxel (baseline +{old['peak_per_voxel']:5.2f}, target ≤ 4)   "
            f"wall {now['wall_s']:.1f} s (baseline {old['wall_s']:.1f} s)"
        )
    bench_jobs(max(sizes), args.repeat)
    bench_requests()
    if not args.quick:
        print("4. a 10¹⁷-voxel layer (1e6 × 1e6 × 1e5 at 10 nm, mags to 16), 20 boxes with the check:")
        now = run_child("huge")
        print(
            f"   now      {now.get('boxes')} boxes, mag {now.get('mag')}, {now.get('voxels_read', 0):,} voxels read, "
            f"peak RSS {now.get('peak_gb', 0):.2f} GiB (budget {now.get('budget_gb', 0):.2f} GiB), {now.get('wall_s', 0):.0f} s: "
            f"{now.get('reason', now.get('error'))}"
        )
        print(f"   baseline (4 GiB address space): {run_child('huge-baseline', timeout=600)}")
    bench_nuclei()


if __name__ == "__main__":
    main()
