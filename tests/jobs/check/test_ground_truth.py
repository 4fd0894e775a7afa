"""Issue 12 over HTTP: the ground-truth layer's mags and box (the sandbox serves them the way the
tracing store computes them), several annotations in one run, uint24 layers, other organizations."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator

import pytest
import webknossos as wk

from tests.helpers import create_boxes_argv, run_json
from wkgt.cli import run
from wkgt.client import Connection, DatasetRef, Session
from wkgt.client.annotations import read_annotation
from wkgt.client.ground_truth import _same_origin, read_ground_truth
from wkgt.planner.ground_truth import fallback_layer, ground_truth_layer
from wkgt_sandbox import Sandbox, run_sandbox
from wkgt_sandbox.volume_mags import describe_volume_layers

from ...conftest import REPO_ROOT

MIXED_ID, RGB_ID, FOREIGN_ID = "66e1c3a2b7f0d94e1a2bc001", "66e1c3a2b7f0d94e1a2bc002", "66e1c3a2b7f0d94e1a2bc003"
VOXEL = (4.0, 4.0, 35.0)


def _layer(name, category, element_class, mags, size, channels=1):
    return {
        "name": name,
        "category": category,
        "elementClass": element_class,
        "dataFormat": "zarr3",
        "resolutions": [list(m) for m in mags],
        "mags": [{"mag": list(m), "path": f"./{name}/{'-'.join(map(str, m))}"} for m in mags],
        "numChannels": channels,
        "boundingBox": {"topLeft": [0, 0, 0], "width": size[0], "height": size[1], "depth": size[2]},
        **({"largestSegmentId": 0} if category == "segmentation" else {}),
    }


def _dataset(template, dataset_id, name, organization, layers, public=False):
    entry = copy.deepcopy(template)
    entry.update(id=dataset_id, name=name, directoryName=name, owningOrganization=organization, isPublic=public)
    entry["dataSource"]["id"] = {"name": name, "team": organization}
    entry["dataSource"]["dataLayers"] = layers
    entry["dataSource"]["scale"] = {"factor": list(VOXEL), "unit": "nanometer"}
    return entry


COLOR_MAGS = [(1, 1, 1), (2, 2, 1), (4, 4, 1)]
SEG_MAGS = [(1, 1, 1), (2, 2, 2), (4, 4, 4)]


@pytest.fixture(scope="module")
def module_sandbox(tmp_path_factory) -> Iterator[Sandbox]:
    template = json.loads((REPO_ROOT / "wkgt_sandbox" / "default_catalog.json").read_text())[1]
    catalog = [
        _dataset(template, MIXED_ID, "mixed_mags", "sandbox_lab", [
            _layer("color", "color", "uint8", COLOR_MAGS, (4096, 4096, 512)),
            _layer("segmentation", "segmentation", "uint32", SEG_MAGS, (2048, 2048, 256)),
            _layer("mito", "segmentation", "uint32", [(1, 1, 1), (2, 2, 1)], (4096, 4096, 512)),
        ]),
        _dataset(template, RGB_ID, "rgb_first", "sandbox_lab", [
            _layer("rgb", "color", "uint24", COLOR_MAGS, (4096, 4096, 512), channels=3),
            _layer("gray", "color", "uint8", COLOR_MAGS, (4096, 4096, 512)),
        ]),
        _dataset(template, FOREIGN_ID, "foreign", "partner_lab", [
            _layer("color", "color", "uint8", COLOR_MAGS, (4096, 4096, 512)),
        ], public=True),
    ]
    path = tmp_path_factory.mktemp("catalog") / "catalog.json"
    path.write_text(json.dumps(catalog))
    with run_sandbox(catalog=path) as sb:
        yield sb


@pytest.fixture
def sandbox(module_sandbox: Sandbox) -> Sandbox:
    module_sandbox.reset()
    return module_sandbox


def upload(sb, dataset_id, name, organization, boxes, *, fallback=None, volume=True, annotation_name="hand-drawn"):
    with wk.webknossos_context(url=sb.url, token=sb.token):
        annotation = wk.Annotation(
            annotation_name, dataset_name=name, voxel_size=VOXEL, organization_id=organization,
            user_bounding_boxes=[wk.BoundingBox(t, s).with_name(n) for n, t, s in boxes],
        )
        annotation.dataset_id = dataset_id
        if volume:
            annotation.add_volume_layer("ground_truth", dtype="uint32", fallback_layer=fallback)
        return annotation.upload()


def grid(n, size=(340, 340, 32), start=0):
    return [(f"b{start + i}", (400 * (start + i), 400, 64), size) for i in range(n)]


def check_json(sb, capsys, *args):
    urls = [a for a in args if a.startswith("http")]
    extra = [a for a in args if not a.startswith("http")]
    argv = ["check", *[x for url in urls for x in ("--annotation", url)], "--webknossos-url", sb.url, "--token", sb.token, "--json", *extra]
    code = run(argv)
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out.strip() else None, captured.err


def codes(data, severity="error"):
    return [f["code"] for f in data["findings"] if f["severity"] == severity]


def test_a_fallback_layer_gives_the_ground_truth_its_mags_and_box(sandbox, capsys):
    url = upload(sandbox, MIXED_ID, "mixed_mags", "sandbox_lab", grid(5), fallback="segmentation")
    code, data, err = check_json(sandbox, capsys, url)
    assert code == 0, err
    assert data["ground_truth"] == {
        "layer": "ground_truth", "mags": ["1", "2", "4"],
        "bbox": {"topleft": [0, 0, 0], "size": [2048, 2048, 256]}, "source": "the tracing store",
    }
    assert data["mag"] == "1"  # the rule would take 2-2-1 (8 nm), which the ground truth lacks
    code, data, _ = check_json(sandbox, capsys, url, "--mag", "2-2-1")
    assert code == 1 and codes(data) == ["no-common-mag"]
    [finding] = [f for f in data["findings"] if f["code"] == "no-common-mag"]
    assert finding["message"].startswith("No common magnification found for the selected layers.")


def test_outside_the_ground_truth_layer_uses_that_layer_s_box(sandbox, capsys):
    boxes = [*grid(4), ("far", (3000, 3000, 300), (340, 340, 32))]  # inside color, outside segmentation
    on_fallback = upload(sandbox, MIXED_ID, "mixed_mags", "sandbox_lab", boxes, fallback="segmentation")
    code, data, _ = check_json(sandbox, capsys, on_fallback)
    assert code == 1 and codes(data) == ["outside-volume"]
    plain = upload(sandbox, MIXED_ID, "mixed_mags", "sandbox_lab", boxes)
    code, data, _ = check_json(sandbox, capsys, plain)
    assert code == 0 and data["ground_truth"]["bbox"]["size"] == [4096, 4096, 512]
    assert data["ground_truth"]["mags"] == ["1", "2-2-1", "4-4-1"] and data["mag"] == "2-2-1"


@pytest.mark.parametrize("fallback", [None, "segmentation", "mito"])
def test_the_sandbox_serves_what_the_tracing_store_rule_computes(sandbox, fallback):
    """The zarr view of the volume layer equals wkgt's own rule (the path for a tracing store
    on another host), and the sandbox's mags follow VolumeTracingMags."""
    url = upload(sandbox, MIXED_ID, "mixed_mags", "sandbox_lab", grid(4), fallback=fallback)
    session = Session(Connection(sandbox.url, sandbox.token).resolve(), Connection().retry)
    session.negotiate()
    boxes = read_annotation(session, url.rsplit("/", 1)[-1])
    facts = session.dataset(DatasetRef(id=MIXED_ID))
    served = read_ground_truth(session, boxes, facts)
    computed = ground_truth_layer(facts.layers, fallback_layer(facts.layers, fallback), name="ground_truth")
    assert served is not None and served.source == "the tracing store"
    assert (served.mags, served.bbox) == (computed.mags, computed.bbox)
    expected = {None: COLOR_MAGS, "segmentation": SEG_MAGS, "mito": [(1, 1, 1), (2, 2, 1)]}[fallback]
    assert list(served.mags) == expected
    listing = sandbox_listing(sandbox, boxes)
    assert listing[:2] == [".zattrs", ".zgroup"] and len(listing) == 2 + len(expected)


