"""Issue 12: the two rule sets, the instance mag rule, the ground-truth layer's mags, the run-wide checks."""

import math

import attrs
import pytest

from wkgt.errors import InvalidInput, NotFound
from wkgt.planner import Box, ModelKind, Plan, PlanOptions, Region, choose_box_size, choose_mag, make_plan
from wkgt.planner.check import BoxSource, check_boxes, check_run
from wkgt.planner.ground_truth import (
    GroundTruthLayer,
    MagRestrictions,
    fallback_layer,
    ground_truth_layer,
    volume_layer_mags,
)
from wkgt.planner.rules import GUIDE_RULES, WEBKNOSSOS_RULES, rule_set

GUIDE_MAGS = ((1, 1, 1), (2, 2, 1), (4, 4, 1))
ANISO_MAGS = ((1, 1, 1), (2, 2, 1), (4, 4, 1), (8, 8, 2), (16, 16, 4))
BIG = Region((0, 0, 0), (8192, 8192, 1024))


@attrs.frozen
class Layer:
    name: str
    category: str
    mags: tuple
    bbox: Region = BIG
    dtype: str = "uint8"


COLOR = Layer("color", "color", ((1, 1, 1), (2, 2, 1), (4, 4, 1)))
SEGMENTATION = Layer("segmentation", "segmentation", ((1, 1, 1), (2, 2, 2), (4, 4, 4)), Region((0, 0, 0), (4096, 4096, 512)))


def plan(voxel_size, mags=GUIDE_MAGS, bbox=BIG, ground_truth=None, **options):
    return make_plan(PlanOptions(**options).request(voxel_size, mags, bbox, ground_truth))


# --- 1. two rule sets --------------------------------------------------------------------------


def test_webknossos_rules_give_the_docs_box_and_the_guide_keeps_its_examples():
    webknossos = plan((11.24, 11.24, 30), rules="webknossos")
    assert (webknossos.mag, webknossos.box_size, webknossos.rules) == ("1", (85, 85, 32), "webknossos")
    assert "rules: webknossos" in webknossos.box_size_reason and "rules: webknossos" in webknossos.mag_reason
    guide = plan((11.24, 11.24, 30))
    assert (guide.mag, guide.box_size, guide.rules) == ("1", (89, 89, 34), "guide")
    assert "rules: guide" in guide.box_size_reason
    aniso = plan((4, 4, 35), ANISO_MAGS, Region((0, 0, 0), (8192, 8192, 512)))
    assert aniso.mag == "2-2-1" and aniso.box_size_mag1 == (250, 250, 32)


@pytest.mark.parametrize("voxel_size", [(11.24, 11.24, 30.0), (8.0, 8.0, 35.0), (5.0, 5.0, 5.0), (12.0, 12.0, 40.0), (9.0, 9.0, 9.0)])
@pytest.mark.parametrize("model", list(ModelKind))
def test_webknossos_boxes_are_multiples_of_the_minimum_and_near_a_physical_cube(voxel_size, model):
    size = choose_box_size(voxel_size, model, rules=WEBKNOSSOS_RULES).size
    minimum = WEBKNOSSOS_RULES.min_box(model)
    assert all(s % lo == 0 for s, lo in zip(size, minimum))
    assert math.prod(size) >= 230_000
    # the cube: 1 µm, or the minimum box's longest side; per axis no other multiple is nearer it
    edge = max(1000.0, *(lo * v for lo, v in zip(minimum, voxel_size)))
    for s, lo, v in zip(size, minimum, voxel_size):
        nearness = abs(math.log(s * v / edge))
        for other in (s - lo, s + lo):
            assert other < lo or nearness <= abs(math.log(other * v / edge)) + 1e-9, (size, s, other)


def test_anisotropic_webknossos_box_doubles_the_short_axes():
    # 8×8×35 nm: 85×85×32 is 680×680×1120 nm; 170×170×32 (1360×1360×1120 nm) is nearer a cube
    assert choose_box_size((8.0, 8.0, 35.0), rules=WEBKNOSSOS_RULES).size == (170, 170, 32)


