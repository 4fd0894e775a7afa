"""Status codes and error bodies of the sandbox (as the real server answers them)."""

from __future__ import annotations

import httpx
import pytest

from wkgt_sandbox import Sandbox

L4_ID = "66e1c3a2b7f0d94e1a2b1001"  # public
ANISO_ID = "66e1c3a2b7f0d94e1a2b1002"  # not public
MISSING_ID = "0123456789abcdef01234567"


def _is_error_body(response: httpx.Response) -> bool:
    body = response.json()
    return set(body) == {"messages"} and len(body["messages"]) == 1 and isinstance(body["messages"][0]["error"], str)


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_secured_routes_need_the_token(sandbox: Sandbox, token: str | None) -> None:
    headers = {} if token is None else {"X-Auth-Token": token}
    for path in (
        "/api/v16/user",
        "/api/v16/users",
        "/api/v16/teams",
        "/api/v16/taskTypes",
        "/api/v16/annotations/readable",
    ):
        response = httpx.get(sandbox.url + path, headers=headers)
        assert response.status_code == 401
        assert response.text == "You are not authorized to view this resource. Please log in."
    assert httpx.get(sandbox.url + "/api/v16/user", params={"token": sandbox.token}).status_code == 200


def test_anonymous_users_see_public_datasets_only(sandbox: Sandbox) -> None:
    anonymous = httpx.Client(base_url=sandbox.url, headers={"X-Auth-Token": "wrong-token"})
    assert anonymous.get(f"/api/v16/datasets/{L4_ID}").status_code == 200
    hidden = anonymous.get(f"/api/v16/datasets/{ANISO_ID}")
    assert hidden.status_code == 404 and _is_error_body(hidden)
    assert "log in" in hidden.json()["messages"][0]["error"]
    names = {d["name"] for d in anonymous.get("/api/v16/datasets").json()}
    assert "l4_sample" in names and "aniso_4x4x35" not in names
    assert anonymous.get(f"/data/v15/zarr/{ANISO_ID}/datasource-properties.json").status_code == 403
    assert anonymous.get(f"/data/v15/zarr/{L4_ID}/datasource-properties.json").status_code == 200
    unknown = httpx.get(
        f"{sandbox.url}/data/v15/zarr/{MISSING_ID}/datasource-properties.json", params={"token": sandbox.token}
    )
    assert unknown.status_code == 403 and unknown.text.startswith("Token may be expired")


def test_unknown_objects(sandbox: Sandbox) -> None:
    client = httpx.Client(base_url=sandbox.url, headers={"X-Auth-Token": sandbox.token})
    for path in (
        f"/api/v16/datasets/{MISSING_ID}",
        "/api/v16/datasets/disambiguate/sandbox_lab/no_such_dataset/toId",
        f"/api/v16/annotations/{MISSING_ID}/info",
        f"/api/v16/annotations/{MISSING_ID}/download",
        f"/api/v16/tasks/{MISSING_ID}",
        f"/api/v16/projects/{MISSING_ID}",
        "/api/v16/projects/byName/no_such_project",
        f"/data/v15/zarr/{L4_ID}/no_layer/1/.zarray",
        f"/data/v15/zarr/{L4_ID}/color/3-3-3/.zarray",
        f"/data/v15/zarr/{L4_ID}/color/16-16-4/0.999.0.0",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert _is_error_body(response), path
    assert client.get(f"/api/v16/tasks/{MISSING_ID}").json() == {"messages": [{"error": "Task could not be found"}]}
    assert client.get("/api/v16/datasets/not-an-id").status_code == 400


def test_api_versions(sandbox: Sandbox) -> None:
    info = httpx.get(sandbox.url + "/api/buildinfo").json()
    assert info["httpApiVersioning"] == {"currentApiVersion": 16, "oldestSupportedApiVersion": 5}
    headers = {"X-Auth-Token": sandbox.token}
    for version in (12, 13, 14, 15, 16):
        assert httpx.get(f"{sandbox.url}/api/v{version}/user", headers=headers).status_code == 200
    too_new = httpx.get(f"{sandbox.url}/api/v17/user", headers=headers)
    assert too_new.status_code == 400 and _is_error_body(too_new)


def test_dataset_list_shapes_by_version(sandbox: Sandbox) -> None:
    client = httpx.Client(base_url=sandbox.url, headers={"X-Auth-Token": sandbox.token})
    query = {"isActive": "true", "organizationId": "sandbox_lab", "searchQuery": "l4_sample"}
    compact = client.get("/api/v16/datasets", params=query).json()
    full = client.get("/api/v12/datasets", params=query).json()
    assert [d["id"] for d in compact] == [d["id"] for d in full] == [L4_ID]
    assert "dataSource" in full[0] and "dataSource" not in compact[0]
    assert compact[0]["colorLayerNames"] == ["color"] and compact[0]["segmentationLayerNames"] == ["segmentation"]
    assert "sandboxData" not in client.get(f"/api/v16/datasets/{L4_ID}").text
    both = client.get("/api/v16/datasets", params={"searchQuery": "shared_name"}).json()
    assert sorted(d["owningOrganization"] for d in both) == ["partner_lab", "sandbox_lab"]