def sandbox_listing(sandbox, boxes):
    import httpx

    info = httpx.get(f"{sandbox.url}/api/v16/annotations/{boxes.id}/info", headers={"X-Auth-Token": sandbox.token}).json()
    tracing = next(layer["tracingId"] for layer in info["annotationLayers"] if layer["typ"] == "Volume")
    assert httpx.get(f"{sandbox.url}/tracings/volume/zarr/json/{tracing}").status_code == 403  # no token
    return httpx.get(f"{sandbox.url}/tracings/volume/zarr/json/{tracing}", headers={"X-Auth-Token": sandbox.token}).json()


def test_without_the_zarr_view_the_rule_decides_and_other_hosts_get_no_token(sandbox):
    url = upload(sandbox, MIXED_ID, "mixed_mags", "sandbox_lab", grid(4), fallback="segmentation")
    session = Session(Connection(sandbox.url, sandbox.token).resolve(), Connection().retry)
    session.negotiate()
    boxes = read_annotation(session, url.rsplit("/", 1)[-1])
    facts = session.dataset(DatasetRef(id=MIXED_ID))
    sandbox.faults.add(r"^/tracings/", status=404)  # an older tracing store
    layer = read_ground_truth(session, boxes, facts)
    assert layer is not None and layer.source == "fallback layer 'segmentation'" and list(layer.mags) == SEG_MAGS
    assert layer.bbox == facts.layer("segmentation").bbox
    assert _same_origin("http://127.0.0.1:9000", "http://127.0.0.1:9000/") is True
    assert _same_origin("https://tracing.example.org", "https://example.org") is False


