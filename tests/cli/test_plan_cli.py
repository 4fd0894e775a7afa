"""``wkgt plan`` as a user runs it: JSON on stdout, tables, and one-line errors with exit 2."""

import json

import pytest

from wkgt.cli import run

BASE = ["plan", "--voxel-size", "11.24,11.24,30", "--mags", "1,2-2-1,4-4-1", "--bbox", "0,0,0,4096,4096,1024"]


def test_json_output_is_one_document(capsys):
    assert run([*BASE, "--json"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert data["mag"] == "1"
    assert data["box_size"] == [89, 89, 34] and data["box_size_mag1"] == [89, 89, 34]
    assert data["effective_voxel_size_nm"] == [11.24, 11.24, 30.0]
    assert data["warnings"] == []
    assert len(data["boxes"]) == 19 and data["total_voxels"] == 19 * 89 * 89 * 34
    assert set(data["boxes"][0]) == {"name", "topleft", "size"}
    assert data["boxes"][0]["name"] == "GT 01"


def test_anisotropic_example_in_json(capsys):
    args = ["plan", "--voxel-size", "4,4,35", "--mags", "1,2-2-1,4-4-1,8-8-2,16-16-4", "--bbox", "0,0,0,8192,8192,512", "--json"]
    assert run(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["mag"] == "2-2-1"
    assert data["box_size"] == [125, 125, 32] and data["box_size_mag1"] == [250, 250, 32]
    assert all(b["topleft"][0] % 2 == 0 and b["topleft"][1] % 2 == 0 for b in data["boxes"])


def test_table_output_names_mag_reason_and_boxes(capsys):
    assert run([*BASE, "--count", "6"]) == 0
    out = capsys.readouterr().out
    assert "8 nm" in out and "89×89×34" in out and "GT 06" in out and "spread" in out


def test_warnings_go_to_stderr_not_into_json(capsys):
    assert run([*BASE, "--count", "2", "--json"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert len(data["warnings"]) == 2
    assert "test set" in captured.err


def test_save_and_reload(tmp_path, capsys):
    from wkgt.planner import Plan

    target = tmp_path / "plan.json"
    assert run([*BASE, "--save", str(target), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert Plan.from_json(target.read_text()).to_dict() == printed


@pytest.mark.parametrize(
    "args, message",
    [
        (["--voxel-size", "11.24,11.24"], "--voxel-size must be 3"),
        (["--voxel-size", "11.24,-1,30"], "positive"),
        (["--mags", "1,3-3-1"], "powers of two"),
        (["--bbox", "0,0,0,4096,0,1024"], "--bbox size must be positive"),
        (["--mag", "8-8-8"], "not available"),
        (["--roi", "0,0,0,9000,10,10"], "not inside"),
        (["--count", "0"], "at least 1"),
        (["--count", "100000"], "at most"),
        (["--box-size", "10,10,10"], "below the neurons minimum"),
        (["--model", "instances"], "needs --mag or --object-size"),
        (["--object-size", "-3", "--model", "instances"], "must be positive"),
        (["--bbox", "0,0,0,40,40,40"], "does not fit"),
    ],
)
def test_bad_input_is_one_line_exit_2(args, message, capsys):
    argv = list(BASE)
    for i in range(0, len(args), 2):
        if args[i] in argv:
            argv[argv.index(args[i]) + 1] = args[i + 1]
        else:
            argv += args[i : i + 2]
    assert run(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_help_does_not_import_webknossos():
    import subprocess
    import sys

    code = "import sys; from wkgt.cli import run; run(['--help']); run(['plan', '--help']); print('webknossos' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("False")


@pytest.mark.parametrize("option", ["--save", "--preview"])
def test_unwritable_output_path_is_one_line_exit_2(option, tmp_path, capsys):
    assert run([*BASE, option, str(tmp_path / "missing" / "out.png")]) == 2
    err = capsys.readouterr().err
    assert "No such file or directory" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "missing").exists()
