"""The pure checker: every verdict, its exact threshold, and plans that pass clean."""

import json

import pytest

from wkgt.planner.check import check_boxes, shrink_to_mag
from wkgt.errors import InvalidInput
from wkgt.planner import Box, ModelKind, PlanOptions, Region, make_plan

ANISO = (4.0, 4.0, 35.0)
ANISO_MAGS = [(1, 1, 1), (2, 2, 1), (4, 4, 1)]
BIG = Region((0, 0, 0), (100_000, 100_000, 10_000))


def check(boxes, *, mag=(1, 1, 1), model=ModelKind.INSTANCES, dataset_bbox=BIG, volume_bbox=None, **kw):
    return check_boxes(
        boxes,
        voxel_size_nm=kw.pop("voxel_size_nm", (8.0, 8.0, 8.0)),
        mag=mag,
        available_mags=kw.pop("available_mags", [(1, 1, 1), (2, 2, 2)]),
        dataset_bbox=dataset_bbox,
        volume_bbox=volume_bbox,
        model=model,
        **kw,
    )


def cubes(n, size=(100, 100, 100), step=1000):
    return [Box(f"b{i}", (i * step, 0, 0), size) for i in range(n)]


def codes(report, box=...):
    findings = report.findings if box is ... else report.for_box(box)
    return [f.code for f in findings]


def test_no_boxes_is_the_only_error():
    report = check([])
    assert not report.ok
    assert [(f.severity, f.code) for f in report.findings] == [("error", "no-boxes")]


def test_zero_total_volume_is_an_error():
    report = check([Box("flat", (0, 0, 0), (100, 100, 0))])
    assert "zero-volume" in codes(report) and not report.ok


def test_outside_the_dataset_by_one_voxel_is_an_error_exact_fit_is_not():
    region = Region((0, 0, 0), (500, 500, 500))
    inside = Box("edge", (400, 400, 400), (100, 100, 100))
    outside = Box("over", (401, 0, 0), (100, 100, 100))
    report = check([inside, outside], dataset_bbox=region)
    assert codes(report, "edge") == [] and codes(report, "over") == ["outside-dataset"]
    assert report.errors[0].severity == "error" and not report.ok


def test_outside_the_volume_layer_is_an_error_once():
    volume = Region((0, 0, 0), (300, 300, 300))
    report = check([Box("a", (250, 0, 0), (100, 100, 100)), Box("b", (5000, 0, 0), (100, 100, 100))], volume_bbox=volume)
    assert codes(report, "a") == ["outside-volume"]
    assert codes(report, "b") == ["outside-volume"]
    report = check([Box("c", (-1, 0, 0), (100, 100, 100))], dataset_bbox=Region((0, 0, 0), (500, 500, 500)), volume_bbox=volume)
    assert codes(report, "c") == ["outside-dataset"]


def test_unaligned_box_is_shrunk_like_webknossos():
    box = Box("odd", (3, 4, 5), (101, 100, 33))
    report = check([box], mag=(2, 2, 2))
    [finding] = [f for f in report.findings if f.code == "unaligned"]
    assert finding.severity == "warning" and finding.box == "odd"
    # ceil(min/mag)*mag and floor(max/mag)*mag: x 3..104 -> 4..104, y 4..104, z 5..38 -> 6..38
    assert finding.shrunk == Box("odd", (4, 4, 6), (100, 100, 32))
    assert report.boxes[0].size_in_mag == (50, 50, 16)
    assert json.loads(json.dumps(report.to_dict()))["findings"][0]["shrunk"] == {"topleft": [4, 4, 6], "size": [100, 100, 32]}
    assert "unaligned" not in codes(check([Box("even", (4, 4, 6), (100, 100, 32))], mag=(2, 2, 2)))
    assert [f.code for f in report.errors] == ["too-few-boxes"]  # one box: nothing else fails


def test_shrinking_never_gives_negative_sizes():
    assert shrink_to_mag(Box("tiny", (1, 1, 1), (2, 2, 2)), (4, 4, 4)).size == (0, 0, 0)


