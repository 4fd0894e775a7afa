"""``wkgt check`` on annotation files you hold: the ``.zip`` that ``create-boxes --output`` writes,
an NML, or an annotation saved from the server, judged against a local folder or the server's dataset."""

from __future__ import annotations

import json
import zipfile

import webknossos as wk

from wkgt.cli import run

from ...helpers import run_json

L4_ID = "66e1c3a2b7f0d94e1a2b1001"


def local_dataset(tmp_path):
    dataset = wk.Dataset(tmp_path / "local_ds", voxel_size=(4, 4, 35))
    layer = dataset.add_layer("color", wk.COLOR_CATEGORY, dtype="uint8")
    layer.bounding_box = wk.BoundingBox((0, 0, 0), (2048, 2048, 256))
    for mag in ("1", "2-2-1", "4-4-1"):
        layer.add_mag(mag)
    return tmp_path / "local_ds"


def test_check_the_zip_that_output_writes_and_its_nml(tmp_path, capsys):
    folder = local_dataset(tmp_path)
    out = tmp_path / "boxes.zip"
    code, made, err = run_json(capsys, ["create-boxes", "--dataset", str(folder), "--output", str(out), "--no-tissue-check", "--json"])
    assert code == 0, err
    code, data, err = run_json(capsys, ["check", "--annotation", str(out), "--dataset", str(folder), "--json"])
    assert code == 0, err
    assert data["ok"] is True and data["mag"] == made["mag"] == "2-2-1"
    assert [b["name"] for b in data["boxes"]] == [b["name"] for b in made["boxes"]]
    assert data["annotation"]["file"] == str(out) and data["annotation"]["url"] is None
    assert data["ground_truth"]["layer"] == "ground_truth" and "2-2-1" in data["ground_truth"]["mags"]
    # planned, not painted yet: the zip's empty ground-truth layer is one note
    assert [f["code"] for f in data["findings"] if "painted" in f["code"]] == ["nothing-painted"]
    assert {b["painted"] for b in data["boxes"]} == {0.0}
    # the NML inside the zip alone: the same boxes
    with zipfile.ZipFile(out) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".nml")]
        (tmp_path / "boxes.nml").write_bytes(archive.read(name))
    code, nml, err = run_json(capsys, ["check", "--annotation", str(tmp_path / "boxes.nml"), "--dataset", str(folder), "--json"])
    assert code == 0, err
    assert [b["topleft"] for b in nml["boxes"]] == [b["topleft"] for b in made["boxes"]]
    assert {b["painted"] for b in nml["boxes"]} == {None}  # an NML holds no voxels: not read
    # the table names the file
    assert run(["check", "--annotation", str(out), "--dataset", str(folder)]) == 0
    assert str(out) in capsys.readouterr().out


def test_a_file_is_judged_against_the_dataset_it_names_on_the_server(sandbox, tmp_path, capsys):
    code, made, err = run_json(
        capsys, ["create-boxes", "--dataset", "l4_sample", "--count", "4", "--no-tissue-check", "--webknossos-url", sandbox.url, "--token", sandbox.token, "--json"]
    )
    assert code == 0, err
    with wk.webknossos_context(url=sandbox.url, token=sandbox.token):
        wk.Annotation.download(made["annotation"]["id"]).save(tmp_path / "saved.zip")
    code, data, err = run_json(capsys, ["check", "--annotation", str(tmp_path / "saved.zip"), "--webknossos-url", sandbox.url, "--token", sandbox.token, "--json"])
    assert data is not None, err
    assert data["dataset"]["id"] == L4_ID and len(data["boxes"]) == 4
    assert [f["code"] for f in data["findings"] if f["severity"] == "error"] == [] and code == 0


def test_files_that_are_not_annotations(tmp_path, capsys):
    code, _, err = run_json(capsys, ["check", "--annotation", str(tmp_path / "missing.zip")])
    assert code == 2 and "no such file" in err
    (tmp_path / "junk.nml").write_text("not xml")
    code, _, err = run_json(capsys, ["check", "--annotation", str(tmp_path / "junk.nml"), "--dataset", str(tmp_path)])
    assert code == 2 and "not a WEBKNOSSOS annotation" in err
    assert json.dumps(err).count("\\n") == 1
