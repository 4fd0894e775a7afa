"""Raw cuboid reads, the datastore's own port, dataset upload, folders and dataset settings: the
unmodified SDK (and plain HTTP for the rules the SDK does not exercise) against the sandbox."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest
import webknossos as wk

from tests.helpers import reset_module_sandbox as sb  # noqa: F401 (the module's sandbox, reset per test)
from wkgt_sandbox import Sandbox, run_sandbox

L4_ID = "66e1c3a2b7f0d94e1a2b1001"
PRIVATE_ID = "66e1c3a2b7f0d94e1a2b1002"  # aniso_4x4x35, not public
BOX = wk.BoundingBox((3500, 3400, 1000), (40, 36, 20))


def _context(sb: Sandbox) -> wk.webknossos_context:
    return wk.webknossos_context(url=sb.url, token=sb.token)


def _raw(sb: Sandbox, mag: str, dataset_id: str = L4_ID, **extra: str) -> httpx.Response:
    query = {"mag": mag, "x": "3500", "y": "3400", "z": "1000", "width": "8", "height": "8", "depth": "4", **extra}
    headers = {} if "token" in extra else {"X-Auth-Token": sb.token}
    return httpx.get(f"{sb.url}/data/v15/datasets/{dataset_id}/layers/color/data", params=query, headers=headers)


def test_download_uses_raw_cuboids_that_match_zarr_streaming(sb: Sandbox, tmp_path: Path) -> None:
    with _context(sb):
        remote = wk.RemoteDataset.open(dataset_id=L4_ID)
        streamed = remote.get_layer("color").get_mag(1).read(absolute_bounding_box=BOX)
        local = remote.download(path=tmp_path / "l4", bounding_box=BOX, layers=["color"], mags=[wk.Mag(1)])
    assert sb.state.requests("GET", f"/datasets/{L4_ID}/layers/color/data")
    downloaded = local.get_layer("color").get_mag(1).read(absolute_bounding_box=BOX)
    np.testing.assert_array_equal(downloaded, streamed)
    assert streamed.std() > 0  # real (generated) image data, not a zero fill


def test_raw_cuboid_rules(sb: Sandbox) -> None:
    ok = _raw(sb, "2-2-1")
    assert ok.status_code == 200 and ok.headers["MISSING-BUCKETS"] == "[]"
    assert len(ok.content) == 8 * 8 * 4
    assert _raw(sb, "3-3-3").headers["MISSING-BUCKETS"] == "[0]"  # a mag the layer lacks
    assert _raw(sb, "x").status_code == 400
    assert httpx.get(f"{sb.url}/data/v15/datasets/{L4_ID}/layers/color/data", params={"mag": "1"}).status_code == 400
    assert _raw(sb, "1", token="wrong").status_code == 200  # a public dataset needs no token
    assert _raw(sb, "1", PRIVATE_ID, token="wrong").status_code == 403
    other = httpx.get(f"{sb.url}/data/v15/datasets/{'0' * 24}/layers/color/data", params={"mag": "1"}, headers={"X-Auth-Token": sb.token})
    assert other.status_code == 403


def test_sharing_token_grants_datastore_reads(sb: Sandbox) -> None:
    with _context(sb):
        token = wk.RemoteDataset.open(dataset_id=PRIVATE_ID).sharing_token
    assert _raw(sb, "1", PRIVATE_ID, token=token).status_code == 200
    assert _raw(sb, "1", PRIVATE_ID, token=token[::-1]).status_code == 403
    assert _raw(sb, "1", "66e1c3a2b7f0d94e1a2b1003", token=token).status_code == 403  # only that dataset


def test_datastore_list_agrees_with_dataset_json(sb: Sandbox) -> None:
    headers = {"X-Auth-Token": sb.token}
    stores = httpx.get(f"{sb.url}/api/v16/datastores", headers=headers).json()
    dataset = httpx.get(f"{sb.url}/api/v16/datasets/{L4_ID}", headers=headers).json()
    assert stores == [dataset["dataStore"]]
    assert stores[0]["allowsUpload"] is True and stores[0]["url"] == sb.url


def test_separate_datastore_port_serves_the_data() -> None:
    with run_sandbox(separate_datastore=True) as sb:
        assert sb.datastore_url != sb.url
        headers = {"X-Auth-Token": sb.token}
        assert httpx.get(f"{sb.url}/api/v16/datastores", headers=headers).json()[0]["url"] == sb.datastore_url
        assert httpx.get(f"{sb.url}/data/v15/zarr/{L4_ID}/datasource-properties.json", headers=headers).status_code == 404
        assert httpx.get(f"{sb.datastore_url}/api/v16/datasets/{L4_ID}", headers=headers).status_code == 404
        with _context(sb):
            data = wk.RemoteDataset.open(dataset_id=L4_ID).get_layer("color").get_mag(1).read(absolute_bounding_box=BOX)
        assert data.shape == (1, 40, 36, 20) and data.std() > 0


def test_upload_then_read_back(sb: Sandbox, tmp_path: Path) -> None:
    local = wk.Dataset(tmp_path / "up", voxel_size=(4, 4, 40))
    data = (np.arange(24 * 20 * 10) % 251).astype(np.uint8).reshape(24, 20, 10)
    local.add_layer("color", wk.COLOR_CATEGORY, data_format=wk.DataFormat.Zarr3).add_mag(1).write(data, absolute_offset=(8, 4, 2), allow_resize=True)
    with _context(sb):
        remote = local.upload(new_dataset_name="uploaded_here")
        again = wk.RemoteDataset.open(dataset_id=remote.dataset_id)
        read = again.get_layer("color").get_mag(1).read(absolute_offset=(8, 4, 2), size=(24, 20, 10))
    np.testing.assert_array_equal(read[0], data)
    stored = sb.state.datasets[remote.dataset_id].json
    assert stored["name"] == "uploaded_here" and stored["directoryName"] == f"uploaded_here-{remote.dataset_id}"
    assert Path(stored["dataSource"]["dataLayers"][0]["mags"][0]["path"]).is_absolute()


def test_upload_rules(sb: Sandbox) -> None:
    headers = {"X-Auth-Token": sb.token}
    chunk = {"resumableIdentifier": "never-reserved/x.bin", "resumableChunkNumber": "1", "resumableChunkSize": "4"}
    url = f"{sb.url}/data/v15/datasets/upload/dataset"
    assert httpx.post(url, data=chunk, files={"file": b"abcd"}, headers=headers).status_code == 400
    info = {"resumableUploadInfo": {"uploadId": "u1", "totalFileCount": 1, "totalFileSizeInBytes": 4},
            "datasetName": "x", "organizationId": "sandbox_lab", "initialTeamIds": []}  # fmt: skip
    assert httpx.post(f"{url}/reserveUpload", json=info, headers=headers).status_code == 200
    assert httpx.post(f"{url}/reserveUpload", json={**info, "organizationId": "partner_lab"}, headers=headers).status_code == 403
    assert httpx.post(f"{url}/reserveUpload", json=info).status_code == 401
    escape = {**chunk, "resumableIdentifier": "u1/../../evil.bin"}
    assert httpx.post(url, data=escape, files={"file": b"abcd"}, headers=headers).status_code == 400
    assert httpx.post(f"{url}/finishUpload", params={"uploadId": "u1"}, headers=headers).status_code == 400  # no files yet


def test_folders(sb: Sandbox) -> None:
    with _context(sb):
        root = wk.RemoteFolder.get_root()
        assert root.name == "sandbox_lab"
        child = root.add_subfolder("child")
        grandchild = child.add_subfolder("grandchild")
        assert {f.name for f in root.get_subfolders()} == {"child"}
        grandchild.move_to(root)
        assert grandchild.parent is not None and grandchild.parent.id == root.id
        child.name = "renamed"
        assert wk.RemoteFolder.get_by_id(child.id).name == "renamed"
        with pytest.raises(Exception):
            root.add_subfolder("renamed")  # names are unique among siblings
        with pytest.raises(Exception):
            root.delete()  # the root folder stays
        grandchild.delete()
        assert {f.name for f in root.get_subfolders()} == {"renamed"}
        assert L4_ID in {d.dataset_id for d in root.get_datasets().values()}


def test_a_folder_of_another_organization_is_readable_only_above_a_readable_dataset(sb: Sandbox) -> None:
    """FolderDAO.rawAccessQ (breadcrumbs for a dataset): the folders holding a dataset you can read
    (here partner_lab's public one) and their ancestors; no other folder of that organization."""
    partner_root = "66e1c3a2b7f0d94e1a2bf002"  # partner_lab's public dataset lies there
    mine, theirs = {"X-Auth-Token": sb.token}, {"X-Auth-Token": "wkgt-sandbox-token-outsider"}
    empty = httpx.post(f"{sb.url}/api/v12/folders/create", params={"parentId": partner_root, "name": "empty"}, headers=theirs)
    assert empty.status_code == 200
    answer = httpx.get(f"{sb.url}/api/v12/folders/{partner_root}", headers=mine)
    assert answer.status_code == 200 and answer.json()["name"] == "partner_lab" and answer.json()["isEditable"] is False
    assert httpx.get(f"{sb.url}/api/v12/folders/{empty.json()['id']}", headers=mine).status_code == 404
    assert httpx.put(f"{sb.url}/api/v12/folders/{partner_root}", json={"name": "x", "allowedTeams": []}, headers=mine).status_code == 404
    assert partner_root not in {f["id"] for f in httpx.get(f"{sb.url}/api/v12/folders/tree", headers=mine).json()}


def test_dataset_settings(sb: Sandbox) -> None:
    with _context(sb):
        remote = wk.RemoteDataset.open(dataset_id=L4_ID)
        remote.description = "described"
        remote.tags = ("a", "b")
        remote.is_public = True
        assert remote.get_layer("color").view_configuration.alpha == 100
        again = wk.RemoteDataset.open(dataset_id=L4_ID)
        assert (again.description, again.tags, again.is_public) == ("described", ("a", "b"), True)
        team = wk.Team.get_by_name("annotators")
        again.allowed_teams = [team]
        assert [t.name for t in wk.RemoteDataset.open(dataset_id=L4_ID).allowed_teams] == ["annotators"]
    headers = {"X-Auth-Token": sb.token}
    update = f"{sb.url}/api/v16/datasets/{L4_ID}/updatePartial"
    assert httpx.patch(update, json={"folderId": "0" * 24}, headers=headers).status_code == 404
    assert httpx.patch(update, json={"name": "x"}).status_code == 401
    assert httpx.delete(f"{sb.url}/api/v16/datasets/{L4_ID}", headers=headers).status_code == 200
    assert httpx.get(f"{sb.url}/api/v16/datasets/{L4_ID}", headers=headers).status_code == 404
