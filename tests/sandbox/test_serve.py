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
