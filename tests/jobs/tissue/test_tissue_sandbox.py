"""Tissue-aware placement against the sandbox: partial tissue, the real l4_sample, bytes read, jobs."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from .conftest import PARTIAL_ID, create_boxes_argv, run_json, settled

COARSE = "16-16-4"
READ = "8-8-2"  # where a box of partial_tissue (100×100×40 mag-1 voxels) spans 12.5×12.5×20 voxels


def true_tissue_share(sandbox: Any, dataset_id: str, boxes: list[dict[str, Any]], mag: str = "8-8-2") -> list[float]:
    """Share of non-zero voxels in each box, read independently at a finer mag than the one scored."""
    from wkgt.client.sdk import webknossos

    wk = webknossos()
    with wk.webknossos_context(url=sandbox.url, token=sandbox.token):
        view = wk.RemoteDataset.open(dataset_id=dataset_id).get_layer("color").get_mag(mag)
        return [
            float((view.read(absolute_bounding_box=wk.BoundingBox(b["topleft"], b["size"]).align_with_mag(wk.Mag(mag)))[0] > 0).mean())
            for b in boxes
        ]


def chunk_requests(sandbox: Any, dataset_id: str) -> list[tuple[str, str]]:
    """(mag, chunk key) of every voxel chunk requested (32³ uint8 = 32 KiB each)."""
    pattern = re.compile(rf"/data/v\d+/zarr/{dataset_id}/color/([^/]+)/(\d+\.\d+\.\d+\.\d+)$")
    return [(m.group(1), m.group(2)) for e in sandbox.state.request_log if (m := pattern.search(e.path))]


def chunk_mags(sandbox: Any, dataset_id: str) -> set[str]:
    return {mag for mag, _ in chunk_requests(sandbox, dataset_id)}


def test_partial_tissue_every_box_on_tissue_unlike_the_unchecked_planner(shared_sandbox, capsys):
    sb = shared_sandbox
    sb.reset()
    code, checked, err = run_json(capsys, create_boxes_argv(sb, "partial_tissue", "--dry-run", "--json", "--count", "16"))
    assert code == 0, err
    assert chunk_mags(sb, PARTIAL_ID) == {READ}  # one mag only
    requested = chunk_requests(sb, PARTIAL_ID)
    assert len(requested) == len(set(requested)) == 8 * 8 * 8  # every storage chunk once: 1.0× over the wire
    tissue = checked["tissue"]
    assert tissue["mag"] == READ and tissue["checked"] is True and "12.5×12.5×20" in tissue["mag_reason"]
    assert 0.3 < tissue["foreground_fraction"] < 0.6
    assert tissue["coarse_bytes"] == tissue["decoded_bytes"] == 256**3
    assert tissue["coarse_bytes"] <= tissue["bytes_read"] <= tissue["coarse_bytes"] + 512 * 200  # bodies, once
    assert len(tissue["box_fractions"]) == 16 and min(tissue["box_fractions"]) >= 0.9
    sb.reset()
    code, unchecked, err = run_json(capsys, create_boxes_argv(sb, "partial_tissue", "--dry-run", "--json", "--count", "16", "--no-tissue-check"))
    assert code == 0, err
    assert unchecked["tissue"] is None and chunk_mags(sb, PARTIAL_ID) == set()  # no voxels read
    with_check = true_tissue_share(sb, PARTIAL_ID, checked["boxes"])
    without = true_tissue_share(sb, PARTIAL_ID, unchecked["boxes"])
    on_with = np.mean([s >= 0.8 for s in with_check])
    on_without = np.mean([s >= 0.8 for s in without])
    print(f"boxes on tissue: with the check {on_with:.0%} (min share {min(with_check):.2f}), without {on_without:.0%}")
    assert on_with == 1.0
    assert on_without <= 0.75 and sum(s < 0.2 for s in without) >= 3  # a good share lands in the background


def test_scoring_with_jobs_through_multiprocessing_gives_the_same_plan(shared_sandbox, capsys):
    import psutil

    before = {p.pid for p in psutil.Process().children(recursive=True)}
    base = create_boxes_argv(shared_sandbox, "partial_tissue", "--dry-run", "--json", "--count", "6", "--roi", "0,0,0,1024,2048,512")
    code, alone, err = run_json(capsys, base)
    assert code == 0, err
    code, spread, err = run_json(capsys, [*base, "--jobs", "2", "--distribution-strategy", "multiprocessing"])
    assert code == 0, err
    same = lambda tissue: {k: v for k, v in tissue.items() if k != "bytes_read"}  # noqa: E731 - the 2nd run reuses the open array
    assert spread["boxes"] == alone["boxes"] and same(spread["tissue"]) == same(alone["tissue"])
    left = [p for p in psutil.Process().children(recursive=True) if p.pid not in before and p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert left == []  # no worker (or helper) process outlives the run


def test_too_few_places_on_tissue_says_how_many(shared_sandbox, capsys):
    code, data, err = run_json(capsys, create_boxes_argv(shared_sandbox, "partial_tissue", "--dry-run", "--count", "300", "--box-size", "200,200,80"))
    assert code == 2 and data is None
    assert len(err.strip().splitlines()) == 1
    assert re.search(r"only \d+ could be placed", err) and "90% tissue" in err and "--no-tissue-check" in err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--min-tissue", "1.5"], "--min-tissue"),
        (["--jobs", "0"], "--jobs"),
        (["--distribution-strategy", "carrier-pigeon"], "--distribution-strategy"),
        (["--job-resources", "mem"], "--job-resources"),
        (["--tissue-budget", "lots"], "--tissue-budget"),
        (["--tissue-budget", "64MiB"], "--tissue-budget must be at least 128 MiB"),
    ],
)
def test_bad_tissue_options_exit_2(shared_sandbox, capsys, args, needle):
    code, _, err = run_json(capsys, create_boxes_argv(shared_sandbox, "partial_tissue", "--dry-run", *args))
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("strategy", ["multiprocessing", "sequential"])
def test_job_resources_of_a_local_strategy_get_a_warning(shared_sandbox, capsys, strategy):
    argv = create_boxes_argv(shared_sandbox, "partial_tissue", "--dry-run", "--json", "--no-tissue-check", "--count", "2", "--distribution-strategy", strategy)
    code, _, err = run_json(capsys, argv)
    assert code == 0 and "--job-resources" not in err, err
    code, data, err = run_json(capsys, [*argv, "--job-resources", "mem=4G"])
    assert code == 0 and data is not None, err
    warned = [line for line in err.splitlines() if "--job-resources" in line]
    assert warned == [f"warning: --job-resources applies to slurm, kubernetes and dask only: ignored with --distribution-strategy {strategy}"], err


def test_a_smaller_budget_reads_a_coarser_mag(shared_sandbox, capsys):
    code, data, err = run_json(capsys, create_boxes_argv(shared_sandbox, "partial_tissue", "--dry-run", "--json", "--count", "6", "--tissue-budget", "128MiB"))
    assert code == 0, err
    tissue = data["tissue"]
    assert tissue["mag"] == COARSE and tissue["budget_bytes"] == 128 << 20 and not tissue["sampled"]
    assert "finer mags exceed --tissue-budget 128 MiB" in tissue["mag_reason"] and min(tissue["box_fractions"]) >= 0.9


def test_cluster_strategy_without_its_tools_fails_before_reading(shared_sandbox, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch
    shared_sandbox.reset()
    code, _, err = run_json(capsys, create_boxes_argv(shared_sandbox, "partial_tissue", "--dry-run", "--distribution-strategy", "slurm"))
    assert code == 2 and "needs 'sbatch'" in err and len(err.strip().splitlines()) == 1
    assert shared_sandbox.state.request_log == []


def test_dataset_without_image_data_is_planned_with_a_warning(shared_sandbox, capsys):
    code, data, err = run_json(capsys, create_boxes_argv(shared_sandbox, "segmentation_only", "--layer", "segmentation", "--dry-run", "--json", "--count", "4"))
    assert code == 0, err
    assert data["tissue"]["checked"] is False and "no image data" in " ".join(data["warnings"])


def test_table_reports_tissue_and_bytes(shared_sandbox, capsys):
    from wkgt.cli import run

    assert run(create_boxes_argv(shared_sandbox, "partial_tissue", "--dry-run", "--count", "5")) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert re.search(r"tissue \d+% of the region is tissue \(mag 8-8-2\)", out)
    assert "read 16,777,216 bytes (1.00× the mag over the region; 16,777,216 decoded)" in out
    assert "a box spans 12.5×12.5×20 voxels there" in out
    assert re.search(r"GT 05 │ [\d,]+ │ 100×100×40 │ 1×1×1 │ \d+%", out)  # per-box tissue column


def test_real_l4_sample_16_16_4(recordings, capsys):
    """The recorded (real) l4_sample color data: only 16-16-4 holds voxels, so the mag a box spans
    ~8 voxels in (8-8-2) reads as empty and the check falls back to 16-16-4; its vessel lumen
    touches the border (background), the rest is tissue."""
    from wkgt_sandbox import run_sandbox

    with run_sandbox(recordings=recordings) as sb:
        argv = ["create-boxes", "--dataset", "l4_sample", "--organization", "Organization_X", "--webknossos-url", sb.url, "--token", sb.token, "--dry-run", "--json"]
        code, data, err = run_json(capsys, argv)
        requested = chunk_requests(sb, "59e9cfbdba632ac2ab8b23b5")
    assert code == 0, err
    coarse = [key for mag, key in requested if mag == COARSE]
    assert {mag for mag, _ in requested} == {"8-8-2", COARSE} and len(coarse) == len(set(coarse)) == 2 * 2 * 8
    tissue = data["tissue"]
    assert tissue["mag"] == COARSE and tissue["checked"] and "8-8-2 reads as empty" in tissue["mag_reason"]
    assert tissue["coarse_bytes"] == 64 * 64 * 256 and tissue["decoded_bytes"] == tissue["coarse_bytes"]
    assert 0.85 < tissue["foreground_fraction"] < 0.99  # mostly neuropil, minus the lumen of the blood vessels
    assert min(tissue["box_fractions"]) >= 0.9 and len(data["boxes"]) >= 5


def test_failing_chunk_reads_end_in_one_line_soon(shared_sandbox, capsys):
    shared_sandbox.reset()
    shared_sandbox.faults.add(r"/8-8-2/0\.", method="GET", status=500)
    try:
        roi = ["--roi", "0,0,0,512,512,128", "--count", "4", "--box-size", "85,85,32"]  # 2×2×2 storage chunks of 8-8-2
        code, data, err = run_json(capsys, create_boxes_argv(shared_sandbox, "partial_tissue", "--dry-run", *roi))
    finally:
        settled(shared_sandbox)
        shared_sandbox.faults.clear()
    assert code == 5 and data is None
    last = err.strip().splitlines()[-1]
    assert last.startswith("wkgt: error: reading mag 8-8-2 for the tissue check failed") and "500" in last
    retries = [e for e in shared_sandbox.state.request_log if e.status == 500]
    assert 0 < len(retries) <= 8 * 4  # 8 chunks, 4 attempts each (--timeout and the retry policy bound it)


def test_what_the_tissue_check_costs_in_requests(shared_sandbox, capsys):
    """The planning requests, plus the mag's .zarray, then each chunk once: facts already read are reused."""
    from wkgt.client.imagery import forget_open_datasets

    forget_open_datasets()  # readers open an array once per process
    sb = shared_sandbox
    sb.reset()
    settled(sb)
    sb.reset()
    code, _, err = run_json(capsys, create_boxes_argv(sb, "partial_tissue", "--dry-run", "--json", "--no-tissue-check"))
    assert code == 0, err
    planning = [(e.method, e.path) for e in sb.state.request_log]
    sb.reset()
    code, _, err = run_json(capsys, create_boxes_argv(sb, "partial_tissue", "--dry-run", "--json"))
    assert code == 0, err
    chunks = chunk_requests(sb, PARTIAL_ID)
    others = [(e.method, e.path) for e in sb.state.request_log if not re.search(r"/\d+\.\d+\.\d+\.\d+$", e.path)]
    assert len(chunks) == len(set(chunks)) == 512
    assert others[: len(planning)] == planning and len(planning) == 3  # version, lookup, dataset
    assert others[len(planning) :] == [("GET", f"/data/v15/zarr/{PARTIAL_ID}/color/8-8-2/.zarray")]


