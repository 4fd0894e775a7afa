"""The README's commands keep working and its worked examples print what it shows."""

from __future__ import annotations

import re
import shlex

from wkgt.cli import run

from .conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()


def test_first_three_commands_install_run_and_test():
    block = re.search(r"```bash\n(.*?)```", README, re.S).group(1).splitlines()
    assert block[0].startswith("python3 -m venv .venv && ") and '.venv/bin/pip install -e ".[test]"' in block[0]
    assert block[1].split("#")[0].strip() == ".venv/bin/wkgt demo"
    assert block[2].split("#")[0].strip() == ".venv/bin/pytest"
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert block[0].split("#")[0].strip() in ci and ".venv/bin/pytest\n" in ci


def test_worked_examples_print_what_the_readme_shows(capsys):
    examples = re.findall(r"\$ \.venv/bin/wkgt (plan [^\n]+)\n(.*?)```", README, re.S)
    assert len(examples) == 2
    for command, shown in examples:
        assert run(shlex.split(command)) == 0
        out = capsys.readouterr().out
        for line in shown.strip().splitlines():
            prefix = line.split("(")[0].split("…")[0].strip()
            assert " ".join(prefix.split()) in " ".join(out.split()), prefix


def test_server_commands_run_against_the_sandbox(sandbox, monkeypatch, capsys, tmp_path):
    """Every create-boxes and check command of the README, in order, with the sandbox as server."""
    monkeypatch.setenv("WK_URL", sandbox.url)
    monkeypatch.setenv("WK_TOKEN", sandbox.token)
    lines = [
        line.split("#")[0].strip()
        for line in README.splitlines()
        if line.startswith((".venv/bin/wkgt create-boxes", ".venv/bin/wkgt check"))
    ]
    assert len(lines) == 6
    for line in lines:
        annotation_id = next(iter(sandbox.state.annotations), "")
        argv = shlex.split(line.replace("$WK_URL", sandbox.url).replace("<id>", annotation_id))[1:]
        assert run(argv) == 0, line
    # the viewer-URL form names the same dataset as the name form: a safe rerun, no new annotation
    assert len(sandbox.state.annotations) == 2
    assert (tmp_path / "round2.png").is_file()
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
