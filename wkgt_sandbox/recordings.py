"""Load recorded WEBKNOSSOS traffic (YAML request/response pairs) into a sandbox world, in memory.

The world is the recorded server's state *before* the recorded tests ran, as a fresh server (which the
SDK's suite expects) has it: every dataset and user seen, except datasets the recorded tests upload or
add (in the recording, or left over from earlier runs of the tests on the recording server; their
voxels were on the recording machine's disk), plus the teams, task types, projects and tasks that appear in answers but were not created by a
recorded POST, the annotations whose info was read but not created by a recorded upload, and each
user's logged time as first recorded. Recorded zarr chunks (`/data/v{N}/zarr/{id}/{layer}/{mag}/{c}.{x}.{y}.{z}`) become the
voxels of their layers.
"""

from __future__ import annotations

import base64
import functools
import gzip
import json
import re
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .catalog import CatalogDataset, dataset_from_json
from .imagedata import Mag, RecordedChunks, Vec3, parse_mag
from .state import StoredAnnotation, World, minimal_nml

_ID = r"[0-9a-f]{24}"
_API = re.compile(r"^/api/v\d+(/.*)$")
_CHUNK = re.compile(rf"^/data/v\d+/zarr/({_ID})/([^/]+)/([0-9-]+)/0\.(\d+)\.(\d+)\.(\d+)$")
_ZARRAY = re.compile(rf"^/data/v\d+/zarr/({_ID})/([^/]+)/([0-9-]+)/\.zarray$")


@dataclass(frozen=True)
class Interaction:
    """One recorded request/response pair."""

    file: str
    method: str
    path: str
    query: str
    request_headers: dict[str, str]
    request_body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes

    def response_json(self) -> Any:
        """The decoded JSON answer, or None if the answer is not JSON."""
        if "json" not in self.response_headers.get("content-type", "") or not self.response_body:
            return None
        return json.loads(self.response_body)


def _body(body: dict[str, Any] | None) -> bytes:
    if not body:
        return b""
    data = body.get("data") or ""
    raw = base64.b64decode(data) if body.get("encoding") == "base64" else str(data).encode("utf-8")
    compression = body.get("compression") or "none"
    if compression == "gzip":
        return gzip.decompress(raw)
    if compression == "deflate":
        return zlib.decompress(raw)
    if compression != "none":
        raise ValueError(f"unsupported recorded body compression {compression!r}")
    return raw


def _yaml_load(text: str) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)


@functools.lru_cache(maxsize=4)
def load_interactions(directory: str | Path) -> tuple[Interaction, ...]:
    """All recorded interactions below `directory`, file by file in sorted order."""
    out = []
    root = Path(directory)
    for file in sorted(root.rglob("*.yml")):
        doc = _yaml_load(file.read_text(encoding="utf-8")) or {}
        for item in doc.get("http_interactions") or []:
            req, resp = item["request"], item["response"]
            url = urlsplit(req["path"])
            out.append(
                Interaction(
                    file=str(file.relative_to(root)),
                    method=req["method"].upper(),
                    path=url.path,
                    query=url.query,
                    request_headers={k.lower(): str(v) for k, v in (req.get("headers") or {}).items()},
                    request_body=_body(req.get("body")),
                    status=int(resp["status"]["code"]),
                    response_headers={k.lower(): str(v) for k, v in (resp.get("headers") or {}).items()},
                    response_body=_body(resp.get("body")),
                )
            )
    return tuple(out)


def _created_ids(interactions: tuple[Interaction, ...]) -> set[str]:
    """Ids of objects created by recorded POSTs (projects, task types, teams, tasks)."""
    created: set[str] = set()
    for it in interactions:
        m = _API.match(it.path)
        if it.method != "POST" or it.status != 200 or m is None:
            continue
        if m.group(1) not in ("/projects", "/taskTypes", "/teams", "/tasks", "/tasks/createFromFiles", "/folders/create", "/annotations/upload"):
            continue
        answer = it.response_json()
        if isinstance(answer, dict) and isinstance(answer.get("annotation"), dict):
            created.add(answer["annotation"]["id"])
        if isinstance(answer, dict) and "tasks" in answer:
            created.update(t["success"]["id"] for t in answer["tasks"] if t.get("success"))
        elif isinstance(answer, dict) and "id" in answer:
            created.add(answer["id"])
    return created


_UPLOAD_RESERVATION = re.compile(r"^/(data/v\d+/datasets/(upload/dataset/)?reserveUpload|api/v\d+/datasets/reserveUploadToPaths)$")


def _uploaded_names(interactions: tuple[Interaction, ...]) -> set[str]:
    """Names under which the recorded tests upload datasets (the SDK's reserve requests)."""
    names: set[str] = set()
    for it in interactions:
        if it.method == "POST" and _UPLOAD_RESERVATION.match(it.path):
            try:
                body = json.loads(it.request_body or b"{}")
            except ValueError:
                continue
            name = body.get("datasetName") or body.get("name") if isinstance(body, dict) else None
            if isinstance(name, str):
                names.add(name)
    return names


