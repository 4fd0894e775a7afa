"""Fidelity against recorded traffic of a real WEBKNOSSOS server (skipped without the recordings)."""

from __future__ import annotations

import base64
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import webknossos as wk
import yaml

from wkgt_sandbox import Sandbox
from wkgt_sandbox.recordings import Interaction, load_interactions

# Recorded endpoints the sandbox deliberately does not serve, with the reason.
NOT_SERVED = {
    r"^PATCH /api/v\d+/datasets/": "dataset metadata/teams editing: wkgt never changes datasets",
    r"^(GET|POST) /api/v\d+/datasets/[^/]+/(isValidNewName|\w+MagUploadToPath)$": "dataset upload",
    r"^POST /api/v\d+/datasets/exploreAndAddRemote$": "remote-dataset exploration fetches the recorded server's own URL",
    r"^POST /data/v\d+/(datasets/(reserveUpload|finishUpload)|triggers/reload/)": "dataset upload",
    r"^GET /api/v\d+/datasets/[0-9a-f]{24}/sharingToken$": "sharing tokens",
    r"^\w+ /api/v\d+/folders/": "dataset folders",
    r"^\w+ /data/v\d+/datasets/[0-9a-f]{24}/proxy/": "RemoteAccessMode.PROXY_PATH (the SDK default is zarr streaming)",
    r"^\w+ /data/v\d+/annotations/zarr/": "zarr streaming of annotation volume layers (tracingstore)",
}


# Optional fields the server's JSON writers omit when empty; the recordings show them both ways.
OPTIONAL_KEYS = {
    "axisOrder",
    "defaultViewConfiguration",
    "largestSegmentId",
    "channelIndex",
    "credentialId",
    "attachments",
}
# Free-form maps whose keys are data, not schema.
FREE_FORM_KEYS = {"novelUserExperienceInfos", "experiences"}


def _not_served(it: Interaction) -> str | None:
    line = f"{it.method} {it.path}"
    return next((reason for pattern, reason in NOT_SERVED.items() if re.search(pattern, line)), None)


def _known_ids(sb: Sandbox) -> set[str]:
    s = sb.state
    return (
        set(s.datasets)
        | set(s.users)
        | set(s.teams)
        | set(s.task_types)
        | set(s.projects)
        | set(s.tasks)
        | set(s.annotations)
    )


def _foreign_id(path: str, known: set[str]) -> bool:
    """Whether the path names an object neither in the start-up world nor created earlier in the
    same recording: left over by another recorded test, or pre-existing on the recorded server."""
    return any(i not in known for i in re.findall(r"[0-9a-f]{24}", path))


def _shape_errors(recorded: Any, ours: Any, where: str = "$") -> list[str]:
    """Differences in keys and value types (null matches anything, numbers match numbers,
    each element of our list must match some recorded element)."""
    if recorded is None or ours is None:
        return []
    if isinstance(recorded, bool) or isinstance(ours, bool):
        return [] if type(recorded) is type(ours) else [f"{where}: {type(ours).__name__} != {type(recorded).__name__}"]
    if isinstance(recorded, (int, float)) and isinstance(ours, (int, float)):
        return []
    if isinstance(recorded, dict) and isinstance(ours, dict):
        differing = (set(ours) ^ set(recorded)) - OPTIONAL_KEYS
        errors = [f"{where}: keys {sorted(differing)} differ"] if differing else []
        for key in set(ours) & set(recorded) - FREE_FORM_KEYS:
            errors += _shape_errors(recorded[key], ours[key], f"{where}.{key}")
        return errors
    if isinstance(recorded, list) and isinstance(ours, list):
        mismatches: list[str] = []
        for i, item in enumerate(ours):
            candidates: list[list[str]] = [_shape_errors(r, item, f"{where}[{i}]") for r in recorded]
            if candidates and all(len(c) > 0 for c in candidates):
                closest = min(candidates, key=len)
                mismatches += closest
        return mismatches
    return [] if type(recorded) is type(ours) else [f"{where}: {type(ours).__name__} != {type(recorded).__name__}"]


def _media_type(headers: Any) -> str:
    return str(headers.get("content-type", "")).split(";")[0].strip().lower()