def test_the_same_box_gets_the_same_verdict_from_plan_and_check():
    for rules, warned in (("guide", False), ("webknossos", True)):
        given = plan((11.24, 11.24, 30), rules=rules, box_size=(89, 89, 34), count=25)
        assert any("integer multiple" in w for w in given.warnings) is warned
        auto = plan((11.24, 11.24, 30), rules=rules, count=25)
        assert not any("integer multiple" in w for w in auto.warnings)
        for boxes, expected in ((given.boxes, warned), (auto.boxes, False)):
            report = check_boxes(
                boxes, voxel_size_nm=(11.24, 11.24, 30), mag=(1, 1, 1), available_mags=GUIDE_MAGS,
                dataset_bbox=BIG, volume_bbox=None, model=ModelKind.NEURONS, rules=rule_set(rules),
            )
            assert ("not-multiple-of-minimum" in {f.code for f in report.findings}) is expected, (rules, boxes[0].size)


def test_rules_are_recorded_in_the_plan_json_and_in_the_run_key_options():
    made = plan((11.24, 11.24, 30), rules="webknossos", ground_truth=GroundTruthLayer(((1, 1, 1),), None, "test"))
    loaded = Plan.from_json(made.to_json())
    assert loaded == made and loaded.rules == "webknossos" and len(loaded.mag_exclusions) == 2
    assert PlanOptions(rules="webknossos").to_dict()["rules"] == "webknossos"
    assert "rules" not in PlanOptions().to_dict()  # earlier runs keep their run key
    assert PlanOptions(min_box_voxels=300_000).to_dict()["min_box_voxels"] == 300_000
    old = Plan.from_json(made.to_json().replace('"rules": "webknossos"', '"x": 1'))
    assert old.rules == "guide"


def test_every_number_stays_an_option():
    assert plan((11.24, 11.24, 30), rules="webknossos", min_box_voxels=300_000).box_size == (170, 85, 32)
    with pytest.raises(InvalidInput, match="--rules"):
        rule_set("docs")


# --- 2. instance mag rule ------------------------------------------------------------------------

NUCLEI_MAGS = ((1, 1, 1), (2, 2, 1), (4, 4, 2), (8, 8, 4), (16, 16, 8), (32, 32, 16))


def test_instances_train_at_the_coarsest_mag_where_objects_span_enough_voxels():
    # the docs' nuclei example: 5 µm nuclei at 11.24 nm are 28 voxels across at mag 16-16-8
    choice = choose_mag((11.24, 11.24, 25.0), NUCLEI_MAGS, ModelKind.INSTANCES, object_size_nm=5000)
    assert choice.mag == (16, 16, 8) and choice.warnings == ()
    assert "coarsest mag" in choice.reason
    # bigger objects go coarser, smaller ones finer
    assert choose_mag((11.24, 11.24, 25.0), NUCLEI_MAGS, ModelKind.INSTANCES, object_size_nm=12000).mag == (32, 32, 16)
    assert choose_mag((11.24, 11.24, 25.0), NUCLEI_MAGS, ModelKind.INSTANCES, object_size_nm=3000).mag == (8, 8, 4)
    # the issue's case: 8 µm on l4's mags no longer warns, it trains at 16-16-4 (44 voxels across)
    l4 = choose_mag((11.24, 11.24, 28.0), ANISO_MAGS, ModelKind.INSTANCES, object_size_nm=8000)
    assert l4.mag == (16, 16, 4) and l4.warnings == ()


