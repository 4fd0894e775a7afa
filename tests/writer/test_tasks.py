"""``create_tasks`` against the sandbox: one request, visible through the unmodified SDK, rerun-safe."""

import httpx
import pytest
import webknossos as wk

from wkgt.client import DatasetRef, Session, resolve_server
from wkgt.errors import AuthError, InvalidInput, NotFound, ServerError, WriteError
from wkgt.planner import PlanOptions, make_plan
from wkgt.writer.tasks import TaskOptions, create_tasks, parse_experience, prepare_tasks

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


def make(job, *, project=PROJECT, task_type=TASK_TYPE, instances=1, experience=None, dry_run=False, **kw):
    session, facts, plan = job
    target = prepare_tasks(session, facts, TaskOptions(project, task_type, instances, experience, **kw))
    return create_tasks(session, plan, target, run_key="0123456789abcdef", dry_run=dry_run)


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
    with pytest.raises(WriteError, match="holds 0 of the job's 6 tasks"):
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
    result = make(job, task_type="skeletons", experience=("training_boxes", 0), dry_run=True)
    assert len(result.warnings) == 1 and "skeleton-only" in result.warnings[0]
    assert result.experience == ("training_boxes", 0)
    assert make(job, dry_run=True).warnings == ()


# --- tasks that annotators actually get -------------------------------------------------------


def session_of(sb, role):
    session = Session(resolve_server(sb.url, sb.tokens[role]))
    session.negotiate()
    return session


def request_task(sb, role):
    """What an annotator's "Get new task" button sends: ``POST /api/v16/user/tasks/request``."""
    return httpx.post(f"{sb.url}/api/v16/user/tasks/request", headers={"X-Auth-Token": sb.tokens[role]}, timeout=30)


def test_default_experience_tasks_are_handed_to_a_qualified_annotator(sandbox, job):
    result = make(job)
    assert result.experience == ("training_boxes", 0) and result.assignable == ("Ann Otator", "Sandy Box")
    assert request_task(sandbox, "novice").json()["messages"][0]["error"] == "There is currently no task available."
    answer = request_task(sandbox, "annotator")
    assert answer.status_code == 200, answer.text
    assert answer.json()["task"]["id"] in result.task_ids


def test_an_experience_nobody_has_is_refused_before_anything_is_created(sandbox, job):
    with pytest.raises(InvalidInput, match=r"no member of team 'annotators' has experience training_boxes ≥ 5.*training_boxes"):
        make(job, experience=("training_boxes", 5))
    with pytest.raises(InvalidInput, match=r"pass --experience DOMAIN=VALUE.*'tracing' or 'sandbox_project'"):
        with wk.webknossos_context(url=sandbox.url, token=sandbox.token):
            wk.TaskType.create("tracing", "trace", "sandbox_lab", tracing_type="volume")
        sandbox.state.clear_log()
        make(job, task_type="tracing")
    assert posts(sandbox) == [] and sandbox.state.tasks == {}
    forced = make(job, experience=("training_boxes", 5), allow_unassignable=True)
    assert forced.status == "created" and forced.assignable == ()
    assert any("can be handed these tasks" in w for w in forced.warnings)
    assert request_task(sandbox, "annotator").status_code == 400


def test_only_team_managers_and_admins_may_create_tasks_one_clear_line(sandbox, job):
    _, facts, plan = job
    with pytest.raises(AuthError, match=r"needs the role team manager of team 'annotators' or organization admin; Ann Otator"):
        prepare_tasks(session_of(sandbox, "annotator"), facts, TaskOptions(PROJECT, TASK_TYPE))
    assert all(e.status < 400 for e in sandbox.state.request_log), "the check itself must not run into a 403"
    manager = session_of(sandbox, "manager")
    result = create_tasks(manager, plan, prepare_tasks(manager, facts, TaskOptions(PROJECT, TASK_TYPE)), run_key="0" * 16)
    assert result.status == "created" and len(sandbox.state.tasks) == 6


def test_a_dataset_of_another_organization_is_refused_with_the_servers_reason(sandbox):
    session = Session(resolve_server(sandbox.url, sandbox.token))
    session.negotiate()
    other = session.dataset(DatasetRef(id="66e1c3a2b7f0d94e1a2b2001"))  # shared_name of partner_lab, public
    sandbox.state.clear_log()
    with pytest.raises(InvalidInput, match="partner_lab.*Cannot create tasks for datasets of other organizations"):
        prepare_tasks(session, other, TaskOptions(PROJECT, TASK_TYPE))
    assert posts(sandbox) == []


def test_a_mag_the_task_type_restricts_away_is_refused(sandbox, job):
    session, facts, _ = job
    layer = facts.layer()
    coarse = make_plan(PlanOptions(count=6, mag=(2, 2, 1)).request(facts.voxel_size_nm, layer.mags, layer.bbox))
    api = httpx.Client(base_url=f"{sandbox.url}/api/v16", headers={"X-Auth-Token": sandbox.token})
    body = {"summary": "mag1_only", "teamId": sandbox.state.team_id("sandbox_lab"), "tracingType": "volume",
            "settings": {"magRestrictions": {"min": 1, "max": 1}}}  # fmt: skip
    assert api.post("/taskTypes", json=body).status_code == 200
    target = prepare_tasks(session, facts, TaskOptions(PROJECT, "mag1_only", experience=("training_boxes", 0)))
    with pytest.raises(InvalidInput, match=r"largest factor is in \[1, 1\].*mag 2-2-1"):
        create_tasks(session, coarse, target, run_key="0" * 16)
    assert sandbox.state.requests("POST", "/api/v16/tasks") == [] and sandbox.state.tasks == {}
    assert create_tasks(session, job[2], target, run_key="0" * 16).status == "created"  # mag 1 is allowed


