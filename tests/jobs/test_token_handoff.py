"""Worker jobs get the token only from a private file that is removed on every way out; the
pickled jobs (cluster_tools' ``.cfut/*.pickle``) and the job environment hold no token."""

from __future__ import annotations

import os
import pickle
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from wkgt.client.imagery import RemoteReader
from wkgt.client.token import Token, check_token, token_handoff
from wkgt.jobs.distribute import Distribution, executor_for, handoff_folder

SECRET = "Zq8-handoff-secret-Wv3"


def reader() -> RemoteReader:
    return RemoteReader("http://127.0.0.1:9", check_token(SECRET, "test"), 16, 5.0, "0" * 24, "color", (16, 16, 4))


def worker_view(job: RemoteReader) -> tuple[bool, bool]:
    """What a worker process sees: the token, and whether WK_TOKEN is in its environment."""
    return job.token == SECRET, "WK_TOKEN" in os.environ


def test_pickled_job_holds_the_path_not_the_token(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with token_handoff(handoff_folder("slurm")) as folder:
        pickled = pickle.dumps((worker_view, (reader(),)), protocol=4)  # what cluster_tools writes to .cfut
        assert SECRET.encode() not in pickled
        assert folder.parent == tmp_path / ".cfut"
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        (token_file,) = folder.iterdir()
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        function, (job,) = pickle.loads(pickled)
        assert function(job) == (True, False)
    assert not folder.exists() and list((tmp_path / ".cfut").iterdir()) == []
    with pytest.raises(pickle.PicklingError):
        pickle.dumps(reader())  # outside a handoff a token is never pickled


def test_environment_token_is_hidden_from_jobs_while_they_run(monkeypatch):
    monkeypatch.setenv("WK_TOKEN", SECRET)
    monkeypatch.setenv("MY_COPY", SECRET)
    check_token(SECRET, "test")
    with token_handoff():
        assert "WK_TOKEN" not in os.environ and "MY_COPY" not in os.environ  # Kubernetes copies os.environ
    assert os.environ["WK_TOKEN"] == SECRET and os.environ["MY_COPY"] == SECRET


def test_token_file_is_removed_when_the_work_fails(tmp_path):
    with pytest.raises(RuntimeError), token_handoff(tmp_path) as folder:
        pickle.dumps(reader())
        assert any(folder.iterdir())
        raise RuntimeError("a job failed")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGHUP"])
def test_token_file_is_removed_when_the_run_is_killed(tmp_path, signal_name):
    code = (
        "import pickle, sys, time\n"
        "from pathlib import Path\n"
        "from wkgt.client.token import check_token, token_handoff\n"
        f"with token_handoff(Path({str(tmp_path)!r})) as folder:\n"
        f"    pickle.dumps(check_token({SECRET!r}, 'test'))\n"
        "    print(folder, flush=True)\n"
        "    time.sleep(60)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    folder = Path(process.stdout.readline().strip())
    assert folder.is_dir() and any(folder.iterdir())
    process.send_signal(getattr(signal, signal_name))
    process.wait(timeout=30)
    assert process.returncode != 0
    assert not folder.exists() and list(tmp_path.iterdir()) == []


def test_worker_processes_read_the_token_through_the_file(monkeypatch):
    """A real cluster_tools executor (a spawned process): the worker has the token, not WK_TOKEN."""
    monkeypatch.setenv("WK_TOKEN", SECRET)
    with executor_for(Distribution(jobs=2)) as executor:
        results = list(executor.map(worker_view, [reader()]))
    assert results == [(True, False)]
    assert os.environ["WK_TOKEN"] == SECRET


def test_a_token_is_masked_everywhere_it_could_be_shown():
    token = Token(SECRET)
    assert SECRET not in repr(token) and SECRET not in repr(reader())
    assert token == SECRET and f"X-Auth-Token: {token}".endswith(SECRET)  # still usable as a header value


def test_signal_handlers_are_restored(tmp_path):
    before = signal.getsignal(signal.SIGTERM)
    with token_handoff(tmp_path):
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before