def test_min_object_voxels_and_the_z_warning():
    rules = GUIDE_RULES.with_overrides(min_object_voxels=50)
    assert choose_mag((11.24, 11.24, 25.0), NUCLEI_MAGS, ModelKind.INSTANCES, object_size_nm=5000, rules=rules).mag == (8, 8, 4)
    assert plan((11.24, 11.24, 25.0), NUCLEI_MAGS, model=ModelKind.INSTANCES, object_size_nm=5000, min_object_voxels=50).mag == "8-8-4"
    # 250 nm objects on 4×4×100 nm: 31 voxels in-plane at 2-2-1, but only 2.5 sections in z
    flat = choose_mag((4.0, 4.0, 100.0), ANISO_MAGS, ModelKind.INSTANCES, object_size_nm=250)
    assert flat.mag == (2, 2, 1) and any("sections in z" in w for w in flat.warnings)
    tiny = choose_mag((11.24, 11.24, 25.0), NUCLEI_MAGS, ModelKind.INSTANCES, object_size_nm=100)
    assert tiny.mag == (1, 1, 1) and any("boundaries may not be visible" in w for w in tiny.warnings)


def test_instance_boxes_grow_with_the_object():
    # the docs' nuclei example: 64×64×64 at mag 16-16-8
    nuclei = plan((11.24, 11.24, 25.0), NUCLEI_MAGS, Region((0, 0, 0), (40000, 40000, 8000)), model=ModelKind.INSTANCES,
                  object_size_nm=5000, rules="webknossos")
    assert (nuclei.mag, nuclei.box_size) == ("16-16-8", (64, 64, 64))
    for rules in (GUIDE_RULES, WEBKNOSSOS_RULES):
        eff = (179.84, 179.84, 200.0)
        size = choose_box_size(eff, ModelKind.INSTANCES, object_size_nm=8000, rules=rules).size
        assert all(s * v >= 8000 for s, v in zip(size, eff)), (rules.name, size)
        smaller = choose_box_size(eff, ModelKind.INSTANCES, object_size_nm=1000, rules=rules).size
        assert math.prod(smaller) < math.prod(size)


def test_neuron_rules_warn_on_data_that_is_not_em_like():
    assert any("not for this" in w for w in plan((100.0, 100.0, 100.0), ((1, 1, 1),), count=5).warnings)
    assert not any("not for this" in w for w in plan((11.24, 11.24, 30)).warnings)
    assert not any("not for this" in w for w in plan((100.0, 100.0, 100.0), ((1, 1, 1),), count=5, model=ModelKind.INSTANCES, object_size_nm=5000).warnings)
    report = check_boxes(
        [Box(f"b{i}", (i * 200, 0, 0), (100, 100, 100)) for i in range(5)], voxel_size_nm=(100.0, 100.0, 100.0),
        mag=None, available_mags=[(1, 1, 1)], dataset_bbox=None, volume_bbox=None, model=ModelKind.NEURONS,
    )
    assert "not-em-like" in {f.code for f in report.warnings}


# --- 3. the ground-truth layer's mags -----------------------------------------------------------


def test_volume_layer_mags_follow_the_tracing_store():
    assert volume_layer_mags([COLOR, SEGMENTATION], SEGMENTATION) == ((1, 1, 1), (2, 2, 2), (4, 4, 4))
    # no fallback: the union has 2-2-1 and 2-2-2 (same largest factor): the layer with most mags
    assert volume_layer_mags([COLOR, SEGMENTATION], None) == ((1, 1, 1), (2, 2, 1), (4, 4, 1))
    more = Layer("seg2", "segmentation", ((1, 1, 1), (2, 2, 2), (4, 4, 4), (8, 8, 8)))
    assert volume_layer_mags([COLOR, more], None) == more.mags
    coarse = Layer("coarse", "color", ((8, 8, 4), (16, 16, 8)))
    assert volume_layer_mags([COLOR, coarse], None) == ((1, 1, 1), (2, 2, 1), (4, 4, 1), (8, 8, 4), (16, 16, 8))
    restricted = ground_truth_layer([COLOR, SEGMENTATION], None, restrictions=MagRestrictions(2, 4))
    assert restricted.mags == ((2, 2, 1), (4, 4, 1)) and "task type" in restricted.source


