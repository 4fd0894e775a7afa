"""No token to another origin on a redirect: the user's sandbox redirects its datastore to the
other sandbox, whose request log must show no request carrying the user's token."""

from __future__ import annotations

from tests.helpers import run_json
from wkgt.client.imagery import forget_open_datasets

ARGS = ["create-boxes", "--dataset", "l4_sample", "--count", "5", "--dry-run", "--json"]


def test_datastore_redirect_to_another_origin_does_not_carry_the_token(sandbox, other, capsys):
    forget_open_datasets()
    sandbox.faults.add(r"^/data/", redirect_to=other.url)
    code, out, err = run_json(capsys, [*ARGS, "--webknossos-url", sandbox.url, "--token", sandbox.token])
    assert code == 5 and out is None, err
    assert len(err.strip().splitlines()) == 1 and sandbox.token not in err
    redirected = [e for e in sandbox.state.request_log if e.status == 307]
    assert redirected, "the datastore was asked and redirected"
    assert all(e.header("x-auth-token") != sandbox.token for e in other.state.request_log)
    assert other.state.request_log == []


def test_datastore_redirects_are_not_followed_by_the_image_reader(sandbox, capsys):
    """The tissue check reads zarr chunks with tensorstore, which follows no redirect, not even
    within the origin: one line that says so, exit 5, and never the spec (with its headers)."""
    forget_open_datasets()
    sandbox.faults.add(r"^/data/.*\.zarray", redirect_to=sandbox.url, times=1)
    code, out, err = run_json(capsys, [*ARGS, "--webknossos-url", sandbox.url, "--token", sandbox.token])
    assert code == 5 and out is None, err
    assert len(err.strip().splitlines()) == 1 and "redirect (HTTP 307)" in err
    assert sandbox.token not in err and "tensorstore_spec" not in err
    assert any(e.status == 307 for e in sandbox.state.request_log)


def test_a_datastore_refusing_the_token_is_an_authentication_error(sandbox, capsys):
    forget_open_datasets()
    sandbox.faults.add(r"^/data/.*\.zarray", status=403, times=1)
    code, out, err = run_json(capsys, [*ARGS, "--webknossos-url", sandbox.url, "--token", sandbox.token])
    assert code == 4 and out is None, err
    assert len(err.strip().splitlines()) == 1 and "HTTP 403" in err and sandbox.token not in err


def test_web_api_redirects_are_not_followed(sandbox, other, capsys):
    """The SDK's API client (httpx) never follows a redirect: one line, exit 5, nothing to the other server."""
    sandbox.faults.add(r"^/api/v\d+/datasets", redirect_to=other.url)
    code, _, err = run_json(capsys, [*ARGS, "--no-tissue-check", "--webknossos-url", sandbox.url, "--token", sandbox.token])
    assert code == 5
    assert len(err.strip().splitlines()) == 1 and "redirect" in err
    assert other.state.request_log == []
