"""``wkgt create-boxes`` over several datasets, over HTTP against the sandbox: one report, per-dataset
errors, safe reruns, server-side selection, ``--same-mag`` and the memory budget."""

from __future__ import annotations

import itertools
import threading

import attrs
import pytest

from tests.helpers import run_json
from tests.jobs.server import ORG, organize
from wkgt.client import Connection
from wkgt.errors import InvalidInput
from wkgt.jobs.batch import BatchJob, DatasetSelection, run_batch
from wkgt.jobs.memory import parse_size, tissue_memory
from wkgt.jobs.create_boxes import CreateBoxesJob, WriteOptions, create_boxes
from wkgt.jobs.distribute import Distribution
from wkgt.jobs.planning import TissueOptions
from wkgt.planner.mag_choice import effective_voxel_size
from wkgt.planner.same_mag import TOLERANCE

FAST = ["--no-tissue-check"]


def argv(sb, *args: str) -> list[str]:
    return ["create-boxes", "--organization", ORG, "--webknossos-url", sb.url, "--token", sb.token, *FAST, "--json", *args]


def test_three_datasets_one_missing_give_two_results_one_error_and_a_rerun_creates_nothing(sandbox, capsys):
    names = ["--dataset", "l4_sample", "--dataset", "iso_8nm", "--dataset", "l4_sampel"]
    code, report, err = run_json(capsys, argv(sandbox, *names))
    assert code == 3  # the first failed dataset's exit code: not found
    assert report["batch"] is True and report["ok"] is False and report["exit_code"] == 3
    assert [d["input"] for d in report["datasets"]] == ["l4_sample", "iso_8nm", "l4_sampel"]
    done, failed = report["datasets"][:2], report["datasets"][2]
    assert [d["status"] for d in done] == ["created", "created"]
    assert {d["result"]["dataset"]["name"] for d in done} == {"l4_sample", "iso_8nm"}
    assert all(d["result"]["annotation"]["url"].startswith(sandbox.url) for d in done)
    assert failed["ok"] is False and failed["exit_code"] == 3 and "result" not in failed
    assert "l4_sampel" in failed["error"] and "did you mean 'l4_sample'?" in failed["error"]
    assert report["counts"] == {"datasets": 3, "ok": 2, "failed": 1, "created": 2}
    assert "l4_sampel" in err and "1 failed" in err  # the table goes to stderr under --json
    assert "failed (exit 3)" in err
    created = dict(sandbox.state.annotations)
    assert len(created) == 2

    code, again, _ = run_json(capsys, argv(sandbox, *names, "--jobs", "3"))
    assert code == 3 and [d["status"] for d in again["datasets"]] == ["exists", "exists", "failed"]
    assert [d["result"]["annotation"]["id"] for d in again["datasets"][:2]] == [d["result"]["annotation"]["id"] for d in done]
    assert sandbox.state.annotations.keys() == created.keys()


def test_one_dataset_keeps_the_single_report_and_a_close_name_is_suggested(sandbox, capsys):
    code, single, _ = run_json(capsys, argv(sandbox, "--dataset", "iso_8nm", "--dry-run"))
    assert code == 0 and "batch" not in single and single["status"] == "dry-run" and single["dataset"]["name"] == "iso_8nm"
    code, out, err = run_json(capsys, argv(sandbox, "--dataset", "iso_8mn", "--dry-run"))
    assert code == 3 and out is None and "did you mean 'iso_8nm'?" in err


def test_a_missing_layer_or_project_of_a_found_dataset_gets_no_dataset_name_hint(sandbox, capsys):
    """The close-name hint is for dataset names that are not found: never 'did you mean' the dataset itself."""
    code, _, err = run_json(capsys, argv(sandbox, "--dataset", "partial_tissue", "--layer", "nope", "--dry-run"))
    assert code == 3 and "no layer 'nope'" in err and "did you mean" not in err
    tasks = ("--as-tasks", "--project", "nope", "--task-type", "training_boxes")
    code, _, err = run_json(capsys, argv(sandbox, "--dataset", "l4_sample", *tasks))
    assert code == 3 and "no project 'nope'" in err and "did you mean" not in err


