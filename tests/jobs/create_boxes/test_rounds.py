"""Later rounds continue the box numbering and count the earlier wkgt boxes of the same mag
towards the total (one training run holds them all)."""

from __future__ import annotations

from tests.helpers import reset_module_sandbox as sandbox  # noqa: F401 (the module's sandbox, reset per test)

from .helpers import cli, run_json

BOX_VOXELS = 89 * 89 * 36  # l4_sample at mag 1 (11.24×11.24×28 nm), rules: guide


def test_round_two_continues_the_numbering_and_counts_round_one(sandbox, capsys):
    code, first, err = run_json(capsys, cli(sandbox, "--dataset", "l4_sample", "--count", "6", "--no-tissue-check", "--json"))
    assert code == 0, err
    assert [b["name"] for b in first["boxes"]] == [f"GT {i:02d}" for i in range(1, 7)]
    code, second, err = run_json(capsys, cli(sandbox, "--dataset", "l4_sample", "--seed", "2", "--avoid-previous", "--no-tissue-check", "--json"))
    assert code == 0, err
    earlier = 6 * BOX_VOXELS
    needed = -(-(5_000_000 - earlier) // BOX_VOXELS)  # the fewest boxes reaching 5 M together with round one
    assert (second["earlier_boxes"], second["earlier_voxels"], second["count"]) == (6, earlier, needed)
    assert [b["name"] for b in second["boxes"]] == [f"GT {i:02d}" for i in range(7, 7 + needed)]
    assert not any("total volume" in w for w in second["warnings"])  # 5.1 M in both rounds together
    assert "earlier rounds" in second["count_reason"]


def test_a_small_second_round_warns_about_both_rounds_together(sandbox, capsys):
    code, _, err = run_json(capsys, cli(sandbox, "--dataset", "l4_sample", "--count", "6", "--no-tissue-check", "--json"))
    assert code == 0, err
    code, second, err = run_json(capsys, cli(sandbox, "--dataset", "l4_sample", "--count", "3", "--avoid-previous", "--no-tissue-check", "--json"))
    assert code == 0, err
    total = 9 * BOX_VOXELS
    (warning,) = [w for w in second["warnings"] if "total volume" in w]
    assert f"{total:,} voxels" in warning and f"{6 * BOX_VOXELS:,} in earlier rounds" in warning
    assert [b["name"] for b in second["boxes"]] == ["GT 07", "GT 08", "GT 09"]


def test_boxes_of_another_mag_do_not_count(sandbox, capsys):
    code, _, err = run_json(capsys, cli(sandbox, "--dataset", "l4_sample", "--count", "6", "--mag", "2-2-1", "--no-tissue-check", "--json"))
    assert code == 0, err
    code, second, err = run_json(capsys, cli(sandbox, "--dataset", "l4_sample", "--count", "2", "--avoid-previous", "--no-tissue-check", "--json"))
    assert code == 0, err
    assert second["mag"] == "1" and second["earlier_boxes"] == 0 and second["earlier_voxels"] == 0
    assert [b["name"] for b in second["boxes"]] == ["GT 07", "GT 08"]  # names still continue: one annotation space


def test_copies_of_one_earlier_run_count_once(sandbox, capsys):
    """A run's ``--force-new`` copy holds the same boxes: round two counts (and downloads) one of them."""
    first = cli(sandbox, "--dataset", "l4_sample", "--count", "6", "--no-tissue-check", "--json")
    assert run_json(capsys, first)[0] == 0
    assert run_json(capsys, [*first, "--force-new"])[0] == 0
    assert len(sandbox.state.annotations) == 2
    sandbox.state.clear_log()
    code, second, err = run_json(capsys, cli(sandbox, "--dataset", "l4_sample", "--count", "2", "--avoid-previous", "--no-tissue-check", "--json"))
    assert code == 0, err
    assert (second["earlier_boxes"], second["earlier_voxels"]) == (6, 6 * BOX_VOXELS)
    assert [b["name"] for b in second["boxes"]] == ["GT 07", "GT 08"]
    assert len([e for e in sandbox.state.requests("GET", "/download")]) == 1
