"""Bad input and server faults: one clear stderr line, a documented exit code, nothing half-written."""

from __future__ import annotations

import http.server
import socket
import threading
import time

import pytest

from wkgt import PlanOptions, create_boxes
from wkgt.client import RetryPolicy
from wkgt.errors import ServerError, WriteError

from .helpers import cli, run_json, writes

FAST_RETRY = RetryPolicy(attempts=3, first_delay_s=0.01)


def assert_one_line(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize(
    "args, code, needles",
    [
        (["--dataset", "no_such_dataset"], 3, ["no dataset named 'no_such_dataset'"]),
        (["--dataset", "66e1c3a2b7f0d94e1a2b9999"], 3, ["no dataset with id 66e1c3a2b7f0d94e1a2b9999"]),
        (["--dataset", "shared_name"], 3, ["ambiguous", "--organization"]),
        (["--dataset", "http://example.invalid/datasets"], 2, ["not a WEBKNOSSOS dataset URL"]),
        (["--dataset", "ftp://host/datasets/x-66e1c3a2b7f0d94e1a2b1001/view"], 2, ["not a WEBKNOSSOS dataset URL"]),
        (["--dataset", "l4_sample", "--layer", "nope"], 3, ["no layer 'nope'", "color (color)"]),
        (["--dataset", "segmentation_only"], 3, ["no color layer"]),
        (["--dataset", "l4_sample", "--mag", "32-32-8"], 2, ["not available", "16-16-4"]),
        (["--dataset", "l4_sample", "--count", "100000"], 2, ["at most"]),
        (["--dataset", "l4_sample", "--output", "x.zip"], 2, ["--output is for local datasets"]),
        (["--dataset", "aniso_4x4x35", "--fallback-segmentation", "--dry-run"], 3, ["no segmentation layer"]),
    ],
)
def test_bad_input(sandbox, capsys, args, code, needles):
    exit_code, out, err = run_json(capsys, cli(sandbox, *args, "--json"))
    assert exit_code == code
    assert out is None
    assert_one_line(err, *needles)
    assert writes(sandbox) == []


def test_ambiguous_name_resolved_by_organization(sandbox, capsys):
    code, data, err = run_json(capsys, cli(sandbox, "--dataset", "shared_name", "--organization", "partner_lab", "--count", "2", "--dry-run", "--json"))
    assert code == 0, err
    assert data["dataset"]["organization"] == "partner_lab"


def test_missing_token_for_a_write_fails_before_any_request(sandbox, capsys):
    code, _, err = run_json(capsys, cli(sandbox, "--dataset", "l4_sample", token=False))
    assert code == 4
    assert_one_line(err, "no token", "WK_TOKEN")
    assert sandbox.state.request_log == []


def test_wrong_token(sandbox, capsys):
    code, _, err = run_json(capsys, ["create-boxes", "--dataset", "l4_sample", "--webknossos-url", sandbox.url, "--token", "not-the-token"])
    assert code == 4
    assert_one_line(err, "refused access")
    assert "not-the-token" not in err
    assert writes(sandbox) == []


def test_unreachable_server(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, _, err = run_json(capsys, ["create-boxes", "--dataset", "l4_sample", "--dry-run", "--webknossos-url", f"http://127.0.0.1:{port}"])
    assert code == 5
    assert_one_line(err, "cannot reach")


def test_a_web_server_that_is_not_webknossos(tmp_path, capsys):
    (tmp_path / "index.html").write_text("<html>not webknossos</html>")

    class QuietFiles(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), QuietFiles)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        code, _, err = run_json(capsys, ["create-boxes", "--dataset", "l4_sample", "--dry-run", "--webknossos-url", url])
    finally:
        server.shutdown()
    assert code == 5
    assert_one_line(err, "not a WEBKNOSSOS server")


def test_server_too_old_for_the_sdk(capsys):
    from wkgt_sandbox import run_sandbox

    with run_sandbox(api_version=12) as old:
        code, _, err = run_json(capsys, cli(old, "--dataset", "l4_sample", "--dry-run"))
    assert code == 5
    assert_one_line(err, "v12", "v13–v16")


def test_5xx_on_reads_is_retried(sandbox):
    sandbox.faults.add(r"/datasets/", method="GET", status=503, times=2)
    result = create_boxes("l4_sample", PlanOptions(count=5), webknossos_url=sandbox.url, token=sandbox.token, dry_run=True, retry=FAST_RETRY)
    assert result.status == "dry-run"
    statuses = [e.status for e in sandbox.state.request_log if "/datasets" in e.path]
    assert statuses.count(503) == 2 and statuses[-1] == 200


def test_persistent_5xx_gives_up_with_a_clear_error(sandbox, capsys):
    sandbox.faults.add(r"/datasets", method="GET", status=502)
    with pytest.raises(ServerError, match=r"HTTP 502.*tried 3 times"):
        create_boxes("l4_sample", PlanOptions(count=5), webknossos_url=sandbox.url, token=sandbox.token, dry_run=True, retry=FAST_RETRY)


def test_read_timeouts_are_retried_then_reported(sandbox):
    sandbox.faults.add(r"/datasets/", method="GET", latency=3.0, times=1)
    result = create_boxes("l4_sample", PlanOptions(count=5), webknossos_url=sandbox.url, token=sandbox.token, dry_run=True, timeout_s=1.0, retry=FAST_RETRY)
    assert result.status == "dry-run"
    sandbox.faults.add(r"/datasets/", method="GET", latency=3.0)
    with pytest.raises(ServerError, match="did not answer within"):
        create_boxes("l4_sample", PlanOptions(count=5), webknossos_url=sandbox.url, token=sandbox.token, dry_run=True, timeout_s=1.0, retry=FAST_RETRY)


def test_failed_upload_is_not_retried_and_leaves_nothing(sandbox, capsys):
    sandbox.faults.add(r"/annotations/upload$", method="POST", status=500)
    code, _, err = run_json(capsys, cli(sandbox, "--dataset", "l4_sample", "--count", "5"))
    assert code == 6
    assert_one_line(err, "upload failed", "rerun is safe")
    assert len([e for e in writes(sandbox)]) == 1
    assert sandbox.state.annotations == {}


def test_dropped_upload_connection_is_checked_not_reposted(sandbox):
    sandbox.faults.add(r"/annotations/upload$", method="POST", drop=True)
    with pytest.raises(WriteError, match="no answer.*rerun the same command later"):
        create_boxes("l4_sample", PlanOptions(count=5), webknossos_url=sandbox.url, token=sandbox.token, retry=FAST_RETRY)
    assert len(writes(sandbox)) == 1
    assert any("/annotations/readable" in e.path for e in sandbox.state.request_log)
    assert sandbox.state.annotations == {}



def test_upload_whose_answer_is_late_is_recovered_not_reposted(sandbox):
    """The server created the annotation but the answer came too late: wkgt finds it by run key."""
    sandbox.faults.add(r"/annotations/upload$", method="POST", latency=3.0, after=True, times=1)
    result = create_boxes(
        "l4_sample", PlanOptions(count=5), webknossos_url=sandbox.url, token=sandbox.token, timeout_s=1.0, retry=FAST_RETRY
    )
    assert result.status == "created"
    assert result.annotation is not None and list(sandbox.state.annotations) == [result.annotation.id]
    time.sleep(3.0)  # let the held answer go out, so the log is complete
    assert len(writes(sandbox)) == 1
    assert any("/annotations/readable" in e.path for e in sandbox.state.request_log)


def test_token_of_the_configured_server_is_not_sent_to_a_pasted_urls_server(sandbox, capsys, monkeypatch):
    monkeypatch.setenv("WK_URL", "http://127.0.0.1:9")  # the user's usual server
    monkeypatch.setenv("WK_TOKEN", "token-for-the-usual-server")
    url = f"{sandbox.url}/datasets/l4_sample-66e1c3a2b7f0d94e1a2b1001/view"
    code, _, err = run_json(capsys, ["create-boxes", "--dataset", url, "--dry-run"])
    assert code == 4
    assert_one_line(err, "does not send it to another server")
    assert "token-for-the-usual-server" not in err
    assert sandbox.state.request_log == []
    code, data, err = run_json(capsys, ["create-boxes", "--dataset", url, "--dry-run", "--token", sandbox.token, "--json"])
    assert code == 0, err
    assert data["dataset"]["server"] == sandbox.url


def test_url_and_contradicting_server_option(sandbox, capsys):
    url = f"{sandbox.url}/datasets/l4_sample-66e1c3a2b7f0d94e1a2b1001/view"
    code, _, err = run_json(capsys, ["create-boxes", "--dataset", url, "--webknossos-url", "http://127.0.0.1:9", "--dry-run"])
    assert code == 2
    assert_one_line(err, "but the server given is")


def test_a_failing_datastore_during_the_tissue_check_is_one_clear_line(sandbox, capsys):
    from wkgt.client.imagery import forget_open_datasets

    forget_open_datasets()
    sandbox.faults.add(r"/data/.*/\.zarray$", status=500)
    code, _, err = run_json(capsys, cli(sandbox, "--dataset", "l4_sample", "--dry-run"))
    assert code == 5
    assert_one_line(err, "did not serve mag 8-8-2", "--no-tissue-check")
