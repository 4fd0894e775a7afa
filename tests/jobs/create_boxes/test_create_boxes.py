"""``wkgt create-boxes`` over real HTTP against the sandbox: reads, writes, reruns, URLs."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import pytest

from wkgt import PlanOptions, create_boxes
from wkgt.cli import run

from .helpers import cli, run_json, writes

L4_ID = "66e1c3a2b7f0d94e1a2b1001"


def dataset_url(sandbox, name="l4_sample", dataset_id=L4_ID):
    return f"{sandbox.url}/datasets/{name}-{dataset_id}/view#3584,3584,1024,0,1.0"


@pytest.mark.parametrize("how", ["name", "id", "url", "legacy-url"])
def test_dry_run_reads_in_at_most_4_requests_and_writes_nothing(sandbox, capsys, how):
    dataset = {
        "name": "l4_sample",
        "id": L4_ID,
        "url": dataset_url(sandbox),
        "legacy-url": f"{sandbox.url}/datasets/sandbox_lab/l4_sample/view",
    }[how]
    # the metadata budget; the tissue check's image reads are counted in tests/tissue
    code, data, err = run_json(capsys, cli(sandbox, "--dataset", dataset, "--dry-run", "--no-tissue-check", "--json"))
    assert code == 0, err
    log = [(e.method, e.path) for e in sandbox.state.request_log]
    assert len(log) <= 4 and log[-1] == ("GET", "/api/v16/user"), log  # l4_sample is public: whose is it?
    assert writes(sandbox) == []
    assert data["status"] == "dry-run" and data["annotation"] is None
    assert data["mag"] == "1" and data["voxel_size_nm"] == [11.24, 11.24, 28.0]
    assert data["dataset"]["id"] == L4_ID
    box = data["boxes"][0]
    x, y, z = (t + s // 2 for t, s in zip(box["topleft"], box["size"]))
    assert box["url"].startswith(f"{sandbox.url}/datasets/l4_sample-{L4_ID}/view#{x},{y},{z},0,")
    for b in data["boxes"]:  # inside the layer's bounding box (3072,3072,512 + 1024³)
        assert all(3072 <= t and t + s <= 4096 for t, s in zip(b["topleft"][:2], b["size"][:2]))
        assert 512 <= b["topleft"][2] and b["topleft"][2] + b["size"][2] <= 1536


def test_write_creates_one_annotation_with_named_visible_coloured_boxes(sandbox, capsys):
    code, data, err = run_json(capsys, cli(sandbox, "--dataset", "l4_sample", "--no-tissue-check", "--json"))
    assert code == 0, err
    log = sandbox.state.request_log
    # version, name search, dataset, your user, the rerun check, the upload, the reconciliation
    assert len(log) <= 7, [(e.method, e.path) for e in log]
    assert [e.path for e in writes(sandbox)] == ["/api/v16/annotations/upload"]
    assert data["status"] == "created"
    annotation_id = data["annotation"]["id"]
    assert data["annotation"]["url"] == f"{sandbox.url}/annotations/{annotation_id}"
    assert all(b["url"].startswith(f"{sandbox.url}/annotations/{annotation_id}#") for b in data["boxes"])

    import webknossos as wk

    with wk.webknossos_context(url=sandbox.url, token=sandbox.token):
        annotation = wk.Annotation.download(annotation_id)
    boxes = annotation.user_bounding_boxes
    assert [b.name for b in boxes] == [f"GT {i:02d}" for i in range(1, len(data["boxes"]) + 1)]
    assert all(b.is_visible for b in boxes)
    assert [tuple(b.topleft) for b in boxes] == [tuple(b["topleft"]) for b in data["boxes"]]
    colours = [tuple(round(c, 2) for c in b.color[:3]) for b in boxes]
    assert len(set(colours)) == len(colours)
    assert list(annotation.get_volume_layer_names()) == ["ground_truth"]
    assert annotation.name.startswith("wkgt l4_sample mag 1 ")
    assert f"wkgt-run-key: {data['run_key']}" in annotation.description
    assert "mag 1" in annotation.description and "seed 0" in annotation.description


def test_rerun_reports_existing_annotation_and_force_new_makes_another(sandbox, capsys):
    argv = cli(sandbox, "--dataset", "l4_sample", "--count", "6", "--json")
    code, first, _ = run_json(capsys, argv)
    assert code == 0 and first["status"] == "created"
    code, second, _ = run_json(capsys, argv)
    assert code == 0 and second["status"] == "exists"
    assert second["annotation"]["id"] == first["annotation"]["id"]
    assert len(sandbox.state.annotations) == 1
    code, third, _ = run_json(capsys, [*argv, "--force-new"])
    assert code == 0 and third["status"] == "created"
    assert third["annotation"]["id"] != first["annotation"]["id"]
    assert len(sandbox.state.annotations) == 2
    code, other_seed, _ = run_json(capsys, [*argv, "--seed", "7"])
    assert other_seed["status"] == "created"


def test_two_overlapping_runs_create_one_annotation(sandbox, tmp_path):
    sandbox.faults.add(r"/annotations/upload$", method="POST", latency=1.0)
    argv = [sys.executable, "-m", "wkgt", *cli(sandbox, "--dataset", "l4_sample", "--count", "5", "--json")]
    runs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [json.loads(p.communicate(timeout=120)[0]) for p in runs]
    assert sorted(r["status"] for r in results) == ["created", "exists"]
    assert len(sandbox.state.annotations) == 1


def test_fallback_segmentation_volume_layer(sandbox, capsys):
    code, data, err = run_json(capsys, cli(sandbox, "--dataset", "l4_sample", "--fallback-segmentation", "--json"))
    assert code == 0, err
    stored = sandbox.state.annotations[data["annotation"]["id"]]
    assert "segmentation" in json.dumps([getattr(v, "__dict__", v) for v in stored.volume_layers], default=str)


def test_name_option_and_table_output(sandbox, capsys):
    code = run(cli(sandbox, "--dataset", "l4_sample", "--name", "round 1", "--count", "5"))
    out = capsys.readouterr().out
    assert code == 0
    assert "GT 05" in out and "annotation created:" in out and "/annotations/" in out
    assert sandbox.token not in out
    (stored,) = sandbox.state.annotations.values()
    assert stored.name == "round 1"


def test_token_never_printed(sandbox, capsys):
    for extra in (["--dry-run"], [], ["--json"]):
        run(cli(sandbox, "--dataset", "l4_sample", "--count", "5", *extra))
        captured = capsys.readouterr()
        assert sandbox.token not in captured.out + captured.err


def test_config_from_dotenv_in_working_directory(sandbox, capsys, tmp_path):
    (tmp_path / ".env").write_text(f"WK_URL={sandbox.url}\nWK_TOKEN={sandbox.token}\n")
    code, data, err = run_json(capsys, ["create-boxes", "--dataset", "l4_sample", "--count", "5", "--json"])
    assert code == 0, err
    assert data["status"] == "created"


def test_environment_beats_dotenv(sandbox, capsys, tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("WK_URL=http://127.0.0.1:9\nWK_TOKEN=wrong\n")
    monkeypatch.setenv("WK_URL", sandbox.url)
    monkeypatch.setenv("WK_TOKEN", sandbox.token)
    code, data, err = run_json(capsys, ["create-boxes", "--dataset", "l4_sample", "--dry-run", "--json"])
    assert code == 0, err


def test_python_api_returns_result_object(sandbox):
    result = create_boxes("l4_sample", PlanOptions(count=8, seed=3), webknossos_url=sandbox.url, token=sandbox.token)
    assert result.status == "created" and len(result.plan.boxes) == 8
    assert result.annotation is not None and result.annotation.id in sandbox.state.annotations
    assert len(result.box_urls) == 8 and all(result.annotation.id in url for url in result.box_urls)
    assert result.to_dict()["annotation"]["id"] == result.annotation.id


def test_anisotropic_dataset_plans_mag_2_2_1(sandbox, capsys):
    code, data, err = run_json(capsys, cli(sandbox, "--dataset", "aniso_4x4x35", "--dry-run", "--json"))
    assert code == 0, err
    assert data["mag"] == "2-2-1" and data["box_size_mag1"] == [250, 250, 32]


def test_local_dataset_writes_zip(tmp_path, capsys):
    from wkgt.client.sdk import webknossos

    wk = webknossos()
    dataset = wk.Dataset(tmp_path / "local_ds", voxel_size=(4, 4, 35))
    layer = dataset.add_layer("color", wk.COLOR_CATEGORY, dtype="uint8")
    layer.bounding_box = wk.BoundingBox((0, 0, 0), (2048, 2048, 256))
    for mag in ("1", "2-2-1", "4-4-1"):
        layer.add_mag(mag)
    out = tmp_path / "boxes.zip"
    code, data, err = run_json(capsys, ["create-boxes", "--dataset", str(tmp_path / "local_ds"), "--output", str(out), "--count", "5", "--json"])
    assert code == 0, err
    assert data["status"] == "saved" and data["mag"] == "2-2-1"
    assert zipfile.is_zipfile(out)
    loaded = wk.Annotation.load(out)
    assert [b.name for b in loaded.user_bounding_boxes] == ["GT 01", "GT 02", "GT 03", "GT 04", "GT 05"]
    assert [tuple(b.topleft) for b in loaded.user_bounding_boxes] == [tuple(b["topleft"]) for b in data["boxes"]]


def test_rerun_of_an_avoid_previous_round_finds_its_annotation(sandbox, capsys):
    base = cli(sandbox, "--dataset", "l4_sample", "--count", "6", "--no-tissue-check", "--json")
    code, round1, _ = run_json(capsys, base)
    assert code == 0 and round1["status"] == "created"
    round2_args = [*base, "--seed", "2", "--avoid-previous"]
    code, round2, _ = run_json(capsys, round2_args)
    assert code == 0 and round2["status"] == "created"
    assert {b["annotation"] for b in round2["avoided"]} == {round1["annotation"]["id"]}
    code, again, _ = run_json(capsys, round2_args)
    assert code == 0 and again["status"] == "exists"
    assert again["annotation"]["id"] == round2["annotation"]["id"]
    assert [b["topleft"] for b in again["boxes"]] == [b["topleft"] for b in round2["boxes"]]
    assert len(sandbox.state.annotations) == 2
