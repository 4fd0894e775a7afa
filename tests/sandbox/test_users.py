"""Users and tokens: each role's token is its user, and that user decides what it sees and may do."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import pytest
import webknossos as wk

from wkgt_sandbox import DEFAULT_TOKEN, Sandbox
from wkgt_sandbox.auth import NOT_AUTHENTICATED

ROLES = ("admin", "manager", "annotator", "novice", "outsider")
L4 = "66e1c3a2b7f0d94e1a2b1001"  # public
ANISO = "66e1c3a2b7f0d94e1a2b1002"  # sandbox_lab only, allowed team sandbox_lab


def client(sb: Sandbox, role: str | None = None, token: str | None = None) -> httpx.Client:
    headers = {} if role is None and token is None else {"X-Auth-Token": token or sb.tokens[str(role)]}
    return httpx.Client(base_url=f"{sb.url}/api/v16", headers=headers)


def test_every_role_has_its_own_token_and_the_default_token_is_the_admin(lab: Sandbox) -> None:
    assert sorted(lab.tokens) == sorted(ROLES) and len(set(lab.tokens.values())) == len(ROLES)
    assert lab.tokens["admin"] == lab.token == DEFAULT_TOKEN
    seen = {}
    for role in ROLES:
        user = client(lab, role).get("/user").json()
        seen[role] = (user["id"], user["organization"], user["isAdmin"])
        assert user["id"] == lab.users[role].id
    assert seen["admin"][1:] == ("sandbox_lab", True)
    assert seen["manager"][1:] == seen["annotator"][1:] == seen["novice"][1:] == ("sandbox_lab", False)
    assert seen["outsider"][1:] == ("partner_lab", True)
    with wk.webknossos_context(url=lab.url, token=lab.tokens["annotator"]):
        assert wk.User.get_current_user().user_id == lab.users["annotator"].id


@pytest.mark.parametrize("path", ["/user", "/users", "/annotations/readable", "/projects", "/taskTypes"])
def test_secured_routes_answer_401_without_a_valid_token(lab: Sandbox, path: str) -> None:
    for answer in (client(lab).get(path), client(lab, token="not-a-token").get(path)):
        assert answer.status_code == 401 and answer.text == NOT_AUTHENTICATED
    assert client(lab, "novice").get(path).status_code == 200
    tasks = client(lab, token="wrong").post("/tasks/list", json={})
    assert tasks.status_code == 401 and tasks.text == NOT_AUTHENTICATED


def test_user_aware_routes_treat_a_wrong_token_as_anonymous(lab: Sandbox) -> None:
    wrong = client(lab, token="not-a-token")
    assert wrong.get(f"/datasets/{L4}").status_code == 200  # public
    hidden = wrong.get(f"/datasets/{ANISO}")
    assert hidden.status_code == 404 and hidden.json()["messages"][0]["error"].endswith("You may need to log in.")
    assert client(lab, "novice").get(f"/datasets/{ANISO}").status_code == 200
    listed = {d["id"] for d in wrong.get("/datasets").json()}
    assert L4 in listed and ANISO not in listed


def test_datasets_of_another_organization_stay_hidden(lab: Sandbox) -> None:
    outsider = client(lab, "outsider")
    assert outsider.get(f"/datasets/{ANISO}").status_code == 404  # an admin, but of partner_lab
    assert outsider.get(f"/datasets/{L4}").status_code == 200
    with wk.webknossos_context(url=lab.url, token=lab.tokens["outsider"]):
        with pytest.raises(Exception):
            wk.RemoteDataset.open(dataset_id=ANISO)
    # a member of no allowed team of a dataset cannot read it either
    loner = lab.state.add_user("loner", "Lone", "Ranger")
    assert client(lab, token=loner.token).get(f"/datasets/{ANISO}").status_code == 404


def test_user_list_shows_what_the_caller_may_read(lab: Sandbox) -> None:
    def names(role: str) -> set[str]:
        return {u["firstName"] for u in client(lab, role).get("/users").json()}

    assert names("admin") == {"Sandy", "Mona", "Ann", "Nick"}
    assert names("manager") == {"Sandy", "Mona", "Ann", "Nick"}  # all are members of the team it manages
    assert names("annotator") == {"Ann"}
    assert names("outsider") == {"Otto"}
    admin_id = lab.users["admin"].id
    assert client(lab, "annotator").get(f"/users/{admin_id}").status_code == 404
    assert client(lab, "outsider").get(f"/users/{admin_id}/loggedTime").status_code == 404
    assert client(lab, "manager").get(f"/users/{admin_id}").json()["id"] == admin_id
    with wk.webknossos_context(url=lab.url, token=lab.tokens["annotator"]):
        assert [u.user_id for u in wk.User.get_all_managed_users()] == [lab.users["annotator"].id]


def test_teams_and_team_administration(lab: Sandbox) -> None:
    assert {t["name"] for t in client(lab, "annotator").get("/teams").json()} == {"sandbox_lab", "annotators"}
    assert {t["name"] for t in client(lab, "outsider").get("/teams").json()} == {"partner_lab"}
    denied = client(lab, "manager").post("/teams", json={"name": "reviewers"})
    assert denied.status_code == 403
    assert denied.json() == {
        "messages": [{"error": "You do not have permission to create teams. Please ask an organization admin."}]
    }
    assert client(lab, "admin").post("/teams", json={"name": "reviewers"}).status_code == 200
    with wk.webknossos_context(url=lab.url, token=lab.tokens["outsider"]):
        assert [t.name for t in wk.Team.get_list()] == ["partner_lab"]


def test_users_added_by_a_test_get_working_tokens(lab: Sandbox) -> None:
    added = lab.state.add_user(
        "reviewer", "Rita", "Viewer", teams=[("annotators", False)], experiences={"training_boxes": 9}
    )
    assert lab.tokens["reviewer"] == added.token == "wkgt-sandbox-token-reviewer"
    me = client(lab, "reviewer").get("/user").json()
    assert (me["firstName"], me["experiences"], [t["name"] for t in me["teams"]]) == (
        "Rita",
        {"training_boxes": 9},
        ["annotators"],
    )
    lab.reset()
    assert "reviewer" not in lab.tokens and client(lab, token=added.token).get("/user").status_code == 401


def test_wkgt_sandbox_prints_every_role_and_token() -> None:
    code = "from wkgt_sandbox import serve; serve(port=0)"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().rstrip("\n") for _ in range(3 + len(ROLES))]
        url = lines[0].removeprefix("WK_URL=")
        table = {line.split()[1]: line.split()[2] for line in lines[3:]}
        for _ in range(400):  # the printed tokens work once the server answers
            try:
                answer = httpx.get(f"{url}/api/v16/user", headers={"X-Auth-Token": table["manager"]})
                break
            except httpx.ConnectError:
                continue
        assert answer.json()["firstName"] == "Mona"
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    assert lines[1] == f"WK_TOKEN={DEFAULT_TOKEN}" and lines[2].startswith("# users")
    assert table == {
        "admin": DEFAULT_TOKEN,
        **{role: f"{DEFAULT_TOKEN}-{role}" for role in ROLES if role != "admin"},
    }
