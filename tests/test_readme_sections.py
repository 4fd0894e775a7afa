"""README's remaining commands, each taken from README's text and run as written against one
sandbox (placeholders filled from the world the test builds): "Use it on your server" (`wkgt
sandbox` on a port and its `export` line), `wkgt evaluate` on a painted evaluation set, "Many
datasets", "What is on the server", "Train", and `scripts/sdk_suite.py`'s command line; and a check
that every command of README's ```bash blocks is run by some test."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from wkgt.cli import run
from wkgt_sandbox import Sandbox, run_sandbox

from .cli.test_lab_loop import loop_commands
from .conftest import REPO_ROOT
from .jobs.server import ORG, box_row, organize, paint_copy, upload_painted
from .readme import README, bash_commands, command, section
from .test_readme import server_lines, worked_examples

FAST = "--no-tissue-check"  # only where the command's point is not the tissue check: it reads image data


@pytest.fixture(scope="module")
def module_sandbox() -> Iterator[Sandbox]:
    with run_sandbox() as sb:
        yield sb


@pytest.fixture
def sandbox(module_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """The module's sandbox, reset, configured as README's `export WK_URL=... WK_TOKEN=...` does."""
    module_sandbox.reset()
    monkeypatch.setenv("WK_URL", module_sandbox.url)
    monkeypatch.setenv("WK_TOKEN", module_sandbox.token)
    return module_sandbox


@pytest.fixture(autouse=True)
def _whole_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables as wide as their rows, whatever COLUMNS the shell exported (they are parsed here)."""
    from wkgt.cli import output

    monkeypatch.delenv("COLUMNS", raising=False)
    for console in (output.stdout, output.stderr):
        monkeypatch.setattr(console, "_width", None)


def commands_of(heading: str) -> list[str]:
    return bash_commands(section(heading))


def wkgt(capsys: Any, line: str, *extra: str, **placeholders: str) -> tuple[int, str, str]:
    """Run one README line through ``wkgt.cli.run``: placeholders replaced, ``$WK_URL`` expanded from
    the environment as the shell would, ``> FILE`` written from stdout. Exit code, stdout, stderr."""
    for placeholder, value in placeholders.items():
        line = line.replace(placeholder, value)
    line, _, target = os.path.expandvars(line).partition(" > ")
    argv = shlex.split(line)
    assert Path(argv[0]).name == "wkgt", line
    code = run([*argv[1:], *extra])
    out, err = capsys.readouterr()
    if target:
        Path(target.strip()).write_text(out)
    return code, out, err


def table_rows(text: str) -> dict[str, list[str]]:
    """A rich table's rows by their first cell."""
    rows = [[cell.strip() for cell in line.strip("│").split("│")] for line in text.splitlines() if line.startswith("│")]
    return {row[0]: row[1:] for row in rows}


def mag_list(mag: str) -> list[int]:
    return [int(f) for f in mag.split("-")] if "-" in mag else [int(mag)] * 3


# --- Use it on your server -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_use_it_on_your_server_the_sandbox_prints_what_the_export_line_sets(capsys, monkeypatch):
    """`wkgt sandbox --port 9000 &` (on a free port: "any free port") serves at the URL and with the
    token the `export` line sets; the next line of the block then plans against it."""
    serve, export, dry_run = commands_of("## Use it on your server")[:3]
    port = str(free_port())
    assert serve.endswith(" &") and "9000" in serve and ":9000" in export
    argv = shlex.split(serve.removesuffix(" &").replace("9000", port))
    argv[0] = str(Path(sys.executable).parent / Path(argv[0]).name)  # this environment's .venv/bin/wkgt
    exported = dict(pair.split("=", 1) for pair in shlex.split(export.replace("9000", port))[1:])
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert process.stdout is not None
        printed = dict(process.stdout.readline().strip().split("=", 1) for _ in range(2))
        assert printed == exported == {"WK_URL": f"http://127.0.0.1:{port}", "WK_TOKEN": "wkgt-sandbox-token"}
        for name, value in exported.items():
            monkeypatch.setenv(name, value)
        code, out, err = wkgt(capsys, dry_run, FAST, "--json")
        assert code == 0, err
        planned = json.loads(out)
        assert planned["status"] == "dry-run" and planned["annotation"] is None
        assert planned["dataset"]["name"] == "l4_sample" and planned["dataset"]["server"] == exported["WK_URL"]
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0