@pytest.mark.parametrize("depth, thin", [(31, True), (32, False)])
def test_fewer_than_32_voxels_along_an_axis_in_the_mag(depth, thin):
    report = check([Box("b", (0, 0, 0), (200, 200, 2 * depth))], mag=(2, 2, 2))
    assert ("too-thin" in codes(report)) is thin


def test_not_multiple_of_the_smallest_box_needs_two_boxes():
    small, double = Box("s", (0, 0, 0), (100, 100, 40)), Box("d", (1000, 0, 0), (200, 300, 80))
    odd = Box("o", (2000, 0, 0), (150, 100, 40))
    assert "not-multiple" not in codes(check([small, double]))
    report = check([small, double, odd])
    assert codes(report, "o").count("not-multiple") == 1 and "not-multiple" not in codes(report, "d")
    assert "not-multiple" not in codes(check([odd]))


@pytest.mark.parametrize("size, few", [((499, 167, 3), True), ((500, 125, 4), False)])
def test_at_least_250000_voxels_per_box(size, few):
    assert ("few-voxels" in codes(check([Box("b", (0, 0, 0), size)]))) is few  # 249,999 vs 250,000


@pytest.mark.parametrize(
    "model, size, below",
    [
        (ModelKind.NEURONS, (85, 85, 32), False),
        (ModelKind.NEURONS, (84, 85, 32), True),
        (ModelKind.NEURONS, (85, 85, 31), True),
        (ModelKind.INSTANCES, (32, 32, 32), False),
        (ModelKind.INSTANCES, (32, 31, 32), True),
    ],
)
def test_minimum_box_size_per_model(model, size, below):
    report = check([Box("b", (0, 0, 0), size)], model=model)
    assert ("below-minimum" in codes(report, "b")) is below


def test_total_volume_between_5_and_10_million_inclusive():
    assert "total-volume" not in codes(check(cubes(5)))  # 5,000,000
    assert "total-volume" not in codes(check(cubes(10)))  # 10,000,000
    assert "total-volume" in codes(check([*cubes(4), Box("b", (9000, 0, 0), (100, 100, 99))]))
    assert "total-volume" in codes(check(cubes(11)))


def test_at_least_five_boxes():
    assert "few-boxes" in codes(check(cubes(4, size=(130, 130, 130))))
    assert "few-boxes" not in codes(check(cubes(5)))


def test_mag_finer_than_the_rule_names_the_suggested_mag():
    boxes = cubes(5, size=(200, 200, 100))
    report = check(boxes, mag=(1, 1, 1), model=ModelKind.NEURONS, voxel_size_nm=ANISO, available_mags=ANISO_MAGS)
    [finding] = [f for f in report.findings if f.code == "mag-finer-than-rule"]
    assert finding.box is None and finding.severity == "warning" and "2-2-1" in finding.message
    assert report.suggested_mag == (2, 2, 1) and report.mag_source == "given"
    for mag in ((2, 2, 1), (4, 4, 1)):
        report = check(boxes, mag=mag, model=ModelKind.NEURONS, voxel_size_nm=ANISO, available_mags=ANISO_MAGS)
        assert "mag-finer-than-rule" not in codes(report)


def test_min_voxel_size_replaces_the_rule_as_in_planning():
    boxes = cubes(5, size=(200, 200, 100))
    kw = {"model": ModelKind.NEURONS, "voxel_size_nm": ANISO, "available_mags": ANISO_MAGS}
    assert check(boxes, mag=None, min_voxel_size_nm=4.0, **kw).mag == (1, 1, 1)
    assert "mag-finer-than-rule" not in codes(check(boxes, mag=(1, 1, 1), min_voxel_size_nm=4.0, **kw))
    report = check(boxes, mag=(1, 1, 1), model=ModelKind.INSTANCES, voxel_size_nm=ANISO, available_mags=ANISO_MAGS)
    assert report.suggested_mag is None and "mag-finer-than-rule" not in codes(report)


