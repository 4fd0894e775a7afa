"""Later rounds: --avoid and --avoid-previous keep new boxes clear of earlier ones."""

from __future__ import annotations

import numpy as np

from .conftest import create_boxes_argv, run_json

GAP_VOXELS = 25  # 250 nm at 10 nm per voxel (partial_tissue)


def separated(new: dict, old: dict, gap: int) -> bool:
    """Whether two boxes are at least ``gap`` voxels apart along some axis."""
    return any(
        n0 >= o0 + os + gap or o0 >= n0 + ns + gap
        for n0, ns, o0, os in zip(new["topleft"], new["size"], old["topleft"], old["size"])
    )


def centres_nm(boxes: list[dict], voxel=(10, 10, 25)) -> np.ndarray:
    return np.array([[(t + s / 2) * v for t, s, v in zip(b["topleft"], b["size"], voxel)] for b in boxes])


def test_avoid_previous_keeps_a_gap_and_spreads_around_earlier_boxes(sandbox, capsys):
    code, _, err = run_json(capsys, create_boxes_argv(sandbox, "l4_sample", "--count", "5", "--json", "--no-tissue-check"))
    assert code == 0, err
    code, first, err = run_json(capsys, create_boxes_argv(sandbox, "partial_tissue", "--count", "8", "--json"))
    assert code == 0 and first["status"] == "created", err
    assert first["avoided"] == []
    code, second, err = run_json(capsys, create_boxes_argv(sandbox, "partial_tissue", "--count", "8", "--json", "--avoid-previous"))
    assert code == 0 and second["status"] == "created", err
    assert second["annotation"]["id"] != first["annotation"]["id"] and second["run_key"] != first["run_key"]
    # exactly the earlier wkgt boxes of this dataset (not those of l4_sample)
    assert {b["annotation"] for b in second["avoided"]} == {first["annotation"]["id"]}
    assert sorted(tuple(b["topleft"]) for b in second["avoided"]) == sorted(tuple(b["topleft"]) for b in first["boxes"])
    for new in second["boxes"]:
        assert all(separated(new, old, GAP_VOXELS) for old in first["boxes"]), new
    assert min(second["tissue"]["box_fractions"]) >= 0.9
    # spread relative to the old ones: no new box hugs an old one
    new_c, old_c = centres_nm(second["boxes"]), centres_nm(first["boxes"])
    nearest_old = np.linalg.norm(new_c[:, None] - old_c[None], axis=2).min()
    assert nearest_old > 0.5 * second["spread"]["min_center_distance_nm"]
    # a third round avoids both earlier ones
    code, third, err = run_json(capsys, create_boxes_argv(sandbox, "partial_tissue", "--count", "4", "--json", "--avoid-previous", "--dry-run"))
    assert code == 0, err
    assert {b["annotation"] for b in third["avoided"]} == {first["annotation"]["id"], second["annotation"]["id"]}
    assert len(third["avoided"]) == 16


def test_avoid_by_id_and_url_with_a_chosen_gap(sandbox, capsys):
    code, first, err = run_json(capsys, create_boxes_argv(sandbox, "partial_tissue", "--count", "6", "--json", "--no-tissue-check"))
    assert code == 0, err
    ref = first["annotation"]["url"]
    code, second, err = run_json(
        capsys,
        create_boxes_argv(sandbox, "partial_tissue", "--count", "6", "--json", "--dry-run", "--no-tissue-check", "--avoid", ref, "--avoid", first["annotation"]["id"], "--gap-nm", "1000"),
    )
    assert code == 0, err
    assert len(second["avoided"]) == 6  # the same annotation twice counts once
    for new in second["boxes"]:
        assert all(separated(new, old, 100) for old in first["boxes"])  # 1000 nm = 100 voxels


def test_avoid_errors(sandbox, capsys):
    code, l4, err = run_json(capsys, create_boxes_argv(sandbox, "l4_sample", "--count", "5", "--json", "--no-tissue-check"))
    assert code == 0, err
    argv = create_boxes_argv(sandbox, "partial_tissue", "--dry-run", "--no-tissue-check")
    for extra, exit_code, needle in (
        (["--avoid", l4["annotation"]["id"]], 2, "belongs to dataset l4_sample"),
        (["--avoid", "not-an-annotation"], 2, "not an annotation id or URL"),
        (["--avoid", "0123456789abcdef01234567"], 3, "no annotation 0123456789abcdef01234567"),
        (["--avoid", "https://elsewhere.example/annotations/0123456789abcdef01234567"], 2, "elsewhere.example"),
        (["--gap-nm", "-5", "--avoid", l4["annotation"]["id"]], 2, "--gap-nm"),
    ):
        code, _, err = run_json(capsys, [*argv, *extra])
        assert code == exit_code and needle in err and len(err.strip().splitlines()) == 1, (extra, err)
