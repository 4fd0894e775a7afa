"""Mag choice, box size and count follow the guide (seed-guide-magnification-and-boxes.md)."""

import pytest

from wkgt.errors import InvalidInput
from wkgt.planner import ModelKind, PlanOptions, PlanRequest, Region, choose_box_size, choose_mag, make_plan
from wkgt.planner.plan import choose_count
from wkgt.planner.rules import WEBKNOSSOS_RULES

L4_MAGS = ((1, 1, 1), (2, 2, 1), (4, 4, 1), (8, 8, 2), (16, 16, 4))


def test_guide_example_isotropic_ish():
    mag = choose_mag((11.24, 11.24, 30), L4_MAGS)
    assert mag.mag == (1, 1, 1)
    assert choose_box_size(mag.effective_voxel_size_nm).size == (89, 89, 34)


def test_guide_example_anisotropic():
    mag = choose_mag((4, 4, 35), L4_MAGS)
    assert mag.mag == (2, 2, 1)
    assert mag.effective_voxel_size_nm == (8.0, 8.0, 35.0)
    assert choose_box_size(mag.effective_voxel_size_nm).size == (125, 125, 32)
    plan = make_plan(PlanRequest((4, 4, 35), L4_MAGS, Region((0, 0, 0), (8192, 8192, 512))))
    assert plan.mag == "2-2-1"
    assert plan.box_size_mag1 == (250, 250, 32)
    assert all(box.size == (250, 250, 32) for box in plan.boxes)


def test_five_percent_tolerance():
    # 3.8 nm × 2 = 7.6 nm counts as 8 nm; 3.79 × 2 does not.
    assert choose_mag((3.8, 3.8, 30), L4_MAGS).mag == (2, 2, 1)
    assert choose_mag((3.79, 3.79, 30), L4_MAGS).mag == (4, 4, 1)


def test_no_mag_reaches_threshold_uses_coarsest_with_warning():
    choice = choose_mag((0.5, 0.5, 0.5), ((1, 1, 1), (2, 2, 2)))
    assert choice.mag == (2, 2, 2)
    assert choice.warnings and "coarsest" in choice.warnings[0]


def test_min_voxel_size_override():
    assert choose_mag((4, 4, 35), L4_MAGS, min_voxel_size_nm=16).mag == (4, 4, 1)


def test_instances_object_size():
    # 320 nm objects span 40 voxels at 8 nm (mag 2-2-1) and 20 at 16 nm (4-4-1): the coarsest
    # mag with ≥ 24 voxels across is 2-2-1.
    choice = choose_mag((4, 4, 35), L4_MAGS, ModelKind.INSTANCES, object_size_nm=320)
    assert choice.mag == (2, 2, 1)


def test_instances_need_mag_or_object_size_and_list_mags():
    with pytest.raises(InvalidInput) as err:
        choose_mag((4, 4, 35), L4_MAGS, ModelKind.INSTANCES)
    message = str(err.value)
    for text in ("1 (4×4×35 nm)", "2-2-1 (8×8×35 nm)", "16-16-4 (64×64×140 nm)"):
        assert text in message


def test_explicit_mag_must_be_available():
    assert choose_mag((4, 4, 35), L4_MAGS, mag=(8, 8, 2)).mag == (8, 8, 2)
    with pytest.raises(InvalidInput, match="not available"):
        choose_mag((4, 4, 35), L4_MAGS, mag=(2, 2, 2))


def test_box_grows_shortest_axis_until_min_voxels():
    # 12×12×40 nm: 1 µm is 84×84×25 voxels → minimum 85×85×32 = 231,200 voxels, too few.
    # x and y (1.02 µm) are physically shorter than z (1.28 µm), so they grow in turn.
    assert choose_box_size((12.0, 12.0, 40.0)).size == (89, 88, 32)


def test_box_is_about_a_micrometre_when_above_minimum():
    assert choose_box_size((5.0, 5.0, 5.0)).size == (200, 200, 200)
    assert choose_box_size((5.0, 5.0, 5.0), box_edge_nm=2000).size == (400, 400, 400)


def test_instance_minimum_is_32_cubed():
    size = choose_box_size((64.0, 64.0, 64.0), ModelKind.INSTANCES).size
    assert min(size) >= 32 and size[0] * size[1] * size[2] >= 250_000


def test_box_size_override_checked():
    with pytest.raises(InvalidInput, match="below the neurons minimum"):
        choose_box_size((8.0, 8.0, 35.0), box_size=(84, 85, 32))
    choice = choose_box_size((8.0, 8.0, 35.0), box_size=(85, 85, 32))
    assert any("fewer than the 250,000 of rules: guide" in w for w in choice.warnings)
    # the guide's own examples are no multiples: only the webknossos rules warn on them
    assert choose_box_size((8.0, 8.0, 35.0), box_size=(100, 100, 32)).warnings == ()
    choice = choose_box_size((8.0, 8.0, 35.0), box_size=(100, 100, 32), rules=WEBKNOSSOS_RULES)
    assert any("integer multiple" in w for w in choice.warnings)
    assert choose_box_size((8.0, 8.0, 35.0), box_size=(170, 170, 32)).warnings == ()


def test_count_default_and_overrides():
    request = PlanRequest((11.24, 11.24, 30), L4_MAGS, Region((0, 0, 0), (4096, 4096, 1024)))
    assert choose_count(269_314, request)[0] == 19  # 19 × 269,314 ≥ 5 M > 18 × 269,314
    assert choose_count(269_314, request.with_options(count=7))[0] == 7
    assert choose_count(269_314, request.with_options(total_voxels=8_000_000))[0] == 30
    with pytest.raises(InvalidInput):
        choose_count(269_314, request.with_options(count=3, total_voxels=5))


def test_count_and_total_warnings():
    plan = make_plan(PlanRequest((11.24, 11.24, 30), L4_MAGS, Region((0, 0, 0), (4096, 4096, 1024)), PlanOptions(count=3)))
    assert any("test set" in w for w in plan.warnings)
    assert any("outside the recommended" in w for w in plan.warnings)
    plan = make_plan(PlanRequest((11.24, 11.24, 30), L4_MAGS, Region((0, 0, 0), (4096, 4096, 1024))))
    assert plan.warnings == ()
    assert 5_000_000 <= plan.total_voxels <= 10_000_000


def test_default_count_is_at_least_five_boxes():
    # 8 nm isotropic: 125³ boxes hold 1,953,125 voxels; 3 would reach 5 M, but the trainer needs ≥ 5
    request = PlanRequest((8, 8, 8), ((1, 1, 1), (2, 2, 2)), Region((0, 0, 0), (2048, 2048, 2048)))
    count, reason = choose_count(1_953_125, request)
    assert count == 5 and "test set" in reason
    plan = make_plan(request)
    assert len(plan.boxes) == 5 and plan.warnings == ()


def test_the_box_size_known_before_planning_is_the_plans():
    """The tissue check chooses its read by the box size before the plan exists: the same
    function decides both, so instances (boxes grow with the object) get the plan's size."""
    from wkgt.planner.plan import box_size_mag1

    for options in (PlanOptions(), PlanOptions(model=ModelKind.INSTANCES, object_size_nm=5000), PlanOptions(rules="webknossos")):
        request = options.request((11.24, 11.24, 28.0), [(1, 1, 1), (2, 2, 1), (4, 4, 1), (8, 8, 2), (16, 16, 4)], Region((0, 0, 0), (8192, 8192, 4096)))
        assert box_size_mag1(request) == make_plan(request.with_options(count=5)).box_size_mag1