def _explored_ids(interactions: tuple[Interaction, ...]) -> set[str]:
    """Ids of datasets that recorded `exploreAndAddRemote` requests added."""
    return {
        str(it.response_json())
        for it in interactions
        if it.method == "POST" and it.status == 200 and re.fullmatch(r"/api/v\d+/datasets/exploreAndAddRemote", it.path)
    }


def _is_test_upload(dataset: dict[str, Any], uploaded_names: set[str]) -> bool:
    """A dataset that a recorded test uploaded, in that recording or in an earlier run of the tests
    on the recording server: its name is one the tests upload under and its directory is an upload's
    `{name}-{id}`. The SDK's suite expects a fresh server, which has none of them (and their voxels
    are on the recording machine's disk)."""
    name = dataset.get("name")
    return name in uploaded_names and dataset.get("directoryName") == f"{name}-{dataset.get('id')}"


def _recorded_folders(interactions: tuple[Interaction, ...], created: set[str], organization: str) -> dict[str, dict[str, Any]]:
    """The folder tree as first recorded (`GET /folders/tree`), with metadata and teams of the first
    `GET /folders/{id}` answer; folders made by recorded requests are left out."""
    folders: dict[str, dict[str, Any]] = {}
    for it in interactions:
        m = _API.match(it.path)
        if it.status != 200 or it.method != "GET" or m is None:
            continue
        if m.group(1) == "/folders/tree" and not folders:
            for f in it.response_json():
                if f["id"] not in created:
                    folders[f["id"]] = {"id": f["id"], "name": f["name"], "parent": f.get("parent"),
                                        "organization": organization, "metadata": f.get("metadata") or [], "allowedTeams": []}  # fmt: skip
    for it in interactions:
        m = _API.match(it.path)
        if it.status == 200 and it.method == "GET" and m is not None and re.fullmatch(rf"/folders/{_ID}", m.group(1)):
            f = it.response_json()
            if f["id"] in folders and not folders[f["id"]].get("seen"):
                folders[f["id"]].update(metadata=f.get("metadata") or [], allowedTeams=[t["id"] for t in f.get("allowedTeams", [])], seen=True)
    for f in folders.values():
        f.pop("seen", None)
    return folders


_VOLATILE_DATASET_KEYS = ("lastUsedByUser", "dataStore", "usedStorageBytes")