def test_the_issue_example_plans_only_at_mag_1_with_the_fallback():
    with_fallback = ground_truth_layer([COLOR, SEGMENTATION], SEGMENTATION)
    made = plan((4, 4, 35), COLOR.mags, Region((0, 0, 0), (4096, 4096, 512)), ground_truth=with_fallback)
    assert made.mag == "1"
    assert [e.split(":")[0] for e in made.mag_exclusions] == ["mag 2-2-1", "mag 4-4-1"]
    assert "fallback layer 'segmentation'" in made.mag_exclusions[0]
    without = plan((4, 4, 35), COLOR.mags, Region((0, 0, 0), (4096, 4096, 512)), ground_truth=ground_truth_layer([COLOR, SEGMENTATION]))
    assert without.mag == "2-2-1" and without.mag_exclusions == ()
    with pytest.raises(InvalidInput, match="ground-truth layer will not have it"):
        plan((4, 4, 35), COLOR.mags, BIG, ground_truth=with_fallback, mag=(2, 2, 1))
    with pytest.raises(InvalidInput, match="No common magnification"):
        plan((4, 4, 35), ((2, 2, 1),), BIG, ground_truth=with_fallback)


def test_ground_truth_bounding_box_is_the_task_box_the_fallback_box_or_the_union():
    task = Region((10, 10, 10), (500, 500, 100))
    assert ground_truth_layer([COLOR, SEGMENTATION], SEGMENTATION, task_box=task).bbox == task
    assert ground_truth_layer([COLOR, SEGMENTATION], SEGMENTATION).bbox == SEGMENTATION.bbox
    assert ground_truth_layer([COLOR, SEGMENTATION]).bbox == BIG


def test_fallback_segmentation_names_the_layer_when_there_are_several():
    other = Layer("mito", "segmentation", ((1, 1, 1),))
    assert fallback_layer([COLOR, SEGMENTATION], True) is SEGMENTATION
    assert fallback_layer([COLOR, SEGMENTATION], "") is SEGMENTATION
    assert fallback_layer([COLOR, SEGMENTATION, other], "mito") is other
    assert fallback_layer([COLOR, SEGMENTATION], None) is None
    with pytest.raises(InvalidInput, match="name one with --fallback-segmentation LAYER"):
        fallback_layer([COLOR, SEGMENTATION, other], True)
    with pytest.raises(NotFound, match="segmentation, mito"):
        fallback_layer([COLOR, SEGMENTATION, other], "nuclei")
    with pytest.raises(NotFound):
        fallback_layer([COLOR], True)


def test_check_errors_when_the_ground_truth_layer_lacks_the_mag():
    boxes = [Box(f"b{i}", (i * 400, 0, 0), (340, 340, 32)) for i in range(5)]
    facts = dict(voxel_size_nm=(4.0, 4.0, 35.0), available_mags=COLOR.mags, dataset_bbox=BIG, volume_bbox=None, model=ModelKind.NEURONS)
    given = check_boxes(boxes, mag=(2, 2, 1), ground_truth_mags=SEGMENTATION.mags, **facts)
    assert [f.code for f in given.errors] == ["no-common-mag"]
    assert given.errors[0].message.startswith("No common magnification found for the selected layers.")
    by_rule = check_boxes(boxes, mag=None, ground_truth_mags=SEGMENTATION.mags, **facts)
    assert by_rule.ok and by_rule.mag == (1, 1, 1)
    none = check_boxes(boxes, mag=None, ground_truth_mags=((8, 8, 8),), **facts)
    assert [f.code for f in none.errors] == ["no-common-mag"]
    assert check_boxes(boxes, mag=(2, 2, 1), ground_truth_mags=None, **facts).ok


# --- 4. checks WEBKNOSSOS makes --------------------------------------------------------------------


def cubes(n, start=0, size=(100, 100, 100)):
    return tuple(Box(f"b{start + i}", ((start + i) * 1000, 0, 0), size) for i in range(n))