def test_without_mag_the_rule_picks_it():
    report = check(cubes(5, size=(200, 200, 100)), mag=None, model=ModelKind.NEURONS, voxel_size_nm=ANISO, available_mags=ANISO_MAGS)
    assert report.mag == (2, 2, 1) and report.mag_source == "rule"
    assert report.boxes[0].size_in_mag == (100, 100, 100)


def test_unavailable_mag_and_instances_without_mag_are_invalid_input():
    with pytest.raises(InvalidInput):
        check(cubes(5), mag=(8, 8, 8))
    with pytest.raises(InvalidInput):
        check(cubes(5), mag=None, model=ModelKind.INSTANCES)
    # the coarsest mag at which 640 nm objects still span 24 voxels: 16 nm voxels (40 across)
    assert check(cubes(5), mag=None, model=ModelKind.INSTANCES, object_size_nm=640.0).mag == (2, 2, 2)


@pytest.mark.parametrize(
    "voxel_size, mags, bbox",
    [
        ((11.24, 11.24, 30.0), [(1, 1, 1), (2, 2, 1), (4, 4, 1)], Region((0, 0, 0), (4096, 4096, 1024))),
        (ANISO, [(1, 1, 1), (2, 2, 1), (4, 4, 1), (8, 8, 2)], Region((0, 0, 0), (8192, 8192, 512))),
        ((11.24, 11.24, 28.0), [(1, 1, 1), (2, 2, 1)], Region((3072, 3072, 512), (1024, 1024, 1024))),
    ],
)
def test_a_plan_from_make_plan_passes_clean(voxel_size, mags, bbox):
    plan = make_plan(PlanOptions().request(voxel_size, mags, bbox))
    for mag in (None, plan.mag_vec):
        report = check_boxes(
            plan.boxes, voxel_size_nm=voxel_size, mag=mag, available_mags=mags,
            dataset_bbox=bbox, volume_bbox=bbox, model=plan.model,
        )
        assert report.findings == () and report.ok
        assert report.mag == plan.mag_vec and report.total_voxels == plan.total_voxels


def test_report_dict_is_json_and_counts():
    report = check([Box("x", (1, 0, 0), (10, 10, 10))], mag=(2, 2, 2), dataset_bbox=Region((0, 0, 0), (5, 5, 5)))
    data = json.loads(json.dumps(report.to_dict()))
    assert data["ok"] is False and data["errors"] == 2 and data["warnings"] == len(report.warnings)
    assert {f["code"] for f in data["findings"] if f["severity"] == "error"} == {"outside-dataset", "too-few-boxes"}
    assert data["boxes"][0]["size_in_mag"] == [4, 5, 5] and "outside-dataset" in data["boxes"][0]["findings"]
    assert data["mag"] == "2" and data["mag_source"] == "given"


def test_an_empty_box_among_good_ones_is_an_error_and_not_a_multiple_base():
    good = [Box(f"GT {i}", (3072 + 200 * i, 3200, 600), (89, 89, 36)) for i in range(5)]
    empty = Box("flat", (3900, 3900, 700), (89, 0, 36))
    report = check_boxes(
        [*good, empty], voxel_size_nm=(11.24, 11.24, 28.0), mag=(1, 1, 1), available_mags=[(1, 1, 1)],
        dataset_bbox=Region((3072, 3072, 512), (1024, 1024, 1024)), volume_bbox=None, model=ModelKind.NEURONS,
    )
    assert not report.ok
    assert [f.code for f in report.errors] == ["empty-box"] and report.errors[0].box == "flat"
    assert not [f for f in report.warnings if f.code == "not-multiple"]


def test_a_duplicate_box_is_warned_about():
    boxes = [Box(f"GT {i}", (3072 + 200 * i, 3200, 600), (89, 89, 36)) for i in range(5)]
    report = check_boxes(
        [*boxes, Box("copy", boxes[0].topleft, boxes[0].size)], voxel_size_nm=(11.24, 11.24, 28.0), mag=(1, 1, 1),
        available_mags=[(1, 1, 1)], dataset_bbox=None, volume_bbox=None, model=ModelKind.NEURONS,
    )
    assert [(f.code, f.box) for f in report.warnings if f.code == "duplicate"] == [("duplicate", "copy")]


