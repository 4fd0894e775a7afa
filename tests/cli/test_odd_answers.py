"""Answers a client does not expect: a server (or a proxy in front of it: a login or maintenance
page) that answers HTML where WEBKNOSSOS answers JSON, a zip or voxels (one line, exit 5, never a
traceback or exit 70), and a datastore that refuses the token midway through a read (exit 4).
The token appears nowhere."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers import create_boxes_argv, run_json
from wkgt_sandbox import Sandbox, run_sandbox

PAGE = "<html><body><h1>Please log in</h1></body></html>"
ANNOTATION = "{annotation}"


@pytest.fixture(scope="module")
def module_sandbox() -> Iterator[Sandbox]:
    with run_sandbox() as sb:
        yield sb


@pytest.fixture
def sandbox(module_sandbox: Sandbox, capsys) -> Sandbox:
    module_sandbox.reset()
    return module_sandbox


def server(sandbox: Sandbox) -> list[str]:
    return ["--webknossos-url", sandbox.url, "--token", sandbox.token]


CASES = {
    "check: annotation info": (["check", "--annotation", ANNOTATION], r"/annotations/[0-9a-f]+/info"),
    "check: tracing store": (["check", "--annotation", ANNOTATION], r"/tracings/volume/zarr/.*/zarrSource$"),
    "check: annotation download": (["check", "--annotation", ANNOTATION], r"/annotations/[0-9a-f]+/download"),
    "history: annotation download": (["history", "--dataset", "l4_sample"], r"/annotations/[0-9a-f]+/download"),
    "rerun: annotation download": (["create-boxes", "--dataset", "l4_sample", "--no-tissue-check"], r"/annotations/[0-9a-f]+/download"),
    "evaluate: annotation download": (["evaluate", "--annotation", ANNOTATION, "--segmentation", "segmentation"], r"/annotations/[0-9a-f]+/download"),
    "tissue read: zarr metadata": (["create-boxes", "--dataset", "partial_tissue", "--dry-run"], r"\.zarray$"),
    "tissue read: chunk": (["create-boxes", "--dataset", "partial_tissue", "--dry-run"], r"/data/.*/\d+(\.\d+)+$"),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_an_html_page_instead_of_an_answer_is_one_line_and_exit_5(sandbox, capsys, case):
    argv, path = case
    code, created, err = run_json(capsys, [*create_boxes_argv(sandbox, "l4_sample", "--no-tissue-check"), "--json"])
    assert code == 0, err
    annotation = created["annotation"]["id"]
    sandbox.faults.add(path, html=PAGE)
    code, out, err = run_json(capsys, [*(a.replace(ANNOTATION, annotation) for a in argv), *server(sandbox)])
    lines = err.strip().splitlines()
    assert (code, len(lines)) == (5, 1), err
    assert lines[0].startswith("wkgt: error: ") and "unexpected" not in lines[0], lines[0]
    assert sandbox.token not in err and "Traceback" not in err


@pytest.mark.parametrize("status", [401, 403])
@pytest.mark.parametrize(
    "argv",
    [["--dataset", "partial_tissue", "--dry-run"], ["--dataset", "l4_sample", "--strategy", "diverse", "--no-tissue-check", "--dry-run"]],
    ids=["tissue check", "strategy"],
)
def test_a_datastore_refusing_chunks_is_exit_4_in_one_line_without_its_body(sandbox, capsys, status, argv):
    sandbox.faults.add(r"/data/.*/\d+(\.\d+)+$", status=status)
    code, _, err = run_json(capsys, ["create-boxes", *argv, *server(sandbox)])
    lines = err.strip().splitlines()
    assert (code, len(lines)) == (4, 1), err
    assert f"the datastore refused access (HTTP {status})" in lines[0], lines[0]
    assert "http_response_body" not in err and "Sandbox fault injection" not in err and sandbox.token not in err
