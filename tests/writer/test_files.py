"""Files are written whole or not at all: a failed write keeps the previous file and leaves no
partial one behind."""

from __future__ import annotations

import errno
import json
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from wkgt.writer.files import save_annotation, write_atomically

PLAN = ["plan", "--voxel-size", "11.24,11.24,30", "--mags", "1,2-2-1,4-4-1", "--bbox", "0,0,0,4096,4096,1024"]


def small_files() -> None:
    """In the child: files may not grow beyond 2,000 bytes (a full disk); writes fail with EFBIG."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2_000, 2_000))


def test_plan_save_on_a_full_disk_keeps_the_previous_plan(tmp_path):
    target = tmp_path / "plan.json"
    target.write_text('{"previous": "good plan"}\n')
    done = subprocess.run(
        [sys.executable, "-m", "wkgt", *PLAN, "--save", str(target), "--json"],
        cwd=tmp_path, capture_output=True, text=True, preexec_fn=small_files,
    )
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "File too large" in line and str(target) in line
    assert json.loads(target.read_text()) == {"previous": "good plan"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]


def test_plan_save_replaces_the_previous_plan_when_it_succeeds(tmp_path, capsys):
    from wkgt.cli import run

    target = tmp_path / "plan.json"
    target.write_text("old")
    target.chmod(0o640)
    assert run([*PLAN, "--save", str(target)]) == 0
    assert json.loads(target.read_text())["count"] == 19
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]


class HalfWritingAnnotation:
    """An annotation whose ``save`` writes part of the zip, then hits a full disk."""

    def save(self, path: Path) -> None:
        Path(path).write_bytes(b"PK\x03\x04 partial")
        raise OSError(errno.ENOSPC, "No space left on device")


def test_annotation_output_on_a_full_disk_keeps_the_previous_zip(tmp_path):
    target = tmp_path / "boxes.zip"
    target.write_bytes(b"previous good zip")
    with pytest.raises(OSError) as raised:
        save_annotation(HalfWritingAnnotation(), target)
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(target)
    assert target.read_bytes() == b"previous good zip"
    assert [p.name for p in tmp_path.iterdir()] == ["boxes.zip"]


def test_interrupted_write_leaves_nothing(tmp_path):
    def interrupted(path: Path) -> None:
        path.write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomically(tmp_path / "new.json", interrupted)
    assert list(tmp_path.iterdir()) == []