def _attachment_suffix(headers: Any) -> str:
    """ ".zip" / ".nml" of a download's Content-Disposition filename ("" if none)."""
    match = re.search(r'filename="?[^"]*(\.\w+)"?', str(headers.get("content-disposition", "")))
    return match.group(1) if match else ""


def _learn_ids(recorded: Any, ours: Any, ids: dict[str, str]) -> None:
    """Map ids of objects the recorded server created to the ids the sandbox gave them."""
    if isinstance(recorded, dict) and isinstance(ours, dict):
        for key, value in recorded.items():
            other = ours.get(key)
            if (
                (key == "id" or key.endswith("Id"))
                and isinstance(value, str)
                and isinstance(other, str)
                and value != other
            ):
                ids[value] = other
            else:
                _learn_ids(value, other, ids)
    elif isinstance(recorded, list) and isinstance(ours, list) and len(recorded) == len(ours):
        for r, o in zip(recorded, ours):
            _learn_ids(r, o, ids)


def _substitute(text: bytes, ids: dict[str, str]) -> bytes:
    for old, new in ids.items():
        text = text.replace(old.encode(), new.encode())
    return text


def test_replay_recorded_requests(recorded_sandbox: Sandbox, recordings: Path) -> None:
    by_file: dict[str, list[Interaction]] = defaultdict(list)
    for it in load_interactions(str(recordings)):
        by_file[it.file].append(it)
    problems: list[str] = []
    compared = skipped = 0
    client = httpx.Client(base_url=recorded_sandbox.url, timeout=30)
    for file, interactions in by_file.items():
        recorded_sandbox.reset()
        known = _known_ids(recorded_sandbox)
        ids: dict[str, str] = {}
        for it in interactions:
            if _not_served(it) or _foreign_id(it.path, known | set(ids)):
                skipped += 1
                continue
            headers = {"X-Auth-Token": recorded_sandbox.token}
            if "content-type" in it.request_headers:
                headers["Content-Type"] = it.request_headers["content-type"]
            path = _substitute(it.path.encode(), ids).decode()
            query = _substitute(it.query.encode(), ids).decode()
            response = client.request(
                it.method,
                path + ("?" + query if query else ""),
                content=_substitute(it.request_body, ids),
                headers=headers,
            )
            where = f"{file}: {it.method} {it.path}"
            if response.status_code != it.status:
                problems.append(
                    f"{where}: status {response.status_code} != recorded {it.status}: {response.text[:200]}"
                )
                continue
            for header, normalize in (("content-type", _media_type), ("content-disposition", _attachment_suffix)):
                if normalize(response.headers) != normalize(it.response_headers):
                    problems.append(
                        f"{where}: {header} {response.headers.get(header)} != {it.response_headers.get(header)}"
                    )
            if (
                it.response_headers.get("content-type") == "application/octet-stream"
                and response.content != it.response_body
            ):
                problems.append(f"{where}: voxel bytes differ from the recording")
            recorded_json = it.response_json()
            if recorded_json is None or it.method == "HEAD":
                continue
            ours = response.json()
            problems += [f"{where}: {e}" for e in _shape_errors(recorded_json, ours)]
            _learn_ids(recorded_json, ours, ids)
            compared += 1
            if it.method == "GET" and not re.fullmatch(r"/api/v\d+/datasets", it.path):
                # the SDK's versions (web API v16, datastore v15) answer in the recorded shapes too
                current = re.sub(r"^/api/v\d+/", "/api/v16/", re.sub(r"^/data/v\d+/", "/data/v15/", path))
                again = client.get(current + ("?" + query if query else ""), headers=headers)
                problems += [f"{where} as {current}: {e}" for e in _shape_errors(recorded_json, again.json())]
    print(f"compared {compared} JSON answers, skipped {skipped} requests")
    assert not problems, "\n".join(problems[:60])
    assert compared > 300 and skipped < 150


