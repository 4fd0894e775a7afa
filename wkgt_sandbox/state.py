"""Mutable server state of a sandbox: the world (datasets, users, tokens, tasks, ...) and the request log.

Tests add to a running sandbox's world through `SandboxState.add_user` and `add_annotation`
(e.g. a colleague sharing an annotation, or a user with 2,500 readable annotations).
"""

from __future__ import annotations

import copy
import itertools
import os
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import quoteattr

from .catalog import CatalogDataset

JsonDict = dict[str, Any]

_counter = itertools.count(1)
_PROCESS_RANDOM = os.urandom(5).hex()

VISIBILITIES = ("Private", "Internal", "Public")
ANNOTATION_STATES = ("Active", "Finished", "Cancelled", "Initializing")


def new_object_id(timestamp_s: float | None = None) -> str:
    """A fresh 24-hex id shaped like the server's ObjectIds (seconds timestamp, per-process random,
    counter), so ids sort by creation as the server's `ORDER BY _id DESC` relies on."""
    seconds = int(time.time() if timestamp_s is None else timestamp_s)
    return f"{seconds:08x}{_PROCESS_RANDOM}{next(_counter) & 0xFFFFFF:06x}"


@dataclass(frozen=True)
class RequestLogEntry:
    """One handled request."""

    method: str
    path: str
    query: str
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    """The request's headers as received (lower-case names), e.g. to see which token went where."""

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive), if the request had it."""
        return next((value for key, value in self.headers if key == name.lower()), None)


@dataclass(frozen=True)
class SandboxUser:
    """A user the sandbox knows a token of: its role name, id and token (`X-Auth-Token`)."""

    role: str
    id: str
    token: str
    name: str
    organization: str
    description: str


@dataclass
class StoredAnnotation:
    """An annotation uploaded to the sandbox (or created for a task, or added by a test)."""

    id: str
    name: str
    description: str
    dataset_id: str | None
    dataset_name: str
    organization: str
    owner_id: str
    user_bounding_boxes: list[JsonDict]
    """Each box: {"id", "name", "color": [r,g,b,a], "isVisible", "topLeft": [x,y,z], "size": [w,h,d]}."""
    volume_layers: list[JsonDict]
    """Each layer: {"id", "name", "fallbackLayer", "largestSegmentId", "hasData"}."""
    edit_position: tuple[int, int, int]
    nml: str
    """The NML text the sandbox serves on download (skeleton, boxes, volume layers with data locations)."""
    nml_without_volume_data: str
    """The NML served with `skipVolumeData=true` (volume layers without data locations)."""
    volume_data: dict[str, bytes]
    """Volume data zips by NML location name (e.g. "data_0_Volume.zip")."""
    created: int
    typ: str = "Explorational"
    task_id: str | None = None
    team_id: str | None = None
    """The annotation's team (`_team`): team managers of it may read and finish it."""
    visibility: str = "Internal"
    state: str = "Active"
    shared_team_ids: list[str] = field(default_factory=list)
    """Teams the owner shared the annotation with (`annotation_sharedTeams`)."""
    tags: list[str] = field(default_factory=list)
    modified: int | None = None
    tracing_time: int = 0
    is_locked_by_owner: bool = False
    others_may_edit: bool = False
    recorded_layer_stats: dict[str, JsonDict] = field(default_factory=dict)
    """Stats by layer name of an annotation loaded from recordings (the sandbox does not hold its trees)."""

    @property
    def modified_ms(self) -> int:
        return self.created if self.modified is None else self.modified


@dataclass
class World:
    """Everything the REST API serves; copied on reset."""

    datasets: dict[str, CatalogDataset]
    users: dict[str, JsonDict]
    current_user_id: str
    """The user of the sandbox's default token."""
    teams: dict[str, JsonDict]
    task_types: dict[str, JsonDict]
    projects: dict[str, JsonDict]
    tasks: dict[str, JsonDict]
    annotations: dict[str, StoredAnnotation] = field(default_factory=dict)
    accounts: dict[str, SandboxUser] = field(default_factory=dict)
    """Users with a token, by role name ("admin", "manager", ...)."""
    folders: dict[str, JsonDict] = field(default_factory=dict)
    """Dataset folders by id: {"id", "name", "parent" (id or None), "organization", "metadata", "allowedTeams"}."""
    ai_models: dict[str, JsonDict] = field(default_factory=dict)
    """AI models and jobs by id, and organization → AI plan (see `ai_models`)."""
    jobs: dict[str, JsonDict] = field(default_factory=dict)
    ai_plans: dict[str, str | None] = field(default_factory=dict)
    logged_time: dict[str, list[JsonDict]] = field(default_factory=dict)
    """Logged time by user id, as `GET /users/{id}/loggedTime` lists it: [{"paymentInterval": {"month", "year"},
    "durationInSeconds"}] (webknossos `TimeController.userLoggedTime`)."""


