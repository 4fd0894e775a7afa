"""The CLI's last line of defence: one stderr line and a documented exit code for every failure,
including bugs (70, also under WKGT_DEBUG=1), Ctrl-C (130) and output that cannot be written."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys

import pytest

from tests.helpers import run_json
from wkgt.cli import run
from wkgt.client.token import remember_secret

PLAN = ["plan", "--voxel-size", "11.24,11.24,30", "--mags", "1,2-2-1,4-4-1", "--bbox", "0,0,0,4096,4096,1024"]


def fail_planning_with(monkeypatch, error: BaseException) -> None:
    """Stand in for a bug (or Ctrl-C) inside planning."""
    import wkgt.planner.plan

    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(wkgt.planner.plan, "make_plan", broken)


@pytest.mark.parametrize("debug", [False, True])
def test_a_bug_exits_70_with_or_without_debug(monkeypatch, capsys, debug):
    remember_secret("Qx7-secret-Zp9")
    fail_planning_with(monkeypatch, RuntimeError("header value b'Qx7-secret-Zp9\\r' from http://alice:hunter2@host"))
    if debug:
        monkeypatch.setenv("WKGT_DEBUG", "1")
    assert run(PLAN) == 70
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1].startswith("wkgt: error: unexpected RuntimeError")
    assert ("Traceback" in err) is debug
    assert len(err.strip().splitlines()) == 1 or debug
    assert "Qx7-secret-Zp9" not in err and "hunter2" not in err


def test_ctrl_c_exits_130(monkeypatch, capsys):
    fail_planning_with(monkeypatch, KeyboardInterrupt())
    assert run(PLAN) == 130
    assert capsys.readouterr().err == "wkgt: error: interrupted\n"


def test_usage_errors_are_one_line(capsys):
    assert run([*PLAN, "--count"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("wkgt: error: ") and len(err.strip().splitlines()) == 1 and "--help" in err


def test_messages_stay_one_line_whatever_the_input(capsys):
    assert run(["create-boxes", "--dataset", "a\nb\rc/x", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "\\n" in err


def test_plan_json_to_a_full_disk(tmp_path):
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "wkgt", *PLAN, "--json"], stdout=full, stderr=subprocess.PIPE, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["wkgt: error: cannot write the output: No space left on device"]


def test_created_annotation_is_named_when_its_result_cannot_be_printed(sandbox, monkeypatch, capsys):
    argv = ["create-boxes", "--dataset", "l4_sample", "--count", "5", "--no-tissue-check", "--json",
            "--webknossos-url", sandbox.url, "--token", sandbox.token]
    full = open("/dev/full", "w")  # noqa: SIM115 - closed below, where the unwritable rest is dropped
    monkeypatch.setattr(sys, "stdout", full)  # --json > /dev/full
    code = run(argv)
    monkeypatch.undo()
    with contextlib.suppress(OSError):
        full.close()
    assert code == 6
    err = capsys.readouterr().err
    (line,) = [line for line in err.strip().splitlines() if line.startswith("wkgt: error:")]
    (annotation_id,) = sandbox.state.annotations
    assert f"annotation created: {sandbox.url}/annotations/{annotation_id}" in line and "existing" in line
    assert sandbox.token not in err
    code, data, _ = run_json(capsys, argv)
    assert code == 0 and data["status"] == "exists"


def closed_pipe() -> int:
    """The write end of a pipe whose reader is gone (``wkgt ... | head`` after head exits)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    return write_end


def test_a_closed_pipe_is_output_that_cannot_be_written_exit_2():
    """Not rich's silent exit 1, which README reserves for "check found errors"."""
    write_end = closed_pipe()
    try:
        done = subprocess.run([sys.executable, "-m", "wkgt", *PLAN], stdout=write_end, stderr=subprocess.PIPE, text=True)
    finally:
        os.close(write_end)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["wkgt: error: cannot write the output: Broken pipe"]


def test_created_annotation_is_named_when_its_table_meets_a_closed_pipe(sandbox, monkeypatch, capsys):
    argv = ["create-boxes", "--dataset", "l4_sample", "--count", "5", "--no-tissue-check",
            "--webknossos-url", sandbox.url, "--token", sandbox.token]
    closed = os.fdopen(closed_pipe(), "w")
    monkeypatch.setattr(sys, "stdout", closed)  # wkgt create-boxes ... | head -1
    code = run(argv)
    monkeypatch.undo()
    with contextlib.suppress(OSError):
        closed.close()
    assert code == 6
    (line,) = [line for line in capsys.readouterr().err.strip().splitlines() if line.startswith("wkgt: error:")]
    (annotation_id,) = sandbox.state.annotations
    assert f"annotation created: {sandbox.url}/annotations/{annotation_id}" in line and "Broken pipe" in line


def test_ctrl_c_during_the_upload_says_the_annotation_may_exist_and_a_rerun_finds_it(capsys):
    """A real SIGINT while the server holds back its answer to an upload it has done: exit 130 and
    one line saying the annotation may exist; the rerun reports that very annotation."""
    from tests.helpers import create_boxes_argv, interrupt_at
    from wkgt_sandbox import run_sandbox

    with run_sandbox() as sb:
        sb.faults.add(r"/annotations/upload$", latency=30.0, after=True, times=1)
        argv = create_boxes_argv(sb, "l4_sample", "--no-tissue-check")
        returncode, err = interrupt_at(sb, argv, "/annotations/upload")
        assert returncode == 130
        assert err.strip().splitlines() == [
            "wkgt: error: interrupted during the upload: the server may have created the annotation; rerun the same "
            "command, it reports the annotation as exists or creates it"
        ]
        assert sb.token not in err
        (made,) = sb.state.annotations
        code, rerun, _ = run_json(capsys, [*argv, "--json"])
        assert (code, rerun["status"], rerun["annotation"]["id"]) == (0, "exists", made)


@pytest.mark.parametrize("held", ["upload", "read"])
def test_sigterm_says_terminated_and_what_may_exist_exit_143(held):
    """SIGTERM (a scheduler's kill, systemd) without cluster jobs: one line as for Ctrl-C, exit 143."""
    from tests.helpers import create_boxes_argv, interrupt_at
    from wkgt_sandbox import run_sandbox

    with run_sandbox() as sb:
        path = "/annotations/upload" if held == "upload" else "/toId"  # the upload (done) or a read
        sb.faults.add(f"{path}$", latency=30.0, after=True, times=1)  # answer held
        argv = create_boxes_argv(sb, "l4_sample", "--no-tissue-check")
        code, err = interrupt_at(sb, argv, path, signal_name="SIGTERM")
        assert code == 143
        expected = (
            "wkgt: error: terminated (SIGTERM) during the upload: the server may have created the annotation; rerun the same "
            "command, it reports the annotation as exists or creates it"
            if held == "upload" else "wkgt: error: terminated (SIGTERM)"
        )  # fmt: skip
        assert err.strip().splitlines() == [expected]
