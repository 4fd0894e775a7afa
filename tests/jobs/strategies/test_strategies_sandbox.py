"""The strategies end to end over HTTP (a synthetic dataset the sandbox serves) and on disk:
diverse strata, focus on errors, a holdout evaluation annotation, and ``wkgt evaluate``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ...synthetic import RARE, shows_error
from .conftest import DATASET_ID, box_slice, run_json, server_argv

GAP = ("--holdout-gap-nm", "100")  # 10 voxels: the synthetic region is only 128³


def paint(annotation: Any, boxes: list[dict[str, Any]], labels: np.ndarray) -> None:
    """Paint ``labels`` into every box of the annotation's ground-truth volume layer (the SDK's edit)."""
    import webknossos as wk

    volume = annotation.get_volume_layer("ground_truth")
    if volume.zip is None:  # downloaded without data (nothing painted yet): start the layer afresh
        annotation.delete_volume_layer("ground_truth")
        volume = annotation.add_volume_layer("ground_truth", dtype=np.uint32)
    painted = np.zeros(labels.shape, dtype=np.uint32)
    for box in boxes:
        painted[box_slice(box)] = labels[box_slice(box)]
    with volume.edit() as layer:
        layer.bounding_box = wk.BoundingBox((0, 0, 0), labels.shape)
        layer.get_or_add_mag(1, chunk_shape=32, shard_shape=32).write(painted, absolute_offset=(0, 0, 0))  # small shards: quick writes


def test_diverse_over_http_covers_the_rare_texture_and_reports_each_box_stratum(strata_sandbox, synthetic, capsys, tmp_path):
    picture = tmp_path / "strata.png"
    code, data, err = run_json(capsys, server_argv(strata_sandbox, "--strategy", "diverse", "--strata", "4", "--dry-run", "--preview", str(picture)))
    assert code == 0, err
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    strategy = data["strategy"]
    assert strategy["name"] == "diverse" and strategy["mag"] == "2" and strategy["bytes_read"] == 64**3
    assert all(isinstance(box["stratum"], int) for box in data["boxes"])
    rare = [float((synthetic.texture[box_slice(box)] == RARE).mean()) for box in data["boxes"]]
    assert max(rare) >= 0.5, rare
    assert sum(s["boxes"] for s in strategy["strata"]) == 8


def test_focus_over_http_puts_boxes_on_injected_errors(strata_sandbox, synthetic, capsys):
    code, data, err = run_json(capsys, server_argv(strata_sandbox, "--focus", "prediction", "--dry-run"))
    assert code == 0, err
    assert data["strategy"]["score"] == "segment-errors" and all(box["score"] is not None for box in data["boxes"])
    shown = [shows_error(synthetic.parts[box_slice(box)], synthetic.owner) for box in data["boxes"]]
    assert np.mean(shown) >= 0.75, shown
    code, data, err = run_json(capsys, server_argv(strata_sandbox, "--focus", "prediction", "--compare", "truth", "--dry-run"))
    assert code == 0, err
    assert data["strategy"]["score"] == "disagreement" and data["strategy"]["compare"] == "truth"
    assert np.mean([shows_error(synthetic.parts[box_slice(box)], synthetic.owner) for box in data["boxes"]]) >= 0.75


def test_holdout_writes_a_separate_evaluation_set_and_evaluate_scores_it_like_scikit_image(strata_sandbox, synthetic, capsys):
    import webknossos as wk
    from skimage.metrics import adapted_rand_error, variation_of_information

    sb = strata_sandbox
    sb.reset()
    argv = server_argv(sb, "--strategy", "diverse", "--strata", "3", "--holdout", "3", *GAP, "--count", "5")
    code, data, err = run_json(capsys, argv)
    assert code == 0, err
    assert len(sb.state.annotations) == 2
    training = sb.state.annotations[data["annotation"]["id"]]
    evaluation = sb.state.annotations[data["evaluation"]["id"]]
    assert [b["name"] for b in training.user_bounding_boxes] == [f"GT {i:02d}" for i in range(1, 6)]  # no evaluation box in training
    assert [b["name"] for b in evaluation.user_bounding_boxes] == ["EVAL 01", "EVAL 02", "EVAL 03"]
    assert evaluation.name == training.name + " evaluation set"
    for held in data["holdout"]:
        assert held["url"].startswith(f"{sb.url}/annotations/{evaluation.id}")
        for box in data["boxes"]:
            apart = [max(h - (b + s), b - (h + hs)) for h, hs, b, s in zip(held["topleft"], held["size"], box["topleft"], box["size"])]
            assert max(apart) >= 10, (held, box)
    assert {b["stratum"] for b in data["holdout"]} <= {b["stratum"] for b in data["boxes"]}
    code, again, err = run_json(capsys, argv)  # a rerun finds both annotations
    assert code == 0 and again["status"] == "exists" and again["evaluation"] == data["evaluation"] and len(sb.state.annotations) == 2

    with wk.webknossos_context(url=sb.url, token=sb.token):
        annotation = wk.Annotation.download(evaluation.id)
        paint(annotation, data["holdout"], synthetic.truth)
        painted_id = annotation.upload().rstrip("/").rsplit("/", 1)[-1]
    capsys.readouterr()  # the SDK's progress bar
    code, result, err = run_json(
        capsys, ["evaluate", "--annotation", f"{sb.url}/annotations/{painted_id}", "--segmentation", "prediction", "--json", "--token", sb.token]
    )
    assert code == 0, err
    assert result["mag"] == "1" and result["volume_layer"] == "ground_truth" and len(result["boxes"]) == 3
    for box in result["boxes"]:
        truth, prediction = synthetic.truth[box_slice(box)], synthetic.prediction[box_slice(box)]
        split, merge = variation_of_information(truth, prediction, ignore_labels=(0,))
        error, _, _ = adapted_rand_error(truth, prediction, ignore_labels=(0,))
        assert box["scores"]["voi_split"] == pytest.approx(split, abs=1e-6)
        assert box["scores"]["voi_merge"] == pytest.approx(merge, abs=1e-6)
        assert box["scores"]["arand"] == pytest.approx(error, abs=1e-6)
        assert box["scores"]["painted_voxels"] == 32**3
    assert result["overall"]["painted_voxels"] == 3 * 32**3
    code, perfect, err = run_json(capsys, ["evaluate", "--annotation", painted_id, "--segmentation", "truth", "--json", "--webknossos-url", sb.url, "--token", sb.token])
    assert code == 0, err
    assert perfect["overall"]["voi"] == 0 and perfect["overall"]["arand"] == 0


def test_strategies_on_a_local_dataset_write_both_annotations_and_evaluate_reads_the_file(synthetic, tmp_path, capsys):
    import webknossos as wk

    output = tmp_path / "boxes.zip"
    argv = ["create-boxes", "--dataset", str(synthetic.path), "--model", "instances", "--mag", "1", "--box-size", "32,32,32",
            "--count", "6", "--holdout", "2", *GAP, "--json", "--output", str(output)]
    code, data, err = run_json(capsys, argv)
    assert code == 0, err
    evaluation_file = tmp_path / "boxes-evaluation.zip"
    assert data["evaluation_output"] == str(evaluation_file) and output.is_file()
    assert [b.name for b in wk.Annotation.load(output).user_bounding_boxes] == [f"GT {i:02d}" for i in range(1, 7)]
    annotation = wk.Annotation.load(evaluation_file)
    assert [b.name for b in annotation.user_bounding_boxes] == ["EVAL 01", "EVAL 02"]
    paint(annotation, data["holdout"], synthetic.truth)
    painted = tmp_path / "painted.zip"
    annotation.save(painted)
    capsys.readouterr()  # the SDK's progress bar
    code, result, err = run_json(capsys, ["evaluate", "--annotation", str(painted), "--dataset", str(synthetic.path), "--segmentation", "truth", "--json"])
    assert code == 0, err
    assert result["overall"]["voi"] == 0 and result["overall"]["painted_voxels"] == 2 * 32**3


def test_diverse_and_focus_work_on_a_local_dataset(synthetic, capsys):
    local = ["create-boxes", "--dataset", str(synthetic.path), "--model", "instances", "--mag", "1", "--box-size", "32,32,32",
             "--count", "8", "--json", "--dry-run"]
    code, data, err = run_json(capsys, [*local, "--strategy", "diverse", "--strata", "4"])
    assert code == 0, err
    assert data["strategy"]["name"] == "diverse" and all(isinstance(box["stratum"], int) for box in data["boxes"])
    assert max(float((synthetic.texture[box_slice(box)] == RARE).mean()) for box in data["boxes"]) >= 0.5
    code, data, err = run_json(capsys, [*local, "--focus", "prediction", "--compare", "truth"])
    assert code == 0, err
    assert data["strategy"]["score"] == "disagreement" and all(box["score"] is not None for box in data["boxes"])
    assert np.mean([shows_error(synthetic.parts[box_slice(box)], synthetic.owner) for box in data["boxes"]]) >= 0.75


@pytest.mark.parametrize(
    ("args", "exit_code", "words"),
    [
        (("--focus", "no_such_layer", "--dry-run"), 3, "no such layer"),
        (("--strategy", "focus", "--dry-run"), 2, "--focus LAYER"),
        (("--focus", "prediction", "--compare", "prediction", "--dry-run"), 2, "--compare must name another layer"),
        (("--strata", "40", "--dry-run"), 2, "--strata must be between"),
        (("--strata-layer", "truth", "--dry-run"), 2, "distinct ids"),  # hundreds of cells are no strata
        (("--holdout", "2", "--as-tasks", "--project", "p", "--task-type", "t"), 2, "--as-tasks"),
    ],
)
def test_bad_strategy_options_fail_with_one_line(strata_sandbox, capsys, args, exit_code, words):
    code, data, err = run_json(capsys, server_argv(strata_sandbox, *args))
    assert code == exit_code and data is None
    assert len(err.strip().splitlines()) == 1 and words in err


def test_evaluate_says_when_nothing_is_painted(strata_sandbox, capsys):
    sb = strata_sandbox
    sb.reset()
    code, data, err = run_json(capsys, server_argv(sb, "--holdout", "2", *GAP, "--count", "5"))
    assert code == 0, err
    code, result, err = run_json(capsys, ["evaluate", "--annotation", data["evaluation"]["id"], "--segmentation", "prediction",
                                          "--webknossos-url", sb.url, "--token", sb.token])
    assert code == 2 and result is None and len(err.strip().splitlines()) == 1 and "painted" in err
    assert DATASET_ID in {a.dataset_id for a in sb.state.annotations.values()}