def _usual_states(starts: dict[tuple[str, str], dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per dataset, the state most recorded tests started from (the first answer of each recording,
    compared without its volatile keys); the recordings were made at different times, and a test's
    changes (description, metadata) show in later answers of its own recording only."""
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for (_, dataset_id), answer in starts.items():
        key = json.dumps({k: v for k, v in answer.items() if k not in _VOLATILE_DATASET_KEYS}, sort_keys=True)
        votes[dataset_id][key] += 1
        latest[(dataset_id, key)] = answer
    return {i: latest[(i, max(c.items(), key=lambda kv: kv[1])[0])] for i, c in votes.items()}


def _first_answers(interactions: tuple[Interaction, ...], pattern: str) -> dict[str, Any]:
    """The first successful recorded GET answer per id of the API routes matching `pattern` (one id group):
    the state before the recorded tests changed it."""
    found: dict[str, Any] = {}
    for it in interactions:
        m = _API.match(it.path)
        if it.status == 200 and it.method == "GET" and m is not None and (r := re.fullmatch(pattern, m.group(1))):
            found.setdefault(r.group(1), it.response_json())
    return found


def _recorded_annotation(info: dict[str, Any], datasets: dict[str, CatalogDataset], teams: dict[str, Any]) -> StoredAnnotation:
    """An annotation the recordings show (`GET /annotations/{id}/info`) but did not create: its info
    (owner, dataset, type, state, visibility, shared teams, tags). Its trees and volume data are not
    recorded; its download is an NML with its experiment only."""
    dataset = datasets.get(info.get("datasetId") or "")
    base_team = next((t["id"] for t in teams.values() if t.get("isOrganizationTeam") and t.get("organization") == info.get("organization")), None)
    derived_tags = {info.get("dataSetName"), "skeleton", "hybrid", "volume"}
    annotation = StoredAnnotation(
        id=info["id"],
        name=info.get("name") or "",
        description=info.get("description") or "",
        dataset_id=info.get("datasetId"),
        dataset_name=str(info.get("dataSetName") or ""),
        organization=str(info.get("organization") or ""),
        owner_id=str((info.get("owner") or info.get("user") or {}).get("id") or ""),
        user_bounding_boxes=[],
        volume_layers=[],
        edit_position=(0, 0, 0),
        nml="",
        nml_without_volume_data="",
        volume_data={},
        created=int(info.get("modified") or 0),
        typ=str(info.get("typ") or "Explorational"),
        team_id=base_team,
        visibility=str(info.get("visibility") or "Internal"),
        state=str(info.get("state") or "Active"),
        shared_team_ids=[t["id"] for t in info.get("teams") or []],
        tags=[t for t in info.get("tags") or [] if t not in derived_tags],
        tracing_time=int(info.get("tracingTime") or 0),
        is_locked_by_owner=bool(info.get("isLockedByOwner")),
        others_may_edit=bool(info.get("othersMayEdit")),
        recorded_layer_stats={str(x.get("name")): dict(x.get("stats") or {}) for x in info.get("annotationLayers") or []},
    )
    factor = dataset.json["dataSource"]["scale"]["factor"] if dataset is not None else (1.0, 1.0, 1.0)
    owner = info.get("owner") or {}
    annotation.nml = minimal_nml(annotation, (factor[0], factor[1], factor[2]), f"{owner.get('firstName', '')} {owner.get('lastName', '')}".strip())
    annotation.nml_without_volume_data = annotation.nml
    return annotation


def world_from_recordings(directory: str | Path) -> World:
    """Build the sandbox world from the recordings below `directory`."""
    interactions = load_interactions(str(directory))
    created = _created_ids(interactions)
    datasets: dict[str, dict[str, Any]] = {}
    starts: dict[tuple[str, str], dict[str, Any]] = {}
    users: dict[str, dict[str, Any]] = {}
    current_user_id = ""
    buckets: dict[str, dict[str, Any]] = {"teams": {}, "taskTypes": {}, "projects": {}, "tasks": {}}
    chunks: dict[tuple[str, str], dict[tuple[Mag, Vec3], bytes]] = {}
    zarrays: dict[tuple[str, str, Mag], Any] = {}

    def keep(bucket: str, obj: Any) -> None:
        if isinstance(obj, dict) and isinstance(obj.get("id"), str) and obj["id"] not in created:
            buckets[bucket][obj["id"]] = {k: v for k, v in obj.items() if k != "messages"}

    for it in interactions:
        if it.status != 200 or it.method not in ("GET", "POST"):
            continue
        if (c := _CHUNK.match(it.path)) is not None:
            key = (parse_mag(c.group(3)), (int(c.group(4)), int(c.group(5)), int(c.group(6))))
            chunks.setdefault((c.group(1), c.group(2)), {})[key] = it.response_body
            continue
        if (z := _ZARRAY.match(it.path)) is not None:
            zarrays[(z.group(1), z.group(2), parse_mag(z.group(3)))] = it.response_json()
            continue
        m = _API.match(it.path)
        if m is None:
            continue
        route, answer = m.group(1), it.response_json()
        items = answer if isinstance(answer, list) else [answer]
        head = "tasks" if route.endswith("/tasks") or route == "/tasks/list" else route.split("/")[1]
        if it.method == "GET" and re.fullmatch(rf"/datasets(/{_ID})?", route):
            for d in items:
                if isinstance(d, dict) and "dataSource" in d:
                    datasets[d["id"]] = d
                    starts.setdefault((it.file, d["id"]), d)
        elif it.method == "GET" and re.fullmatch(rf"/users(/{_ID})?|/user", route):
            users.update({u["id"]: u for u in items if isinstance(u, dict) and "email" in u})
            if route == "/user":
                current_user_id = answer["id"]
        elif head in buckets and (it.method == "GET" or route == "/tasks/list"):
            for obj in items:
                keep(head, obj)

    datasets.update(_usual_states(starts))
    uploaded_names = _uploaded_names(interactions)
    added = _explored_ids(interactions)
    datasets = {i: d for i, d in datasets.items() if i not in added and not _is_test_upload(d, uploaded_names)}
    catalog: list[CatalogDataset] = []
    for ds_json in datasets.values():
        ds = dataset_from_json(ds_json)
        for layer in ds.layers:
            if (ds.id, layer["name"]) in chunks:
                ds.sources[layer["name"]] = RecordedChunks(chunks[(ds.id, layer["name"])])
        ds.recorded_zarrays = {(layer, mag): z for (i, layer, mag), z in zarrays.items() if i == ds.id}
        catalog.append(ds)
    if not current_user_id:
        raise ValueError(f"no recorded GET /user answer below {directory}")
    organization = str(users[current_user_id]["organization"])
    by_id = {d.id: d for d in catalog}
    infos = _first_answers(interactions, rf"/annotations/({_ID})/info")
    annotations = {i: _recorded_annotation(info, by_id, buckets["teams"]) for i, info in infos.items() if i not in created}
    logged_time = {i: list(answer.get("loggedTime") or []) for i, answer in _first_answers(interactions, rf"/users/({_ID})/loggedTime").items()}
    return World(
        annotations=annotations,
        logged_time=logged_time,
        folders=_recorded_folders(interactions, created, organization),
        datasets=by_id,
        users=users,
        current_user_id=current_user_id,
        teams=buckets["teams"],
        task_types=buckets["taskTypes"],
        projects=buckets["projects"],
        tasks=buckets["tasks"],
    )
