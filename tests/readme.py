"""README.md as the tests read it: its sections and the commands of its ```bash blocks."""

from __future__ import annotations

import re

from .conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()


def section(heading: str, text: str = README) -> str:
    """The text under ``heading`` (a whole heading line, e.g. ``## Train: `wkgt train```) up to the
    next heading of the same or a higher level (``#`` lines inside code blocks are no headings)."""
    level = len(heading.split(" ", 1)[0])
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.rstrip("\n") == heading) + 1
    fenced = False
    for end in range(start, len(lines)):
        fenced ^= lines[end].startswith("```")
        marks = len(lines[end]) - len(lines[end].lstrip("#"))
        if not fenced and 0 < marks <= level and lines[end][marks : marks + 1] == " ":
            return "".join(lines[start:end])
    return "".join(lines[start:])


def command(line: str) -> str:
    """One command line as written: without a shell prompt (``$ ``), a trailing ``# comment``, or
    extra spaces."""
    line = re.sub(r"\s+#.*$", "", line.removeprefix("$ "))
    return " ".join(line.split())


def bash_commands(text: str = README) -> list[str]:
    """Every command of the ```bash blocks in ``text``: continuation lines joined, comment lines and
    example output (the lines after a ``$ `` prompt) left out."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        prompted = any(line.startswith("$ ") for line in joined.splitlines())
        for line in joined.splitlines():
            if line.strip() and not line.lstrip().startswith("#") and (line.startswith("$ ") or not prompted):
                commands.append(command(line))
    return commands