def test_every_server_warning_is_surfaced(sandbox, job):
    sandbox.state.add_user("guest", "Gus", "Guest", teams=[("annotators", False)], experiences={"training_boxes": 1})
    sandbox.state.users[sandbox.users["guest"].id]["teams"] = [
        t for t in sandbox.state.users[sandbox.users["guest"].id]["teams"] if t["name"] == "annotators"
    ]  # in annotators only: the project's team now has a member who cannot read l4_sample
    result = make(job)
    assert "Project team “annotators” has no read permission to dataset “l4_sample”." in result.warnings
    assert "Gus Guest" in result.assignable


def plan_of(job, count):
    _, facts, _ = job
    layer = facts.layer()
    return make_plan(PlanOptions(count=count).request(facts.voxel_size_nm, layer.mags, layer.bbox))


def test_250_volume_tasks_go_out_in_3_batches_and_a_failed_batch_2_is_completed_by_a_rerun(sandbox, job):
    session, facts, _ = job
    plan = plan_of(job, 250)
    target = prepare_tasks(session, facts, TaskOptions(PROJECT, TASK_TYPE))
    sandbox.faults.add(r"^/api/v16/tasks$", method="POST", status=503, skip=1, times=1)
    with pytest.raises(WriteError, match=r"batch 2 of 3.*holds 100 of the job's 250 tasks"):
        create_tasks(session, plan, target, run_key="0" * 16)
    assert len(sandbox.state.tasks) == 100
    again = create_tasks(session, plan, target, run_key="0" * 16)
    assert again.status == "created" and again.batches == 2 and len(set(again.task_ids)) == 250
    assert len(sandbox.state.tasks) == 250
    assert [e.status for e in sandbox.state.requests("POST", "/api/v16/tasks")] == [200, 503, 200, 200]


def test_250_volume_tasks_in_3_requests_within_the_servers_limit(sandbox, job):
    session, facts, _ = job
    target = prepare_tasks(session, facts, TaskOptions(PROJECT, TASK_TYPE))
    result = create_tasks(session, plan_of(job, 250), target, run_key="0" * 16)
    assert result.status == "created" and result.batches == 3 and len(sandbox.state.tasks) == 250
    assert [e.status for e in sandbox.state.requests("POST", "/api/v16/tasks")] == [200, 200, 200]


def test_duplicates_from_a_concurrent_run_are_deleted_oldest_kept(sandbox, job):
    from wkgt.writer.tasks import reconcile_tasks

    session, facts, plan = job
    target = prepare_tasks(session, facts, TaskOptions(PROJECT, TASK_TYPE))
    first = create_tasks(session, plan, target, run_key="0" * 16)
    with wk.webknossos_context(url=sandbox.url, token=sandbox.token):  # "another machine" makes them again
        for box in plan.boxes[:3]:
            wk.Task.create(TASK_TYPE_ID, PROJECT, "training_boxes", 0, box.center, L4_ID,
                           bounding_box=wk.BoundingBox(box.topleft, box.size))  # fmt: skip
    assert len(sandbox.state.tasks) == 9
    kept, deleted, warnings = reconcile_tasks(session, target, plan)
    assert len(deleted) == 3 and warnings == ()
    assert set(sandbox.state.tasks) == set(first.task_ids) == set(kept.values())


def test_a_duplicate_someone_already_works_on_is_kept_with_a_warning(sandbox, job):
    from wkgt.writer.tasks import reconcile_tasks

    session, facts, plan = job
    target = prepare_tasks(session, facts, TaskOptions(PROJECT, TASK_TYPE))
    first = create_tasks(session, plan, target, run_key="0" * 16)
    with wk.webknossos_context(url=sandbox.url, token=sandbox.token):  # "another machine" makes two boxes again,
        duplicates = [  # with an experience only a newcomer has, so the newcomer is handed a duplicate
            wk.Task.create(TASK_TYPE_ID, PROJECT, "second_round", 0, box.center, L4_ID,
                           bounding_box=wk.BoundingBox(box.topleft, box.size))[0].task_id  # fmt: skip
            for box in plan.boxes[:2]
        ]
    sandbox.state.add_user("newcomer", "New", "Comer", teams=[("annotators", False)], experiences={"second_round": 1})
    taken = request_task(sandbox, "newcomer")
    assert taken.status_code == 200 and taken.json()["task"]["id"] == duplicates[0]
    kept, deleted, warnings = reconcile_tasks(session, target, plan)
    assert deleted == (duplicates[1],) and set(kept.values()) == set(first.task_ids)
    assert len(warnings) == 1 and duplicates[0] in warnings[0] and "being worked on; not deleted" in warnings[0]
    assert set(sandbox.state.tasks) == {*first.task_ids, duplicates[0]}
