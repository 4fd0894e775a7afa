"""README's "A lab's whole loop", command by command, against the sandbox: plan every dataset of
a folder, annotate (paint and finish the annotations), check, train, round 2."""

from __future__ import annotations

import json
import re
import shlex

from tests.jobs.server import organize, paint_copy
from wkgt.cli import run

from ..conftest import REPO_ROOT


def loop_commands() -> list[str]:
    section = (REPO_ROOT / "README.md").read_text().split("## A lab's whole loop", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.startswith("wkgt ")]


def test_the_readme_loop_plans_checks_trains_and_plans_round_two(sandbox, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("WK_URL", sandbox.url)
    monkeypatch.setenv("WK_TOKEN", sandbox.token)
    organize(sandbox, "EM 2026", {"l4_sample": [], "partial_tissue": []})
    listing, plan, check, train, round2 = loop_commands()

    assert run(shlex.split(listing)[1:]) == 0
    assert "l4_sample" in capsys.readouterr().out

    command, _, target = plan.partition(" > ")
    assert run([*shlex.split(command)[1:], "--no-tissue-check"]) == 0  # (the tissue check only costs time here)
    (tmp_path / target).write_text(capsys.readouterr().out)
    round1 = json.loads((tmp_path / target).read_text())
    assert round1["ok"] and sorted(d["result"]["dataset"]["name"] for d in round1["datasets"]) == ["l4_sample", "partial_tissue"]
    painted = {  # the annotators paint (a painted copy: the sandbox cannot edit volumes), then finish
        entry["result"]["annotation"]["id"]: paint_copy(sandbox, entry["result"]["annotation"]["id"]) for entry in round1["datasets"]
    }

    assert run([*shlex.split(check)[1:], "--json"]) == 0
    checked = json.loads(capsys.readouterr().out)
    assert checked["status"] == "dry-run" and sandbox.state.jobs == {}
    assert sorted(a["id"] for a in checked["annotations"]) == sorted(painted.values())
    # one 32³ object per box: painted, but only partly (a warning; dense painting costs the SDK ~20 ms per chunk)
    boxes = [b for check in checked["checks"] for b in check["boxes"]]
    assert boxes and all(0 < b["painted"] < 0.5 and b["findings"] == ["partly-painted"] for b in boxes)
    assert run([*shlex.split(train)[1:], "--json"]) == 0
    started = json.loads(capsys.readouterr().out)
    assert started["status"] == "started" and started["request"] == checked["request"]
    [job] = sandbox.state.jobs.values()
    planned = {painted[d["result"]["annotation"]["id"]]: d["result"]["mag"] for d in round1["datasets"]}
    assert {a["annotationId"]: "-".join(map(str, a["mag"])) for a in job["args"]["training_annotations"]} == {
        i: "-".join([m] * 3) if "-" not in m else m for i, m in planned.items()
    }  # trained at the mags the boxes were planned at

    assert run([*shlex.split(round2)[1:], "--no-tissue-check", "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert [d["status"] for d in second["datasets"]] == ["created", "created"]
    assert all(len(d["result"]["avoided"]) == len(d_prev["result"]["boxes"]) for d, d_prev in zip(
        sorted(second["datasets"], key=lambda d: d["input"]), sorted(round1["datasets"], key=lambda d: d["input"])
    ))
    assert len(sandbox.state.annotations) == 6  # round 1's two, their painted copies, round 2's two