def minimal_nml(a: StoredAnnotation, voxel_size: tuple[float, float, float], owner_name: str) -> str:
    """A small NML for an annotation added by a test (no trees; its boxes and experiment data)."""
    boxes = "".join(
        f'    <userBoundingBox id="{b["id"]}" name={quoteattr(str(b["name"]))} isVisible="{str(b["isVisible"]).lower()}"'
        f' color.r="1.0" color.g="0.0" color.b="0.0" color.a="1.0" topLeftX="{b["topLeft"][0]}" topLeftY="{b["topLeft"][1]}"'
        f' topLeftZ="{b["topLeft"][2]}" width="{b["size"][0]}" height="{b["size"][1]}" depth="{b["size"][2]}" />\n'
        for b in a.user_bounding_boxes
    )
    x, y, z = a.edit_position
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<things>\n  <meta name="writer" content="wkgt_sandbox" />\n'
        f"  <meta name=\"annotationId\" content=\"{a.id}\" />\n  <meta name=\"username\" content={quoteattr(owner_name)} />\n"
        "  <parameters>\n"
        f"    <experiment datasetId=\"{a.dataset_id}\" name={quoteattr(a.dataset_name)} organization={quoteattr(a.organization)}"
        f" description={quoteattr(a.description)} />\n"
        f'    <scale x="{voxel_size[0]}" y="{voxel_size[1]}" z="{voxel_size[2]}" unit="nanometer" />\n'
        f'    <editPosition x="{x}" y="{y}" z="{z}" />\n{boxes}'
        "  </parameters>\n  <branchpoints />\n  <comments />\n  <groups />\n</things>\n"
    )


