"""Finding the dataset: a lookup that finds nothing says whether the token is the cause (one
``GET /user``), and a bare name means the server's dataset even where a folder of that name exists."""

from __future__ import annotations

import json

from tests.helpers import reset_module_sandbox as sandbox  # noqa: F401 (the module's sandbox, reset per test)
from wkgt_sandbox import Sandbox

from .helpers import run_json

L4_ID = "66e1c3a2b7f0d94e1a2b1001"


def dry_run(sandbox: Sandbox, dataset: str, *token: str) -> list[str]:
    return ["create-boxes", "--dataset", dataset, "--dry-run", "--no-tissue-check", "--webknossos-url", sandbox.url, *token]


def test_a_refused_token_is_named_as_the_cause(sandbox, capsys):
    """aniso_4x4x35 is private: with a wrong token the listing shows only public datasets."""
    code, _, err = run_json(capsys, dry_run(sandbox, "aniso_4x4x35", "--token", "wrong-Qx7Zp9"))
    assert code == 3  # a lookup is "not found" (exit 3), never 4; the message names the cause
    assert "no dataset named 'aniso_4x4x35'" in err and "refused the token" in err and "wrong-Qx7Zp9" not in err
    assert [e.path for e in sandbox.state.request_log][-1].endswith("/user")


def test_a_missing_token_is_named_as_the_cause(sandbox, capsys):
    code, _, err = run_json(capsys, dry_run(sandbox, "aniso_4x4x35"))
    assert code == 3 and "no token was given" in err and "WK_TOKEN" in err
    assert not [e for e in sandbox.state.request_log if e.path.endswith("/user")]


def test_a_valid_token_leaves_not_found(sandbox, capsys):
    code, _, err = run_json(capsys, dry_run(sandbox, "no_such_dataset", "--token", sandbox.token))
    assert code == 3
    assert "no dataset named 'no_such_dataset'" in err and "the token is valid" in err and "sandbox_lab" in err
    code, _, err = run_json(capsys, dry_run(sandbox, "66e1c3a2b7f0d94e1a2b9999", "--token", sandbox.token))
    assert code == 3 and "the token is valid" in err
    code, _, err = run_json(capsys, dry_run(sandbox, "66e1c3a2b7f0d94e1a2b9999", "--token", "wrong-Qx7Zp9"))
    assert code == 3 and "refused the token" in err


def local_folder(tmp_path, name: str) -> None:
    (tmp_path / name).mkdir()
    (tmp_path / name / "datasource-properties.json").write_text(json.dumps({"dataLayers": [], "scale": [1, 1, 1]}))


def test_a_bare_name_is_the_servers_dataset_even_beside_a_folder_of_that_name(sandbox, capsys, tmp_path):
    local_folder(tmp_path, "l4_sample")  # the test runs in tmp_path
    code, data, err = run_json(capsys, [*dry_run(sandbox, "l4_sample", "--token", sandbox.token), "--json"])
    assert code == 0, err
    assert data["dataset"]["id"] == L4_ID
    assert "local dataset folder l4_sample" in err and "./l4_sample" in err
    local_folder(tmp_path, "only_here")
    code, _, err = run_json(capsys, dry_run(sandbox, "only_here", "--token", sandbox.token))
    assert code == 3 and "pass ./only_here to use it" in err
    code, _, err = run_json(capsys, dry_run(sandbox, "./only_here"))
    assert code == 2 and "cannot open dataset" in err  # the folder, as asked (its properties are a stub)
