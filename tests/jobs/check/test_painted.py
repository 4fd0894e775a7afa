"""``wkgt check``'s painted check over HTTP: annotations painted with the unmodified SDK (every box,
all but one, none) and local annotation files."""

from __future__ import annotations

import json

import webknossos as wk

from tests.jobs.server import box_row, upload_painted
from wkgt.cli import run

UNPAINTED = ("u", (3200, 3400, 600), (170, 170, 64))
"""A box between the rows the tests paint (y 3200 and 3600): never painted."""


def check(sb, capsys, target, *extra):
    code = run(["check", "--annotation", target, "--webknossos-url", sb.url, "--token", sb.token, *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def painted_findings(data):
    return [(f["box"], f["code"]) for f in data["findings"] if f["code"] in {"unpainted", "partly-painted", "nothing-painted"}]


def test_every_box_painted_passes_with_its_fraction(sandbox, capsys):
    url = upload_painted(sandbox, "dense", box_row("a", 3200, 5))
    code, out, err = check(sandbox, capsys, url, "--json")
    data = json.loads(out)
    assert code == 0 and data["ok"] and painted_findings(data) == [], data["findings"]
    assert [b["painted"] for b in data["boxes"]] == [1.0] * 5
    code, out, _ = check(sandbox, capsys, url)
    assert code == 0 and "painted" in out and out.count("100%") == 5


def test_one_unpainted_box_is_a_warning_named_by_the_box(sandbox, capsys):
    url = upload_painted(sandbox, "one left out", [*box_row("a", 3200, 5), UNPAINTED], unpainted={"u"})
    code, out, _ = check(sandbox, capsys, url, "--json")
    data = json.loads(out)
    assert code == 0 and data["ok"] and data["errors"] == 0
    assert painted_findings(data) == [("u", "unpainted")]
    assert {b["name"]: b["painted"] for b in data["boxes"]} == {"a0": 1.0, "a1": 1.0, "a2": 1.0, "a3": 1.0, "a4": 1.0, "u": 0.0}
    code, out, _ = check(sandbox, capsys, url)
    assert code == 0 and "warning: u: nothing painted in the ground-truth layer" in out
    # the annotation is downloaded once, with its volume data (no second request for the boxes)
    annotation_id = url.rstrip("/").rsplit("/", 1)[-1]
    downloads = sandbox.state.requests("GET", f"/annotations/{annotation_id}/download")
    assert len(downloads) == 2 and all("skipVolumeData=true" not in d.query for d in downloads)
    code, out, _ = check(sandbox, capsys, url, "--json", "--no-painted-check")
    data = json.loads(out)
    assert code == 0 and painted_findings(data) == [] and {b["painted"] for b in data["boxes"]} == {None}
    assert "skipVolumeData=true" in sandbox.state.requests("GET", f"/annotations/{annotation_id}/download")[-1].query


def test_a_fresh_annotation_gets_one_note_nothing_painted_yet_and_exit_0(sandbox, capsys):
    url = upload_painted(sandbox, "fresh", box_row("f", 3200, 5), unpainted={f"f{i}" for i in range(5)})
    code, out, _ = check(sandbox, capsys, url)
    assert code == 0
    assert "warning: nothing painted yet: none of the 5 box(es) holds a labelled voxel in the ground-truth layer" in out
    assert "ok: 0 error(s), 1 warning(s)" in out and out.count(" 0% ") == 5


def test_annotation_files_are_checked_from_their_own_volume_data(sandbox, capsys, tmp_path):
    """A painted annotation saved from WEBKNOSSOS (the SDK's download; the zip create-boxes writes: test_check_files)."""
    url = upload_painted(sandbox, "saved", [*box_row("a", 3200, 5), UNPAINTED], unpainted={"u"})
    with wk.webknossos_context(url=sandbox.url, token=sandbox.token):
        wk.Annotation.download(url.rstrip("/").rsplit("/", 1)[-1]).save(tmp_path / "saved.zip")
    code, out, _ = check(sandbox, capsys, str(tmp_path / "saved.zip"), "--json")
    data = json.loads(out)
    assert code == 0 and painted_findings(data) == [("u", "unpainted")] and data["annotation"]["file"] == str(tmp_path / "saved.zip")
