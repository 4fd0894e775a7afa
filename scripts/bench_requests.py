#!/usr/bin/env python3
"""HTTP requests and wall time of wkgt vs. the SDK's convenient path, against the sandbox.

For a dry-run and a write, with the dataset given by name, by id and by viewer URL, it
counts the requests the sandbox logged and times each job with 100 ms of latency added to
every request, for wkgt (``create_boxes``) and for the SDK's convenient path doing the same
job (``RemoteDataset.open`` → voxel size, layers, mags, bounding box; then, for a write,
``Annotation(...).upload()``). Ratios are SDK ÷ wkgt. Both read metadata only: wkgt runs
with its tissue check off here (that check's image reads are measured in bench_planner.py).

Usage: python scripts/bench_requests.py [--latency 0.1]
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from collections.abc import Callable

os.environ.setdefault("WEBKNOSSOS_SKIP_VERSION_CHECK", "True")
os.environ.setdefault("WEBKNOSSOS_SHOWED_IMAGE_READER_IMPORT_WARNING", "True")

from wkgt import Connection, CreateBoxesJob, PlanOptions, TissueOptions, WriteOptions, create_boxes, make_plan  # noqa: E402
from wkgt.client.sdk import webknossos  # noqa: E402
from wkgt_sandbox import run_sandbox  # noqa: E402

DATASET, DATASET_ID = "l4_sample", "66e1c3a2b7f0d94e1a2b1001"
SEEDS = itertools.count()
NO_TISSUE_CHECK = TissueOptions(check=False)  # the SDK path reads no image data either


def sdk_job(sandbox, how: str, write: bool) -> None:
    """What a lab script does with the SDK alone: open, read the facts, plan, upload."""
    wk = webknossos()
    with wk.webknossos_context(url=sandbox.url, token=sandbox.token):
        if how == "name":
            dataset = wk.RemoteDataset.open(DATASET)
        elif how == "id":
            dataset = wk.RemoteDataset.open(dataset_id=DATASET_ID)
        else:
            dataset = wk.RemoteDataset.open(f"{sandbox.url}/datasets/{DATASET}-{DATASET_ID}/view")
        layer = dataset.get_color_layers()[0]
        voxel_size = dataset.voxel_size
        mags = [m.to_tuple() for m in layer.mags]
        bbox = layer.bounding_box
        plan = make_plan(PlanOptions(count=10).request(voxel_size, mags, wkgt_region(bbox)))
        if write:
            annotation = wk.Annotation(
                name="sdk", dataset_name=dataset.name, voxel_size=voxel_size,
                user_bounding_boxes=[b.to_bounding_box() for b in plan.boxes],
            )
            annotation.dataset_id = DATASET_ID
            annotation.add_volume_layer("ground_truth", dtype="uint32")
            annotation.upload()


def wkgt_region(bbox):
    from wkgt import Region

    return Region(tuple(bbox.topleft_xyz), tuple(bbox.size_xyz))


def wkgt_job(sandbox, how: str, write: bool) -> None:
    """The same job through wkgt, rerun check included (a new seed each call, so it writes)."""
    dataset = {"name": DATASET, "id": DATASET_ID, "url": f"{sandbox.url}/datasets/{DATASET}-{DATASET_ID}/view"}[how]
    options = PlanOptions(count=10, seed=next(SEEDS))
    job = CreateBoxesJob(plan=options, tissue=NO_TISSUE_CHECK, write=WriteOptions(dry_run=not write))
    result = create_boxes(dataset, job, connection=Connection(sandbox.url, sandbox.token))
    assert result.status == ("created" if write else "dry-run")


def measure(sandbox, job: Callable[..., None], how: str, write: bool, latency: float) -> tuple[int, float]:
    sandbox.reset()
    job(sandbox, how, write)  # warm-up: imports, SDK caches are not what we measure
    sandbox.reset()
    webknossos().client.context._clear_all_context_caches()
    job(sandbox, how, write)
    requests = len(sandbox.state.request_log)
    sandbox.reset()
    webknossos().client.context._clear_all_context_caches()
    sandbox.faults.add(".*", latency=latency)
    start = time.perf_counter()
    job(sandbox, how, write)
    return requests, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.1, help="seconds added to every request")
    args = parser.parse_args()
    print(f"requests and wall time with {args.latency * 1000:.0f} ms per request (ratio = SDK ÷ wkgt)")
    print(f"{'job':18s} {'wkgt req':>8s} {'SDK req':>8s} {'ratio':>6s} | {'wkgt s':>7s} {'SDK s':>7s} {'ratio':>6s}")
    with run_sandbox() as sandbox:
        for write in (False, True):
            for how in ("name", "id", "url"):
                ours_n, ours_t = measure(sandbox, wkgt_job, how, write, args.latency)
                sdk_n, sdk_t = measure(sandbox, sdk_job, how, write, args.latency)
                label = f"{'write' if write else 'dry-run'} by {how}"
                print(f"{label:18s} {ours_n:8d} {sdk_n:8d} {sdk_n / ours_n:6.1f} | {ours_t:7.2f} {sdk_t:7.2f} {sdk_t / ours_t:6.1f}")


if __name__ == "__main__":
    main()