def _recorded_l4_chunks(recordings: Path) -> tuple[str, dict[tuple[int, int, int], np.ndarray]]:
    """Decode the recorded `color` 16-16-4 chunks with plain yaml/base64/numpy."""
    pattern = re.compile(r"^/data/v\d+/zarr/([0-9a-f]{24})/color/16-16-4/0\.(\d+)\.(\d+)\.(\d+)$")
    chunks: dict[tuple[int, int, int], np.ndarray] = {}
    dataset_id = ""
    for file in sorted(recordings.rglob("*.yml")):
        for item in yaml.load(file.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))[
            "http_interactions"
        ]:
            m = pattern.match(item["request"]["path"])
            if m and item["response"]["status"]["code"] == 200:
                dataset_id = m.group(1)
                raw = base64.b64decode(item["response"]["body"]["data"])
                index = (int(m.group(2)), int(m.group(3)), int(m.group(4)))
                chunks[index] = np.frombuffer(raw, np.uint8).reshape((32, 32, 32), order="F")
    return dataset_id, chunks


def test_recorded_voxels_of_l4_sample(recorded_sandbox: Sandbox, recordings: Path) -> None:
    dataset_id, chunks = _recorded_l4_chunks(recordings)
    assert len(chunks) == 32
    recorded_sandbox.reset()
    with wk.webknossos_context(url=recorded_sandbox.url, token=recorded_sandbox.token):
        by_name = wk.RemoteDataset.open("l4_sample")  # in the recorded user's organization
        assert by_name._dataset_id == dataset_id
        assert by_name.voxel_size == pytest.approx((11.24, 11.24, 28.0))
        layer = wk.RemoteDataset.open(dataset_id=dataset_id).get_layer("color")
        data = layer.get_mag("16-16-4").read()[0]
    lo = [min(k[i] for k in chunks) for i in range(3)]
    expected = np.zeros([(max(k[i] for k in chunks) - lo[i] + 1) * 32 for i in range(3)], np.uint8)
    for (x, y, z), chunk in chunks.items():
        expected[
            (x - lo[0]) * 32 : (x - lo[0] + 1) * 32,
            (y - lo[1]) * 32 : (y - lo[1] + 1) * 32,
            (z - lo[2]) * 32 : (z - lo[2] + 1) * 32,
        ] = chunk
    top_left = layer.bounding_box.in_mag(wk.Mag("16-16-4")).topleft
    start = [t - 32 * lo_i for t, lo_i in zip(top_left.to_tuple(), lo)]
    expected = expected[
        start[0] : start[0] + data.shape[0], start[1] : start[1] + data.shape[1], start[2] : start[2] + data.shape[2]
    ]
    assert data.shape == expected.shape and data.std() > 5
    assert np.array_equal(data, expected)


def test_error_answers_match_recorded_ones(recorded_sandbox: Sandbox, recordings: Path) -> None:
    recorded = {
        (it.method, it.path): it
        for it in load_interactions(str(recordings))
        if it.status == 404 and it.path.startswith("/api/")
    }
    assert recorded
    recorded_sandbox.reset()
    client = httpx.Client(base_url=recorded_sandbox.url, headers={"X-Auth-Token": recorded_sandbox.token})
    missing = "0123456789abcdef01234567"
    ours = [
        client.get(f"/api/v12/datasets/{missing}"),
        client.get(f"/api/v12/annotations/{missing}/info"),
        client.get(f"/api/v12/annotations/{missing}/download"),
        client.get(f"/api/v12/tasks/{missing}"),
        client.get("/api/v12/projects/byName/no_such_project"),
    ]
    for response in ours:
        assert response.status_code == 404
        for it in recorded.values():
            assert not _shape_errors(it.response_json(), response.json())
    for (method, path), it in recorded.items():  # same messages as the recorded server
        if re.fullmatch(r"/api/v\d+/(tasks/[0-9a-f]{24}|projects/byName/\w+)", path):
            assert client.request(method, path).json() == it.response_json()


def test_the_recorded_world_is_a_fresh_servers(recorded_sandbox: Sandbox, recordings: Path) -> None:
    """Datasets the recorded tests uploaded or added (in the recording, or left over from earlier runs
    of the tests on the recording server) are not in the world; the seeded ones are."""
    recorded_sandbox.reset()
    uploaded = {
        json.loads(it.request_body).get("datasetName") or json.loads(it.request_body).get("name")
        for it in load_interactions(str(recordings))
        if it.method == "POST" and re.search(r"/datasets/(upload/dataset/)?reserveUpload(ToPaths)?$", it.path)
    }
    names = {d.name for d in recorded_sandbox.state.datasets.values()}
    assert len(uploaded) >= 5 and "l4_sample" in names
    assert not names & uploaded
