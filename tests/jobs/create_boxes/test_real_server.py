"""``create-boxes`` under the real server's rules, over HTTP with each role's token: exactly one
result across machines, paged rerun checks, own annotations only, tasks annotators get."""

from __future__ import annotations

import threading
from pathlib import Path

import attrs
import httpx

from tests.helpers import reset_module_sandbox as sandbox  # noqa: F401 (the module's sandbox, reset per test)
from wkgt import create_boxes
from wkgt.client import Connection, RetryPolicy
from wkgt.client.annotations import find_run_key
from wkgt.jobs.create_boxes import CreateBoxesJob, CreateBoxesResult, WriteOptions
from wkgt.jobs.planning import TissueOptions
from wkgt.planner import PlanOptions
from wkgt.writer.tasks import TaskOptions
from wkgt_sandbox import Sandbox

from .helpers import run_json, writes

FAST_RETRY = RetryPolicy(attempts=3, first_delay_s=0.01)
SMALL = CreateBoxesJob(plan=PlanOptions(count=5), tissue=TissueOptions(check=False))
TASKS = TaskOptions("sandbox_project", "training_boxes")
TRIES = 20


def cli(sb: Sandbox, *args: str, role: str = "admin") -> list[str]:
    return ["create-boxes", "--dataset", "l4_sample", *args, "--webknossos-url", sb.url, "--token", sb.tokens[role], "--json"]


def run(sb: Sandbox, job: CreateBoxesJob, role: str = "admin", url: str | None = None) -> CreateBoxesResult:
    return create_boxes("l4_sample", job, connection=Connection(url or sb.url, sb.tokens[role], retry=FAST_RETRY))


def image_reads(sb: Sandbox) -> list[str]:
    return [e.path for e in sb.state.request_log if e.path.startswith("/data/")]


def active_with_key(sb: Sandbox, key: str) -> list[str]:
    return [a.id for a in sb.state.annotations.values() if find_run_key(a.description) == key and a.state == "Active"]


# --- exactly one result across machines ---------------------------------------------------------


