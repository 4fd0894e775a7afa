"""The README's commands keep working and its worked examples print what it shows."""

from __future__ import annotations

import re
import shlex

from wkgt.cli import run

from .conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()


def test_first_three_commands_install_run_and_test():
    block = re.search(r"```bash\n(.*?)```", README, re.S).group(1).splitlines()
    assert block[0].startswith("python3 -m venv .venv && .venv/bin/pip install -e")
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


def test_server_section_commands_run_against_the_sandbox(sandbox, monkeypatch, capsys):
    monkeypatch.setenv("WK_URL", sandbox.url)
    monkeypatch.setenv("WK_TOKEN", sandbox.token)
    lines = [l.split("#")[0].strip() for l in README.splitlines() if l.startswith(".venv/bin/wkgt create-boxes")]
    assert len(lines) == 3
    for line in lines:
        argv = shlex.split(line.replace("$WK_URL", sandbox.url))[1:]
        assert run(argv) == 0, line
    # the viewer-URL form names the same dataset, so it is the same job: a safe rerun
    assert len(sandbox.state.annotations) == 1


def test_sandbox_token_in_readme_is_the_sandbox_default():
    from wkgt_sandbox import DEFAULT_TOKEN

    assert f"WK_TOKEN={DEFAULT_TOKEN}" in README
