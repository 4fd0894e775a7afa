"""Help and option names: no "[default: None]", units in option names (old names still work, hidden),
output for pipes not wrapped at 80 columns, the Python API's mags in every spelling."""

from __future__ import annotations

import pytest

from wkgt.cli import run

from ..helpers import create_boxes_argv, run_json

def _commands() -> list[str]:
    """Every command the CLI has (new ones are checked too, without editing this list)."""
    import typer

    from wkgt.cli import app

    return sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


COMMANDS = _commands()
PLAN = ["plan", "--voxel-size", "11.24,11.24,30", "--mags", "1,2-2-1,4-4-1", "--bbox", "0,0,0,4096,4096,1024"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_no_none_default(command, capsys):
    assert run([command, "--help"]) == 0
    assert "[default: None]" not in capsys.readouterr().out


def test_renamed_options_show_their_unit_and_keep_their_old_name_hidden(capsys):
    assert run(["create-boxes", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--margin-voxels" in text and "--annotators-per-task" in text
    assert "--margin " not in text and "--instances" not in text
    code, data, err = run_json(capsys, [*PLAN, "--margin", "300", "--json"])
    assert code == 0, err
    code, again, err = run_json(capsys, [*PLAN, "--margin-voxels", "300", "--json"])
    assert code == 0 and again["region"] == data["region"] == {"topleft": [300, 300, 300], "size": [3496, 3496, 424]}
    code, _, err = run_json(capsys, [*PLAN, "--margin", "300", "--margin-voxels", "200"])
    assert code == 2 and "--margin is the old name of --margin-voxels" in err


def test_instances_still_works_with_a_deprecation_warning(capsys):
    from wkgt_sandbox import run_sandbox

    tasks = ["--as-tasks", "--project", "sandbox_project", "--task-type", "training_boxes", "--dry-run", "--no-tissue-check", "--json"]
    with run_sandbox() as sandbox:
        code, data, err = run_json(capsys, create_boxes_argv(sandbox, "l4_sample", *tasks, "--count", "2", "--instances", "2"))
        assert code == 0, err
        assert data["tasks"]["instances"] == 2 and "--instances is deprecated" in err
        code, data, err = run_json(capsys, create_boxes_argv(sandbox, "l4_sample", *tasks, "--count", "2", "--annotators-per-task", "3"))
        assert code == 0 and data["tasks"]["instances"] == 3 and "deprecated" not in err
        code, _, err = run_json(capsys, create_boxes_argv(sandbox, "l4_sample", *tasks, "--annotators-per-task", "0"))
        assert code == 2 and "--annotators-per-task must be at least 1" in err


def test_output_to_a_pipe_is_not_wrapped(capsys, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    assert run(PLAN) == 0
    out = capsys.readouterr().out
    (mag_line,) = [line for line in out.splitlines() if line.startswith("mag ")]
    assert mag_line.rstrip().endswith("neurons gain nothing from voxels finer than 8 nm; rules: guide)")
    assert max(len(line) for line in out.splitlines()) > 100
    assert [line for line in out.splitlines() if line.endswith(" ")] == []  # no padding to the longest line
    monkeypatch.setenv("COLUMNS", "70")  # a width asked for is kept
    assert run(PLAN) == 0
    assert max(len(line.rstrip()) for line in capsys.readouterr().out.splitlines()) <= 70


def test_python_api_takes_mags_as_text_tuples_or_webknossos_mags():
    import webknossos as wk

    from wkgt import CheckJob, PlanOptions, Region, make_plan

    region = Region((0, 0, 0), (4096, 4096, 512))
    spellings = [["1", "2-2-1", "4-4-1"], [wk.Mag(1), wk.Mag("2-2-1"), wk.Mag((4, 4, 1))], [(1, 1, 1), [2, 2, 1], (4, 4, 1)], "1,2-2-1,4-4-1"]
    plans = [make_plan(PlanOptions(count=4).request((4.0, 4.0, 35.0), mags, region)) for mags in spellings]
    assert all(plan.mag == "2-2-1" and plan.boxes == plans[0].boxes for plan in plans)
    for mag in ("2-2-1", wk.Mag("2-2-1"), (2, 2, 1), [2, 2, 1]):
        assert PlanOptions(mag=mag).mag == (2, 2, 1) and CheckJob(mag=mag).mag == (2, 2, 1)
    assert PlanOptions(mag=2).mag == (2, 2, 2)
    from wkgt.errors import InvalidInput

    for bad in ("3", (2, 2), "x", 2.5):
        with pytest.raises(InvalidInput):
            PlanOptions(mag=bad)


def test_sandbox_help_documents_the_catalog_format(capsys):
    assert run(["sandbox", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.replace("│", " ").split())
    assert "JSON list of dataset objects" in text and "sandboxData" in text and '"generator": "em"' in text
    assert "besides the built-in datasets" in text