def concurrent_pair(sb: Sandbox, job: CreateBoxesJob, lock_root: Path) -> list[CreateBoxesResult]:
    """Two runs of ``job`` at once, each with its own lock directory (two machines, or two cache
    directories); the slow write lets both pass the rerun check before either has written."""
    results: list[CreateBoxesResult] = []
    errors: list[BaseException] = []

    def one(name: str) -> None:
        try:
            mine = attrs.evolve(job, write=attrs.evolve(job.write, lock_dir=lock_root / name))
            results.append(run(sb, mine))
        except BaseException as err:  # noqa: BLE001 - reported by the test
            errors.append(err)

    threads = [threading.Thread(target=one, args=(name,)) for name in ("machine-a", "machine-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def annotation_race(sb: Sandbox, tmp_path: Path, tries: int) -> list[int]:
    """Active annotations of the job after each of ``tries`` concurrent pairs."""
    counts = []
    for attempt in range(tries):
        sb.reset()
        sb.faults.clear()
        sb.faults.add(r"/annotations/upload$", method="POST", latency=0.15, times=2)
        results = concurrent_pair(sb, SMALL, tmp_path / str(attempt))
        key = results[0].run_key
        active = active_with_key(sb, key)
        counts.append(len(active))
        if len(active) == 1:  # both runs report the one that stays
            assert {r.annotation.id for r in results} == set(active)
            assert sorted(r.status for r in results) == ["created", "exists"]
    return counts


def task_race(sb: Sandbox, tmp_path: Path, tries: int) -> list[int]:
    """The most tasks any box has after each of ``tries`` concurrent pairs of ``--as-tasks``."""
    most = []
    job = attrs.evolve(SMALL, write=WriteOptions(tasks=TASKS))
    for attempt in range(tries):
        sb.reset()
        sb.faults.clear()
        sb.faults.add(r"^/api/v16/tasks$", method="POST", latency=0.15, times=2)
        results = concurrent_pair(sb, job, tmp_path / str(attempt))
        boxes = [str(t["boundingBox"]) for t in sb.state.tasks.values()]
        most.append(max(boxes.count(b) for b in boxes))
        assert len(set(boxes)) == 5
        if most[-1] == 1:
            assert set(results[0].tasks.task_ids) == set(results[1].tasks.task_ids) == set(sb.state.tasks)
    return most


def test_two_concurrent_runs_leave_exactly_one_annotation(sandbox, tmp_path):
    counts = annotation_race(sandbox, tmp_path, TRIES)
    assert counts == [1] * TRIES


def test_two_concurrent_task_runs_leave_exactly_one_task_per_box(sandbox, tmp_path):
    most = task_race(sandbox, tmp_path, TRIES)
    assert most == [1] * TRIES


def test_without_reconciliation_the_same_races_leave_duplicates(sandbox, tmp_path, monkeypatch):
    """The control: the races above do produce two results; only the reconciliation removes them."""
    import wkgt.jobs.create_boxes as job_module
    import wkgt.writer.tasks as tasks_module
    from wkgt.writer.upload import Reconciled

    monkeypatch.setattr(job_module, "reconcile", lambda session, key, made: Reconciled(made))
    monkeypatch.setattr(tasks_module, "reconcile_tasks", lambda session, target, plan: ({}, (), ()))
    assert max(annotation_race(sandbox, tmp_path / "annotations", 3)) == 2
    assert max(task_race(sandbox, tmp_path / "tasks", 3)) == 2


# --- the rerun check: paged, own annotations only, before any image data ------------------------


def test_a_rerun_among_2500_readable_annotations_finds_the_oldest_and_reads_no_image_data(sandbox):
    job = CreateBoxesJob(plan=PlanOptions(count=5))  # with the tissue check: the first run reads image data
    first = run(sandbox, job)
    assert first.status == "created" and image_reads(sandbox)
    newest = sandbox.state.annotations[first.annotation.id].created
    for i in range(2500):
        sandbox.state.add_annotation("admin", name=f"later {i}", created_ms=newest + 1000 * (i + 1))
    sandbox.state.clear_log()
    again = run(sandbox, job)
    assert again.status == "exists" and again.annotation.id == first.annotation.id
    assert [b.topleft for b in again.plan.boxes] == [b.topleft for b in first.plan.boxes]
    assert image_reads(sandbox) == []
    pages = [e.query for e in sandbox.state.requests("GET", "/annotations/readable")]
    assert len(pages) == 3 and all("limit=1000" in q for q in pages), pages
    assert writes(sandbox) == []


def test_a_colleagues_shared_annotation_with_the_same_run_key_is_not_yours(sandbox):
    key = run(sandbox, attrs.evolve(SMALL, write=WriteOptions(dry_run=True)), role="annotator").run_key
    colleague = sandbox.state.add_annotation(
        "manager", description=f"wkgt-run-key: {key}", shared_with=["annotators"], created_ms=1_600_000_000_000
    )
    listed = httpx.get(f"{sandbox.url}/api/v16/annotations/readable", headers={"X-Auth-Token": sandbox.tokens["annotator"]})
    assert colleague.id in [a["id"] for a in listed.json()]  # the annotator sees it ...
    mine = run(sandbox, SMALL, role="annotator")
    assert mine.status == "created" and mine.annotation.id != colleague.id  # ... but it is not theirs
    assert sandbox.state.annotations[mine.annotation.id].owner_id == sandbox.users["annotator"].id
    assert run(sandbox, SMALL, role="annotator").annotation.id == mine.annotation.id
    assert sandbox.state.annotations[colleague.id].state == "Active"  # and nobody archives it


def test_force_new_after_an_unclear_upload_reports_its_own_copy(sandbox):
    first = run(sandbox, SMALL)
    sandbox.faults.add(r"/annotations/upload$", method="POST", latency=3.0, after=True, times=1)
    job = attrs.evolve(SMALL, write=WriteOptions(force_new=True))
    copy = create_boxes("l4_sample", job, connection=Connection(sandbox.url, sandbox.token, timeout_s=1.0, retry=FAST_RETRY))
    assert copy.status == "created" and copy.annotation.id != first.annotation.id
    assert set(sandbox.state.annotations) == {first.annotation.id, copy.annotation.id}
    again = run(sandbox, SMALL)  # the copy is no rival of the job's result
    assert again.status == "exists" and again.annotation.id == first.annotation.id
    assert all(a.state == "Active" for a in sandbox.state.annotations.values())


def test_the_same_server_spelled_differently_with_defaults_spelled_out_is_the_same_job(sandbox, capsys):
    code, first, err = run_json(capsys, cli(sandbox, "--count", "5", "--no-tissue-check"))
    assert code == 0 and first["status"] == "created", err
    port = sandbox.url.rsplit(":", 1)[1]
    spelled = ["--count", "5", "--no-tissue-check", "--seed", "0", "--margin", "0", "--model", "neurons", "--instances", "1"]
    argv = cli(sandbox, *spelled)
    argv[argv.index("--webknossos-url") + 1] = f"HTTP://LocalHost:{port}/"
    code, again, err = run_json(capsys, argv)
    assert code == 0 and again["status"] == "exists", err
    assert again["run_key"] == first["run_key"] and again["annotation"]["id"] == first["annotation"]["id"]
    code, other, _ = run_json(capsys, cli(sandbox, "--count", "5", "--no-tissue-check", "--fallback-segmentation"))
    assert other["status"] == "created" and other["run_key"] != first["run_key"]


# --- tasks that get done, cheap checks first ----------------------------------------------------

TASK_ARGS = ["--as-tasks", "--project", "sandbox_project", "--task-type", "training_boxes", "--count", "5"]


def test_tasks_with_default_options_are_handed_to_a_qualified_annotator(sandbox, capsys):
    code, data, err = run_json(capsys, cli(sandbox, *TASK_ARGS, "--no-tissue-check"))
    assert code == 0, err
    assert data["tasks"]["experience"] == {"domain": "training_boxes", "value": 0}
    assert "Ann Otator" in data["tasks"]["assignable"]
    answer = httpx.post(f"{sandbox.url}/api/v16/user/tasks/request", headers={"X-Auth-Token": sandbox.tokens["annotator"]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["task"]["id"] in data["tasks"]["task_ids"]


def test_tasks_nobody_could_take_are_refused_before_anything_is_read_or_created(sandbox, capsys):
    code, data, err = run_json(capsys, cli(sandbox, *TASK_ARGS, "--experience", "training_boxes=7"))
    assert code == 2 and data is None
    assert len(err.strip().splitlines()) == 1 and "would hand these tasks to nobody" in err and "--allow-unassignable" in err
    assert writes(sandbox) == [] and image_reads(sandbox) == []


def test_a_non_manager_gets_one_line_naming_the_missing_role(sandbox, capsys):
    code, _, err = run_json(capsys, cli(sandbox, *TASK_ARGS, role="annotator"))
    assert code == 4 and len(err.strip().splitlines()) == 1
    assert "team manager of team 'annotators' or organization admin" in err and "token" not in err
    assert writes(sandbox) == [] and image_reads(sandbox) == []
    assert all(e.status < 400 for e in sandbox.state.request_log)


def test_a_mistyped_project_is_reported_before_any_image_data(sandbox, capsys):
    code, _, err = run_json(capsys, cli(sandbox, "--as-tasks", "--project", "sandbox_projekt", "--task-type", "training_boxes"))
    assert code == 3 and "no project 'sandbox_projekt'" in err
    assert image_reads(sandbox) == []


def test_a_dataset_of_another_organization_is_refused_before_any_image_data(sandbox, capsys):
    argv = cli(sandbox, *TASK_ARGS)
    argv[argv.index("--dataset") + 1] = "66e1c3a2b7f0d94e1a2b2001"  # shared_name of partner_lab, public
    code, data, err = run_json(capsys, argv)
    assert code == 2 and data is None and len(err.strip().splitlines()) == 1
    assert "Cannot create tasks for datasets of other organizations" in err
    assert writes(sandbox) == [] and image_reads(sandbox) == []


def test_a_task_rerun_finds_its_tasks_and_reads_no_image_data(sandbox, capsys):
    code, first, err = run_json(capsys, cli(sandbox, *TASK_ARGS))  # with the tissue check
    assert code == 0 and first["status"] == "created", err
    assert image_reads(sandbox)
    sandbox.state.clear_log()
    code, again, err = run_json(capsys, cli(sandbox, *TASK_ARGS, "--experience", "training_boxes=0"))
    assert code == 0 and again["status"] == "exists", err
    assert again["tasks"]["task_ids"] == first["tasks"]["task_ids"]
    assert [b["topleft"] for b in again["boxes"]] == [b["topleft"] for b in first["boxes"]]
    assert image_reads(sandbox) == [] and writes(sandbox) == []


def test_avoid_previous_says_when_it_cannot_see_tasks(sandbox, capsys):
    code, _, err = run_json(capsys, cli(sandbox, *TASK_ARGS, "--no-tissue-check"))
    assert code == 0, err
    args = ["--count", "5", "--seed", "3", "--avoid-previous", "--no-tissue-check", "--dry-run"]
    code, admin, err = run_json(capsys, cli(sandbox, *args))
    assert code == 0 and len(admin["avoided"]) == 5, err
    code, annotator, err = run_json(capsys, cli(sandbox, *args, role="annotator"))
    assert code == 0 and annotator["avoided"] == []
    assert any("could not see earlier rounds sent out as tasks" in w for w in annotator["warnings"])
    assert "could not see earlier rounds" in err
