"""Tasks and projects as the real server rules them: listing, creation, assignment, deletion."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import webknossos as wk

from wkgt_sandbox import Sandbox
from wkgt_sandbox.auth import NOT_ALLOWED

L4 = "66e1c3a2b7f0d94e1a2b1001"  # public, sandbox_lab
ANISO = "66e1c3a2b7f0d94e1a2b1002"
PROJECT = "66e1c3a2b7f0d94e1a2bd001"  # sandbox_project, team annotators
VOLUME_TYPE = "66e1c3a2b7f0d94e1a2bc001"  # training_boxes


def api(sb: Sandbox, role: str) -> httpx.Client:
    return httpx.Client(base_url=f"{sb.url}/api/v16", headers={"X-Auth-Token": sb.tokens[role]}, timeout=30)


def params(**changes: Any) -> dict[str, Any]:
    return {
        "taskTypeId": VOLUME_TYPE,
        "neededExperience": {"domain": "training_boxes", "value": 2},
        "pendingInstances": 1,
        "projectName": "sandbox_project",
        "scriptId": None,
        "boundingBox": {"topLeft": [3100, 3200, 600], "width": 64, "height": 64, "depth": 32},
        "datasetId": L4,
        "editPosition": [3132, 3232, 616],
        "editRotation": [0, 0, 0],
        **changes,
    }


def create(sb: Sandbox, role: str, *tasks: dict[str, Any]) -> httpx.Response:
    return api(sb, role).post("/tasks", json=list(tasks) or [params()])


def created_ids(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [t["success"]["id"] for t in answer.json()["tasks"]]


def skeleton_type(sb: Sandbox, role: str = "admin", team: str = "sandbox_lab") -> str:
    team_id = sb.state.team_id(team)
    body = {"summary": f"skeletons_{team}", "description": "", "teamId": team_id, "tracingType": "skeleton"}
    answer = api(sb, role).post("/taskTypes", json=body)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


def test_project_tasks_for_team_managers_and_admins_only(lab: Sandbox) -> None:
    first, second = created_ids(create(lab, "manager", params(), params(editPosition=[3200, 3300, 620])))
    denied = api(lab, "annotator").get(f"/projects/{PROJECT}/tasks")
    assert denied.status_code == 403 and denied.json() == {"messages": [{"error": NOT_ALLOWED}]}
    assert api(lab, "outsider").get(f"/projects/{PROJECT}/tasks").status_code == 404
    for role in ("manager", "admin"):
        answer = api(lab, role).get(f"/projects/{PROJECT}/tasks", params={"includeTotalCount": "true", "limit": 1})
        assert [t["id"] for t in answer.json()] == [second] and answer.headers["x-total-count"] == "2"
    assert [t["id"] for t in api(lab, "manager").get(f"/projects/{PROJECT}/tasks").json()] == [second, first]
    with wk.webknossos_context(url=lab.url, token=lab.tokens["manager"]):
        assert {t.task_id for t in wk.Project.get_by_name("sandbox_project").get_tasks()} == {first, second}
    with wk.webknossos_context(url=lab.url, token=lab.tokens["annotator"]):
        project = wk.Project.get_by_name("sandbox_project")  # members may read the project ...
        with pytest.raises(Exception):
            project.get_tasks()  # ... but not list its tasks


def test_task_list_filters_and_limits(lab: Sandbox) -> None:
    first, second = created_ids(create(lab, "manager", params(), params(editPosition=[3200, 3300, 620])))
    skeletons = skeleton_type(lab)
    third, *_ = created_ids(create(lab, "admin", params(taskTypeId=skeletons)))

    def listed(role: str, **body: Any) -> list[str]:
        answer = api(lab, role).post("/tasks/list", json=body)
        assert answer.status_code == 200, answer.text
        return [t["id"] for t in answer.json()]

    assert listed("annotator") == [] and listed("outsider") == []
    assert listed("manager") == [first, second, third]
    assert listed("manager", taskType=skeletons) == [third]
    assert listed("manager", ids=[second, "0123456789abcdef01234567"]) == [second]
    assert listed("manager", project=PROJECT, dataset="ignored") == [first, second, third]
    assert listed("manager", project="0123456789abcdef01234567") == []
    bad = api(lab, "manager").post("/tasks/list", json={"project": "sandbox_project"})
    assert bad.status_code == 400 and "not a valid ObjectId" in bad.json()["messages"][0]["error"]
    assert listed("manager", user=lab.users["annotator"].id) == []
    assert api(lab, "annotator").post("/user/tasks/request").status_code == 200
    assert listed("manager", user=lab.users["annotator"].id) == [first]
    with wk.webknossos_context(url=lab.url, token=lab.tokens["annotator"]):
        assert wk.Task.get_list() == []
    with wk.webknossos_context(url=lab.url, token=lab.tokens["manager"]):
        assert [t.task_id for t in wk.Task.get_list()] == [first, second, third]


def test_task_list_answers_at_most_1000(lab: Sandbox) -> None:
    skeletons = skeleton_type(lab)
    boxes = [params(taskTypeId=skeletons, editPosition=[3100 + i, 3200, 600]) for i in range(1000)]
    assert len(created_ids(create(lab, "manager", *boxes))) == 1000
    created_ids(create(lab, "manager", params(taskTypeId=skeletons)))
    assert len(lab.state.tasks) == 1001
    assert len(api(lab, "manager").post("/tasks/list", json={}).json()) == 1000


def test_task_creation_request_rules(lab: Sandbox) -> None:
    def failure(answer: httpx.Response) -> tuple[int, str]:
        return answer.status_code, answer.json()["messages"][0]["error"]

    skeletons = skeleton_type(lab)
    assert failure(api(lab, "manager").post("/tasks", json=[])) == (400, "Zero tasks were requested.")
    assert failure(create(lab, "manager", params(), params(taskTypeId=skeletons))) == (
        400,
        "Cannot create tasks with differing task types in one go.",
    )
    assert failure(create(lab, "manager", params(), params(datasetId=ANISO))) == (
        400,
        "Cannot create tasks on multiple datasets in one go.",
    )
    assert failure(create(lab, "manager", *[params()] * 101)) == (400, "Cannot create more than 100 tasks in one request.")
    assert failure(create(lab, "manager", *[params(taskTypeId=skeletons)] * 1001)) == (
        400,
        "Cannot create more than 1000 tasks in one request.",
    )
    missing = api(lab, "manager").post("/tasks", json=[{k: v for k, v in params().items() if k != "datasetId"}])
    assert missing.status_code == 400 and missing.json() == {"obj[0].datasetId": [{"msg": ["error.path.missing"], "args": []}]}
    # the dataset must be the caller's organization's: the outsider (partner_lab's admin) on public l4_sample
    partner_type = skeleton_type(lab, "outsider", "partner_lab")
    api(lab, "outsider").post("/projects", json={"name": "partner_project", "team": lab.state.team_id("partner_lab"), "priority": 1, "paused": False, "owner": lab.users["outsider"].id, "isBlacklistedFromReport": False})
    other_orga = create(lab, "outsider", params(taskTypeId=partner_type, projectName="partner_project"))
    assert failure(other_orga) == (400, "Cannot create tasks for datasets of other organizations.")
    with wk.webknossos_context(url=lab.url, token=lab.tokens["outsider"]):  # the unmodified SDK: the same refusal
        with pytest.raises(Exception, match=r"status 400 .*Cannot create tasks for datasets of other organizations"):
            wk.Task.create(partner_type, "partner_project", "training_boxes", 1, (3100, 3200, 600), L4)
    unknown_project = create(lab, "manager", params(), params(projectName="no_such_project"))
    assert failure(unknown_project) == (400, "Project with name “no_such_project” could not be found or accessed.")
    assert lab.state.tasks and all(t["projectName"] == "sandbox_project" for t in lab.state.tasks.values())


def test_each_task_needs_a_manager_of_its_project_team(lab: Sandbox) -> None:
    denied = create(lab, "novice")
    assert denied.status_code == 200
    assert denied.json() == {
        "tasks": [{"status": 400, "error": "You do not have permission to administrate this team."}],
        "warnings": [],
    }
    assert lab.state.tasks == {}
    lab.state.projects["0" * 23 + "1"] = {**lab.state.projects[PROJECT], "id": "0" * 23 + "1", "name": "org_project", "team": lab.state.team_id("sandbox_lab"), "teamName": "sandbox_lab"}
    mixed = create(lab, "manager", params(), params(projectName="org_project"))
    entries = mixed.json()["tasks"]
    assert [e["status"] for e in entries] == [200, 400] and "success" in entries[0] and "error" in entries[1]
    with wk.webknossos_context(url=lab.url, token=lab.tokens["novice"]):
        assert wk.Task.create(VOLUME_TYPE, "sandbox_project", "training_boxes", 1, (3100, 3200, 600), L4) == []
    with wk.webknossos_context(url=lab.url, token=lab.tokens["manager"]):
        (task,) = wk.Task.create(VOLUME_TYPE, "sandbox_project", "training_boxes", 1, (3100, 3200, 600), L4)
    assert task.task_id in lab.state.tasks


def test_warnings_name_project_teams_that_cannot_read_the_dataset(lab: Sandbox) -> None:
    admin = api(lab, "admin")
    reviewers = admin.post("/teams", json={"name": "reviewers"}).json()["id"]
    admin.post("/projects", json={"name": "review", "team": reviewers, "priority": 1, "paused": False, "owner": lab.users["admin"].id, "isBlacklistedFromReport": False})
    assert create(lab, "admin", params(projectName="review")).json()["warnings"] == []  # nobody outside the dataset's teams
    lab.state.add_user("reviewer", "Rita", "Viewer", teams=[("reviewers", False)])
    answer = create(lab, "admin", params(projectName="review"))
    assert answer.json()["warnings"] == ["Project team “reviewers” has no read permission to dataset “l4_sample”."]
    assert answer.json()["tasks"][0]["status"] == 200


def test_assignment_follows_experience_team_and_open_instances(lab: Sandbox) -> None:
    (task_id,) = created_ids(create(lab, "manager", params(pendingInstances=2)))
    novice = api(lab, "novice").post("/user/tasks/request")  # no experience in the domain at all
    assert novice.status_code == 400 and novice.json() == {"messages": [{"error": "There is currently no task available."}]}
    got = api(lab, "annotator").post("/user/tasks/request")
    assert got.status_code == 200 and got.json()["messages"] == [{"success": "You have been assigned a new task."}]
    assert (got.json()["typ"], got.json()["task"]["id"], got.json()["owner"]["id"]) == ("Task", task_id, lab.users["annotator"].id)
    assert lab.state.tasks[task_id]["status"]["pending"] == 1
    status = api(lab, "manager").get(f"/tasks/{task_id}").json()["status"]
    assert status == {"pending": 1, "active": 1, "finished": 0}
    assert api(lab, "annotator").post("/user/tasks/request").status_code == 400  # not the same task twice
    lab.state.add_user("expert", "Ex", "Pert", teams=[("sandbox_lab", False), ("annotators", False)], experiences={"training_boxes": 2})
    assert api(lab, "expert").post("/user/tasks/request").status_code == 200  # value 2 suffices for 2
    assert api(lab, "admin").post("/user/tasks/request").status_code == 400  # no pending instance left
    assert lab.state.tasks[task_id]["status"]["pending"] == 0
    assert api(lab, "annotator").get("/user/tasks/request").status_code != 200  # the route is POST


def test_assignment_needs_enough_experience_the_team_and_an_active_project(lab: Sandbox) -> None:
    (hard,) = created_ids(create(lab, "manager", params(neededExperience={"domain": "training_boxes", "value": 5})))
    assert api(lab, "annotator").post("/user/tasks/request").status_code == 400  # has 3 of 5
    lab.state.add_user("stranger", "Stan", "Ger", teams=[("sandbox_lab", False)], experiences={"training_boxes": 9})
    assert api(lab, "stranger").post("/user/tasks/request").status_code == 400  # not in the project's team
    lab.state.projects[PROJECT]["paused"] = True
    lab.state.add_user("veteran", "Vera", "Teran", teams=[("annotators", False)], experiences={"training_boxes": 9})
    assert api(lab, "veteran").post("/user/tasks/request").status_code == 400
    lab.state.projects[PROJECT]["paused"] = False
    assert api(lab, "veteran").post("/user/tasks/request").json()["task"]["id"] == hard


def test_too_many_open_tasks(lab: Sandbox) -> None:
    created_ids(create(lab, "manager", *[params(editPosition=[3100 + i, 3200, 600]) for i in range(3)]))
    annotator = api(lab, "annotator")
    assert [annotator.post("/user/tasks/request").status_code for _ in range(2)] == [200, 200]
    third = annotator.post("/user/tasks/request")
    assert third.status_code == 400 and third.json() == {"messages": [{"error": "You already have too many open tasks."}]}


def test_deleting_tasks_is_for_managers(lab: Sandbox) -> None:
    (task_id,) = created_ids(create(lab, "manager"))
    assert api(lab, "annotator").post("/user/tasks/request").status_code == 200
    member = api(lab, "novice").delete(f"/tasks/{task_id}")
    assert member.status_code == 400 and member.json() == {"messages": [{"error": NOT_ALLOWED}]}
    assert api(lab, "outsider").delete(f"/tasks/{task_id}").status_code == 404
    assert api(lab, "manager").delete(f"/tasks/{task_id}").status_code == 200
    assert api(lab, "manager").get(f"/tasks/{task_id}").status_code == 404
    assert not any(a.task_id == task_id for a in lab.state.annotations.values())
    (again,) = created_ids(create(lab, "manager"))
    with wk.webknossos_context(url=lab.url, token=lab.tokens["manager"]):
        wk.Task.get_by_id(again).delete()
    assert again not in lab.state.tasks


def test_task_types_carry_mag_restrictions(lab: Sandbox) -> None:
    listed = api(lab, "manager").get("/taskTypes").json()
    assert [t["settings"]["magRestrictions"] for t in listed] == [{"min": 1, "max": 16}]
    plain = api(lab, "admin").get(f"/taskTypes/{skeleton_type(lab)}").json()
    assert plain["settings"]["magRestrictions"] == {}
    assert api(lab, "outsider").get(f"/taskTypes/{VOLUME_TYPE}").status_code == 404
    assert api(lab, "manager").post("/taskTypes", json={"summary": "x", "teamId": lab.state.team_id("sandbox_lab")}).status_code == 403
    with wk.webknossos_context(url=lab.url, token=lab.tokens["manager"]):
        made = wk.TaskType.create("sdk_type", "made by the SDK", wk.Team.get_by_name("annotators"), "volume")
        assert wk.TaskType.get_by_id(made.task_type_id).name == "sdk_type"
    stored = api(lab, "manager").get(f"/taskTypes/{made.task_type_id}").json()["settings"]
    assert stored["magRestrictions"] == {"min": 1, "max": 1}  # the SDK's default settings
    assert set(stored) == {"allowedModes", "branchPointsAllowed", "somaClickingAllowed", "volumeInterpolationAllowed", "mergerMode", "magRestrictions"}
