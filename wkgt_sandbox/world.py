"""The sandbox's own default organization, user, teams, task type and project."""

from __future__ import annotations

from typing import Any

from .catalog import CatalogDataset
from .state import World

ORGANIZATION = "sandbox_lab"
USER_ID = "66e1c3a2b7f0d94e1a2be001"
TEAM: dict[str, Any] = {
    "id": "66e1c3a2b7f0d94e1a2b0001",
    "name": "sandbox_lab",
    "organization": ORGANIZATION,
    "isOrganizationTeam": True,
}
PARTNER_TEAM: dict[str, Any] = {
    "id": "66e1c3a2b7f0d94e1a2b0002",
    "name": "partner_lab",
    "organization": "partner_lab",
    "isOrganizationTeam": True,
}
ANNOTATORS: dict[str, Any] = {
    "id": "66e1c3a2b7f0d94e1a2b0003",
    "name": "annotators",
    "organization": ORGANIZATION,
    "isOrganizationTeam": False,
}


def _user(uid: str, first: str, last: str, admin: bool) -> dict[str, Any]:
    return {
        "id": uid,
        "email": f"{first.lower()}.{last.lower()}@sandbox.invalid",
        "firstName": first,
        "lastName": last,
        "isAdmin": admin,
        "isOrganizationOwner": admin,
        "isDatasetManager": admin,
        "isActive": True,
        "teams": [
            {"id": TEAM["id"], "name": TEAM["name"], "isTeamManager": admin},
            {"id": ANNOTATORS["id"], "name": ANNOTATORS["name"], "isTeamManager": False},
        ],
        "experiences": {"training_boxes": 3},
        "lastActivity": 1718700000000,
        "isAnonymous": False,
        "isEditable": True,
        "organization": ORGANIZATION,
        "novelUserExperienceInfos": {},
        "selectedTheme": "auto",
        "created": 1718000000000,
        "lastTaskTypeId": None,
        "isSuperUser": False,
        "isEmailVerified": True,
        "isUnlisted": False,
        "isGuest": False,
    }


def user_compact(user: dict[str, Any]) -> dict[str, Any]:
    """The owner/user object embedded in projects and annotations."""
    keys = ("id", "email", "firstName", "lastName", "isAdmin", "isDatasetManager", "isAnonymous", "teams")
    return {k: user.get(k) for k in keys}


def default_world(datasets: list[CatalogDataset]) -> World:
    """A small organization around the given datasets."""
    users = {
        u["id"]: u
        for u in (_user(USER_ID, "Sandy", "Box", True), _user("66e1c3a2b7f0d94e1a2be002", "Ann", "Otator", False))
    }
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
            "magRestrictions": {},
        },
        "recommendedConfiguration": None,
        "tracingType": "volume",
    }
    project: dict[str, Any] = {
        "name": "sandbox_project",
        "team": TEAM["id"],
        "teamName": TEAM["name"],
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
    )