def test_the_sandbox_trims_a_task_s_mags_by_its_task_type():
    from wkgt_sandbox.catalog import dataset_from_json

    template = json.loads((REPO_ROOT / "wkgt_sandbox" / "default_catalog.json").read_text())[1]
    dataset = dataset_from_json(_dataset(template, MIXED_ID, "mixed_mags", "sandbox_lab", [
        _layer("color", "color", "uint8", COLOR_MAGS, (4096, 4096, 512)),
        _layer("segmentation", "segmentation", "uint32", SEG_MAGS, (2048, 2048, 256)),
    ]))
    task_box = {"topLeft": [10, 20, 30], "size": [100, 200, 64]}
    (layer,) = describe_volume_layers("a" * 24, [{"id": 0, "name": "v"}], dataset, task_box, {"min": 2})
    assert layer["mags"] == [[2, 2, 1], [4, 4, 1]]
    assert layer["boundingBox"] == {"topLeft": [10, 20, 30], "width": 100, "height": 200, "depth": 64}
    (layer,) = describe_volume_layers("a" * 24, [{"id": 0, "name": "v", "fallbackLayer": "segmentation"}], dataset)
    assert layer["mags"] == [[1, 1, 1], [2, 2, 2], [4, 4, 4]] and layer["boundingBox"]["width"] == 2048


def test_several_annotations_make_one_training_run(sandbox, capsys):
    first = upload(sandbox, MIXED_ID, "mixed_mags", "sandbox_lab", grid(2), annotation_name="first")
    second = upload(sandbox, MIXED_ID, "mixed_mags", "sandbox_lab", grid(2, size=(510, 510, 32), start=4), annotation_name="second")
    code, data, _ = check_json(sandbox, capsys, first)
    assert code == 1 and codes(data) == ["too-few-boxes"]
    code, data, err = check_json(sandbox, capsys, first, second)
    assert code == 0, err
    assert [a["annotation"]["name"] for a in data["annotations"]] == ["first", "second"]
    # the smallest box of the run is the first's 170×170×32 (mag 2-2-1): 255×255 is no multiple
    multiples = {f["box"] for f in data["findings"] if f["code"] == "not-multiple"}
    assert multiples == {"second/b4", "second/b5"}
    code, _, _ = check_json(sandbox, capsys, first, second, "--mag", "2-2-1")
    assert code == 0
    on_fallback = upload(sandbox, MIXED_ID, "mixed_mags", "sandbox_lab", grid(2, start=2), fallback="segmentation", annotation_name="third")
    code, data, _ = check_json(sandbox, capsys, first, second, on_fallback)
    assert code == 0 and data["mag"] == "1"  # the third's ground truth has no 2-2-1: the run trains at 1
    code, data, _ = check_json(sandbox, capsys, first, on_fallback, "--mag", "2-2-1")
    assert code == 1 and codes(data) == ["no-common-mag"]
    assert "annotation third" in next(f["message"] for f in data["findings"] if f["code"] == "no-common-mag")


def test_uint24_color_layers_are_skipped_or_refused(sandbox, capsys):
    url = upload(sandbox, RGB_ID, "rgb_first", "sandbox_lab", grid(5))
    code, data, err = check_json(sandbox, capsys, url)
    assert code == 0, err
    assert data["layer"] == "gray"
    code, _, err = check_json(sandbox, capsys, url, "--layer", "rgb")
    assert code == 2 and "uint24" in err and "WEBKNOSSOS cannot train on uint24" in err and err.count("\n") == 1


