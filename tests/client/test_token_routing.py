"""A token travels only with the URL it was configured with: each case runs the CLI against two
sandboxes (``sandbox``: the user's server, ``other``: another server) and reads their request
logs to see which host received which ``X-Auth-Token``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import run_json

DATASET_ID = "66e1c3a2b7f0d94e1a2b1001"  # l4_sample in the built-in catalog
DRY_RUN = ["--count", "5", "--no-tissue-check", "--dry-run", "--json"]


def tokens_received(server) -> set[str]:
    """The X-Auth-Token values a sandbox received (requests without one, e.g. /api/buildinfo, add nothing)."""
    return {t for entry in server.state.request_log if (t := entry.header("x-auth-token")) is not None}


def viewer_url(server, credentials: str = "") -> str:
    scheme, rest = server.url.split("://")
    return f"{scheme}://{credentials}{rest}/datasets/l4_sample-{DATASET_ID}/view"


def assert_one_line(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], lines[0]


def create(capsys, *args: str):
    return run_json(capsys, ["create-boxes", "--dataset", "l4_sample", *args, *DRY_RUN])


def test_environment_pair_reaches_its_server(sandbox, other, capsys, monkeypatch):
    monkeypatch.setenv("WK_URL", sandbox.url)
    monkeypatch.setenv("WK_TOKEN", sandbox.token)
    code, data, err = create(capsys)
    assert code == 0, err
    assert tokens_received(sandbox) == {sandbox.token}
    assert other.state.request_log == []


def test_environment_token_is_not_sent_to_the_server_of_a_dotenv(sandbox, other, capsys, monkeypatch, tmp_path):
    """WK_TOKEN in the environment, a .env naming another server: the token stays home."""
    monkeypatch.setenv("WK_TOKEN", sandbox.token)
    (tmp_path / ".env").write_text(f"WK_URL={other.url}\n")
    code, _, err = create(capsys)
    assert code == 4
    assert_one_line(err, "WK_TOKEN", "without WK_URL")
    assert sandbox.token not in err
    assert other.state.request_log == [] and sandbox.state.request_log == []


def test_dotenv_pair_wins_over_a_lone_environment_token(sandbox, other, capsys, monkeypatch, tmp_path):
    """The .env's own token goes to the .env's server; the environment's token goes nowhere."""
    monkeypatch.setenv("WK_TOKEN", sandbox.token)
    (tmp_path / ".env").write_text(f"WK_URL={other.url}\nWK_TOKEN={other.token}\n")
    code, data, err = create(capsys)
    assert code == 0, err
    assert data["dataset"]["server"] == other.url
    assert tokens_received(other) == {other.token}
    assert sandbox.state.request_log == []


def test_dotenv_in_a_parent_directory_is_never_read(sandbox, other, capsys, monkeypatch, tmp_path):
    (tmp_path / ".env").write_text(f"WK_URL={other.url}\n")  # planted one level up
    child = tmp_path / "project"
    child.mkdir()
    monkeypatch.chdir(child)
    monkeypatch.setenv("WK_URL", sandbox.url)
    monkeypatch.setenv("WK_TOKEN", sandbox.token)
    code, data, err = create(capsys)
    assert code == 0, err
    assert data["dataset"]["server"] == sandbox.url
    assert tokens_received(sandbox) == {sandbox.token}
    assert other.state.request_log == []
    monkeypatch.delenv("WK_URL")  # now only the parent's .env names a server: still not read
    code, _, err = create(capsys)
    assert code == 4 and "without WK_URL" in err
    assert other.state.request_log == []


def test_lone_environment_token_is_not_sent_to_webknossos_org(capsys, monkeypatch):
    monkeypatch.setenv("WK_TOKEN", "my-real-token-1234")
    code, out, err = create(capsys)
    assert code == 4 and out is None
    assert_one_line(err, "without WK_URL", "https://webknossos.org")
    assert "my-real-token-1234" not in err


def test_option_url_with_the_environment_pair_of_the_same_server(sandbox, capsys, monkeypatch):
    monkeypatch.setenv("WK_URL", sandbox.url + "/")  # spelled differently, same server
    monkeypatch.setenv("WK_TOKEN", sandbox.token)
    code, _, err = create(capsys, "--webknossos-url", sandbox.url.upper().replace("HTTP://", "http://"))
    assert code == 0, err
    assert tokens_received(sandbox) == {sandbox.token}


