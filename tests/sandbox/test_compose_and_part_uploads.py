"""Composing datasets in place (`compose/addLayer|addMag|addAttachment`) and adding a mag or an
attachment to an existing dataset (over HTTP, or written to a reserved path): the unmodified SDK as a
user drives it, plain HTTP for the refusals."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import webknossos as wk

from tests.helpers import reset_module_sandbox as sb  # noqa: F401 (the module's sandbox, reset per test)
from wkgt_sandbox import Sandbox

L4_ID = "66e1c3a2b7f0d94e1a2b1001"
DATA = (np.arange(16**3) % 250 + 1).astype(np.uint8).reshape((16, 16, 16))


def _context(sb: Sandbox, role: str = "admin") -> wk.webknossos_context:
    return wk.webknossos_context(url=sb.url, token=sb.tokens[role])


def _local(path: Path, *, segmentation: bool = False) -> wk.Dataset:
    """A 16³ dataset: a color layer with mags 1 and 2, or a segmentation layer with an agglomerate file."""
    ds = wk.Dataset(path, voxel_size=(11.24, 11.24, 28))
    if not segmentation:
        layer = ds.add_layer("color", wk.COLOR_CATEGORY, dtype="uint8", data_format=wk.DataFormat.Zarr3)
        layer.add_mag(1, chunk_shape=32, shard_shape=32).write(DATA, allow_resize=True)
        layer.add_mag(2, chunk_shape=32, shard_shape=32).write(DATA[::2, ::2, ::2])
        return ds
    seg = ds.add_layer("segmentation", wk.SEGMENTATION_CATEGORY, dtype="uint32", largest_segment_id=2, data_format=wk.DataFormat.Zarr3)
    seg.add_mag(1, chunk_shape=32, shard_shape=32).write((DATA % 2 + 1).astype(np.uint32), allow_resize=True)
    graph = wk.AgglomerateGraph()
    graph.add_segment(1, position=wk.Vec3Int(0, 0, 0))
    graph.add_segment(2, position=wk.Vec3Int(1, 0, 0))
    graph.add_affinity_edge(1, 2, affinity=0.5)
    wk.AgglomerateAttachment.create_and_add_to(seg.as_segmentation_layer(), "map_all", graph)
    return ds


def _direct(remote: wk.RemoteDataset) -> wk.RemoteDataset:
    return remote.reopen(access_mode=wk.RemoteAccessMode.DIRECT_PATH)


def test_compose_adds_a_layer_a_mag_and_an_attachment_by_reference(sb: Sandbox, tmp_path: Path) -> None:
    with _context(sb):
        source = _direct(_local(tmp_path / "src").upload(new_dataset_name="compose_src"))
        segments = _direct(_local(tmp_path / "seg", segmentation=True).upload(new_dataset_name="compose_seg"))
        target = _direct(_local(tmp_path / "tgt").upload(new_dataset_name="compose_tgt"))
        added = target.add_layer_as_ref(source.get_layer("color"), new_layer_name="color_ref")
        assert str(added.get_mag(1).path) == str(source.get_layer("color").get_mag(1).path)
        added.delete_mag(2)
        added.add_mag_as_ref(source.get_layer("color").get_mag(2))
        streamed = wk.RemoteDataset.open(dataset_id=target.dataset_id)
        assert set(streamed.get_layer("color_ref").mags) == {wk.Mag(1), wk.Mag(2)}
        np.testing.assert_array_equal(streamed.get_layer("color_ref").get_mag(2).read()[0], DATA[::2, ::2, ::2])
        seg_ref = target.add_layer_as_ref(segments.get_layer("segmentation")).as_segmentation_layer()
        assert [a.name for a in seg_ref.attachments.agglomerates] == ["map_all"]
        seg_ref.attachments.add_attachment_as_ref(
            segments.get_layer("segmentation").attachments.agglomerates[0],
            foreign_layer=segments.get_layer("segmentation"),
            new_name="again",
        )
        names = [a.name for a in _direct(target).get_segmentation_layer("segmentation").attachments.agglomerates]
    assert names == ["map_all", "again"]
    api = f"{sb.url}/api/v16/datasets"
    admin, outsider = {"X-Auth-Token": sb.tokens["admin"]}, {"X-Auth-Token": sb.tokens["outsider"]}
    layer = {"sourceDatasetId": source.dataset_id, "sourceLayerName": "color", "targetLayerName": "more"}
    refused = httpx.post(f"{api}/{target.dataset_id}/compose/addLayer", json={**layer, "targetLayerName": "color_ref"}, headers=admin)
    assert refused.status_code == 400
    assert refused.json()["messages"] == [{"error": "Could not add layer to composed dataset."}, {"chain": "Dataset layers must have unique names."}]
    assert "could not be found" in httpx.post(f"{api}/{target.dataset_id}/compose/addLayer", json={**layer, "sourceDatasetId": "0" * 24}, headers=admin).text
    assert httpx.post(f"{api}/{L4_ID}/compose/addLayer", json=layer, headers=admin).json()["messages"][1]["chain"].startswith("This feature is not available")
    assert httpx.post(f"{api}/{target.dataset_id}/compose/addLayer", json=layer, headers=outsider).status_code == 404  # not readable
    assert httpx.post(f"{api}/{target.dataset_id}/compose/addLayer", json=layer).status_code == 401
    mag = {**layer, "targetLayerName": "color_ref", "sourceMag": [2, 2, 2], "targetMag": [2, 2, 2]}
    assert httpx.post(f"{api}/{target.dataset_id}/compose/addMag", json=mag, headers=admin).json()["messages"][1]["chain"].startswith("Cannot compose dataset: duplicate mag")
    attachment = {"sourceDatasetId": segments.dataset_id, "sourceLayerName": "segmentation", "targetLayerName": "color",
                  "attachmentType": "agglomerate", "sourceAttachmentName": "map_all", "targetAttachmentName": "x"}  # fmt: skip
    assert httpx.post(f"{api}/{target.dataset_id}/compose/addAttachment", json=attachment, headers=admin).json()["messages"][1]["chain"] == (
        "Data layer must be a segmentation layer."
    )


def test_mag_and_attachment_upload_over_http_and_to_a_path(sb: Sandbox, tmp_path: Path) -> None:
    local = _local(tmp_path / "src")
    segments = _local(tmp_path / "seg", segmentation=True)
    with _context(sb):
        remote = _direct(_local(tmp_path / "tgt").upload(new_dataset_name="parts"))
        copied = remote.add_layer("copied", wk.COLOR_CATEGORY, data_format=wk.DataFormat.Zarr3)
        copied.add_mag_as_copy(local.get_layer("color").get_mag(1), transfer_mode=wk.TransferMode.HTTP, extend_layer_bounding_box=True)
        np.testing.assert_array_equal(copied.get_mag(1).read()[0], DATA)
        streamed = wk.RemoteDataset.open(dataset_id=remote.dataset_id).get_layer("copied").get_mag(1).read()[0]
        np.testing.assert_array_equal(streamed, DATA)
        seg_remote = _direct(wk.Dataset.open(tmp_path / "seg").upload(new_dataset_name="parts_seg"))
        agglomerate = segments.get_segmentation_layer("segmentation").attachments.agglomerates[0]
        for name, mode in (("over_http", wk.TransferMode.HTTP), ("to_path", wk.TransferMode.COPY)):
            renamed = wk.AgglomerateAttachment.from_path_and_name(agglomerate.path, name, data_format=agglomerate.data_format)
            seg_remote.get_segmentation_layer("segmentation").attachments.add_attachment_as_copy(renamed, transfer_mode=mode)
        held = _direct(seg_remote).get_segmentation_layer("segmentation").attachments.agglomerates
    assert sorted(a.name for a in held) == ["map_all", "over_http", "to_path"]
    assert all(Path(str(a.path)).is_absolute() and (Path(str(a.path)) / "zarr.json").is_file() for a in held)
    data = f"{sb.url}/data/v16/datasets/upload"
    admin, annotator = {"X-Auth-Token": sb.tokens["admin"]}, {"X-Auth-Token": sb.tokens["annotator"]}
    info = {"uploadId": "u-1", "totalFileCount": 1, "totalFileSizeInBytes": 10}
    mag = {"resumableUploadInfo": info, "datasetId": remote.dataset_id, "layerName": "copied",
           "mag": {"mag": [1, 1, 1], "channelIndex": None, "axisOrder": None}, "overwritePending": True}  # fmt: skip
    conflict = httpx.post(f"{data}/mag/reserveUpload", json=mag, headers=admin)
    assert conflict.status_code == 400 and "conflicts with existing mag" in conflict.text
    assert httpx.post(f"{data}/mag/reserveUpload", json={**mag, "mag": {"mag": [4, 4, 4]}}, headers=annotator).status_code == 403
    assert httpx.post(f"{data}/mag/reserveUpload", json={**mag, "mag": {"mag": [4, 4, 4]}}, headers=admin).status_code == 200
    finish = httpx.post(f"{data}/mag/finishUpload", params={"uploadId": "u-1"}, headers=admin)
    assert finish.status_code == 400 and finish.json()["messages"][0]["error"].startswith("Could not finalize upload")  # nothing arrived
    assert httpx.post(f"{data}/attachment/finishUpload", params={"uploadId": "u-1"}, headers=admin).status_code == 400  # another domain
    api = f"{sb.url}/api/v16/datasets/{seg_remote.dataset_id}"
    to_path = {"layerName": "segmentation", "attachmentName": "to_path", "attachmentType": "agglomerate",
               "attachmentDataformat": "zarr3", "pathPrefix": None}  # fmt: skip
    assert "already exists" in httpx.post(f"{api}/reserveAttachmentUploadToPath", json=to_path, headers=admin).text
    fresh = {**to_path, "attachmentName": "fresh"}
    assert httpx.post(f"{api}/finishAttachmentUploadToPath", json=fresh, headers=admin).status_code == 400  # not reserved
    assert httpx.post(f"{api}/reserveAttachmentUploadToPath", json=fresh, headers=annotator).status_code == 404  # not readable
    path = httpx.post(f"{api}/reserveAttachmentUploadToPath", json=fresh, headers=admin).json()
    assert path.endswith(f"/parts_seg-{seg_remote.dataset_id}/segmentation/agglomerates/fresh")
    assert httpx.post(f"{api}/reserveAttachmentUploadToPath", json=fresh, headers=admin).status_code == 400  # pending


def test_explore_and_add_remote_reads_the_datasource_behind_a_url(sb: Sandbox) -> None:
    box = wk.BoundingBox((3200, 3200, 800), (64, 64, 16))
    with _context(sb):
        folder = wk.RemoteFolder.get_by_path("sandbox_lab")
        remote = wk.RemoteDataset.explore_and_add_remote(f"{sb.url}/data/v9/zarr/sandbox_lab/l4_sample/", "explored_l4", folder=folder)
        assert remote.name == "explored_l4" and set(remote.layers) == {"color", "segmentation"}
        original = wk.RemoteDataset.open(dataset_id=L4_ID).get_layer("color").get_mag("4-4-1").read(absolute_bounding_box=box)
        np.testing.assert_array_equal(remote.get_layer("color").get_mag("4-4-1").read(absolute_bounding_box=box), original)
        assert original.any()
    info = httpx.get(f"{sb.url}/api/v16/datasets/{remote.dataset_id}", headers={"X-Auth-Token": sb.tokens["admin"]}).json()
    assert info["folderId"] == folder.id and info["isVirtual"] and info["directoryName"] == f"explored_l4-{remote.dataset_id}"
    assert info["dataSource"]["dataLayers"][0]["mags"][0]["path"] == f"{sb.url}/data/v9/zarr/sandbox_lab/l4_sample/color/1"
    api = f"{sb.url}/api/v16/datasets/exploreAndAddRemote"
    admin = {"X-Auth-Token": sb.tokens["admin"]}
    body = {"remoteUri": f"{sb.url}/data/v9/zarr/sandbox_lab/l4_sample", "datasetName": "again", "folderId": None, "dataStoreName": None}
    private = {**body, "remoteUri": f"{sb.url}/data/v9/zarr/sandbox_lab/iso_8nm/"}  # the explorer has no token
    assert httpx.post(api, json=private, headers=admin).json()["messages"] == [{"error": "Could not explore remote dataset."}]
    assert httpx.post(api, json={**body, "datasetName": "a/b"}, headers=admin).status_code == 400
    assert httpx.post(api, json={**body, "folderId": "0" * 24}, headers=admin).status_code == 404
    assert httpx.post(api, json=body).status_code == 401
    assert httpx.head(f"{sb.url}/data/v9/zarr/sandbox_lab/no_such_dataset/").status_code == 403


def test_dataset_edits_and_upload_reservations_check_the_requests_user(sb: Sandbox) -> None:
    patch = {"description": "edited"}
    url = f"{sb.url}/api/v16/datasets/{L4_ID}/updatePartial"
    assert httpx.patch(url, json=patch, headers={"X-Auth-Token": sb.tokens["annotator"]}).status_code == 403  # reads, may not edit
    assert httpx.patch(url, json=patch, headers={"X-Auth-Token": sb.tokens["admin"]}).status_code == 200
    reserve = {"resumableUploadInfo": {"uploadId": "u-2", "totalFileCount": 1, "totalFileSizeInBytes": 1},
               "datasetName": "x", "organizationId": "sandbox_lab", "folderId": None}  # fmt: skip
    upload = f"{sb.url}/data/v16/datasets/upload/dataset/reserveUpload"
    assert httpx.post(upload, json=reserve, headers={"X-Auth-Token": sb.tokens["outsider"]}).status_code == 403  # another organization
    assert httpx.post(upload, json=reserve, headers={"X-Auth-Token": sb.tokens["admin"]}).status_code == 200
