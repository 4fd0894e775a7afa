"""The README's commands keep working and its worked examples print what it shows."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from wkgt.cli import run

from .conftest import REPO_ROOT
from .readme import README, command

SERVER_COMMANDS = ("create-boxes", "check", "history", "undo")


def server_lines() -> list[str]:
    """README's ``.venv/bin/wkgt create-boxes|check|history|undo`` lines, in order."""
    starts = tuple(f".venv/bin/wkgt {name} " for name in SERVER_COMMANDS)
    return [command(line) for line in README.splitlines() if line.startswith(starts)]


def worked_examples() -> list[tuple[str, str]]:
    """README's ``$ .venv/bin/wkgt plan ...`` examples: (the command after ``wkgt``, the output shown)."""
    return re.findall(r"\$ \.venv/bin/wkgt (plan [^\n]+)\n(.*?)```", README, re.S)


def test_readme_opens_with_make_demo_and_make_test_and_ci_runs_make_test():
    block = re.search(r"```bash\n(.*?)```", README, re.S).group(1).splitlines()
    assert [line.split("#")[0].strip() for line in block] == ["make demo", "make test"]
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert "\nmake test\n" in ci and "rm -rf .venv" in ci


def make(directory, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", "-C", str(directory), *args], capture_output=True, text=True)


def test_make_sets_up_once_and_again_only_when_pyproject_changes(tmp_path):
    """The Makefile's rules (dry-run in a copy): fresh → venv + install; unchanged → only the
    command; pyproject.toml newer than the install → install again."""
    shutil.copy(REPO_ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    fresh = make(tmp_path, "-n", "test").stdout
    assert "-m venv .venv" in fresh and 'pip install -q -e ".[test]"' in fresh and ".venv/bin/pytest" in fresh
    assert "-m venv .venv" in make(tmp_path, "-n", "demo").stdout
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").touch()

    def stamp(path: Path, age_s: float) -> None:  # explicit times: touches within one clock tick look equal to make
        moment = time.time() - age_s
        os.utime(path, (moment, moment))

    stamp(tmp_path / "pyproject.toml", 300)
    stamp(tmp_path / ".venv" / "bin" / "python", 200)
    for installed in (".installed", ".installed-test"):
        (tmp_path / ".venv" / installed).touch()
        stamp(tmp_path / ".venv" / installed, 100)
    assert make(tmp_path, "-n", "test").stdout.splitlines() == [".venv/bin/pytest"]
    assert make(tmp_path, "-n", "demo").stdout.splitlines() == [".venv/bin/wkgt demo"]
    stamp(tmp_path / "pyproject.toml", 0)
    assert "pip install" in make(tmp_path, "-n", "test").stdout


def test_make_demo_prints_the_boxes_and_the_annotation_url():
    """``make demo`` as README shows it, with this checkout's environment (``-o``: do not reinstall)."""
    bin_dir = Path(sys.executable).parent
    done = subprocess.run(
        ["make", "-C", str(REPO_ROOT), "-o", ".venv/.installed", f"BIN={bin_dir}", "demo"],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "GT 01" in done.stdout and "annotation created: http://127.0.0.1:" in done.stdout
    assert "downloaded the annotation back" in done.stdout


def test_worked_examples_print_what_the_readme_shows(capsys):
    examples = worked_examples()
    assert len(examples) == 3  # the guide's two (--rules guide) and the docs' neuron example (--rules webknossos)
    for example, shown in examples:
        assert run(shlex.split(example)) == 0
        out = capsys.readouterr().out
        for line in shown.strip().splitlines():
            prefix = line.split("(")[0].split("…")[0].strip()
            assert " ".join(prefix.split()) in " ".join(out.split()), prefix


def test_server_commands_run_against_the_sandbox(sandbox, monkeypatch, capsys, tmp_path):
    """Every create-boxes, check, history and undo command of the README, in order, with the sandbox as server."""
    from wkgt.client.annotations import find_run_key

    monkeypatch.setenv("WK_URL", sandbox.url)
    monkeypatch.setenv("WK_TOKEN", sandbox.token)
    lines = server_lines()
    assert len(lines) == 12
    for line in lines:
        annotation_id = next(iter(sandbox.state.annotations), "")
        newest = max((a for a in sandbox.state.annotations.values() if a.dataset_name == "l4_sample"), key=lambda a: a.id, default=None)
        key = find_run_key(newest.description) if newest is not None else ""
        argv = shlex.split(line.replace("$WK_URL", sandbox.url).replace("<id>", annotation_id).replace("<run-key>", key))[1:]
        assert run(argv) == 0, line
    # undo archived the newest run (the second round) and nothing else
    assert [a.state for a in sorted(sandbox.state.annotations.values(), key=lambda a: a.id)] == ["Active", "Active", "Finished"]
    assert "wkgt runs for l4_sample" in capsys.readouterr().out
    # the viewer-URL form names the same dataset as the name form: a safe rerun, no new annotation;
    # the reviewed plan and the second round make one each
    assert len(sandbox.state.annotations) == 3
    assert (tmp_path / "round2.png").is_file() and (tmp_path / "plan.png").is_file()
    reviewed = json.loads((tmp_path / "plan.json").read_text())
    written = [a for a in sandbox.state.annotations.values() if a.dataset_name == "partial_tissue"]
    assert len(written) == 1
    assert [(b["name"], list(b["topLeft"])) for b in written[0].user_bounding_boxes] == [
        (b["name"], b["topleft"]) for b in reviewed["boxes"]
    ]
    assert len((tmp_path / "boxes.csv").read_text().splitlines()) == len(reviewed["boxes"]) + 1
    assert len(sandbox.state.tasks) > 0


def test_sandbox_token_in_readme_is_the_sandbox_default():
    from wkgt_sandbox import DEFAULT_TOKEN

    assert f"WK_TOKEN={DEFAULT_TOKEN}" in README


def test_python_example_runs_against_the_sandbox(sandbox, monkeypatch, capsys):
    monkeypatch.setenv("WK_URL", sandbox.url)
    monkeypatch.setenv("WK_TOKEN", sandbox.token)
    (example,) = re.findall(r"```python\n(.*?)```", README, re.S)
    exec(compile(example, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "GT 20" in out and "/datasets/l4_sample-" in out