def test_option_url_of_another_server_does_not_get_the_environment_token(sandbox, other, capsys, monkeypatch):
    monkeypatch.setenv("WK_URL", sandbox.url)
    monkeypatch.setenv("WK_TOKEN", sandbox.token)
    code, _, err = create(capsys, "--webknossos-url", other.url)
    assert code == 4
    assert_one_line(err, f"your token is for {sandbox.url}", "--token")
    assert sandbox.token not in err
    assert other.state.request_log == [] and sandbox.state.request_log == []


def test_flag_pair_beats_the_environment_pair(sandbox, other, capsys, monkeypatch):
    monkeypatch.setenv("WK_URL", sandbox.url)
    monkeypatch.setenv("WK_TOKEN", sandbox.token)
    code, data, err = create(capsys, "--webknossos-url", other.url, "--token", other.token)
    assert code == 0, err
    assert tokens_received(other) == {other.token}
    assert sandbox.state.request_log == []


def test_token_option_needs_its_server_on_the_command_line(sandbox, capsys, monkeypatch):
    monkeypatch.setenv("WK_URL", sandbox.url)
    code, _, err = create(capsys, "--token", sandbox.token)
    assert code == 2
    assert_one_line(err, "--token goes with --webknossos-url")
    assert sandbox.token not in err and sandbox.state.request_log == []


def test_pasted_url_gets_only_the_token_given_with_it(sandbox, other, capsys, monkeypatch):
    monkeypatch.setenv("WK_URL", sandbox.url)
    monkeypatch.setenv("WK_TOKEN", sandbox.token)
    argv = ["create-boxes", "--dataset", viewer_url(other), *DRY_RUN]
    code, _, err = run_json(capsys, argv)
    assert code == 4 and "does not send it to another server" in err
    assert other.state.request_log == [] and sandbox.state.request_log == []
    code, data, err = run_json(capsys, [*argv, "--token", other.token])
    assert code == 0, err
    assert tokens_received(other) == {other.token}
    assert sandbox.state.request_log == []


@pytest.mark.parametrize("ending", ["\r", "\r\n", "\n", " "])
@pytest.mark.parametrize("where", ["--token", "WK_TOKEN", ".env"])
def test_token_with_a_line_ending_is_stripped(sandbox, capsys, monkeypatch, tmp_path, ending, where):
    """A token file with Windows line endings read with $(cat …) still works, and is never echoed."""
    raw = sandbox.token + ending
    extra: list[str] = ["--webknossos-url", sandbox.url]
    if where == "--token":
        extra += ["--token", raw]
    elif where == "WK_TOKEN":
        monkeypatch.setenv("WK_URL", sandbox.url)
        monkeypatch.setenv("WK_TOKEN", raw)
    else:
        (tmp_path / ".env").write_text(f'WK_URL={sandbox.url}\r\nWK_TOKEN="{raw}"\r\n')
    code, _, err = create(capsys, *extra)
    assert code == 0, err
    assert tokens_received(sandbox) == {sandbox.token}


@pytest.mark.parametrize("bad", ["Qx7\rZp9-Kw2", "Qx7\x00Zp9-Kw2", "Qx7ö-Zp9Kw2", "Qx7 Zp9-Kw2", "Qx7\tZp9-Kw2", "Qx7Zp9\x7fKw2"])
def test_token_with_inner_control_or_non_ascii_characters_is_refused_unseen(sandbox, capsys, bad):
    code, out, err = create(capsys, "--webknossos-url", sandbox.url, "--token", bad)
    assert code == 2 and out is None
    assert_one_line(err, "the token from --token contains", "token not shown")
    for part in (bad, bad[:3], bad[-5:]):
        assert part not in err
    assert sandbox.state.request_log == []


def test_url_credentials_are_dropped_and_never_shown(sandbox, capsys):
    url = viewer_url(sandbox, "alice:hunter2@")
    code, data, err = run_json(capsys, ["create-boxes", "--dataset", url, "--token", sandbox.token, *DRY_RUN])
    assert code == 0, err
    everything = json.dumps(data) + err
    assert "hunter2" not in everything and "alice" not in everything
    assert all(e.header("authorization") is None for e in sandbox.state.request_log)
    assert tokens_received(sandbox) == {sandbox.token}


