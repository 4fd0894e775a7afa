"""``wkgt history`` and ``wkgt undo`` over HTTP against the sandbox, with each role's token: what a
run made, taking it back (annotations archived, tasks deleted, refusals), and the rerun after it."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
import time

import httpx

from tests.helpers import reset_module_sandbox as sandbox  # noqa: F401 (the module's sandbox, reset per test)
from wkgt import create_boxes
from wkgt.client import Connection, RetryPolicy
from wkgt.jobs.create_boxes import CreateBoxesJob, CreateBoxesResult, WriteOptions
from wkgt.jobs.planning import TissueOptions
from wkgt.planner import PlanOptions
from wkgt.writer.tasks import TaskOptions
from wkgt_sandbox import Sandbox

from ..helpers import run, run_json

FAST_RETRY = RetryPolicy(attempts=2, first_delay_s=0.01)
ANNOTATION_JOB = CreateBoxesJob(plan=PlanOptions(count=5), tissue=TissueOptions(check=False))
TASK_JOB = CreateBoxesJob(
    plan=PlanOptions(count=6), tissue=TissueOptions(check=False), write=WriteOptions(tasks=TaskOptions("sandbox_project", "training_boxes"))
)
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def make(sb: Sandbox, job: CreateBoxesJob, role: str = "manager", dataset: str = "l4_sample") -> CreateBoxesResult:
    return create_boxes(dataset, job, connection=Connection(sb.url, sb.tokens[role], retry=FAST_RETRY))


def server_args(sb: Sandbox, role: str) -> list[str]:
    return ["--webknossos-url", sb.url, "--token", sb.tokens[role]]


def history(sb: Sandbox, capsys, role: str = "manager", dataset: str = "l4_sample") -> dict:
    code, out, err = run_json(capsys, ["history", "--dataset", dataset, "--json", *server_args(sb, role)])
    assert code == 0, err
    return out


def undo(sb: Sandbox, capsys, target: str, *args: str, role: str = "manager") -> tuple[int, dict | None, str]:
    return run_json(capsys, ["undo", target, "--json", *args, *server_args(sb, role)])


def writes(sb: Sandbox) -> list[str]:
    return [f"{e.method} {e.path}" for e in sb.state.request_log if e.method in WRITES]


def state_of(sb: Sandbox, annotation_id: str) -> str:
    return sb.state.annotations[annotation_id].state


# --- history ------------------------------------------------------------------------------------


def test_history_lists_an_annotation_run_and_a_task_run_with_their_counts_and_no_colleagues_runs(sandbox, capsys):
    boxes = make(sandbox, ANNOTATION_JOB)
    tasks = make(sandbox, TASK_JOB)
    other_dataset = make(sandbox, ANNOTATION_JOB, dataset="aniso_4x4x35")
    colleague = sandbox.state.add_annotation(  # the same job run by a colleague, shared with the team
        "annotator", description=f"wkgt-run-key: {boxes.run_key}", shared_with=["annotators"],
        user_bounding_boxes=[{"id": 1, "name": "x", "isVisible": True, "topLeft": [0, 0, 0], "size": [8, 8, 8]}],
    )  # fmt: skip
    sandbox.state.add_annotation("manager", name="by hand, no run key")
    listed = history(sandbox, capsys)
    assert [(r["run_key"], r["kind"], r["boxes"], r["state"]) for r in listed["runs"]] == [
        (tasks.run_key, "tasks", 6, "active"),
        (boxes.run_key, "annotation", 5, "active"),
    ]  # newest first; the other dataset's run and the colleague's annotation are not there
    task_run, annotation_run = listed["runs"]
    assert sorted(t["id"] for t in task_run["tasks"]) == sorted(tasks.tasks.task_ids)
    assert task_run["project"] == "sandbox_project" and task_run["owner"] is None
    assert annotation_run["owner"] == "Mona Nager" and annotation_run["url"] == boxes.annotation.url
    assert [a["id"] for a in annotation_run["annotations"]] == [boxes.annotation.id]
    assert annotation_run["created"].endswith("Z") and listed["warnings"] == []
    assert other_dataset.run_key not in {r["run_key"] for r in listed["runs"]}

    run = history(sandbox, capsys, role="annotator")  # the colleague's view: own annotation, no task list
    assert [(r["run_key"], r["boxes"]) for r in run["runs"]] == [(boxes.run_key, 1)]
    assert [a["id"] for a in run["runs"][0]["annotations"]] == [colleague.id]
    assert "sandbox_project" in run["warnings"][0] and "team managers" in run["warnings"][0]


def test_history_as_a_table_names_each_run(sandbox, capsys):
    from wkgt.cli import run

    boxes = make(sandbox, ANNOTATION_JOB)
    assert run(["history", "--dataset", "l4_sample", *server_args(sandbox, "manager")]) == 0
    out = capsys.readouterr().out
    assert boxes.run_key in out and "annotation" in out and "Mona Nager" in out and "1 annotation:" in out
    assert run(["history", "--dataset", "iso_8nm", *server_args(sandbox, "manager")]) == 0
    assert "no wkgt runs for iso_8nm" in capsys.readouterr().out


# --- undo: annotations ---------------------------------------------------------------------------


def test_undo_of_an_annotation_run_archives_it_and_a_rerun_makes_a_new_one(sandbox, capsys):
    first = make(sandbox, ANNOTATION_JOB)
    sandbox.state.clear_log()
    code, plan, _ = undo(sandbox, capsys, first.run_key, "--dry-run")
    assert code == 0 and plan["status"] == "dry-run" and [i["id"] for i in plan["to_archive"]] == [first.annotation.id]
    assert state_of(sandbox, first.annotation.id) == "Active" and writes(sandbox) == []

    code, done, err = undo(sandbox, capsys, first.run_key, "--yes")
    assert code == 0, err
    assert done["status"] == "done" and [i["id"] for i in done["archived"]] == [first.annotation.id]
    assert state_of(sandbox, first.annotation.id) == "Finished"
    assert history(sandbox, capsys)["runs"][0]["state"] == "archived"

    rerun = make(sandbox, ANNOTATION_JOB)  # the archived annotation is no longer the job's result
    assert rerun.status == "created" and rerun.run_key == first.run_key and rerun.annotation.id != first.annotation.id
    again = make(sandbox, ANNOTATION_JOB)
    assert again.status == "exists" and again.annotation.id == rerun.annotation.id
    (run,) = history(sandbox, capsys)["runs"]
    assert run["state"] == "active" and run["url"] == rerun.annotation.url
    assert [(a["id"], a["state"]) for a in run["annotations"]] == [(first.annotation.id, "Finished"), (rerun.annotation.id, "Active")]

    code, repeat, _ = undo(sandbox, capsys, first.run_key, "--yes")  # undo twice: the new one goes, the old one stays archived
    assert code == 0 and [i["id"] for i in repeat["archived"]] == [rerun.annotation.id]
    assert [i["id"] for i in repeat["already_archived"]] == [first.annotation.id]


def test_undo_of_one_annotation_by_url_archives_that_one_only(sandbox, capsys):
    result = make(sandbox, ANNOTATION_JOB)
    copy = make(sandbox, CreateBoxesJob(plan=PlanOptions(count=5), tissue=TissueOptions(check=False), write=WriteOptions(force_new=True)))
    code, done, err = undo(sandbox, capsys, copy.annotation.url, "--yes")
    assert code == 0, err
    assert [i["id"] for i in done["archived"]] == [copy.annotation.id] and done["run_key"] == result.run_key
    assert state_of(sandbox, copy.annotation.id) == "Finished" and state_of(sandbox, result.annotation.id) == "Active"
    assert make(sandbox, ANNOTATION_JOB).annotation.id == result.annotation.id  # still the job's result


def test_undo_refuses_a_colleagues_annotation_and_unknown_or_malformed_targets(sandbox, capsys):
    mine = make(sandbox, ANNOTATION_JOB, role="annotator")
    sandbox.state.clear_log()
    code, out, err = undo(sandbox, capsys, mine.annotation.id, "--yes", role="admin")
    assert code == 4 and out is None and "belongs to" in err and "only your own" in err
    code, _, err = undo(sandbox, capsys, "0123456789abcdef", "--yes", role="admin")
    assert code == 3 and "no annotation of yours and no task" in err
    code, _, err = undo(sandbox, capsys, "not-a-key", "--yes")
    assert code == 2 and "not a run key or an annotation" in err
    hand_made = sandbox.state.add_annotation("admin", name="by hand")
    code, _, err = undo(sandbox, capsys, hand_made.id, "--yes", role="admin")
    assert code == 3 and "no wkgt run key" in err
    assert writes(sandbox) == [] and err.count("\n") == 1
    assert state_of(sandbox, mine.annotation.id) == "Active"


# --- undo: tasks ----------------------------------------------------------------------------------


def test_undo_of_a_task_run_deletes_its_tasks_as_manager_and_refuses_an_annotator(sandbox, capsys):
    made = make(sandbox, TASK_JOB)
    sandbox.state.clear_log()
    code, out, err = undo(sandbox, capsys, made.run_key, "--yes", role="annotator")
    assert code == 4 and out is None
    assert "team managers" in err and "sandbox_project" in err and err.count("\n") == 1
    assert writes(sandbox) == [] and sorted(sandbox.state.tasks) == sorted(made.tasks.task_ids)

    code, done, err = undo(sandbox, capsys, made.run_key, "--yes")
    assert code == 0, err
    assert sorted(i["id"] for i in done["deleted"]) == sorted(made.tasks.task_ids) and sandbox.state.tasks == {}
    assert len(writes(sandbox)) == 6
    assert make(sandbox, TASK_JOB).tasks.status == "created"  # a rerun creates them again


def test_undo_keeps_tasks_someone_took_with_one_line_each_and_exit_4(sandbox, capsys):
    made = make(sandbox, TASK_JOB)
    taken = httpx.post(f"{sandbox.url}/api/v16/user/tasks/request", headers={"X-Auth-Token": sandbox.tokens["annotator"]})
    assert taken.status_code == 200
    taken_id = taken.json()["task"]["id"]
    code, done, err = undo(sandbox, capsys, made.run_key, "--yes")
    assert code == 4
    assert [r["id"] for r in done["refused"]] == [taken_id] and done["refused"][0]["cause"] == "in use"
    assert len(done["deleted"]) == 5 and list(sandbox.state.tasks) == [taken_id]
    lines = err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"not undone: task {taken_id}") and "untouched" in lines[1]


# --- asking first ---------------------------------------------------------------------------------


def test_undo_without_yes_on_a_pipe_refuses_before_any_request(sandbox, capsys, monkeypatch):
    from wkgt.cli import run

    made = make(sandbox, ANNOTATION_JOB)
    sandbox.state.clear_log()
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))  # a pipe, even under pytest -s

    assert run(["undo", made.run_key, *server_args(sandbox, "manager")]) == 2
    err = capsys.readouterr().err
    assert "--yes" in err and err.count("\n") == 1
    assert sandbox.state.request_log == [] and state_of(sandbox, made.annotation.id) == "Active"


def answer_prompt(argv: list[str], answer: bytes) -> tuple[int, str]:
    """Run the CLI with a terminal as stdin, answer its question, return exit code and output."""
    primary, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("WK_URL", "WK_TOKEN")}
    process = subprocess.Popen(
        [sys.executable, "-m", "wkgt", *argv], stdin=secondary, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    os.close(secondary)
    output = b""
    deadline = time.monotonic() + 120
    while b"[y/N]" not in output and time.monotonic() < deadline and process.poll() is None:
        ready, _, _ = select.select([process.stdout], [], [], 1)
        if ready:
            output += os.read(process.stdout.fileno(), 4096)
    os.write(primary, answer)
    rest, err = process.communicate(timeout=120)
    os.close(primary)
    return process.returncode, (output + rest + err).decode()


def test_undo_asks_on_a_terminal_and_no_changes_nothing(sandbox):
    made = make(sandbox, ANNOTATION_JOB)
    sandbox.state.clear_log()
    code, output = answer_prompt(["undo", made.run_key, *server_args(sandbox, "manager")], b"n\n")
    assert code == 0, output
    assert f"archive annotation {made.annotation.id}" in output and "Archive 1 annotation? [y/N]" in output
    assert "nothing changed" in output
    assert writes(sandbox) == [] and state_of(sandbox, made.annotation.id) == "Active"


def test_a_failed_archive_is_a_refusal_of_its_own_exit_6_and_undo_again_goes_on(sandbox):
    from wkgt.jobs.undo import UndoJob, undo as undo_job

    first = make(sandbox, ANNOTATION_JOB)
    copy = make(sandbox, CreateBoxesJob(plan=PlanOptions(count=5), tissue=TissueOptions(check=False), write=WriteOptions(force_new=True)))
    sandbox.faults.add(rf"/annotations/Explorational/{first.annotation.id}/finish$", method="PATCH", status=500)
    connection = Connection(sandbox.url, sandbox.tokens["manager"], retry=FAST_RETRY)
    done = undo_job(UndoJob(first.run_key), connection=connection)
    assert done.exit_code == 6 and [i.id for i in done.archive] == [copy.annotation.id]
    assert [(r.item.id, r.cause) for r in done.refused] == [(first.annotation.id, "failed")]
    assert "HTTP 500" in done.refused[0].line() and "\n" not in done.refused[0].line()
    sandbox.faults.clear()
    again = undo_job(UndoJob(first.run_key), connection=connection)
    assert again.exit_code == 0 and [i.id for i in again.archive] == [first.annotation.id]
    assert [i.id for i in again.already_archived] == [copy.annotation.id]


def test_undo_whose_result_cannot_be_printed_says_what_it_changed(sandbox, capsys, monkeypatch):
    """``wkgt undo --yes --json > /dev/full``: the annotation is archived all the same; exit 6 and
    one line saying so (not exit 2 "cannot write the output", as if nothing had happened)."""
    import contextlib

    from wkgt.cli import run

    first = make(sandbox, ANNOTATION_JOB)
    full = open("/dev/full", "w")  # noqa: SIM115 - closed below, where the unwritable rest is dropped
    monkeypatch.setattr(sys, "stdout", full)
    code = run(["undo", first.run_key, "--yes", "--json", *server_args(sandbox, "manager")])
    monkeypatch.undo()
    with contextlib.suppress(OSError):
        full.close()
    err = capsys.readouterr().err
    assert code == 6, err
    (line,) = err.strip().splitlines()
    assert line.startswith(f"wkgt: error: undo of run {first.run_key}: archived 1 annotation, but printing the result failed"), line
    assert state_of(sandbox, first.annotation.id) == "Finished"


def test_ctrl_c_midway_through_undo_says_what_was_done_and_a_rerun_finishes(sandbox, capsys):
    """A real SIGINT while the server holds back its answer to the second archive (done already):
    exit 130, one line with what was archived and that a rerun finishes; the rerun finds all archived."""
    from tests.helpers import interrupt_at

    first = make(sandbox, ANNOTATION_JOB)
    make(sandbox, CreateBoxesJob(plan=PlanOptions(count=5), tissue=TissueOptions(check=False), write=WriteOptions(force_new=True)))
    sandbox.faults.add(r"/annotations/Explorational/\w+/finish$", method="PATCH", latency=30.0, after=True, skip=1, times=1)
    argv = ["undo", first.run_key, "--yes", *server_args(sandbox, "manager")]
    code, err = interrupt_at(sandbox, argv, "/finish", count=2)
    assert code == 130
    assert err.strip().splitlines() == [
        f"wkgt: error: interrupted during the undo of {first.run_key}: 1 of 2 annotation(s) archived, 0 of 0 task(s) deleted, "
        "and the request under way may have gone through too; rerun the same command to finish, it skips what is done "
        "(wkgt history shows the run's state)"
    ]
    code, done, err = undo(sandbox, capsys, first.run_key, "--yes")
    assert code == 0 and done["archived"] == [] and len(done["already_archived"]) == 2, err


def test_ctrl_c_while_undo_reads_says_nothing_changed(sandbox, capsys, monkeypatch):
    import wkgt.jobs.undo

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    first = make(sandbox, ANNOTATION_JOB)
    sandbox.state.clear_log()
    monkeypatch.setattr(wkgt.jobs.undo, "_plan_run", ctrl_c)
    code, _, err = undo(sandbox, capsys, first.run_key, "--yes")
    assert code == 130 and err.strip().splitlines() == [
        "wkgt: error: interrupted before anything was archived or deleted: nothing changed on the server"
    ]
    assert writes(sandbox) == [] and state_of(sandbox, first.annotation.id) == "Active"


def test_a_holdout_run_is_one_run_with_its_evaluation_set_and_undo_archives_both(sandbox, capsys):
    """The evaluation annotation (``--holdout``) has a run key of its own (its rerun check) and
    names its job's: history lists it in that run, and undoing the run archives it too."""
    argv = ["create-boxes", "--dataset", "l4_sample", "--count", "5", "--holdout", "2", "--no-tissue-check", "--json"]
    code, made, err = run_json(capsys, [*argv, *server_args(sandbox, "manager")])
    assert code == 0 and made["status"] == "created", err
    training, evaluation = made["annotation"]["id"], made["evaluation"]["id"]
    (listed,) = history(sandbox, capsys)["runs"]
    assert listed["run_key"] == made["run_key"] and listed["boxes"] == 5 and listed["url"] == made["annotation"]["url"]
    assert [(a["id"], a["evaluation"], a["boxes"]) for a in listed["annotations"]] == [(training, False, 5), (evaluation, True, 2)]
    code = run(["history", "--dataset", "l4_sample", *server_args(sandbox, "manager")])
    table = capsys.readouterr().out
    assert code == 0 and table.count(made["run_key"]) == 1 and "2 annotations" in table and "evaluation" in table
    code, done, err = undo(sandbox, capsys, made["run_key"], "--yes")
    assert code == 0, err
    assert sorted(i["id"] for i in done["archived"]) == sorted([training, evaluation])
    assert state_of(sandbox, training) == state_of(sandbox, evaluation) == "Finished"