class SandboxState:
    """The inspectable state of a running sandbox. All access from tests is thread-safe enough
    for reading; the server mutates it under ``lock``."""

    def __init__(self, world: World) -> None:
        self._initial = world
        self.lock = threading.RLock()
        self.request_log: list[RequestLogEntry] = []
        self._load(world)

    def _load(self, world: World) -> None:
        w = copy.deepcopy(world)
        self.datasets = w.datasets
        self.users = w.users
        self.current_user_id = w.current_user_id
        self.teams = w.teams
        self.task_types = w.task_types
        self.projects = w.projects
        self.tasks = w.tasks
        self.annotations = w.annotations
        self.accounts = w.accounts
        self.folders = w.folders
        self.ai_models, self.jobs, self.ai_plans = w.ai_models, w.jobs, w.ai_plans
        self.logged_time = w.logged_time

    @property
    def current_user(self) -> JsonDict:
        """The user of the default token (the organization admin of the built-in world)."""
        return self.users[self.current_user_id]

    def user_for_token(self, token: str | None) -> JsonDict | None:
        """The active user a token belongs to, or None (unknown token, or a deactivated user)."""
        if not token:
            return None
        with self.lock:
            account = next((a for a in self.accounts.values() if a.token == token), None)
            user = None if account is None else self.users.get(account.id)
        return user if user is not None and user.get("isActive", True) else None

    def reset(self) -> None:
        """Restore the world as it was at start-up and clear the request log."""
        with self.lock:
            self._load(self._initial)
            self.request_log.clear()

    def clear_log(self) -> None:
        with self.lock:
            self.request_log.clear()

    def log(self, entry: RequestLogEntry) -> None:
        with self.lock:
            self.request_log.append(entry)

    def requests(self, method: str | None = None, path_contains: str = "") -> list[RequestLogEntry]:
        """Logged requests filtered by method and a path substring."""
        with self.lock:
            return [e for e in self.request_log if (method is None or e.method == method) and path_contains in e.path]

    # --- adding to a running world (for tests) ---

    def add_user(
        self,
        role: str,
        first_name: str,
        last_name: str,
        *,
        organization: str | None = None,
        teams: Iterable[tuple[str, bool]] = (),
        experiences: dict[str, int] | None = None,
        is_admin: bool = False,
        is_dataset_manager: bool = False,
        token: str | None = None,
        description: str = "",
    ) -> SandboxUser:
        """Add a user with a token under the role name `role`. `teams` holds (team name or id,
        isTeamManager) pairs of the user's organization; the token defaults to `wkgt-sandbox-token-<role>`."""
        with self.lock:
            if role in self.accounts:
                raise ValueError(f"a user with role {role!r} exists already")
            org = organization or self.current_user["organization"]
            memberships = []
            for team_ref, is_manager in teams:
                team = self.teams.get(team_ref) or next(
                    (t for t in self.teams.values() if t["name"] == team_ref and t["organization"] == org), None
                )
                if team is None or team["organization"] != org:
                    raise ValueError(f"no team {team_ref!r} in organization {org!r}")
                memberships.append({"id": team["id"], "name": team["name"], "isTeamManager": bool(is_manager)})
            user = user_json(
                new_object_id(), first_name, last_name, org, memberships, experiences or {}, is_admin, is_dataset_manager
            )
            account = SandboxUser(
                role=role,
                id=user["id"],
                token=token or f"wkgt-sandbox-token-{role}",
                name=f"{first_name} {last_name}",
                organization=org,
                description=description or role,
            )
            self.users[user["id"]] = user
            self.accounts[role] = account
            return account

    def add_annotation(
        self,
        owner: str,
        *,
        dataset: str = "l4_sample",
        name: str = "",
        description: str = "",
        visibility: str = "Internal",
        state: str = "Active",
        typ: str = "Explorational",
        shared_with: Iterable[str] = (),
        tags: Iterable[str] = (),
        user_bounding_boxes: Iterable[JsonDict] = (),
        task_id: str | None = None,
        team: str | None = None,
        created_ms: int | None = None,
    ) -> StoredAnnotation:
        """Add an annotation owned by `owner` (a role name or user id) on `dataset` (a dataset id, or a
        name in the owner's organization, else any), shared with the teams `shared_with` (names or ids).
        Its team (whose managers may read and finish it) is `team`, else chosen as the server's
        `selectSuitableTeam` does. Its id encodes `created_ms`, so lists order it as the server would."""
        with self.lock:
            owner_user = self._user(owner)
            ds = self._dataset(dataset, owner_user["organization"])
            if visibility not in VISIBILITIES or state not in ANNOTATION_STATES:
                raise ValueError(f"unknown visibility {visibility!r} or state {state!r}")
            created = int(time.time() * 1000) if created_ms is None else int(created_ms)
            shared = [self.team_id(t) for t in shared_with]
            member_of = [t["id"] for t in owner_user.get("teams", [])]
            allowed = [t["id"] for t in ds.json.get("allowedTeamsCumulative") or []]
            team_id = self.team_id(team) if team else next((t for t in allowed if t in member_of), None)
            if team_id is None:
                base = (t["id"] for t in self.teams.values() if t.get("isOrganizationTeam") and t["organization"] == owner_user["organization"])
                team_id = next(base, member_of[0] if member_of else None)
            annotation = StoredAnnotation(
                id=new_object_id(created / 1000),
                name=name,
                description=description,
                dataset_id=ds.id,
                dataset_name=ds.name,
                organization=ds.organization,
                owner_id=owner_user["id"],
                user_bounding_boxes=[dict(b) for b in user_bounding_boxes],
                volume_layers=[],
                edit_position=(0, 0, 0),
                nml="",
                nml_without_volume_data="",
                volume_data={},
                created=created,
                typ=typ,
                task_id=task_id,
                team_id=team_id,
                visibility=visibility,
                state=state,
                shared_team_ids=shared,
                tags=list(tags),
            )
            factor = ds.json["dataSource"]["scale"]["factor"]
            owner_name = f"{owner_user['firstName']} {owner_user['lastName']}"
            annotation.nml = minimal_nml(annotation, (factor[0], factor[1], factor[2]), owner_name)
            annotation.nml_without_volume_data = annotation.nml
            self.annotations[annotation.id] = annotation
            return annotation

    def _user(self, ref: str) -> JsonDict:
        if ref in self.accounts:
            return self.users[self.accounts[ref].id]
        if ref in self.users:
            return self.users[ref]
        raise ValueError(f"no user with role or id {ref!r}")

    def _dataset(self, ref: str, organization: str) -> CatalogDataset:
        if ref in self.datasets:
            return self.datasets[ref]
        named = sorted((d for d in self.datasets.values() if d.name == ref), key=lambda d: d.organization != organization)
        if not named:
            raise ValueError(f"no dataset with id or name {ref!r}")
        return named[0]

    def team_id(self, ref: str) -> str:
        """The id of the team with this id or (unique) name."""
        if ref in self.teams:
            return ref
        found = [t["id"] for t in self.teams.values() if t["name"] == ref]
        if len(found) != 1:
            raise ValueError(f"no single team named {ref!r}")
        return found[0]


def user_json(
    user_id: str,
    first: str,
    last: str,
    organization: str,
    teams: list[JsonDict],
    experiences: dict[str, int],
    is_admin: bool,
    is_dataset_manager: bool,
    *,
    is_owner: bool = False,
) -> JsonDict:
    """A user object as `GET /api/vN/users/{id}` answers it (webknossos UserService.publicWrites)."""
    return {
        "id": user_id,
        "email": f"{first.lower()}.{last.lower()}@sandbox.invalid".replace(" ", ""),
        "firstName": first,
        "lastName": last,
        "isAdmin": is_admin,
        "isOrganizationOwner": is_owner,
        "isDatasetManager": is_dataset_manager,
        "isActive": True,
        "teams": teams,
        "experiences": dict(experiences),
        "lastActivity": 1718700000000,
        "isAnonymous": False,
        "isEditable": True,
        "organization": organization,
        "novelUserExperienceInfos": {},
        "selectedTheme": "auto",
        "created": 1718000000000,
        "lastTaskTypeId": None,
        "isSuperUser": False,
        "isEmailVerified": True,
        "isUnlisted": False,
        "isGuest": False,
    }


def tracing_id(annotation_id: str, layer: str) -> str:
    """A stable tracing id (uuid) of an annotation layer."""
    return str(uuid.uuid5(uuid.NAMESPACE_OID, f"{annotation_id}/{layer}"))
