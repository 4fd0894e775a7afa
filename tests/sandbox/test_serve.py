"""`serve()`: the foreground server behind `wkgt sandbox`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx


def test_serve_prints_url_and_token_and_stops_on_ctrl_c() -> None:
    code = "from wkgt_sandbox import serve; serve(port=0, token='tok-123')"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        url_line, token_line = proc.stdout.readline().strip(), proc.stdout.readline().strip()
        assert url_line.startswith("WK_URL=http://127.0.0.1:") and token_line == "WK_TOKEN=tok-123"
        url = url_line.removeprefix("WK_URL=")
        for _ in range(200):
            try:
                response = httpx.get(f"{url}/api/v16/user", headers={"X-Auth-Token": "tok-123"})
                break
            except httpx.ConnectError:
                continue
        assert response.status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0


def test_serve_prints_every_dataset() -> None:
    code = "from wkgt_sandbox import serve; serve(port=0)"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        assert proc.stdout is not None
        lines = []
        while not lines or not lines[-1].startswith("# datasets"):
            lines.append(proc.stdout.readline().strip())
        rows = [proc.stdout.readline().strip() for _ in range(7)]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    assert any(row.startswith("#   sandbox_lab/l4_sample") and "66e1c3a2b7f0d94e1a2b1001" in row and "11.24×11.24×28" in row for row in rows)
    assert any(row.startswith("#   sandbox_lab/partial_tissue") for row in rows)
    assert any(row.startswith("#   partner_lab/shared_name") and row.endswith("public") for row in rows)


def test_recordings_add_to_the_built_in_datasets(recordings) -> None:
    """`wkgt sandbox --recordings` serves the recorded world and the built-in datasets, moved into the
    recorded user's organization (the recorded l4_sample wins over the built-in one)."""
    from wkgt_sandbox import build_world

    recorded = build_world(recordings=recordings)
    world = build_world(recordings=recordings, builtin=True)
    home = world.users[world.current_user_id]["organization"]
    added = {d.name for d in world.datasets.values()} - {d.name for d in recorded.datasets.values()}
    assert added == {"aniso_4x4x35", "iso_8nm", "partial_tissue", "shared_name", "segmentation_only"}
    assert all(d.organization == home for d in world.datasets.values())
    l4 = [d for d in world.datasets.values() if d.name == "l4_sample"]
    assert [d.id for d in l4] == [d.id for d in recorded.datasets.values() if d.name == "l4_sample"]
    assert set(recorded.datasets) <= set(world.datasets)