def test_folder_tags_and_a_list_file_select_on_the_server(sandbox, capsys, tmp_path):
    organize(sandbox, "EM 2026", {"l4_sample": ["cortex"], "partial_tissue": ["cortex", "round1"], "iso_8nm": []})
    code, report, _ = run_json(capsys, argv(sandbox, "--folder", "EM 2026", "--dry-run"))
    assert code == 0 and report["ok"] is True
    assert sorted(d["input"] for d in report["datasets"]) == ["iso_8nm", "l4_sample", "partial_tissue"]
    code, report, _ = run_json(capsys, argv(sandbox, "--tag", "cortex", "--tag", "round1", "--dry-run"))
    assert code == 0 and [d["input"] for d in report["datasets"]] == ["partial_tissue"]
    listed = tmp_path / "datasets.txt"
    listed.write_text("# round 1\nl4_sample\n\naniso_4x4x35  # the anisotropic one\nl4_sample\n")
    code, report, _ = run_json(capsys, argv(sandbox, "--datasets-from", str(listed), "--dry-run"))
    assert code == 0 and [d["input"] for d in report["datasets"]] == ["l4_sample", "aniso_4x4x35"]  # the repeat is dropped
    assert sandbox.state.annotations == {}  # dry runs
    code, _, err = run_json(capsys, argv(sandbox, "--folder", "EM 2027", "--dry-run"))
    assert code == 3 and "did you mean 'EM 2026'?" in err


def _accepted(voxel_size, mags):
    """Every mag the neuron rule accepts (each axis ≥ 8 nm, 5 % tolerance)."""
    return [m for m in mags if min(effective_voxel_size(voxel_size, m)) >= 7.6]


def test_same_mag_on_three_voxel_sizes_is_as_equal_as_they_allow_and_warns(sandbox, capsys):
    names = ["l4_sample", "aniso_4x4x35", "iso_8nm"]
    code, report, err = run_json(capsys, argv(sandbox, *itertools.chain(*(("--dataset", n) for n in names)), "--same-mag", "--dry-run"))
    assert code == 0
    plans = {d["input"]: d["result"] for d in report["datasets"]}
    sizes = [plans[n]["effective_voxel_size_nm"] for n in names]
    spread = [max(s[a] for s in sizes) / min(s[a] for s in sizes) for a in range(3)]
    assert report["same_mag"]["spread"] == pytest.approx(spread, abs=1e-3)
    # no combination of the mags the rule accepts is more equal than the chosen one
    facts = {n: (plans[n]["dataset"]["voxel_size"], [tuple(int(f) for f in m.split("-")) if "-" in m else (int(m),) * 3 for m in plans[n]["available_mags"]]) for n in names}
    best = min(
        max(max(s[a] for s in combo) / min(s[a] for s in combo) for a in range(3))
        for combo in itertools.product(*([effective_voxel_size(v, m) for m in _accepted(v, mags)] for v, mags in facts.values()))
    )
    assert max(spread) == pytest.approx(best, abs=1e-6)
    if max(spread) > TOLERANCE:
        assert report["same_mag"]["within_tolerance"] is False and "more than 1.3×" in err
    table = err.split("warning:")[0]  # the table names the column for what it shows: voxel size × mag
    assert "effective voxel size (nm)" in table and "×".join(f"{v:g}" for v in sizes[0]) in table
    assert all(p["mag_reason"] == "given with --mag" for p in plans.values())
    assert all(d["same_mag_reason"].startswith("--same-mag: ") for d in report["datasets"])


def test_same_mag_keeps_the_rule_mags_when_they_already_match(sandbox, capsys):
    code, report, err = run_json(capsys, argv(sandbox, "--dataset", "l4_sample", "--dataset", "partial_tissue", "--same-mag", "--dry-run"))
    assert code == 0 and report["same_mag"]["within_tolerance"] is True and "more than" not in err
    assert [d["result"]["mag"] for d in report["datasets"]] == ["1", "1"]  # the neuron rule's own picks, 1.12× apart
    assert max(report["same_mag"]["spread"]) <= TOLERANCE