def test_url_credentials_are_not_shown_in_errors(capsys):
    code, _, err = run_json(capsys, ["create-boxes", "--dataset", "http://alice:hunter2@[::1:/datasets/x-0/view", *DRY_RUN])
    assert code == 2 and "hunter2" not in err
    code, _, err = run_json(capsys, ["check", "--annotation", "https://alice:hunter2@host/annotations/nope"])
    assert code == 2 and "hunter2" not in err and "alice" not in err


def test_cli_token_never_in_a_generic_error(sandbox, capsys):
    """A refused token: the server's answer is shown, the token is not."""
    code, _, err = run_json(
        capsys, ["create-boxes", "--dataset", "l4_sample", "--webknossos-url", sandbox.url, "--token", "wrong-token-42"]
    )
    assert code == 4 and "wrong-token-42" not in err


def test_sdk_import_does_not_leave_a_parent_dotenv_in_the_environment(tmp_path):
    """The SDK's import runs load_dotenv(), which walks up the folders; wkgt removes what it added."""
    import subprocess
    import sys

    (tmp_path / ".env").write_text("WK_URL=http://127.0.0.1:9\nWK_TOKEN=planted-token\n")
    child = tmp_path / "child"
    child.mkdir()
    code = "import os; from wkgt.client.sdk import webknossos; webknossos(); print(os.environ.get('WK_TOKEN'), os.environ.get('WK_URL'))"
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("WK_URL", "WK_TOKEN")}
    out = subprocess.run([sys.executable, "-c", code], cwd=child, env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["None", "None"]


def test_python_api_token_needs_its_url(sandbox):
    from wkgt import PlanOptions, create_boxes
    from wkgt.errors import InvalidInput

    with pytest.raises(InvalidInput, match="--token goes with"):
        create_boxes("l4_sample", PlanOptions(count=5), token=sandbox.token, dry_run=True)
    assert sandbox.state.request_log == []


def test_dotenv_url_and_token_resolve_together(sandbox, capsys, tmp_path):
    (tmp_path / ".env").write_text(f"# the lab server\nexport WK_URL='{sandbox.url}/'\nWK_TOKEN={sandbox.token}\n")
    code, _, err = create(capsys)
    assert code == 0, err
    assert tokens_received(sandbox) == {sandbox.token}


def test_resolution_in_python(sandbox, monkeypatch, tmp_path):
    from wkgt.client import resolve_server

    monkeypatch.setenv("WK_URL", "HTTPS://WebKnossos.org:443/")
    monkeypatch.setenv("WK_TOKEN", "env-token-1")
    config = resolve_server()
    assert (config.url, config.token) == ("https://webknossos.org", "env-token-1")
    assert "env-token-1" not in repr(config) and "env-token-1" not in repr(config.token)
    assert resolve_server(sandbox.url, sandbox.token).token == sandbox.token
    Path(tmp_path / ".env").write_text(f"WK_URL={sandbox.url}\nWK_TOKEN=dotenv-token\n")
    assert resolve_server(sandbox.url).token == "dotenv-token"  # the .env pair names this server


def test_a_dotenv_that_is_not_a_file_stops_instead_of_falling_back_to_webknossos_org(capsys, monkeypatch, tmp_path):
    """A folder named .env would be skipped silently, and the run would go to webknossos.org."""
    monkeypatch.delenv("WK_URL", raising=False)
    monkeypatch.delenv("WK_TOKEN", raising=False)
    (tmp_path / ".env").mkdir()
    code, _, err = create(capsys)
    assert code == 2
    assert_one_line(err, ".env is not a file")
    assert "webknossos.org" not in err


def test_a_key_twice_in_dotenv_warns_with_its_lines_never_its_values(sandbox, other, capsys, tmp_path):
    """The last WK_TOKEN counts (as python-dotenv reads it); one warning names the key and lines."""
    (tmp_path / ".env").write_text(f"WK_URL={sandbox.url}\nWK_TOKEN=stale-Qx7Zp9\n# later\nWK_TOKEN={sandbox.token}\nOTHER=1\nOTHER=2\n")
    code, data, err = create(capsys)
    assert code == 0, err
    assert tokens_received(sandbox) == {sandbox.token}
    assert [line for line in err.splitlines() if ".env" in line] == [f"warning: WK_TOKEN is set twice in {tmp_path / '.env'} (lines 2, 4): the last one counts"]
    assert sandbox.token not in err and "Qx7" not in err
    (tmp_path / ".env").write_text(f"WK_URL={sandbox.url}\nWK_TOKEN={sandbox.token}\n")
    code, data, err = create(capsys)
    assert code == 0 and ".env" not in err and "twice" not in err, err
