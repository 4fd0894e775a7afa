"""Review, then write: ``--dry-run --save plan.json``, then ``--plan plan.json`` writes exactly those
boxes (checked against the dataset first, no image read, a rerun finds them); ``--csv`` tables."""

from __future__ import annotations

import csv
import json

import pytest
import webknossos as wk

from tests.helpers import reset_module_sandbox as sandbox  # noqa: F401 (the module's sandbox, reset per test)
from wkgt.cli import run

from .helpers import cli, run_json, writes


def stored_boxes(sandbox, annotation_id: str) -> list[tuple[str, tuple[int, ...], tuple[int, ...]]]:
    with wk.webknossos_context(url=sandbox.url, token=sandbox.token):
        annotation = wk.Annotation.download(annotation_id)
    return [(b.name, tuple(b.topleft), tuple(b.size)) for b in annotation.user_bounding_boxes]


def test_plan_file_round_trip_writes_exactly_the_reviewed_boxes(sandbox, capsys, tmp_path):
    plan_file, table = tmp_path / "plan.json", tmp_path / "boxes.csv"
    code, reviewed, err = run_json(
        capsys, cli(sandbox, "--dataset", "partial_tissue", "--count", "7", "--seed", "3", "--dry-run", "--save", str(plan_file), "--csv", str(table), "--json")
    )
    assert code == 0, err
    assert writes(sandbox) == []
    saved = json.loads(plan_file.read_text())
    assert saved["boxes"] == [{k: b[k] for k in ("name", "topleft", "size")} for b in reviewed["boxes"]]
    assert saved["dataset"]["id"] == reviewed["dataset"]["id"] and saved["layer"] == "color"
    # the table: a header, then one row per box with its corner, size, centre and viewer URL
    rows = list(csv.DictReader(table.open()))
    assert [r["name"] for r in rows] == [b["name"] for b in reviewed["boxes"]]
    for row, box in zip(rows, reviewed["boxes"]):
        assert [int(row[k]) for k in ("x", "y", "z", "width", "height", "depth")] == box["topleft"] + box["size"]
        assert [int(row[k]) for k in ("center_x", "center_y", "center_z")] == [t + s // 2 for t, s in zip(box["topleft"], box["size"])]
        assert row["url"] == box["url"]

    sandbox.state.request_log.clear()
    code, written, err = run_json(capsys, cli(sandbox, "--dataset", "partial_tissue", "--plan", str(plan_file), "--csv", str(table), "--json"))
    assert code == 0, err
    assert written["status"] == "created"
    assert not [e.path for e in sandbox.state.request_log if e.path.startswith("/data/")]  # no image read, no replanning
    expected = [(b["name"], tuple(b["topleft"]), tuple(b["size"])) for b in reviewed["boxes"]]
    assert stored_boxes(sandbox, written["annotation"]["id"]) == expected
    assert [r["url"] for r in csv.DictReader(table.open())] == [b["url"] for b in written["boxes"]]
    assert all(f"/annotations/{written['annotation']['id']}#" in b["url"] for b in written["boxes"])

    code, again, err = run_json(capsys, cli(sandbox, "--dataset", "partial_tissue", "--plan", str(plan_file), "--json"))
    assert code == 0, err
    assert again["status"] == "exists" and again["annotation"]["id"] == written["annotation"]["id"]
    assert len(sandbox.state.annotations) == 1


def test_a_plan_of_wkgt_plan_fits_the_dataset_it_describes(sandbox, capsys, tmp_path):
    """``wkgt plan --save`` with l4_sample's facts typed in, then written to the sandbox's l4_sample."""
    plan_file = tmp_path / "offline.json"
    facts = ["--voxel-size", "11.24,11.24,28", "--mags", "1,2-2-1,4-4-1,8-8-2,16-16-4", "--bbox", "3072,3072,512,1024,1024,1024"]
    assert run(["plan", *facts, "--count", "5", "--save", str(plan_file)]) == 0
    capsys.readouterr()
    code, written, err = run_json(capsys, cli(sandbox, "--dataset", "l4_sample", "--plan", str(plan_file), "--json"))
    assert code == 0, err
    offline = json.loads(plan_file.read_text())
    assert [(b["name"], b["topleft"]) for b in written["boxes"]] == [(b["name"], b["topleft"]) for b in offline["boxes"]]


def edited(plan_file, tmp_path, change) -> str:
    data = json.loads(plan_file.read_text())
    change(data)
    out = tmp_path / f"{change.__name__}.json"
    out.write_text(json.dumps(data))
    return str(out)


def test_a_plan_that_does_not_fit_is_refused_before_any_write(sandbox, capsys, tmp_path):
    plan_file = tmp_path / "plan.json"
    code, _, err = run_json(capsys, cli(sandbox, "--dataset", "aniso_4x4x35", "--count", "5", "--no-tissue-check", "--dry-run", "--save", str(plan_file), "--json"))
    assert code == 0, err

    def outside(data):
        data["boxes"][0]["topleft"][0] = 10**6

    def misaligned(data):  # the plan trains at mag 2-2-1: x must be even
        data["boxes"][1]["topleft"][0] += 1

    def other_voxel_size(data):
        data["voxel_size_nm"] = [5.0, 5.0, 35.0]

    def empty(data):  # no volume: the training check's error
        data["boxes"][2]["size"][2] = 0

    cases = [
        (edited(plan_file, tmp_path, outside), 2, "not inside the layer"),
        (edited(plan_file, tmp_path, misaligned), 2, "not aligned to mag 2-2-1"),
        (edited(plan_file, tmp_path, other_voxel_size), 2, "voxel size"),
        (edited(plan_file, tmp_path, empty), 2, "fails the training check"),
    ]
    for path, expected, needle in cases:
        code, _, err = run_json(capsys, cli(sandbox, "--dataset", "aniso_4x4x35", "--plan", path))
        assert code == expected and needle in err, err
        assert len(err.strip().splitlines()) == 1
    code, _, err = run_json(capsys, cli(sandbox, "--dataset", "iso_8nm", "--plan", str(plan_file)))
    assert code == 2 and "made for dataset aniso_4x4x35" in err
    code, _, err = run_json(capsys, cli(sandbox, "--dataset", "aniso_4x4x35", "--plan", str(plan_file), "--count", "9"))
    assert code == 2 and "planning options" in err
    code, _, err = run_json(capsys, cli(sandbox, "--dataset", "aniso_4x4x35", "--plan", str(plan_file), "--avoid-previous"))
    assert code == 2 and "--avoid-previous" in err
    (tmp_path / "junk.json").write_text("{}")
    code, _, err = run_json(capsys, cli(sandbox, "--dataset", "aniso_4x4x35", "--plan", str(tmp_path / "junk.json")))
    assert code == 2 and "not a wkgt plan" in err and "junk.json" in err
    code, _, err = run_json(capsys, cli(sandbox, "--dataset", "aniso_4x4x35", "--plan", str(tmp_path / "missing.json")))
    assert code == 2 and "missing.json" in err
    assert writes(sandbox) == []


def test_output_files_are_checked_before_any_request(sandbox, capsys, tmp_path):
    code, _, err = run_json(capsys, cli(sandbox, "--dataset", "l4_sample", "--dry-run", "--preview", str(tmp_path / "p.jpg")))
    assert code == 2 and "--preview must name a .png" in err
    same = str(tmp_path / "same.png")
    code, _, err = run_json(capsys, cli(sandbox, "--dataset", "l4_sample", "--dry-run", "--preview", same, "--csv", same))
    assert code == 2 and "different files" in err
    assert sandbox.state.request_log == []


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"not json", "not JSON"),
        (b"null", "expected a JSON object as --save writes, got null"),
        (b"[1, 2]", "expected a JSON object as --save writes, got a list"),
        (b"{}", "required field missing @ $.model"),
        (b'{"mag": "1", "boxes": 5}', "required field missing @ $.voxel_size_nm"),
        (b"\x89PNG\r\n", "not UTF-8 text"),
        (None, "cannot read it (Is a directory)"),
    ],
    ids=["not JSON", "null", "a list", "empty object", "a few fields", "binary", "a directory"],
)
def test_a_broken_plan_file_is_one_line_naming_what_is_wrong(sandbox, capsys, tmp_path, content, needle):
    plan_file = tmp_path / "plan.json"
    if content is None:
        plan_file.mkdir()
    else:
        plan_file.write_bytes(content)
    code, _, err = run_json(capsys, cli(sandbox, "--dataset", "partial_tissue", "--plan", str(plan_file)))
    lines = err.strip().splitlines()
    assert (code, len(lines)) == (2, 1), err
    assert lines[0].startswith(f"wkgt: error: --plan {plan_file}: ") and needle in lines[0], lines[0]
    assert "NoneType" not in err and "sub-exceptions" not in err
    assert sandbox.state.request_log == []