def test_fewer_than_four_boxes_fail_and_four_pass():
    facts = dict(voxel_size_nm=(8.0, 8.0, 8.0), mag=(1, 1, 1), available_mags=[(1, 1, 1)], dataset_bbox=None, volume_bbox=None, model=ModelKind.INSTANCES)
    three = check_boxes(cubes(3), **facts)
    assert [f.code for f in three.errors] == ["too-few-boxes"] and "few-boxes" not in {f.code for f in three.warnings}
    four = check_boxes(cubes(4), **facts)
    assert four.ok and "few-boxes" in {f.code for f in four.warnings}


def test_a_training_run_is_checked_across_its_annotations():
    a = BoxSource("A", cubes(2), ((1, 1, 1), (2, 2, 2)), ((1, 1, 1), (2, 2, 2)))
    b = BoxSource("B", cubes(2, start=10, size=(150, 150, 150)), ((1, 1, 1), (2, 2, 2)), ((1, 1, 1),))
    kw = dict(voxel_size_nm=(8.0, 8.0, 8.0), mag=None, model=ModelKind.INSTANCES, object_size_nm=2000.0)
    assert [f.code for f in check_run([a], **kw).errors] == ["too-few-boxes"]
    run = check_run([a, b], **kw)
    assert run.ok, run.errors
    assert run.mag == (1, 1, 1)  # B's ground truth has only mag 1, so the whole run trains there
    assert {s.box.name for s in run.boxes} == {"A/b0", "A/b1", "B/b10", "B/b11"}
    not_multiple = {f.box for f in run.findings if f.code == "not-multiple"}
    assert not_multiple == {"B/b10", "B/b11"}  # 150 is no multiple of A's 100
    given = check_run([a, b], **{**kw, "mag": (2, 2, 2)})
    assert [f.code for f in given.errors] == ["no-common-mag"] and "annotation B" in given.errors[0].message


def test_boxes_stay_inside_the_ground_truth_layer():
    truth = ground_truth_layer([COLOR, SEGMENTATION], SEGMENTATION)
    made = plan((4, 4, 35), COLOR.mags, Region((0, 0, 0), (4096, 4096, 512)), ground_truth=truth, count=10)
    assert made.region == SEGMENTATION.bbox
    assert all(SEGMENTATION.bbox.contains(Region(b.topleft, b.size)) for b in made.boxes)
    apart = GroundTruthLayer(COLOR.mags, Region((9000, 0, 0), (100, 100, 100)), "test")
    with pytest.raises(InvalidInput, match="do not overlap"):
        plan((4, 4, 35), COLOR.mags, Region((0, 0, 0), (4096, 4096, 512)), ground_truth=apart)


def test_the_command_line_takes_the_rule_options(capsys):
    import json

    from wkgt.cli import run
    from wkgt.cli.options import optional_value

    base = ["plan", "--voxel-size", "11.24,11.24,30", "--mags", "1,2-2-1,4-4-1", "--bbox", "0,0,0,4096,4096,1024", "--json"]
    assert run([*base, "--rules", "webknossos"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["mag"], data["box_size"], data["rules"]) == ("1", [85, 85, 32], "webknossos")
    assert run([*base, "--voxel-size", "4,4,35", "--ground-truth-mags", "1,4-4-4"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["mag"] == "1" and len(data["mag_exclusions"]) == 2
    assert run([*base, "--rules", "docs"]) == 2
    assert "--rules must be one of guide, webknossos" in capsys.readouterr().err
    assert run([*base, "--min-object-voxels", "0"]) == 2
    # --fallback-segmentation takes an optional value
    assert optional_value(["--fallback-segmentation", "--json"]) == ["--fallback-segmentation=", "--json"]
    assert optional_value(["--fallback-segmentation", "seg", "--json"]) == ["--fallback-segmentation=seg", "--json"]
    assert optional_value(["--dry-run", "--fallback-segmentation"]) == ["--dry-run", "--fallback-segmentation="]
