"""``create-boxes --as-tasks`` and the check every plan passes before it is written."""

from __future__ import annotations

import attrs
import pytest

from wkgt.jobs.planning import checked
from wkgt.errors import InvalidInput
from wkgt.planner import Box, PlanOptions

from .helpers import cli, run_json, writes

TASK_ARGS = ["--as-tasks", "--project", "sandbox_project", "--task-type", "training_boxes", "--no-tissue-check"]


def test_one_task_per_box_in_one_request_visible_through_the_sdk(sandbox, capsys):
    code, data, err = run_json(capsys, cli(sandbox, "--dataset", "l4_sample", "--count", "6", *TASK_ARGS, "--json"))
    assert code == 0, err
    assert data["status"] == "created" and data["annotation"] is None
    ids = data["tasks"]["task_ids"]
    assert len(ids) == 6
    posts = [e for e in writes(sandbox) if e.path.endswith("/tasks")]
    assert len(posts) == 1 and len(writes(sandbox)) == 1

    import webknossos as wk

    with wk.webknossos_context(url=sandbox.url, token=sandbox.token):
        tasks = {t.task_id: t for t in wk.Project.get_by_name("sandbox_project").get_tasks()}
    for box in data["boxes"]:
        task = next(t for t in tasks.values() if tuple(t.bounding_box.topleft) == tuple(box["topleft"]))
        assert tuple(task.bounding_box.size) == tuple(box["size"])
        assert task.task_id in ids


def test_rerun_creates_no_second_set_and_dry_run_writes_nothing(sandbox, capsys):
    argv = cli(sandbox, "--dataset", "l4_sample", "--count", "5", *TASK_ARGS, "--json")
    code, dry, _ = run_json(capsys, [*argv, "--dry-run"])
    assert code == 0 and dry["tasks"]["status"] == "dry-run" and writes(sandbox) == []
    code, first, _ = run_json(capsys, argv)
    assert code == 0 and first["status"] == "created"
    code, second, _ = run_json(capsys, argv)
    assert code == 0 and second["status"] == "exists"
    assert second["tasks"]["task_ids"] == first["tasks"]["task_ids"]
    assert len(sandbox.state.tasks) == 5


def test_unknown_project_lists_the_existing_ones(sandbox, capsys):
    args = ["--as-tasks", "--project", "nope", "--task-type", "training_boxes", "--no-tissue-check"]
    code, _, err = run_json(capsys, cli(sandbox, "--dataset", "l4_sample", "--count", "5", *args))
    assert code == 3
    assert "no project 'nope'" in err and "sandbox_project" in err and len(err.strip().splitlines()) == 1
    assert writes(sandbox) == []


@pytest.mark.parametrize("args", [["--as-tasks"], ["--project", "sandbox_project"], ["--as-tasks", "--project", "p", "--task-type", "t", "--experience", "x"]])
def test_task_options_are_checked_before_any_request(sandbox, capsys, args):
    code, _, err = run_json(capsys, cli(sandbox, "--dataset", "l4_sample", *args))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert sandbox.state.request_log == []


def test_a_plan_failing_the_check_is_refused(sandbox):
    from wkgt.client import Session, resolve_server
    from wkgt.client.dataset_ref import DatasetRef
    from wkgt.planner import make_plan

    session = Session(resolve_server(sandbox.url, sandbox.token))
    session.negotiate()
    facts = session.dataset(DatasetRef(name="l4_sample"))
    layer = facts.layer()
    plan = make_plan(PlanOptions(count=5).request(facts.voxel_size_nm, layer.mags, layer.bbox))
    assert checked(plan, facts, layer, PlanOptions(count=5)) == plan
    outside = attrs.evolve(plan, boxes=(*plan.boxes[:4], Box("GT 05", (0, 0, 0), plan.box_size_mag1)))
    with pytest.raises(InvalidInput, match="fails the training check"):
        checked(outside, facts, layer, PlanOptions(count=5))


def test_a_finer_mag_than_the_rule_is_warned_about(sandbox, capsys):
    code, data, err = run_json(capsys, cli(sandbox, "--dataset", "aniso_4x4x35", "--mag", "1", "--count", "5", "--no-tissue-check", "--dry-run", "--json"))
    assert code == 0, err
    assert any("2-2-1" in w for w in data["warnings"])


def test_avoid_previous_keeps_clear_of_an_earlier_round_of_tasks(sandbox, capsys):
    code, round1, _ = run_json(capsys, cli(sandbox, "--dataset", "l4_sample", "--count", "6", *TASK_ARGS, "--json"))
    assert code == 0
    args = ["--dataset", "l4_sample", "--count", "6", "--seed", "3", "--avoid-previous", "--no-tissue-check", "--dry-run", "--json"]
    code, round2, err = run_json(capsys, cli(sandbox, *args))
    assert code == 0, err
    avoided = {tuple(b["topleft"]) for b in round2["avoided"]}
    assert avoided == {tuple(b["topleft"]) for b in round1["boxes"]}
    for new in round2["boxes"]:
        for old in round1["boxes"]:
            assert not all(n < o + s and o < n + s for n, o, s in zip(new["topleft"], old["topleft"], new["size"]))
