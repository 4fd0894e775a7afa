"""Bad input, table-driven: each case exits with its documented code and one stderr line (no
traceback, nothing on stdout), and writes nothing to the sandbox; input errors stop before any
request. Placeholders: ``{url}``/``{token}`` are the sandbox's, ``{long}`` a 100,000-character text."""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest

from tests.helpers import reset_module_sandbox as sandbox  # noqa: F401 (the module's sandbox, reset per test)
from tests.helpers import run_json
from wkgt_sandbox import Sandbox

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
PLAN = ["plan", "--voxel-size", "11.24,11.24,30", "--mags", "1,2-2-1,4-4-1", "--bbox", "0,0,0,4096,4096,1024"]
SERVER = ["--webknossos-url", "{url}", "--token", "{token}"]
CREATE = ["create-boxes", "--dataset", "l4_sample", *SERVER, "--no-tissue-check"]
CHECK = ["check", *SERVER]
LONG = "n" * 100_000


class Case(NamedTuple):
    argv: list[str]
    code: int
    needle: str
    env: dict[str, str] = {}
    dotenv: bytes | None = None
    requests: bool = False
    """True when the error comes from the server's answer (then reads happen, writes never)."""


CASES: dict[str, Case] = {
    # -- plan: numbers out of range ----------------------------------------------------------
    "seed negative": Case([*PLAN, "--seed", "-1"], 2, "--seed must be from 0"),
    "seed 2^63": Case([*PLAN, "--seed", str(2**63)], 2, "--seed must be from 0"),
    "seed not a number": Case([*PLAN, "--seed", "1.5"], 2, "is not a valid integer"),
    "box edge inf": Case([*PLAN, "--box-edge-nm", "inf"], 2, "--box-edge-nm must be at most"),
    "box edge nan": Case([*PLAN, "--box-edge-nm", "nan"], 2, "--box-edge-nm must be positive"),
    "box edge 0": Case([*PLAN, "--box-edge-nm", "0"], 2, "--box-edge-nm must be positive"),
    "box edge negative": Case([*PLAN, "--box-edge-nm", "-5"], 2, "--box-edge-nm must be positive"),
    "box edge 1e300": Case([*PLAN, "--box-edge-nm", "1e300"], 2, "--box-edge-nm must be at most"),
    "object size inf": Case([*PLAN, "--model", "instances", "--object-size", "inf"], 2, "--object-size must be at most"),
    "object size nan": Case([*PLAN, "--model", "instances", "--object-size", "nan"], 2, "--object-size must be positive"),
    "min voxel size nan": Case([*PLAN, "--min-voxel-size", "nan"], 2, "--min-voxel-size must be positive"),
    "min voxel size -inf": Case([*PLAN, "--min-voxel-size", "-inf"], 2, "--min-voxel-size must be positive"),
    "voxel size 1e-300": Case(["plan", "--voxel-size", "1e-300,1,1", "--mags", "1", "--bbox", "0,0,0,100,100,100"], 2, "voxel size must be"),
    "voxel size 1e300": Case(["plan", "--voxel-size", "1e300,1,1", "--mags", "1", "--bbox", "0,0,0,100,100,100"], 2, "voxel size must be"),
    "voxel size nan": Case(["plan", "--voxel-size", "nan,1,1", "--mags", "1", "--bbox", "0,0,0,100,100,100"], 2, "positive and finite"),
    "voxel size inf": Case(["plan", "--voxel-size", "4,inf,1", "--mags", "1", "--bbox", "0,0,0,100,100,100"], 2, "positive and finite"),
    "voxel size two values": Case(["plan", "--voxel-size", "4,4", "--mags", "1", "--bbox", "0,0,0,100,100,100"], 2, "must be 3"),
    "voxel size words": Case(["plan", "--voxel-size", "a,b,c", "--mags", "1", "--bbox", "0,0,0,100,100,100"], 2, "must be 3"),
    "bbox 2^64": Case([*PLAN[:-1], f"0,0,0,{2**64},100,100"], 2, "out of range"),
    "bbox far negative": Case([*PLAN[:-1], "-99999999999,0,0,10,10,10"], 2, "out of range"),
    "bbox end beyond 32 bits": Case([*PLAN[:-1], f"{2**31 - 10},0,0,100,100,100"], 2, "out of range"),
    "bbox zero size": Case([*PLAN[:-1], "0,0,0,0,10,10"], 2, "size must be positive"),
    "bbox smaller than a box": Case([*PLAN[:-1], "64,32,0,10,10,10"], 2, "does not fit in the region 10×10×10 at 64,32,0"),
    "bbox fractional": Case([*PLAN[:-1], "0,0,0,1.5,10,10"], 2, "integers"),
    "roi 2^40": Case([*PLAN, "--roi", f"0,0,0,{2**40},1,1"], 2, "out of range"),
    "roi outside": Case([*PLAN, "--roi", "0,0,0,9000,10,10"], 2, "not inside"),
    "mag not a power of two": Case([*PLAN[:3], "--mags", "1,3-3-1", *PLAN[5:]], 2, "powers of two"),
    "mag 2^40": Case([*PLAN[:3], "--mags", f"1,{2**40}", *PLAN[5:]], 2, "out of range"),
    "mags empty": Case([*PLAN[:3], "--mags", ",", *PLAN[5:]], 2, "at least one mag"),
    "mag 0": Case([*PLAN, "--mag", "0"], 2, "powers of two"),
    "count 0": Case([*PLAN, "--count", "0"], 2, "at least 1"),
    "count negative": Case([*PLAN, "--count", "-3"], 2, "at least 1"),
    "count 100,000": Case([*PLAN, "--count", "100000"], 2, "at most 20,000 boxes"),
    "count 10^20": Case([*PLAN, "--count", str(10**20)], 2, "at most 20,000 boxes"),
    "count words": Case([*PLAN, "--count", "abc"], 2, "is not a valid integer"),
    "total voxels 0": Case([*PLAN, "--total-voxels", "0"], 2, "--total-voxels must be"),
    "total voxels asking for 10^12 boxes": Case([*PLAN, "--total-voxels", str(10**18)], 2, "at most 20,000 boxes"),
    "count and total voxels": Case([*PLAN, "--count", "5", "--total-voxels", "100"], 2, "not both"),
    "margin negative": Case([*PLAN, "--margin", "-1"], 2, "--margin must be from 0"),
    "margin 10^11": Case([*PLAN, "--margin", str(10**11)], 2, "--margin must be from 0"),
    "margin eats region": Case([*PLAN, "--margin", "5000"], 2, "leaves nothing"),
    "box size zeros": Case([*PLAN, "--box-size", "0,0,0"], 2, "must be positive"),
    "box size two values": Case([*PLAN, "--box-size", "10,10"], 2, "must be 3"),
    "box size 2^40": Case([*PLAN, "--box-size", f"{2**40},100,100"], 2, "--box-size must be positive 32-bit"),
    # -- plan: the command line itself ---------------------------------------------------------
    "unknown option": Case([*PLAN, "--foo"], 2, "No such option: --foo"),
    "missing option": Case(["plan", "--voxel-size", "1,1,1"], 2, "Missing option"),
    "bad choice": Case([*PLAN, "--model", "cells"], 2, "Invalid value for '--model'"),
    "unknown command": Case(["plans"], 2, "No such command"),
    "save into a missing folder": Case([*PLAN, "--save", "missing/plan.json"], 2, "No such file or directory"),
    "preview into a missing folder": Case([*PLAN, "--preview", "missing/plan.png"], 2, "No such file or directory"),
    "sandbox port 99999": Case(["sandbox", "--port", "99999"], 2, "not in the range"),
    "sandbox port in use": Case(["sandbox", "--port", "{port}"], 2, "is in use (choose another, or --port 0"),
    "sandbox catalog not JSON": Case(["sandbox", "--port", "0", "--catalog", ".env"], 2, "the catalog .env is not JSON", dotenv=b"not json"),
    "sandbox catalog missing": Case(["sandbox", "--port", "0", "--catalog", "missing.json"], 2, "missing.json"),
    # -- create-boxes: options -------------------------------------------------------------------
    "timeout inf": Case([*CREATE, "--dry-run", "--timeout", "inf"], 2, "--timeout must be"),
    "timeout nan": Case([*CREATE, "--dry-run", "--timeout", "nan"], 2, "--timeout must be"),
    "timeout 0": Case([*CREATE, "--dry-run", "--timeout", "0"], 2, "--timeout must be"),
    "timeout 1e300": Case([*CREATE, "--dry-run", "--timeout", "1e300"], 2, "--timeout must be"),
    "gap nan": Case([*CREATE, "--avoid-previous", "--gap-nm", "nan"], 2, "--gap-nm must be"),
    "gap inf": Case([*CREATE, "--avoid-previous", "--gap-nm", "inf"], 2, "--gap-nm must be"),
    "gap negative": Case([*CREATE, "--avoid-previous", "--gap-nm", "-1"], 2, "--gap-nm must be"),
    "name of 100,000 characters": Case([*CREATE, "--name", "{long}"], 2, "at most 200"),
    "name with a line break": Case([*CREATE, "--name", "round\n2"], 2, "control character"),
    "name empty": Case([*CREATE, "--name", " "], 2, "--name is empty"),
    "seed negative (server)": Case([*CREATE, "--seed", "-1"], 2, "--seed must be from 0"),
    "count 100,000 (server)": Case([*CREATE, "--count", "100000"], 2, "at most 20,000 boxes"),
    "mag 3-3-3 (server)": Case([*CREATE, "--mag", "3-3-3"], 2, "powers of two"),
    "jobs 0": Case(["create-boxes", "--dataset", "l4_sample", *SERVER, "--jobs", "0"], 2, "--jobs must be"),
    "jobs 10^6": Case(["create-boxes", "--dataset", "l4_sample", *SERVER, "--jobs", "1000000"], 2, "--jobs must be"),
    "strategy unknown": Case(["create-boxes", "--dataset", "l4_sample", *SERVER, "--distribution-strategy", "grid"], 2, "must be one of"),
    "min tissue nan": Case(["create-boxes", "--dataset", "l4_sample", *SERVER, "--min-tissue", "nan"], 2, "--min-tissue"),
    "min tissue 2": Case(["create-boxes", "--dataset", "l4_sample", *SERVER, "--min-tissue", "2"], 2, "--min-tissue"),
    "job resources broken JSON": Case([*CREATE, "--job-resources", "{"], 2, "not valid JSON"),
    "as-tasks without project": Case([*CREATE, "--as-tasks"], 2, "needs --project"),
    "project without as-tasks": Case([*CREATE, "--project", "p"], 2, "go with --as-tasks"),
    "experience malformed": Case([*CREATE, "--as-tasks", "--project", "p", "--task-type", "t", "--experience", "x"], 2, "--experience"),
    "output on a server dataset": Case([*CREATE, "--output", "x.zip"], 2, "--output is for local datasets"),
    # -- create-boxes: where the dataset and server are ------------------------------------------
    "dataset path missing": Case(["create-boxes", "--dataset", "./no_such_folder", "--output", "b.zip"], 2, "no such folder: ./no_such_folder"),
    "dataset path not a dataset": Case(["create-boxes", "--dataset", ".", "--output", "b.zip"], 2, ". is not a WEBKNOSSOS dataset folder"),
    "dataset empty": Case(["create-boxes", "--dataset", " ", *SERVER], 2, "--dataset is empty"),
    "dataset empty string": Case(["create-boxes", "--dataset", "", *SERVER], 2, "--dataset is empty"),
    # -- names given empty: never the default (an empty --layer once meant the first color layer) ----
    "layer empty": Case([*CREATE, "--dry-run", "--layer", ""], 2, "--layer is empty"),
    "organization empty": Case([*CREATE, "--dry-run", "--organization", ""], 2, "--organization is empty"),
    "focus empty": Case([*CREATE, "--dry-run", "--focus", ""], 2, "--focus is empty"),
    "compare empty": Case([*CREATE, "--dry-run", "--focus", "segmentation", "--compare", " "], 2, "--compare is empty"),
    "strata layer empty": Case([*CREATE, "--dry-run", "--strata-layer", ""], 2, "--strata-layer is empty"),
    "project empty": Case([*CREATE, "--as-tasks", "--project", "", "--task-type", "t"], 2, "--project is empty"),
    "task type empty": Case([*CREATE, "--as-tasks", "--project", "p", "--task-type", ""], 2, "--task-type is empty"),
    "folder empty": Case(["create-boxes", "--folder", "", *SERVER], 2, "--folder is empty"),
    "tag empty": Case(["create-boxes", "--tag", "a", "--tag", "", *SERVER], 2, "--tag is empty"),
    "check layer empty": Case([*CHECK, "--annotation", "66e1c3a2b7f0d94e1a2b0000", "--layer", ""], 2, "--layer is empty"),
    "check ground truth layer empty": Case([*CHECK, "--annotation", "66e1c3a2b7f0d94e1a2b0000", "--ground-truth-layer", ""], 2, "--ground-truth-layer is empty"),
    "train name empty": Case(["train", *SERVER, "--name", "", "--dataset", "l4_sample"], 2, "--name is empty"),
    "train layer empty": Case(["train", *SERVER, "--name", "m", "--dataset", "l4_sample", "--layer", ""], 2, "--layer is empty"),
    "train ground truth layer empty": Case(["train", *SERVER, "--name", "m", "--dataset", "l4_sample", "--ground-truth-layer", ""], 2, "--ground-truth-layer is empty"),
    "train dataset empty": Case(["train", *SERVER, "--name", "m", "--dataset", ""], 2, "--dataset is empty"),
    "info layer empty": Case(["info", *SERVER, "--dataset", "l4_sample", "--layer", ""], 2, "--layer is empty"),
    "info organization empty": Case(["info", *SERVER, "--dataset", "l4_sample", "--organization", ""], 2, "--organization is empty"),
    "datasets organization empty": Case(["datasets", *SERVER, "--organization", ""], 2, "--organization is empty"),
    "datasets folder empty": Case(["datasets", *SERVER, "--folder", ""], 2, "--folder is empty"),
    "history dataset empty": Case(["history", *SERVER, "--dataset", ""], 2, "--dataset is empty"),
    "history organization empty": Case(["history", *SERVER, "--dataset", "l4_sample", "--organization", ""], 2, "--organization is empty"),
    "evaluate segmentation empty": Case(["evaluate", *SERVER, "--annotation", "66e1c3a2b7f0d94e1a2b0000", "--segmentation", ""], 2, "--segmentation is empty"),
    "evaluate volume layer empty": Case(
        ["evaluate", *SERVER, "--annotation", "66e1c3a2b7f0d94e1a2b0000", "--segmentation", "s", "--volume-layer", ""], 2, "--volume-layer is empty"
    ),
    "dataset URL broken IPv6": Case(["create-boxes", "--dataset", "http://[::1:/datasets/x", "--dry-run"], 2, "not a WEBKNOSSOS dataset URL"),
    "dataset URL bad port": Case(["create-boxes", "--dataset", "http://h:99999/datasets/a-66e1c3a2b7f0d94e1a2b1001/view"], 2, "not a WEBKNOSSOS dataset URL"),
    "dataset URL ftp": Case(["create-boxes", "--dataset", "ftp://h/datasets/a-66e1c3a2b7f0d94e1a2b1001/view"], 2, "not a WEBKNOSSOS dataset URL"),
    "server URL broken IPv6": Case(["create-boxes", "--dataset", "l4_sample", "--webknossos-url", "http://[::1:", "--dry-run"], 2, "not a valid URL"),
    "server URL bad port": Case(["create-boxes", "--dataset", "l4_sample", "--webknossos-url", "http://h:99999", "--dry-run"], 2, "not a valid URL"),
    "server URL ftp": Case(["create-boxes", "--dataset", "l4_sample", "--webknossos-url", "ftp://h", "--dry-run"], 2, "not a server URL"),
    "server URL no host": Case(["create-boxes", "--dataset", "l4_sample", "--webknossos-url", "http://", "--dry-run"], 2, "not a server URL"),
    "server URL with a space": Case(["create-boxes", "--dataset", "l4_sample", "--webknossos-url", "http://a b", "--dry-run"], 2, "space or control"),
    "server URL and pasted URL disagree": Case(
        ["create-boxes", "--dataset", "http://127.0.0.1:9/datasets/a-66e1c3a2b7f0d94e1a2b1001/view", *SERVER], 2, "but the server given is"
    ),
    # -- tokens ----------------------------------------------------------------------------------
    "token non-ASCII": Case(["create-boxes", "--dataset", "l4_sample", "--webknossos-url", "{url}", "--token", "tök-Qx7"], 2, "non-ASCII character"),
    "token with NUL": Case(["create-boxes", "--dataset", "l4_sample", "--webknossos-url", "{url}", "--token", "Qx7\x00Zp9"], 2, "control character"),
    "token with inner CR": Case(["create-boxes", "--dataset", "l4_sample", "--webknossos-url", "{url}", "--token", "Qx7\rZp9"], 2, "control character"),
    "token without its server": Case(["create-boxes", "--dataset", "l4_sample", "--token", "{token}"], 2, "--token goes with"),
    "WK_TOKEN non-ASCII": Case(["create-boxes", "--dataset", "l4_sample"], 2, "from WK_TOKEN contains", env={"WK_URL": "{url}", "WK_TOKEN": "Qx7é"}),
    "WK_URL broken": Case(["create-boxes", "--dataset", "l4_sample"], 2, "WK_URL is not a valid URL", env={"WK_URL": "http://[::1:"}),
    "WK_TOKEN without WK_URL": Case(["create-boxes", "--dataset", "l4_sample", "--dry-run"], 4, "without WK_URL", env={"WK_TOKEN": "{token}"}),
    "token of another server": Case(
        ["create-boxes", "--dataset", "l4_sample", "--webknossos-url", "{url}"], 4, "your token is for", env={"WK_URL": "http://127.0.0.1:9", "WK_TOKEN": "Qx7Zp9"}
    ),
    # -- .env --------------------------------------------------------------------------------------
    "dotenv malformed line": Case(["create-boxes", "--dataset", "l4_sample"], 2, ".env, line 2", dotenv=b"WK_URL=http://127.0.0.1:9\nthis is not valid\n"),
    "dotenv unterminated quote": Case(["create-boxes", "--dataset", "l4_sample"], 2, ".env, line 1", dotenv=b'WK_TOKEN="Qx7Zp9\n'),
    "dotenv UTF-16": Case(["create-boxes", "--dataset", "l4_sample"], 2, "not UTF-8", dotenv="WK_URL=http://127.0.0.1:9\n".encode("utf-16")),
    "dotenv bad URL": Case(["create-boxes", "--dataset", "l4_sample"], 2, "WK_URL in", dotenv=b"WK_URL=ftp://h\n"),
    "dotenv token with control character": Case(["create-boxes", "--dataset", "l4_sample"], 2, "control character", dotenv=b'WK_URL=http://127.0.0.1:9\nWK_TOKEN="Qx7\\x01Zp9\x01"\n'),
    # -- check -------------------------------------------------------------------------------------
    "check annotation not an id": Case([*CHECK, "--annotation", "nope"], 2, "not an annotation id or URL"),
    "check annotation broken URL": Case([*CHECK, "--annotation", "http://[::1:/annotations/x"], 2, "not an annotation id or URL"),
    "check mag 3": Case([*CHECK, "--annotation", "66e1c3a2b7f0d94e1a2b0000", "--mag", "3"], 2, "powers of two"),
    "check timeout inf": Case([*CHECK, "--annotation", "66e1c3a2b7f0d94e1a2b0000", "--timeout", "inf"], 2, "--timeout must be"),
    # -- answers of the server (reads only) --------------------------------------------------------
    "wrong token for a write": Case(
        ["create-boxes", "--dataset", "l4_sample", "--webknossos-url", "{url}", "--token", "wrong-Qx7Zp9", "--no-tissue-check"], 4, "refused access", requests=True
    ),
    "no such dataset": Case(["create-boxes", "--dataset", "no_such_dataset", *CREATE[3:]], 3, "no dataset named", requests=True),
    "server URL with an API path": Case(
        ["create-boxes", "--dataset", "l4_sample", "--webknossos-url", "{url}/api/v12", "--token", "{token}", "--dry-run"], 5, "give the server's root URL, e.g. http://127.0.0.1:", requests=True
    ),
    "no such layer": Case([*CREATE, "--layer", "nope"], 3, "no layer 'nope'", requests=True),
    "mag not available": Case([*CREATE, "--mag", "32-32-8"], 2, "not available", requests=True),
    "datasets of an unknown organization": Case(["datasets", *SERVER, "--organization", "sandbox_labb"], 3, "did you mean 'sandbox_lab'", requests=True),
    "plan file not JSON": Case([*CREATE, "--plan", ".env"], 2, "--plan .env: not a wkgt plan: not JSON", dotenv=b"WK_URL=http://127.0.0.1:9\n"),
    "plan file a list": Case([*CREATE, "--plan", ".env"], 2, "expected a JSON object as --save writes, got a list", dotenv=b"[]"),
    "plan file missing": Case([*CREATE, "--plan", "missing.json"], 2, "--plan missing.json: cannot read it"),
    "no such annotation": Case([*CHECK, "--annotation", "66e1c3a2b7f0d94e1a2b0000"], 3, "the token is valid (user", requests=True),
    "annotation with a refused token": Case(
        ["check", "--webknossos-url", "{url}", "--token", "wrong-Qx7Zp9", "--annotation", "66e1c3a2b7f0d94e1a2b0000"], 3, "the server refused the token", requests=True
    ),
    "annotation without a token": Case(["check", "--webknossos-url", "{url}", "--annotation", "66e1c3a2b7f0d94e1a2b0000"], 3, "no token was given", requests=True),
    "undo with a refused token": Case(
        ["undo", "66e1c3a2b7f0d94e1a2b0000", "--dry-run", "--webknossos-url", "{url}", "--token", "wrong-Qx7Zp9"], 3, "the server refused the token", requests=True
    ),
    "evaluate with a refused token": Case(
        ["evaluate", "--annotation", "66e1c3a2b7f0d94e1a2b0000", "--segmentation", "s", "--webknossos-url", "{url}", "--token", "wrong-Qx7Zp9"], 3, "the server refused the token", requests=True
    ),
}


def fill(text: str, sandbox: Sandbox) -> str:
    port = sandbox.url.rsplit(":", 1)[1]
    return text.replace("{url}", sandbox.url).replace("{token}", sandbox.token).replace("{long}", LONG).replace("{port}", port)


def test_the_table_is_large_enough():
    assert len(CASES) >= 60


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_input(case: Case, sandbox: Sandbox, capsys: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name, value in case.env.items():
        monkeypatch.setenv(name, fill(value, sandbox))
    if case.dotenv is not None:
        (tmp_path / ".env").write_bytes(case.dotenv)
    code, out, err = run_json(capsys, [fill(arg, sandbox) for arg in case.argv])
    lines = err.strip().splitlines()
    assert (code, len(lines)) == (case.code, 1), err[:2000]
    assert lines[0].startswith("wkgt: error: ") and case.needle in lines[0], lines[0][:2000]
    assert len(lines[0]) < 1000 and "Traceback" not in err
    assert out is None
    assert sandbox.token not in err and "Qx7" not in err and "Zp9" not in err
    assert [e for e in sandbox.state.request_log if e.method in WRITE_METHODS] == []
    if not case.requests:
        assert sandbox.state.request_log == []
    assert list(tmp_path.glob("**/*.partial*")) == []
