"""The sandbox's own organizations, users (one token each), teams, task type and project.

Organization `sandbox_lab` with the teams `sandbox_lab` (its base team; every member is in it)
and `annotators` (the project's team), and organization `partner_lab`:

| role        | user          | token                            | rights                                              |
|-------------|---------------|----------------------------------|-----------------------------------------------------|
| `admin`     | Sandy Box     | `wkgt-sandbox-token` (default)   | organization admin (and owner) of sandbox_lab       |
| `manager`   | Mona Nager    | `wkgt-sandbox-token-manager`     | team manager of `annotators`                        |
| `annotator` | Ann Otator    | `wkgt-sandbox-token-annotator`   | member of `annotators`, experience training_boxes=3 |
| `novice`    | Nick Novice   | `wkgt-sandbox-token-novice`      | member of `annotators`, no experience               |
| `outsider`  | Otto Side     | `wkgt-sandbox-token-outsider`    | organization admin of partner_lab                   |
"""

from __future__ import annotations

from typing import Any

from .catalog import CatalogDataset
from .state import SandboxUser, World, user_json

ORGANIZATION = "sandbox_lab"
PARTNER_ORGANIZATION = "partner_lab"
USER_ID = "66e1c3a2b7f0d94e1a2be001"
DEFAULT_TOKEN = "wkgt-sandbox-token"
TEAM: dict[str, Any] = {
    "id": "66e1c3a2b7f0d94e1a2b0001",
    "name": "sandbox_lab",
    "organization": ORGANIZATION,
    "isOrganizationTeam": True,
}
PARTNER_TEAM: dict[str, Any] = {
    "id": "66e1c3a2b7f0d94e1a2b0002",
    "name": "partner_lab",
    "organization": PARTNER_ORGANIZATION,
    "isOrganizationTeam": True,
}
ANNOTATORS: dict[str, Any] = {
    "id": "66e1c3a2b7f0d94e1a2b0003",
    "name": "annotators",
    "organization": ORGANIZATION,
    "isOrganizationTeam": False,
}


def _membership(team: dict[str, Any], manager: bool) -> dict[str, Any]:
    return {"id": team["id"], "name": team["name"], "isTeamManager": manager}


def _lab_teams(manages_annotators: bool) -> list[dict[str, Any]]:
    return [_membership(TEAM, False), _membership(ANNOTATORS, manages_annotators)]


# role, id, first name, last name, organization, teams, experiences, admin, description
_PEOPLE: list[tuple[str, str, str, str, str, list[dict[str, Any]], dict[str, int], bool, str]] = [
    (
        "admin",
        USER_ID,
        "Sandy",
        "Box",
        ORGANIZATION,
        [_membership(TEAM, True), _membership(ANNOTATORS, False)],
        {"training_boxes": 3},
        True,
        "organization admin of sandbox_lab",
    ),
    (
        "manager",
        "66e1c3a2b7f0d94e1a2be003",
        "Mona",
        "Nager",
        ORGANIZATION,
        _lab_teams(True),
        {},
        False,
        "team manager of annotators (the project's team)",
    ),
    (
        "annotator",
        "66e1c3a2b7f0d94e1a2be002",
        "Ann",
        "Otator",
        ORGANIZATION,
        _lab_teams(False),
        {"training_boxes": 3},
        False,
        "annotator in annotators, experience training_boxes=3",
    ),
    (
        "novice",
        "66e1c3a2b7f0d94e1a2be004",
        "Nick",
        "Novice",
        ORGANIZATION,
        _lab_teams(False),
        {},
        False,
        "annotator in annotators, no experience",
    ),
    (
        "outsider",
        "66e1c3a2b7f0d94e1a2be005",
        "Otto",
        "Side",
        PARTNER_ORGANIZATION,
        [_membership(PARTNER_TEAM, True)],
        {},
        True,
        "organization admin of partner_lab (another organization)",
    ),
]


def token_for(role: str) -> str:
    """The built-in token of a role: the default token for the admin, `wkgt-sandbox-token-<role>` otherwise."""
    return DEFAULT_TOKEN if role == "admin" else f"{DEFAULT_TOKEN}-{role}"


def user_compact(user: dict[str, Any]) -> dict[str, Any]:
    """The owner/user object embedded in projects and annotations (UserService.compactWrites)."""
    keys = ("id", "email", "firstName", "lastName", "isAdmin", "isDatasetManager", "isAnonymous", "teams")
    return {k: user.get(k) for k in keys}


def default_world(datasets: list[CatalogDataset]) -> World:
    """Two small organizations around the given datasets, with one user per role."""
    users: dict[str, dict[str, Any]] = {}
    accounts: dict[str, SandboxUser] = {}
    for role, uid, first, last, org, teams, experiences, admin, description in _PEOPLE:
        users[uid] = user_json(uid, first, last, org, teams, experiences, admin, admin, is_owner=admin)
        accounts[role] = SandboxUser(role, uid, token_for(role), f"{first} {last}", org, description)
    task_type: dict[str, Any] = {
        "id": "66e1c3a2b7f0d94e1a2bc001",
        "summary": "training_boxes",
        "description": "Annotate ground-truth boxes for AI training",
        "teamId": TEAM["id"],
        "teamName": TEAM["name"],
        "settings": {
            "allowedModes": [],
            "branchPointsAllowed": True,
            "somaClickingAllowed": True,
            "volumeInterpolationAllowed": True,
            "mergerMode": False,
            "magRestrictions": {"min": 1, "max": 16},
        },
        "recommendedConfiguration": None,
        "tracingType": "volume",
    }
    project: dict[str, Any] = {
        "name": "sandbox_project",
        "team": ANNOTATORS["id"],
        "teamName": ANNOTATORS["name"],
        "owner": user_compact(users[USER_ID]),
        "priority": 100,
        "paused": False,
        "expectedTime": 90,
        "isBlacklistedFromReport": False,
        "id": "66e1c3a2b7f0d94e1a2bd001",
        "created": 1718800000000,
    }
    return World(
        datasets={d.id: d for d in datasets},
        users=users,
        current_user_id=USER_ID,
        teams={t["id"]: dict(t) for t in (TEAM, ANNOTATORS, PARTNER_TEAM)},
        task_types={task_type["id"]: task_type},
        projects={project["id"]: project},
        tasks={},
        accounts=accounts,
    )