def test_concurrency_stays_within_the_memory_budget(sandbox):
    """``--jobs 3`` runs three datasets at once (a barrier proves it); a budget smaller than one
    dataset's tissue scoring runs them one at a time."""
    names = ("l4_sample", "iso_8nm", "partial_tissue")
    base = CreateBoxesJob(organization=ORG, write=WriteOptions(dry_run=True), distribution=Distribution(jobs=3))
    connection = Connection(sandbox.url, sandbox.token)

    def runner(barrier):
        running, peak, lock = [0], [0], threading.Lock()

        def run_one(dataset, job, *, connection):
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            try:
                if barrier is not None:
                    barrier.wait(timeout=60)
                return create_boxes(dataset, attrs.evolve(job, tissue=TissueOptions(check=False)), connection=connection)
            finally:
                with lock:
                    running[0] -= 1

        return run_one, peak

    run_one, peak = runner(threading.Barrier(3))
    result = run_batch(BatchJob(DatasetSelection(names, organization=ORG), base), connection=connection, run_one=run_one)
    assert result.ok and peak[0] == 3
    run_one, peak = runner(None)
    result = run_batch(BatchJob(DatasetSelection(names, organization=ORG), base, memory_budget_bytes=1), connection=connection, run_one=run_one)
    assert result.ok and peak[0] == 1
    assert all(tissue_memory(o.result.dataset, base) > 1 for o in result.outcomes)


def test_bad_batch_input_is_one_line_and_exit_2(sandbox, capsys, tmp_path):
    (tmp_path / "datasource-properties.json").write_text("{}")
    code, _, err = run_json(capsys, argv(sandbox, "--dataset", "l4_sample", "--dataset", str(tmp_path), "--dry-run"))
    assert code == 2 and "a batch takes datasets on a server" in err
    code, _, err = run_json(capsys, argv(sandbox, "--dataset", "l4_sample", "--dataset", "iso_8nm", "--memory-budget", "lots"))
    assert code == 2 and "--memory-budget" in err
    code, _, err = run_json(capsys, ["create-boxes", "--webknossos-url", sandbox.url])
    assert code == 2 and "--dataset" in err
    assert parse_size("4G") == 4 * 1024**3 and parse_size("512m") == 512 * 1024**2 and parse_size("1000") == 1000
    for bad in ("inf", "nan", "-1G", "G", ""):
        with pytest.raises(InvalidInput):
            parse_size(bad)


def test_a_datasets_memory_estimate_is_the_mag_its_tissue_check_reads(sandbox):
    """The batch admits datasets by what their tissue scoring holds: the voxels of the mag the
    check reads (within --tissue-budget) at the scorer's bytes per voxel, plus its working set."""
    from wkgt.planner.tissue import WORK_BYTES, held_bytes_per_voxel

    job = CreateBoxesJob(organization=ORG, write=WriteOptions(dry_run=True))
    result = create_boxes("partial_tissue", job, connection=Connection(sandbox.url, sandbox.token))
    tissue = result.plan.tissue
    assert tissue is not None and tissue.checked
    read_voxels = tissue.coarse_bytes  # uint8: one byte per voxel of the mag read
    assert tissue_memory(result.dataset, job) == read_voxels * held_bytes_per_voxel(1) + WORK_BYTES
    small = attrs.evolve(job, tissue=TissueOptions(budget_bytes=128 << 20))
    assert tissue_memory(result.dataset, small) <= (128 << 20) + WORK_BYTES
    assert tissue_memory(result.dataset, attrs.evolve(job, tissue=TissueOptions(check=False))) == 0


def test_a_batch_whose_report_cannot_be_printed_says_what_it_created(sandbox, capsys):
    from tests.helpers import run_to_full_disk

    code, err = run_to_full_disk(capsys, argv(sandbox, "--dataset", "l4_sample", "--dataset", "iso_8nm"))
    assert code == 6, err
    (line,) = [line for line in err.strip().splitlines() if line.startswith("wkgt: error:")]
    assert "2 of 2 dataset(s) got a new annotation or tasks, but printing the report failed" in line
    assert len(sandbox.state.annotations) == 2
