"""``create_tasks`` against the sandbox: one request, visible through the unmodified SDK, rerun-safe."""

import pytest
import webknossos as wk

from wkgt.client import DatasetRef, Session, resolve_server
from wkgt.errors import InvalidInput, NotFound, ServerError, WriteError
from wkgt.planner import PlanOptions, make_plan
from wkgt.writer.tasks import create_tasks, parse_experience

L4_ID = "66e1c3a2b7f0d94e1a2b1001"
PROJECT, TASK_TYPE, TASK_TYPE_ID = "sandbox_project", "training_boxes", "66e1c3a2b7f0d94e1a2bc001"


@pytest.fixture
def job(sandbox):
    """A session, the l4_sample facts and a plan of 6 boxes; the request log starts empty."""
    session = Session(resolve_server(sandbox.url, sandbox.token))
    session.negotiate()
    facts = session.dataset(DatasetRef(id=L4_ID))
    layer = facts.layer()
    plan = make_plan(PlanOptions(count=6).request(facts.voxel_size_nm, layer.mags, layer.bbox))
    sandbox.state.clear_log()
    return session, facts, plan


def make(job, **kw):
    session, facts, plan = job
    args = {"project": PROJECT, "task_type": TASK_TYPE, "run_key": "0123456789abcdef", **kw}
    return create_tasks(session, plan, facts, **args)


def sdk_tasks(sb):
    with wk.webknossos_context(url=sb.url, token=sb.token):
        return wk.Project.get_by_name(PROJECT).get_tasks()


def posts(sb):
    return [e for e in sb.state.request_log if e.method != "GET"]


def test_one_request_creates_a_task_per_box(sandbox, job):
    _, _, plan = job
    result = make(job, instances=2, experience=("training_boxes", 3))
    assert result.status == "created" and len(result.task_ids) == len(plan.boxes) == 6
    tasks = {t.task_id: t for t in sdk_tasks(sandbox)}
    # checked after the SDK's requests: the sandbox logs a request only after answering it
    assert [(e.method, e.path) for e in posts(sandbox)] == [("POST", "/api/v16/tasks")]
    assert set(tasks) == set(result.task_ids)
    for box, task_id in zip(plan.boxes, result.task_ids):
        task = tasks[task_id]
        assert task.bounding_box == wk.BoundingBox(box.topleft, box.size)
        assert task.edit_position.to_tuple() == box.center
        assert task.dataset_id == L4_ID and task.task_type.task_type_id == TASK_TYPE_ID
        assert task.status.pending_instance_count == 2
        assert (task.experience.domain, task.experience.value) == ("training_boxes", 3)
    data = result.to_dict()
    assert data["task_ids"] == list(result.task_ids) and data["status"] == "created"
    assert [t["box"] for t in data["tasks"]] == [b.name for b in plan.boxes]


def test_rerun_creates_nothing_new(sandbox, job):
    first = make(job)
    sandbox.state.clear_log()
    again = make(job, task_type=TASK_TYPE_ID)  # the task type by id is the same job
    assert again.status == "exists" and again.task_ids == first.task_ids
    assert all(t.existed for t in again.tasks)
    assert posts(sandbox) == [] and len(sandbox.state.tasks) == 6


def test_rerun_after_a_partial_run_creates_only_the_missing_tasks(sandbox, job):
    _, _, plan = job
    with wk.webknossos_context(url=sandbox.url, token=sandbox.token):
        [early] = wk.Task.create(TASK_TYPE_ID, PROJECT, "training_boxes", 0, plan.boxes[0].center, L4_ID,
                                 bounding_box=wk.BoundingBox(plan.boxes[0].topleft, plan.boxes[0].size))
    result = make(job)
    assert result.status == "created" and result.task_ids[0] == early.task_id
    assert [t.existed for t in result.tasks] == [True] + [False] * 5
    assert len(sandbox.state.tasks) == 6


def test_dry_run_sends_no_write_request(sandbox, job):
    result = make(job, dry_run=True)
    assert result.status == "dry-run" and result.task_ids == () and len(result.tasks) == 6
    assert posts(sandbox) == [] and sandbox.state.tasks == {}
    assert result.to_dict()["tasks"][0]["edit_position"] == list(job[2].boxes[0].center)


def test_unknown_project_lists_the_existing_ones(sandbox, job):
    with pytest.raises(NotFound, match="no project 'nope'.*projects: sandbox_project"):
        make(job, project="nope")
    assert posts(sandbox) == []


def test_unknown_task_type_lists_the_existing_ones(sandbox, job):
    with pytest.raises(NotFound, match=rf"no task type 'nope'.*training_boxes \({TASK_TYPE_ID}\)"):
        make(job, task_type="nope")
    assert posts(sandbox) == []


def test_failed_post_is_not_repeated_and_says_a_rerun_is_safe(sandbox, job):
    sandbox.faults.add(r"^/api/v16/tasks$", method="POST", status=503, times=1)
    with pytest.raises(WriteError, match="holds 0 of the 6 new tasks"):
        make(job)
    assert len(posts(sandbox)) == 1 and sandbox.state.tasks == {}
    assert make(job).status == "created" and len(sandbox.state.tasks) == 6


def test_lost_answer_finds_the_created_tasks(sandbox, job, monkeypatch):
    session = job[0]
    real = session.translate

    def lose_answer(what, call):
        result = real(what, call)
        if what == "creating tasks":
            raise ServerError("connection dropped")
        return result

    monkeypatch.setattr(session, "translate", lose_answer)
    result = make(job)
    assert result.status == "created" and len(result.task_ids) == 6
    assert set(result.task_ids) == set(sandbox.state.tasks) and len(posts(sandbox)) == 1


def test_experience_and_instances_are_checked():
    assert parse_experience("training_boxes=3") == ("training_boxes", 3)
    for bad in ("x=1", "domain", "domain=-1", "domain=a"):
        with pytest.raises(InvalidInput):
            parse_experience(bad)


def test_bad_instances_are_invalid_input(sandbox, job):
    with pytest.raises(InvalidInput):
        make(job, instances=0)
    assert sandbox.state.request_log == []


def test_skeleton_only_task_type_gets_a_warning(sandbox, job):
    with wk.webknossos_context(url=sandbox.url, token=sandbox.token):
        wk.TaskType.create("skeletons", "trace", "sandbox_lab", tracing_type="skeleton")
    result = make(job, task_type="skeletons", dry_run=True)
    assert len(result.warnings) == 1 and "skeleton-only" in result.warnings[0]
    assert result.experience == ("skeletons", 0)
    assert make(job, dry_run=True).warnings == ()