def test_a_datastore_that_keeps_answering_503_ends_with_one_line(shared_sandbox, capsys):
    """Bounded by --timeout and the retry policy (4 attempts per request), not the SDK's hours of retries."""
    from wkgt.client.imagery import forget_open_datasets

    sb = shared_sandbox
    roi = ["--roi", "0,0,0,1024,1024,256", "--count", "5"]
    for fault, attempts in ((r"/data/v\d+/zarr/", 4), (r"/8-8-2/\d", 4 * 64)):  # every request; the chunks only
        forget_open_datasets()
        sb.reset()
        sb.faults.add(fault, status=503)
        try:
            code, data, err = run_json(capsys, create_boxes_argv(sb, "partial_tissue", "--dry-run", "--json", "--timeout", "5", *roi))
        finally:
            settled(sb)
            sb.faults.clear()
        lines = err.strip().splitlines()
        assert code == 5 and data is None and len(lines) == 1 and "mag 8-8-2" in lines[0] and "503" in lines[0], err
        assert "--no-tissue-check" in lines[0] or "reading mag 8-8-2 for the tissue check failed" in lines[0]
        answered = [e for e in sb.state.request_log if e.status == 503]
        assert 0 < len(answered) <= attempts  # .zarray: 4 attempts; chunks: at most 4 each, then the one line
