"""One mapping from HTTP answers to exit codes, for the web API and the datastore alike
(``error_for_status``, for readers that talk to the datastore outside a ``Session``)."""

from __future__ import annotations

import httpx
import pytest

from wkgt.client.session import error_for_status

DATASET_ID = "66e1c3a2b7f0d94e1a2b1001"


@pytest.mark.parametrize("fault, code", [(403, 4), (401, 4), (404, 3), (500, 5), (302, 5)])
def test_datastore_answers_map_to_exit_codes(sandbox, fault, code):
    sandbox.faults.add(r"^/data/", status=fault)
    url = f"{sandbox.url}/data/v12/zarr/{DATASET_ID}/datasource-properties.json"
    response = httpx.get(url, headers={"X-Auth-Token": sandbox.token})
    assert response.status_code == fault
    error = error_for_status("reading the datastore", sandbox.url, response, has_token=True)
    assert error.exit_code == code
    assert sandbox.token not in str(error)