# --- painted ground truth (wkgt's own) ---------------------------------------------------------


def painted(fractions, *, model=ModelKind.NEURONS, fallbacks=(), annotations=()):
    from wkgt.planner.check import with_painted

    report = check(cubes(len(fractions)), model=model)
    return with_painted(report, fractions, fallbacks, annotations)


def painted_codes(report):
    return [(f.box, f.code) for f in report.findings if f.code in {"unpainted", "partly-painted", "nothing-painted", "unedited"}]


def test_painted_boxes_get_no_painted_finding_and_their_fraction_in_json():
    report = painted([1.0, 0.97, 0.5, 0.6, 0.8])
    assert painted_codes(report) == []
    assert [b["painted"] for b in report.to_dict()["boxes"]] == [1.0, 0.97, 0.5, 0.6, 0.8]


def test_one_unpainted_box_warns_on_that_box_only():
    report = painted([1.0, 1.0, 0.0, 1.0, 1.0])
    assert painted_codes(report) == [("b2", "unpainted")]
    assert report.ok and report.for_box("b2")[0].severity == "warning"


def test_a_neuron_box_under_half_painted_is_partly_painted_the_threshold_itself_is_not():
    from wkgt.planner.check import PAINTED_ENOUGH

    report = painted([1.0, PAINTED_ENOUGH, PAINTED_ENOUGH - 0.001, 0.004, 1.0])
    assert painted_codes(report) == [("b2", "partly-painted"), ("b3", "partly-painted")]
    assert "only 49% of its voxels painted" in report.for_box("b2")[0].message
    assert "only <1% of its voxels painted" in report.for_box("b3")[0].message


def test_instance_ground_truth_leaves_background_0_so_only_unpainted_counts():
    report = painted([0.05, 0.01, 0.0, 0.3, 0.2], model=ModelKind.INSTANCES)
    assert painted_codes(report) == [("b2", "unpainted")]


def test_nothing_painted_anywhere_is_one_note_not_one_per_box():
    report = painted([0.0] * 5)
    assert painted_codes(report) == [(None, "nothing-painted")]
    assert "nothing painted yet: none of the 5 box(es)" in report.findings[-1].message
    assert all(b["findings"] == [] and b["painted"] == 0 for b in report.to_dict()["boxes"])


def test_unread_boxes_are_not_judged_and_boxes_over_a_fallback_are_unedited_not_unpainted():
    report = painted([None, None, None, None, None])
    assert painted_codes(report) == [] and [b["painted"] for b in report.to_dict()["boxes"]] == [None] * 5
    report = painted([None, 0.0, 0.1, 1.0, 1.0], fallbacks=[None, "mito", "mito", "mito", "mito"])
    [finding] = report.for_box("b1")
    assert finding.code == "unedited" and "fallback segmentation 'mito'" in finding.message
    assert list(report.for_box("b2")) == []  # partly painted over a fallback: the fallback fills the rest
    report = painted([0.0] * 5, fallbacks=["mito"] * 5)  # a fresh proofreading annotation
    assert painted_codes(report) == [(f"b{i}", "unedited") for i in range(5)]


def test_painted_verdicts_replace_earlier_ones_and_need_one_fraction_per_box():
    from wkgt.planner.check import with_painted

    once = painted([0.0, 1.0, 1.0, 1.0, 1.0])
    again = with_painted(once, [1.0] * 5)
    assert painted_codes(again) == []
    with pytest.raises(ValueError):
        with_painted(once, [1.0])


def test_in_a_run_of_several_an_annotation_with_nothing_painted_is_one_finding():
    report = painted([1.0, 1.0, 0.0, 0.0, 0.0], annotations=["A", "A", "B", "B", "B"])
    assert painted_codes(report) == [(None, "nothing-painted")]
    assert "annotation B: none of its 3 box(es)" in report.findings[-1].message
    report = painted([1.0, 0.0, 0.0, 1.0, 0.0], annotations=["A", "A", "B", "B", "B"])
    assert painted_codes(report) == [("b1", "unpainted"), ("b2", "unpainted"), ("b4", "unpainted")]
