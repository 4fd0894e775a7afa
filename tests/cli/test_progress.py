"""Progress on stderr: shown on a terminal (a pseudo-terminal here), never on stdout, absent when
stderr is piped, with ``--json`` and with ``--quiet``; the job reports every step and the bytes it reads."""

from __future__ import annotations

import os
import pty
import re
import sys
import threading
from collections.abc import Iterator

import pytest

from wkgt import CreateBoxesJob, PlanOptions, WriteOptions, create_boxes
from wkgt.cli import run
from wkgt.client import Connection
from wkgt_sandbox import Sandbox, run_sandbox

from ..helpers import create_boxes_argv

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")
STEPS = ("reading dataset", "reading mag 8-8-2 of color for the tissue check", "scoring tissue and placing boxes")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox() as sb:
        yield sb


def run_with_terminal_stderr(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    """Run the CLI in-process with stderr on a pseudo-terminal; what the terminal showed, escapes removed."""
    controller, terminal = pty.openpty()
    shown: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal side closed
                return
            if not chunk:
                return
            shown.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    stream = os.fdopen(terminal, "w", encoding="utf-8", buffering=1)
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setenv("TERM", "xterm-256color")
    try:
        code = run(argv)
    finally:
        stream.flush()
        stream.close()
        reader.join(10)
        os.close(controller)
    return code, ANSI.sub("", b"".join(shown).decode("utf-8", "replace"))


def test_progress_appears_on_a_terminal_and_never_on_stdout(sandbox, monkeypatch, capsys):
    code, terminal = run_with_terminal_stderr(create_boxes_argv(sandbox, "l4_sample", "--dry-run", "--count", "5"), monkeypatch)
    assert code == 0
    for step in STEPS:
        assert step in terminal, terminal
    assert "✓" in terminal  # finished steps
    assert re.search(r"\d[\d.]* [kM]B of", terminal), terminal  # the bytes of the mag the tissue check reads
    out = capsys.readouterr().out
    assert "GT 05" in out and not any(step in out for step in STEPS)


@pytest.mark.parametrize("flag", ["--json", "--quiet"])
def test_no_progress_with_json_or_quiet(sandbox, monkeypatch, capsys, flag):
    code, terminal = run_with_terminal_stderr(create_boxes_argv(sandbox, "l4_sample", "--dry-run", "--count", "5", flag), monkeypatch)
    assert code == 0
    assert not any(step in terminal for step in STEPS), terminal


def test_no_progress_when_stderr_is_piped(sandbox, capsys):
    assert run(create_boxes_argv(sandbox, "l4_sample", "--dry-run", "--count", "5")) == 0
    captured = capsys.readouterr()
    assert not any(step in captured.err + captured.out for step in STEPS)


def test_an_error_leaves_only_the_steps_that_finished(sandbox, monkeypatch, capsys):
    code, terminal = run_with_terminal_stderr(create_boxes_argv(sandbox, "no_such_dataset", "--dry-run"), monkeypatch)
    assert code == 3
    assert terminal.strip().splitlines()[-1].startswith("wkgt: error: no dataset 'no_such_dataset'")


class Recorder:
    """A progress that remembers what the job told it."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, int | None]] = []
        self.bytes: dict[str, int] = {}

    def step(self, name: str, total: int | None = None) -> None:
        self.steps.append((name, total))
        self.bytes.setdefault(name, 0)

    def advance(self, amount: int) -> None:
        self.bytes[self.steps[-1][0]] += amount


def test_the_job_reports_each_step_and_every_byte_it_reads(sandbox, tmp_path):
    recorder = Recorder()
    job = CreateBoxesJob(plan=PlanOptions(count=4), write=WriteOptions(preview=tmp_path / "p.png"))
    result = create_boxes("l4_sample", job, connection=Connection(sandbox.url, sandbox.token), progress=recorder)
    names = [name for name, _ in recorder.steps]
    assert names[0].startswith("reading dataset 'l4_sample' on http://127.0.0.1:")
    read = "reading mag 8-8-2 of color for the tissue check"
    assert names[1:4] == ["looking for an earlier run of this job", read, "scoring tissue and placing boxes"]
    assert names[4].startswith("reading one slice of each of 4 boxes at mag 1")
    assert names[-1].startswith("uploading the annotation")
    assert result.plan.tissue is not None
    tissue = result.plan.tissue
    assert dict(recorder.steps)[read] == tissue.coarse_bytes == recorder.bytes[read] == tissue.decoded_bytes
    assert recorder.bytes[names[4]] == 4 * 89 * 89  # one uint8 slice of 89 × 89 per box


def test_a_counting_reader_travels_to_other_processes_without_its_display():
    """Cluster jobs pickle the reader: the copy reads the same data and reports nothing."""
    import io
    import pickle

    import numpy as np
    from rich.console import Console

    from wkgt.cli.progress import TerminalProgress
    from wkgt.planner.tissue import array_reader
    from wkgt.writer.progress import CountingReader

    data = np.arange(64, dtype=np.uint16).reshape(4, 4, 4)
    display = TerminalProgress(Console(file=io.StringIO()))
    display.step("reading", total=data.nbytes)
    reader = CountingReader(array_reader(data), display, voxels=64, then="placing")
    copy = pickle.loads(pickle.dumps(reader))
    assert np.array_equal(copy((0, 0, 0), (4, 4, 4)), data) and copy.progress is None
    assert np.array_equal(reader((0, 0, 0), (4, 4, 4)), data)
    assert [t.description for t in display.display.tasks] == ["reading", "placing"]
    assert display.display.tasks[0].completed == data.nbytes
