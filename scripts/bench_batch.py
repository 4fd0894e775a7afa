#!/usr/bin/env python3
"""A batch of datasets: wall time with ``--jobs 1`` and ``--jobs N``, and the requests it costs.

Against the sandbox, with 100 ms of latency added to every request (a remote server), a dry-run
batch of three datasets with the tissue check on is timed at one dataset at a time and at all
three at once (threads; each dataset's tissue scoring stays in its thread). Both runs read the
same data; the ratio is jobs-1 time ÷ jobs-N time. It also prints the requests per dataset of a
batch against one create-boxes per dataset (the batch reads each dataset's facts once more
before it runs, for ``--same-mag`` and the memory budget).

Usage: python scripts/bench_batch.py [--latency 0.1] [--jobs 3]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("WEBKNOSSOS_SKIP_VERSION_CHECK", "True")
os.environ.setdefault("WEBKNOSSOS_SHOWED_IMAGE_READER_IMPORT_WARNING", "True")

from wkgt import Connection, CreateBoxesJob, Distribution, WriteOptions, create_boxes  # noqa: E402
from wkgt.client.imagery import forget_open_datasets  # noqa: E402
from wkgt.jobs.batch import BatchJob, DatasetSelection, run_batch  # noqa: E402
from wkgt_sandbox import run_sandbox  # noqa: E402

DATASETS = ("l4_sample", "iso_8nm", "partial_tissue")
ORG = "sandbox_lab"


def timed_batch(sandbox, jobs: int) -> tuple[float, int]:
    forget_open_datasets()
    sandbox.state.clear_log()
    job = CreateBoxesJob(organization=ORG, write=WriteOptions(dry_run=True), distribution=Distribution(jobs=jobs))
    start = time.perf_counter()
    result = run_batch(BatchJob(DatasetSelection(DATASETS, organization=ORG), job), connection=Connection(sandbox.url, sandbox.token))
    elapsed = time.perf_counter() - start
    assert result.ok, result.to_dict()
    return elapsed, len(sandbox.state.request_log)


def single_requests(sandbox) -> int:
    forget_open_datasets()
    sandbox.state.clear_log()
    job = CreateBoxesJob(organization=ORG, write=WriteOptions(dry_run=True))
    for name in DATASETS:
        create_boxes(name, job, connection=Connection(sandbox.url, sandbox.token))
    return len(sandbox.state.request_log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.1, help="seconds added to every request")
    parser.add_argument("--jobs", type=int, default=len(DATASETS))
    args = parser.parse_args()
    with run_sandbox() as sandbox:
        sandbox.faults.add(r"/", latency=args.latency)
        timed_batch(sandbox, 1)  # warm-up: imports, first connections
        one, requests = timed_batch(sandbox, 1)
        many, _ = timed_batch(sandbox, args.jobs)
        alone = single_requests(sandbox)
    print(f"batch of {len(DATASETS)} datasets, tissue check on, {args.latency * 1000:.0f} ms per request")
    print(f"  --jobs 1: {one:6.2f} s")
    print(f"  --jobs {args.jobs}: {many:6.2f} s   ratio {one / many:.2f}×")
    print(f"  requests: batch {requests}, one create-boxes per dataset {alone} (+{requests - alone} for the survey)")


if __name__ == "__main__":
    main()
