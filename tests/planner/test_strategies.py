"""The strategies' pure parts on small synthetic volumes: strata, focus scores, holdout, evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from wkgt.errors import InvalidInput
from wkgt.planner import ModelKind, PlanOptions, Region, make_plan
from wkgt.planner.evaluation import pooled, score_boxes, score_segmentation
from wkgt.planner.focus import disagreement_scores, segment_error_scores, uncertainty_scores
from wkgt.planner.plan import Plan
from wkgt.planner.strategy_placer import LayerSource, strategy_placer
from wkgt.planner.strata import strata_from_labels
from wkgt.planner.strategy import StrategyOptions, allocate, analysis_mag

from ..synthetic import RARE, four_textures, inject_errors, shows_error, voronoi_cells

SHAPE = (96, 96, 96)


def source(name: str, category: str, data: np.ndarray, data_mag: int = 1) -> LayerSource:
    """A layer at mags 1 and 2 read from memory, ``data`` being its voxels at ``data_mag``
    (the other mag by striding or repeating)."""

    def read(mag, start, shape):
        if mag[0] >= data_mag:
            step = mag[0] // data_mag
            view = data[::step, ::step, ::step]
        else:
            view = data.repeat(data_mag, 0).repeat(data_mag, 1).repeat(data_mag, 2)
        return view[tuple(slice(s, s + n) for s, n in zip(start, shape))]

    return LayerSource(name, category, ((1, 1, 1), (2, 2, 2)), read)


def plan_with(strategy: StrategyOptions, layers: dict[str, LayerSource], seed: int, count: int = 10, shape=SHAPE) -> Plan:
    options = PlanOptions(model=ModelKind.INSTANCES, mag=(1, 1, 1), box_size=(32, 32, 32), count=count, seed=seed, strategy=strategy)
    request = options.request((10.0, 10.0, 10.0), ((1, 1, 1), (2, 2, 2)), Region((0, 0, 0), shape))
    first = next(iter(layers.values()))
    return make_plan(request, placer=strategy_placer(strategy, first, layers))


def box_of(data: np.ndarray, box, mag: int = 1) -> np.ndarray:
    return data[tuple(slice(t // mag, (t + s) // mag) for t, s in zip(box.topleft, box.size))]


def test_allocate_gives_every_stratum_one_box_then_shares_the_rest_by_volume():
    assert allocate(10, [0.5, 0.3, 0.15, 0.05]) == [4, 3, 2, 1]
    assert allocate(2, [0.1, 0.6, 0.3]) == [0, 1, 1]  # fewer boxes than strata: the largest first
    assert sum(allocate(7, [0.2, 0.2, 0.6])) == 7 and allocate(0, [1.0]) == [0]


def test_analysis_mag_is_where_a_box_spans_about_16_voxels_within_the_budget():
    mags = ((1, 1, 1), (2, 2, 2), (4, 4, 4), (8, 8, 8))
    region = Region((0, 0, 0), (256, 256, 256))
    assert analysis_mag((64, 64, 64), mags, region) == (4, 4, 4)
    assert analysis_mag((32, 32, 32), mags, region) == (2, 2, 2)
    assert analysis_mag((32, 32, 32), mags, region, budget=64**3) == (4, 4, 4)  # coarser when the region is large
    assert analysis_mag((250, 250, 32), ((1, 1, 1), (2, 2, 1), (4, 4, 1), (16, 16, 4)), region) == (16, 16, 4)
    assert analysis_mag((64, 64, 8), mags, region) == (2, 2, 2)  # never thinner than 4 voxels when a finer mag avoids it


def test_strategy_options_refuse_contradictions():
    for bad in (
        StrategyOptions("focus"),
        StrategyOptions("diverse", focus="prediction"),
        StrategyOptions("spread", strata=4),
        StrategyOptions("diverse", strata=3, strata_layer="cortex"),
        StrategyOptions("spread", holdout=-1),
        StrategyOptions("spread", compare="truth"),
        StrategyOptions("focus", focus="prediction", compare="prediction"),  # a layer never disagrees with itself
    ):
        with pytest.raises(InvalidInput):
            bad.validate()
    assert StrategyOptions("spread", strata=4, holdout=2).validate().needs_strata


@pytest.mark.parametrize("seed", [1])
def test_diverse_covers_the_rare_texture_that_the_even_spread_may_miss(seed):
    image, texture = four_textures((112, 112, 112), seed)  # at mag 2, where a box spans 16 voxels
    layers = {"color": source("color", "color", image, data_mag=2)}
    plan = plan_with(StrategyOptions("diverse"), layers, seed, shape=(224, 224, 224))
    shares = [float((box_of(texture, b, mag=2) == RARE).mean()) for b in plan.boxes]
    assert max(shares) >= 0.5, shares
    assert {b.stratum for b in plan.boxes} == {s.stratum for s in plan.strategy.strata if s.boxes}
    for stratum in plan.strategy.strata:  # every stratum got a box, or a warning says why not
        assert stratum.boxes >= 1 or any(f"stratum {stratum.stratum} (" in w for w in plan.warnings)
    assert Plan.from_json(plan.to_json()) == plan and Plan.from_json(plan.to_json()).boxes[0].stratum == plan.boxes[0].stratum


def test_strata_from_a_label_layer_number_the_ids_by_volume():
    labels = np.zeros((8, 8, 8), dtype=np.uint32)
    labels[:6] = 7
    labels[6:] = 3
    labels[:, :, 0] = 0
    numbered, ids = strata_from_labels(labels)
    assert ids == (7, 3) and set(np.unique(numbered)) == {0, 1, 2} and (numbered[labels == 0] == 0).all()
    with pytest.raises(InvalidInput, match="distinct ids"):
        strata_from_labels(np.arange(64, dtype=np.uint32).reshape(4, 4, 4), max_strata=8)


def test_segment_error_scores_flag_injected_merges_and_splits():
    truth = voronoi_cells(SHAPE, 16, seed=1)
    prediction, parts, _ = inject_errors(truth, 2, 2, seed=1)
    scores = segment_error_scores(prediction)
    error = parts > 0
    assert (scores[error] > 0).mean() > 0.8
    assert (scores[~error] > 0).mean() < 0.05
    assert not segment_error_scores(truth).any() or (segment_error_scores(truth) > 0).mean() < 0.05


def test_disagreement_marks_where_two_segmentations_split_or_merge_differently():
    a = np.zeros((6, 4, 4), dtype=np.uint32)
    a[:3], a[3:] = 1, 2
    b = a.copy()
    b[5:] = 1  # b merges a slab of a's segment 2 into segment 1
    scores = disagreement_scores(a, b)
    assert scores[5:].all() and not scores[:5].any()
    assert not disagreement_scores(a, a + 10).any()  # other ids, same partition: no disagreement


def test_uncertainty_peaks_at_one_half():
    values = uncertainty_scores(np.array([0, 64, 128, 255], dtype=np.uint8))
    assert values[2] > 0.99 and values[0] < 0.01 and values[3] < 0.01 and values[1] < values[2]


def test_focus_puts_most_boxes_on_injected_errors_and_spreads_them():
    shape = (128, 128, 128)
    truth = voronoi_cells(shape, 24, seed=0)
    prediction, parts, owner = inject_errors(truth, 4, 4, seed=0)
    plan = plan_with(StrategyOptions("focus", focus="prediction"), {"prediction": source("prediction", "segmentation", prediction)}, 0, shape=shape)
    on_error = np.mean([shows_error(box_of(parts, b), owner) for b in plan.boxes])
    rng = np.random.default_rng(0)
    corners = rng.integers(0, 128 - 32 + 1, (200, 3))
    random = np.mean([shows_error(parts[c[0] : c[0] + 32, c[1] : c[1] + 32, c[2] : c[2] + 32], owner) for c in corners])
    assert on_error >= 0.7 and on_error >= 1.8 * random, (on_error, random)
    assert all(b.score is not None for b in plan.boxes) and plan.strategy.score == "segment-errors"
    errors_hit = {int(e) for b in plan.boxes for e in owner[np.unique(box_of(parts, b))] if e >= 0}
    assert len(errors_hit) >= 6  # spread over the errors, not piled on one


def test_focus_on_a_layer_without_any_signal_says_the_boxes_were_spread_evenly():
    flat = np.ones(SHAPE, dtype=np.uint32)  # one segment: nothing looks like an error
    plan = plan_with(StrategyOptions("focus", focus="prediction"), {"prediction": source("prediction", "segmentation", flat)}, 0)
    assert len(plan.boxes) == 10 and all(b.score == 0 for b in plan.boxes)
    assert any("--focus prediction scores 0 everywhere" in w and "spread evenly" in w for w in plan.warnings), plan.warnings
    truth = voronoi_cells(SHAPE, 16, seed=1)
    one_error, _, _ = inject_errors(truth, 1, 0, seed=1)  # a single merge: a few boxes on it, the rest spread
    plan = plan_with(StrategyOptions("focus", focus="prediction"), {"prediction": source("prediction", "segmentation", one_error)}, 0)
    unscored = sum(1 for b in plan.boxes if not b.score)
    assert unscored > 0 and any(f"{unscored} of 10 boxes" in w for w in plan.warnings), (plan.warnings, [b.score for b in plan.boxes])
    few = plan_with(StrategyOptions("focus", focus="prediction"), {"prediction": source("prediction", "segmentation", one_error)}, 0, count=1)
    assert all(b.score for b in few.boxes) and not any("--focus" in w for w in few.warnings)  # the box on the error: no warning


def test_focus_on_a_probability_layer_goes_where_it_is_uncertain_mag_aligned_and_clear_of_earlier_boxes():
    """A color layer of probabilities: sure (0 or 255) except six uncertain blobs (p ≈ 0.5). Boxes
    go onto the blobs, one each, on the mag-2 grid, and never within the gap of an earlier round's box."""
    shape = (256, 256, 128)
    rng = np.random.default_rng(5)
    probability = np.where(rng.random(shape) < 0.5, 0, 255).astype(np.uint8)
    blobs = [(40 + 88 * (i % 3), 60 + 130 * (i // 3), 40 + 48 * (i % 2)) for i in range(6)]
    for x, y, z in blobs:
        probability[x - 20 : x + 20, y - 20 : y + 20, z - 20 : z + 20] = 128
    earlier = ((0, 20, 0), (90, 90, 90))  # covers the first blob
    options = PlanOptions(model=ModelKind.INSTANCES, mag=(2, 2, 2), box_size=(32, 32, 32), count=5, seed=0,
                          strategy=StrategyOptions("focus", focus="probability"))
    request = options.request((10.0, 10.0, 10.0), ((1, 1, 1), (2, 2, 2)), Region((0, 0, 0), shape))
    layers = {"probability": source("probability", "color", probability)}
    plan = make_plan(request, occupied=[earlier], gap=4, placer=strategy_placer(options.strategy, layers["probability"], layers))
    assert plan.strategy.score == "uncertainty" and len(plan.boxes) == 5
    hit = set()
    for box in plan.boxes:
        assert all(t % 2 == 0 for t in box.topleft), box  # mag-aligned: mag-1 corners on the mag-2 grid
        assert (box_of(probability, box) == 128).mean() >= 0.2, box  # on an uncertain blob
        apart = [max(b0 - (e0 + es), e0 - (b0 + bs)) for b0, bs, e0, es in zip(box.topleft, box.size, *earlier)]
        assert max(apart) >= 4, box  # clear of the earlier round by the gap
        hit.add(min(range(6), key=lambda i: sum((t + 32 - c) ** 2 for t, c in zip(box.topleft, blobs[i]))))
    assert hit == {1, 2, 3, 4, 5}  # one box per uncertain place, none on the one the earlier round covers


def test_holdout_keeps_the_gap_and_covers_the_strata_of_the_training_boxes():
    image, _ = four_textures((112, 112, 112), 2)
    layers = {"color": source("color", "color", image, data_mag=2)}
    plan = plan_with(StrategyOptions("diverse", strata=3, holdout=3, holdout_gap_nm=100), layers, 2, count=6, shape=(224, 224, 224))
    assert len(plan.holdout) == 3 and all(b.name.startswith("EVAL") for b in plan.holdout)
    gap = 10  # 100 nm at 10 nm per voxel
    for held in plan.holdout:
        for box in plan.boxes:
            apart = [max(h0 - (b0 + bs), b0 - (h0 + hs)) for h0, hs, b0, bs in zip(held.topleft, held.size, box.topleft, box.size)]
            assert max(apart) >= gap, (held, box)
    assert {b.stratum for b in plan.holdout} <= {b.stratum for b in plan.boxes}
    assert len({b.stratum for b in plan.holdout}) == 3  # three strata with training boxes: one evaluation box each


def test_scores_equal_scikit_image_and_overall_pools_boxes_apart():
    from skimage.metrics import adapted_rand_error, variation_of_information

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 4, (10, 10, 10))
    segmentation = rng.integers(1, 6, (10, 10, 10))
    scores = score_segmentation(truth, segmentation)
    split, merge = variation_of_information(truth, segmentation, ignore_labels=(0,))
    error, precision, recall = adapted_rand_error(truth, segmentation, ignore_labels=(0,))
    assert (scores.voi_split, scores.voi_merge, scores.arand, scores.precision, scores.recall) == (split, merge, error, precision, recall)
    same = np.ones((4, 4, 4), dtype=np.uint32)
    per_box, overall = score_boxes([(same, same), (same, same), (np.zeros_like(same), same)])
    assert per_box[2] is None and overall.voxels == 128
    assert overall.voi == 0 and overall.arand == 0  # id 1 in two boxes is two objects, matched box by box
    t, s = pooled([(same, same), (same, same)])
    assert len(np.unique(t)) == 2 and len(np.unique(s)) == 2
    with pytest.raises(InvalidInput):
        score_segmentation(np.zeros((2, 2, 2), int), np.zeros((2, 2, 2), int))


def test_run_keys_of_plain_jobs_stay_as_they_were():
    assert "strategy" not in PlanOptions(count=5).to_dict()  # the run key hashes this dict
    assert PlanOptions(count=5, strategy=StrategyOptions("diverse", strata=3)).to_dict()["strategy"]["strata"] == 3


def test_strata_layer_gives_each_labelled_region_a_box():
    labels = np.zeros((112, 112, 112), dtype=np.uint32)  # at mag 2: three slabs, the thinnest a sixth
    labels[:56], labels[56:93], labels[93:] = 5, 6, 7
    image, _ = four_textures((112, 112, 112), 0)
    layers = {"color": source("color", "color", image, data_mag=2), "layers": source("layers", "segmentation", labels, data_mag=2)}
    plan = plan_with(StrategyOptions("diverse", strata_layer="layers"), layers, 0, count=6, shape=(224, 224, 224))
    assert [s.label for s in plan.strategy.strata] == [5, 6, 7] and plan.strategy.strata_source == "labels of layers"
    assert sorted({b.stratum for b in plan.boxes}) == [1, 2, 3]
    for box in plan.boxes:
        assert (box_of(labels, box, mag=2) == plan.strategy.strata[box.stratum - 1].label).mean() >= 0.5