def test_a_dataset_of_another_organization_is_warned(sandbox, capsys):
    url = upload(sandbox, FOREIGN_ID, "foreign", "partner_lab", grid(5))
    code, data, _ = check_json(sandbox, capsys, url)
    assert code == 0 and "other-organization" in codes(data, "warning")
    own = upload(sandbox, MIXED_ID, "mixed_mags", "sandbox_lab", grid(5))
    code, data, _ = check_json(sandbox, capsys, own)
    assert "other-organization" not in codes(data, "warning")


def test_planning_on_a_dataset_of_another_organization_is_warned(sandbox, capsys):
    """Issue 12: WEBKNOSSOS trains only on datasets of the user's own organization, so a plan on
    another one's says so, in the dry run meant for review too (another organization's dataset is
    readable only if public: a dry run asks ``GET /user`` for public ones alone); one's own gets
    no such warning."""
    argv = create_boxes_argv(sandbox, "foreign", "--json", "--no-tissue-check", "--count", "5")
    argv[argv.index("--organization") + 1] = "partner_lab"
    code, data, err = run_json(capsys, [*argv, "--dry-run"])
    assert code == 0 and data["status"] == "dry-run", err
    assert any("belongs to organization partner_lab, you to sandbox_lab" in w for w in data["warnings"]), data["warnings"]
    assert [e.path for e in sandbox.state.request_log if e.path.endswith("/user")] == ["/api/v16/user"]
    sandbox.state.request_log.clear()
    code, data, err = run_json(capsys, create_boxes_argv(sandbox, "mixed_mags", "--json", "--no-tissue-check", "--count", "5", "--dry-run"))
    assert code == 0 and not any("organization" in w for w in data["warnings"]), err
    assert not [e for e in sandbox.state.request_log if e.path.endswith("/user")]  # private: one's own
    refused = [*argv, "--dry-run"]
    refused[refused.index("--token") + 1] = "wrong-Qx7Zp9"
    code, data, err = run_json(capsys, refused)
    assert code == 0 and data["status"] == "dry-run", err
    assert any("refused the token" in w and "exit 4" in w for w in data["warnings"]) and "wrong-Qx7Zp9" not in err
    code, data, err = run_json(capsys, argv)
    assert code == 0 and data["status"] == "created", err
    assert any("belongs to organization partner_lab, you to sandbox_lab" in w for w in data["warnings"]), data["warnings"]
    assert "belongs to organization partner_lab" in err
    code, data, err = run_json(capsys, create_boxes_argv(sandbox, "mixed_mags", "--json", "--no-tissue-check", "--count", "5"))
    assert code == 0 and data["status"] == "created" and not any("belongs to organization" in w for w in data["warnings"])


def test_create_boxes_plans_at_the_fallback_layer_s_mags(sandbox, capsys):
    argv = create_boxes_argv(sandbox, "mixed_mags", "--dry-run", "--json", "--no-tissue-check", "--count", "5")
    code, data, err = run_json(capsys, [*argv, "--fallback-segmentation", "segmentation"])
    assert code == 0, err
    assert data["mag"] == "1" and len(data["mag_exclusions"]) == 2
    code, data, err = run_json(capsys, argv)
    assert code == 0 and data["mag"] == "2-2-1" and data["mag_exclusions"] == []
    code, _, err = run_json(capsys, [*argv[:-2], "--fallback-segmentation", "--count", "5"])
    assert code == 2 and "name one with --fallback-segmentation LAYER" in err
    code, _, err = run_json(capsys, [*argv, "--fallback-segmentation", "nuclei"])
    assert code == 3 and "segmentation, mito" in err


def test_create_boxes_writes_the_named_fallback_and_check_agrees(sandbox, capsys):
    argv = create_boxes_argv(sandbox, "mixed_mags", "--json", "--no-tissue-check", "--rules", "webknossos", "--fallback-segmentation", "mito")
    code, data, err = run_json(capsys, argv)
    assert code == 0, err
    assert data["rules"] == "webknossos" and data["box_size"] == [170, 170, 32] and data["mag"] == "2-2-1"
    (stored,) = sandbox.state.annotations.values()
    assert stored.volume_layers[0]["fallbackLayer"] == "mito"
    code, report, err = check_json(sandbox, capsys, data["annotation"]["url"], "--rules", "webknossos")
    # not painted yet: over a fallback that is proofreading, each box "unedited" (training reads mito's labels there)
    assert code == 0 and report["errors"] == 0
    assert [f["code"] for f in report["findings"]] == ["unedited"] * len(report["boxes"])
    assert all("fallback segmentation 'mito'" in f["message"] for f in report["findings"])
    assert report["rules"] == "webknossos" and report["ground_truth"]["mags"] == ["1", "2-2-1"]
