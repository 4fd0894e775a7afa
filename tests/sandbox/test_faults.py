"""Fault injection: latency, forced status codes, dropped connections, failing the next N requests."""

from __future__ import annotations

import httpx
import pytest
import webknossos as wk
from webknossos.client.api_client.errors import UnexpectedStatusError

from wkgt_sandbox import Sandbox


def _client(sandbox: Sandbox, timeout: float = 10.0) -> httpx.Client:
    return httpx.Client(base_url=sandbox.url, headers={"X-Auth-Token": sandbox.token}, timeout=timeout)


def test_latency(sandbox: Sandbox) -> None:
    sandbox.faults.add(r"/user$", latency=0.5, times=1)
    with pytest.raises(httpx.ReadTimeout):
        _client(sandbox, timeout=0.05).get("/api/v16/user")
    sandbox.faults.add(r"/user$", latency=0.01)
    assert _client(sandbox).get("/api/v16/user").status_code == 200
    assert _client(sandbox).get("/api/v16/teams").status_code == 200


def test_forced_status_per_route_and_method(sandbox: Sandbox) -> None:
    sandbox.faults.add(r"^/api/v\d+/datasets$", method="GET", status=502, times=2)
    client = _client(sandbox)
    assert [client.get("/api/v16/datasets").status_code for _ in range(3)] == [502, 502, 200]
    assert client.get("/api/v16/user").status_code == 200
    forced = sandbox.state.requests(path_contains="/datasets")
    assert [e.status for e in forced] == [502, 502, 200]


def test_skip_lets_the_first_matching_requests_pass(sandbox: Sandbox) -> None:
    sandbox.faults.add(r"^/api/v\d+/datasets$", method="GET", status=503, skip=2, times=1)
    client = _client(sandbox)
    assert [client.get("/api/v16/datasets").status_code for _ in range(4)] == [200, 200, 503, 200]


def test_dropped_connection(sandbox: Sandbox) -> None:
    sandbox.faults.add(r"/buildinfo$", drop=True, times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(sandbox.url + "/api/buildinfo")
    assert httpx.get(sandbox.url + "/api/buildinfo").status_code == 200
    assert [e.status for e in sandbox.state.requests(path_contains="/buildinfo")] == [0, 200]


def test_fail_next_n(sandbox: Sandbox) -> None:
    sandbox.faults.fail_next(2, status=503)
    client = _client(sandbox)
    statuses = [client.get(path).status_code for path in ("/api/v16/user", "/api/v16/teams", "/api/v16/user")]
    assert statuses == [503, 503, 200]
    sandbox.faults.add(".*", status=500)
    sandbox.faults.clear()
    assert client.get("/api/v16/user").status_code == 200


def test_sdk_sees_injected_errors(sandbox: Sandbox) -> None:
    sandbox.faults.add(r"/datasets/[0-9a-f]{24}$", status=500, times=1)
    with wk.webknossos_context(url=sandbox.url, token=sandbox.token):
        with pytest.raises(UnexpectedStatusError):
            wk.RemoteDataset.open(dataset_id="66e1c3a2b7f0d94e1a2b1001")
        assert wk.RemoteDataset.open(dataset_id="66e1c3a2b7f0d94e1a2b1001").voxel_size[2] == 28.0


def test_request_log_and_reset(sandbox: Sandbox) -> None:
    _client(sandbox).get("/api/v16/datasets", params={"searchQuery": "l4"})
    entry = sandbox.state.request_log[-1]
    assert (entry.method, entry.path, entry.query, entry.status) == ("GET", "/api/v16/datasets", "searchQuery=l4", 200)
    sandbox.state.clear_log()
    assert sandbox.state.request_log == []
    sandbox.faults.add(".*", status=500)
    sandbox.reset()
    assert _client(sandbox).get("/api/v16/user").status_code == 200


def test_after_fault_does_the_work_then_loses_the_answer(sandbox):
    sandbox.faults.add(r"/tasks$", method="POST", drop=True, after=True, times=1)
    body = [{"taskTypeId": next(iter(sandbox.state.task_types)), "neededExperience": {"domain": "em", "value": 0},
             "pendingInstances": 1, "projectName": next(iter(sandbox.state.projects.values()))["name"],
             "datasetId": "66e1c3a2b7f0d94e1a2b1001", "editPosition": [3500, 3500, 1000], "editRotation": [0, 0, 0],
             "boundingBox": {"topLeft": [3456, 3456, 980], "width": 89, "height": 89, "depth": 36}}]
    with pytest.raises(httpx.TransportError):
        httpx.post(f"{sandbox.url}/api/v16/tasks", json=body, headers={"X-Auth-Token": sandbox.token})
    assert len(sandbox.state.tasks) == 1
