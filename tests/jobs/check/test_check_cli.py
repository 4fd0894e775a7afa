"""``wkgt check`` over HTTP against the sandbox, on annotations uploaded with the unmodified SDK."""

import json

import webknossos as wk

from wkgt.cli import run
from wkgt.planner import PlanOptions, Region, make_plan

L4_VOXEL = (11.24, 11.24, 28.0)
L4_BBOX = Region((3072, 3072, 512), (1024, 1024, 1024))
L4_ID, ORG = "66e1c3a2b7f0d94e1a2b1001", "sandbox_lab"
L4_MAGS = [(1, 1, 1), (2, 2, 1), (4, 4, 1), (8, 8, 2), (16, 16, 4)]


def upload(sb, boxes, *, volume=True):
    """Upload an annotation on l4_sample holding ``boxes`` ((name, topleft, size) triples)."""
    with wk.webknossos_context(url=sb.url, token=sb.token):
        annotation = wk.Annotation(
            "hand-drawn",
            dataset_name="l4_sample",
            voxel_size=L4_VOXEL,
            organization_id=ORG,
            user_bounding_boxes=[wk.BoundingBox(t, s).with_name(n) for n, t, s in boxes],
        )
        annotation.dataset_id = L4_ID
        if volume:
            annotation.add_volume_layer("ground_truth", dtype="uint32")
        return annotation.upload()


def check(sb, url, *extra):
    return run(["check", "--annotation", url, "--webknossos-url", sb.url, "--token", sb.token, *extra])


def check_json(sb, capsys, url, *extra):
    code = check(sb, url, "--json", *extra)
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def test_boxes_planned_by_wkgt_pass_clean(sandbox, capsys):
    plan = make_plan(PlanOptions().request(L4_VOXEL, L4_MAGS, L4_BBOX))
    url = upload(sandbox, [(b.name, b.topleft, b.size) for b in plan.boxes])
    code, data, err = check_json(sandbox, capsys, url)
    assert code == 0 and err == ""
    # nothing painted yet (a pre-painting check): one warning, no box judged on its own
    assert data["ok"] is True and data["errors"] == 0 and [f["code"] for f in data["findings"]] == ["nothing-painted"]
    assert all(b["painted"] == 0 and b["findings"] == [] for b in data["boxes"])
    code, data, err = check_json(sandbox, capsys, url, "--no-painted-check")
    assert code == 0 and data["warnings"] == 0 and all(b["painted"] is None for b in data["boxes"])
    assert data["mag"] == plan.mag and data["mag_source"] == "rule"
    assert [b["name"] for b in data["boxes"]] == [b.name for b in plan.boxes]
    assert data["annotation"]["url"] == url and data["dataset"]["id"] == L4_ID and data["layer"] == "color"


def test_hand_drawn_mistakes_get_webknossos_verdicts_and_exit_1(sandbox, capsys):
    url = upload(
        sandbox,
        [
            ("fine", (3100, 3100, 600), (200, 200, 100)),
            ("sticks out", (4000, 3100, 600), (200, 200, 100)),
            ("odd corner", (3301, 3100, 600), (301, 200, 100)),
        ],
    )
    code, data, _ = check_json(sandbox, capsys, url, "--mag", "2-2-1")
    assert code == 1 and data["ok"] is False and data["errors"] == 2
    by_name = {b["name"]: b["findings"] for b in data["boxes"]}
    assert by_name["fine"] == []
    assert by_name["sticks out"] == ["outside-dataset"]
    assert by_name["odd corner"] == ["unaligned", "not-multiple"]
    [unaligned] = [f for f in data["findings"] if f["code"] == "unaligned"]
    assert unaligned["shrunk"] == {"topleft": [3302, 3100, 600], "size": [300, 200, 100]}
    # three boxes: training would fail (the trainer holds a test fraction out)
    assert {f["code"] for f in data["findings"] if f["box"] is None} == {"too-few-boxes", "total-volume", "nothing-painted"}
    assert data["mag_source"] == "given"


def test_warnings_alone_exit_0_and_a_missing_volume_layer_is_one(sandbox, capsys):
    boxes = [(f"b{i}", (3200 + 200 * i, 3200, 600), (170, 170, 64)) for i in range(4)]
    url = upload(sandbox, boxes, volume=False)
    code, data, _ = check_json(sandbox, capsys, url)
    assert code == 0 and data["ok"] is True and data["errors"] == 0
    codes = [f["code"] for f in data["findings"]]
    assert "no-volume-layer" in codes and "few-boxes" in codes and data["ground_truth"] is None


def test_no_boxes_is_an_error(sandbox, capsys):
    url = upload(sandbox, [])
    code, data, _ = check_json(sandbox, capsys, url)
    assert code == 1 and [f["code"] for f in data["findings"]] == ["no-boxes"]


def test_table_output_lists_boxes_and_verdicts(sandbox, capsys):
    url = upload(sandbox, [("sticks out", (4000, 3100, 600), (200, 200, 100))])
    assert check(sandbox, url) == 1
    out = capsys.readouterr().out
    assert "sticks out" in out and "outside-dataset" in out and "not ready for training" in out
    assert sandbox.token not in out


def test_annotation_by_id_reads_the_same(sandbox, capsys):
    url = upload(sandbox, [(f"b{i}", (3200 + 200 * i, 3200, 600), (170, 170, 64)) for i in range(4)])
    code, data, _ = check_json(sandbox, capsys, url.rsplit("/", 1)[-1])
    assert code == 0 and data["boxes"][0]["size"] == [170, 170, 64]


def test_unknown_annotation_is_exit_3_in_one_line(sandbox, capsys):
    assert check(sandbox, "0123456789abcdef01234567") == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("wkgt: error: no annotation 0123456789abcdef01234567")


def test_malformed_reference_is_exit_2(sandbox, capsys):
    assert check(sandbox, "not-an-annotation") == 2
    assert capsys.readouterr().err.startswith("wkgt: error: not an annotation id or URL")
    assert sandbox.state.request_log == []