# --- wkgt evaluate ----------------------------------------------------------------------------


def paint_one_object_per_box(sb: Sandbox, annotation_id: str, boxes: list[dict[str, Any]]) -> str:
    """Paint every box of the annotation's ground-truth layer as one object (label i + 1) with the SDK
    and upload it (the sandbox has no volume editing); the painted annotation's id."""
    import contextlib
    import io

    import webknossos as wk

    with wk.webknossos_context(url=sb.url, token=sb.token), contextlib.redirect_stdout(io.StringIO()):
        annotation = wk.Annotation.download(annotation_id)
        annotation.delete_volume_layer("ground_truth")  # downloaded without data: start it afresh
        volume = annotation.add_volume_layer("ground_truth", dtype=np.uint32)
        with volume.edit() as layer:
            mag = layer.get_or_add_mag(1, chunk_shape=32, shard_shape=32)  # small shards: quick writes
            for label, box in enumerate(boxes, 1):
                low = [t // 32 * 32 for t in box["topleft"]]
                high = [-(-(t + s) // 32) * 32 for t, s in zip(box["topleft"], box["size"])]
                aligned = wk.BoundingBox(low, [h - lo for h, lo in zip(high, low)])
                layer.bounding_box = aligned if label == 1 else layer.bounding_box.extended_by(aligned)
                data = mag.read(absolute_offset=aligned.topleft, size=aligned.size)[0]
                data[tuple(slice(t - lo, t - lo + s) for t, lo, s in zip(box["topleft"], low, box["size"]))] = label
                mag.write(data, absolute_offset=aligned.topleft)
        return annotation.upload().rstrip("/").rsplit("/", 1)[-1]


def test_evaluate_scores_the_segmentation_against_the_painted_evaluation_set(sandbox, capsys):
    """The holdout line (written, not a dry run) makes the evaluation set; each box painted as one
    object, the segmentation layer over-segments it: split > 0, merge 0, per box and overall."""
    section_text = section("## Where the boxes go: every kind of tissue, the model's errors, a fair test set")
    holdout, evaluate = bash_commands(section_text)
    code, out, err = wkgt(capsys, holdout.replace(" --dry-run", ""), FAST, "--json")
    assert code == 0, err
    made = json.loads(out)
    assert [b["name"] for b in made["holdout"]] == ["EVAL 01", "EVAL 02", "EVAL 03"]
    painted = paint_one_object_per_box(sandbox, made["evaluation"]["id"], made["holdout"])
    capsys.readouterr()

    code, out, err = wkgt(capsys, evaluate, **{"<evaluation id>": painted})
    assert code == 0, err
    rows = table_rows(out)
    code, scored_out, err = wkgt(capsys, evaluate, "--json", **{"<evaluation id>": painted})
    assert code == 0, err
    scored = json.loads(scored_out)
    assert scored["segmentation"] == "segmentation" and scored["annotation"]["id"] == painted
    assert [b["name"] for b in scored["boxes"]] == ["EVAL 01", "EVAL 02", "EVAL 03"]
    for box in scored["boxes"]:
        scores = box["scores"]
        assert scores["painted_voxels"] == int(np.prod(box["size"]))
        assert scores["voi_split"] > 0 and scores["voi_merge"] == 0  # over-segmentation is a split
        assert scores["voi"] == pytest.approx(scores["voi_split"] + scores["voi_merge"], abs=1e-5)
        assert 0 < scores["arand"] <= 1
        assert rows[box["name"]][-4:] == [f"{scores[k]:.3f}" for k in ("voi_split", "voi_merge", "voi", "arand")]
    overall = scored["overall"]
    assert overall["painted_voxels"] == sum(b["scores"]["painted_voxels"] for b in scored["boxes"])
    assert rows["overall"][-4:] == [f"{overall[k]:.3f}" for k in ("voi_split", "voi_merge", "voi", "arand")]
    assert "VOI split" in out and "VOI merge" in out and "ARAND" in out


# --- Many datasets: one run, one report -------------------------------------------------------


def test_many_datasets_one_report_a_list_file_reruns_and_a_tagged_folder_at_one_mag(sandbox, capsys, tmp_path):
    three, listed, folder = commands_of("## Many datasets: one run, one report")

    code, _, err = wkgt(capsys, three, FAST)
    assert code == 0, err
    report = json.loads((tmp_path / "round1.json").read_text())
    assert {"batch", "ok", "exit_code", "counts", "same_mag", "datasets"} <= report.keys()
    assert report["batch"] is True and report["ok"] is True and report["exit_code"] == 0
    assert report["counts"] == {"datasets": 3, "ok": 3, "failed": 0, "created": 3}
    assert [d["input"] for d in report["datasets"]] == ["l4_sample", "iso_8nm", "aniso_4x4x35"]
    assert all(d.keys() == {"input", "ok", "status", "result"} and d["status"] == "created" for d in report["datasets"])
    urls = {d["result"]["dataset"]["name"]: d["result"]["annotation"]["url"] for d in report["datasets"]}
    assert len(sandbox.state.annotations) == 3

    # one name, id or URL a line; blank lines and # comments skipped: the same three, by id and URL
    ids = {d["result"]["dataset"]["name"]: d["result"]["dataset"]["id"] for d in report["datasets"]}
    (tmp_path / "datasets.txt").write_text(
        f"# round 1\nl4_sample\n\n{ids['iso_8nm']}\n{sandbox.url}/datasets/aniso_4x4x35-{ids['aniso_4x4x35']}/view  # by URL\n"
    )
    code, out, err = wkgt(capsys, listed, FAST)
    assert code == 0, err
    assert [row[0] for row in table_rows(out).values()] == ["exists"] * 3
    assert all(url in out for url in urls.values()) and "3 of 3 dataset(s) done, 0 failed" in out
    assert len(sandbox.state.annotations) == 3  # reruns are safe per dataset

    organize(sandbox, "EM 2026", {"l4_sample": ["cortex"], "partial_tissue": ["cortex"], "iso_8nm": []})
    code, out, err = wkgt(capsys, folder, FAST)
    assert code == 0, err
    rows = table_rows(out)
    assert set(rows) == {"l4_sample", "partial_tissue"}  # iso_8nm is in the folder, without the tag
    assert [rows["l4_sample"][1], rows["partial_tissue"][1]] == ["1", "1"]  # README: both stay at mag 1
    assert "more than 1.3×" not in err


# --- What is on the server ----------------------------------------------------------------------


def test_what_is_on_the_server_lists_the_tagged_folder_and_shows_the_planners_choices(sandbox, capsys):
    listing, info = commands_of("## What is on the server")
    organize(sandbox, "EM 2026", {"l4_sample": ["cortex"], "partial_tissue": ["cortex", "round1"], "iso_8nm": []})
    code, out, err = wkgt(capsys, listing)
    assert code == 0, err
    rows = table_rows(out)
    assert set(rows) == {"l4_sample", "partial_tissue"}
    assert rows["l4_sample"] == ["sandbox_lab", "sandbox_lab/EM 2026", "cortex", "1 color, 1 seg.", "11.24×11.24×28", "1"]
    assert rows["partial_tissue"][4:] == ["10×10×25", "1"] and "2 dataset(s) in folder sandbox_lab/EM 2026" in out

    code, out, err = wkgt(capsys, info)
    assert code == 0, err
    rows = table_rows(out)
    assert {"color", "segmentation"} <= rows.keys() and rows["color"][2] == "1, 2-2-1, 4-4-1, 8-8-2, 16-16-4"
    facts = "--voxel-size 11.24,11.24,28 --mags 1,2-2-1,4-4-1,8-8-2,16-16-4 --bbox 3072,3072,512,1024,1024,1024"
    for rules in ("guide", "webknossos"):  # the planner's own choices, as wkgt plan makes them from the facts
        assert run(["plan", *facts.split(), "--rules", rules, "--json"]) == 0
        plan = json.loads(capsys.readouterr().out)
        assert rows[rules] == [plan["mag"], "11.24×11.24×28", "×".join(map(str, plan["box_size"])), str(plan["count"])]
    assert "why mag 1: finest mag with every axis ≥ 8 nm" in out


# --- Train: wkgt train ------------------------------------------------------------------------


def train_lines() -> list[str]:
    return commands_of("## Train: `wkgt train`")


def test_train_named_annotations_dry_run_prints_the_exact_request_and_starts_nothing(sandbox, capsys):
    named = train_lines()[0]
    first = upload_painted(sandbox, "gt one", box_row("a", 3200)).rsplit("/", 1)[-1]
    second = upload_painted(sandbox, "gt two", box_row("b", 3600)).rsplit("/", 1)[-1]
    capsys.readouterr()
    code, out, err = wkgt(capsys, named, **{"<id2>": second, "<id>": first})
    assert code == 0, err
    assert "dry run: would start model 'l4-neurons-v1' (neurons) on 2 annotation(s) at mag 1" in out
    request = json.loads(out[out.index("\n{", out.index("dry run:")) :])
    assert request["url"] == f"{sandbox.url}/api/v16/aiModels/runNeuronModelTraining"
    assert request["body"]["name"] == "l4-neurons-v1"
    assert [a["annotationId"] for a in request["body"]["trainingAnnotations"]] == [first, second]
    assert sandbox.state.jobs == {} and sandbox.state.requests("POST", "/aiModels/") == []


def create(capsys: Any, *args: str) -> dict[str, Any]:
    code, out, err = wkgt(capsys, "wkgt create-boxes", *args, FAST, "--json")
    assert code == 0, err
    return json.loads(out)


def test_train_a_dataset_takes_its_finished_wkgt_annotations(sandbox, capsys):
    by_dataset = train_lines()[1]
    done = paint_copy(sandbox, create(capsys, "--dataset", "l4_sample")["annotation"]["id"])  # painted and finished
    create(capsys, "--dataset", "l4_sample", "--seed", "2", "--count", "5")  # painted still: not finished
    upload_painted(sandbox, "by hand", box_row("h", 3200))  # finished, but not wkgt's: no run key
    capsys.readouterr()
    code, out, err = wkgt(capsys, by_dataset)
    assert code == 0, err
    [job] = sandbox.state.jobs.values()
    assert job["command"] == "train_neuron_model" and job["state"] == "PENDING"
    assert [a["annotationId"] for a in job["args"]["training_annotations"]] == [done]
    assert [m["name"] for m in sandbox.state.ai_models.values()] == ["l4-neurons-v1"]
    assert f"training started model 'l4-neurons-v1' (neurons) on 1 annotation(s) at mag 1: job {job['id']}" in out
    assert f"{sandbox.url}/jobs" in out


def test_train_from_a_run_key_starts_an_instance_training_with_the_object_size(sandbox, capsys):
    from_run = train_lines()[2]
    # a nuclei run: 10 µm boxes (twice the object) need a dataset larger than l4_sample's 11.5 µm
    created = create(capsys, "--dataset", "aniso_4x4x35", "--model", "instances", "--object-size", "5000")
    painted = paint_copy(sandbox, created["annotation"]["id"])  # painted and finished
    code, out, err = wkgt(capsys, from_run, **{"1f3a…": created["run_key"]})
    assert code == 0, err
    [job] = sandbox.state.jobs.values()
    assert job["command"] == "train_instance_model" and job["args"]["instance_diameter_nm"] == 5000
    assert job["args"]["training_annotations"] == [{
        "annotationId": painted, "colorLayerName": "color",
        "segmentationLayerName": "ground_truth", "mag": mag_list(created["mag"]),
    }]
    assert "training started model 'nuclei-v1' (instances)" in out


# --- scripts/sdk_suite.py -------------------------------------------------------------------


def sdk_suite_argv() -> list[str]:
    """README's sdk_suite command with this environment's Python for ``.venv/bin/python``."""
    [line] = bash_commands(section("## The sandbox"))
    argv = shlex.split(line)
    assert argv[:2] == [".venv/bin/python", "scripts/sdk_suite.py"], line
    return [sys.executable, *argv[1:]]


def test_sdk_suite_command_line_has_every_option_readme_names():
    argv = sdk_suite_argv()
    done = subprocess.run([*argv[:2], "--help"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    named = [a for a in argv if a.startswith("-")] + ["--libs-ref", "-k"]  # the command's, and those its prose names
    assert all(f" {option} " in done.stdout for option in named), named
    assert "(default: release-4.0)" in done.stdout and "(default `release-4.0`)" in section("## The sandbox")


def test_sdk_suite_as_written_refuses_in_one_line_before_building_anything(tmp_path):
    """README's placeholder PATH/TO/webknossos-libs is no repository: the script says so at once
    (exit 2), before it builds a venv or fetches a file."""
    work = tmp_path / "work"
    done = subprocess.run([*sdk_suite_argv(), "--workdir", str(work)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "--libs-repo PATH/TO/webknossos-libs: no such folder" in done.stderr
    assert not work.exists()


# --- every command is run ---------------------------------------------------------------------


def test_every_command_of_readme_is_run_by_a_test():
    """Each command of README's bash blocks is one that a test above, in tests/test_readme.py or in
    tests/cli/test_lab_loop.py takes from README and runs."""
    opening = bash_commands(README.split("\n## ", 1)[0])  # make demo, make test (tests/test_readme.py)
    run_by_tests = [
        *opening,
        *server_lines(),
        *(command(f".venv/bin/wkgt {example}") for example, _ in worked_examples()),
        *(command(line) for line in loop_commands()),
        *commands_of("## Use it on your server")[:2],
        *bash_commands(section("## Where the boxes go: every kind of tissue, the model's errors, a fair test set"))[1:],
        *commands_of("## Many datasets: one run, one report"),
        *commands_of("## What is on the server"),
        *train_lines(),
        *bash_commands(section("## The sandbox")),
    ]
    assert Counter(run_by_tests) == Counter(bash_commands())


def test_the_sandbox_users_table_is_the_sandboxs(module_sandbox):
    table = re.findall(r"^\| `(\w+)` \| `([\w-]+)`(?: \(the default\))? \| (.+?) \|$", section("## The sandbox"), re.M)
    assert {role: token for role, token, _ in table} == module_sandbox.tokens
    assert table[0][:2] == ("admin", module_sandbox.token)


def test_make_bench_runs_every_benchmark(tmp_path):
    shutil.copy(REPO_ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    planned = subprocess.run(["make", "-n", "-C", str(tmp_path), "bench"], capture_output=True, text=True).stdout
    benchmarks = sorted(p.name for p in (REPO_ROOT / "scripts").glob("bench_*.py"))
    assert benchmarks and all(f"scripts/{name}" in planned for name in benchmarks)
    assert all(f"scripts/{name}" in README for name in benchmarks)
