"""Routes and state the SDK's own server test suite needs: annotation zarr streaming, uploads to
paths, WKW uploads, coarse mags of unaligned uploads, recorded annotation infos, logged time and
dataset state. The unmodified SDK (plain HTTP for the rules it does not exercise) against the sandbox."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
import webknossos as wk
from webknossos.client.context import _get_api_client

from tests.helpers import reset_module_sandbox as sb  # noqa: F401 (the module's sandbox, reset per test)
from wkgt_sandbox import Sandbox
from wkgt_sandbox.recordings import load_interactions

L4_ID = "66e1c3a2b7f0d94e1a2b1001"
VOLUME_BOX = wk.BoundingBox((3520, 3520, 1024), (40, 36, 20))


def _context(sb: Sandbox, role: str = "admin") -> wk.webknossos_context:
    return wk.webknossos_context(url=sb.url, token=sb.tokens[role])


def _small_dataset(path: Path, data: np.ndarray, offset: tuple[int, int, int] = (0, 0, 0)) -> wk.Dataset:
    ds = wk.Dataset(path, voxel_size=(11.24, 11.24, 28))
    layer = ds.add_layer("color", wk.COLOR_CATEGORY, dtype_per_channel="uint8", data_format=wk.DataFormat.Zarr3)
    layer.add_mag(1, chunk_shape=32, shard_shape=32).write(data, absolute_offset=offset, allow_resize=True)  # small shards: fast
    return ds


def test_annotation_zarr_streaming_serves_volume_data_and_the_dataset(sb: Sandbox) -> None:
    volume = np.zeros(VOLUME_BOX.size, np.uint32)
    volume[5:25, 4:30, 2:12] = 7
    with _context(sb):
        dataset = wk.RemoteDataset.open(dataset_id=L4_ID)
        annotation = wk.Annotation(name="streamed", dataset_name="l4_sample", voxel_size=(11.24, 11.24, 28))
        annotation.organization_id = "sandbox_lab"
        layer = annotation.add_volume_layer(name="cells", dtype=np.uint32)
        with layer.edit() as seg:
            seg.add_mag(1, chunk_shape=32, shard_shape=32).write(volume, absolute_offset=VOLUME_BOX.topleft, allow_resize=True)
        url = annotation.upload()
        remote = wk.Annotation.download(url).get_remote_annotation_dataset()
        assert remote.access_mode == wk.RemoteAccessMode.ZARR_STREAMING
        assert set(remote.layers) == {"color", "segmentation", "cells"}
        read = remote.get_layer("cells").get_mag(1).read(absolute_bounding_box=VOLUME_BOX)[0]
        np.testing.assert_array_equal(read, volume)
        color_box = wk.BoundingBox((3500, 3400, 1000), (32, 32, 8))
        np.testing.assert_array_equal(
            remote.get_layer("color").get_mag(1).read(absolute_bounding_box=color_box),
            dataset.get_layer("color").get_mag(1).read(absolute_bounding_box=color_box),
        )
    annotation_id = url.rstrip("/").rsplit("/", 1)[-1]
    base = f"{sb.url}/data/v15/annotations/zarr/{annotation_id}"
    admin, outsider = {"X-Auth-Token": sb.tokens["admin"]}, {"X-Auth-Token": sb.tokens["outsider"]}
    assert httpx.get(f"{base}/cells/1/0.0.0.0", headers=admin).status_code == 404  # never written
    assert httpx.get(f"{base}/datasource-properties.json", headers=outsider).status_code == 404  # not readable
    assert httpx.get(f"{sb.url}/data/v15/annotations/zarr/{'0' * 24}/datasource-properties.json", headers=admin).status_code == 404


def test_upload_to_paths_and_mag_upload_to_path(sb: Sandbox, tmp_path: Path) -> None:
    data = (np.arange(16**3) % 250 + 1).astype(np.uint8).reshape((16, 16, 16))
    source = _small_dataset(tmp_path / "src", data)
    with _context(sb):
        for mode in (wk.TransferMode.COPY, wk.TransferMode.MOVE_AND_SYMLINK):
            uploaded = source.upload(new_dataset_name="to_paths", transfer_mode=mode)
            np.testing.assert_array_equal(uploaded.get_layer("color").get_mag(1).read()[0], data)
        direct = uploaded.reopen(access_mode=wk.RemoteAccessMode.DIRECT_PATH)
        added = direct.add_layer("copied", wk.COLOR_CATEGORY, data_format=wk.DataFormat.Zarr3)
        added.add_mag_as_copy(source.get_layer("color").get_mag(1), transfer_mode=wk.TransferMode.COPY, extend_layer_bounding_box=True)
        streamed = wk.RemoteDataset.open(dataset_id=uploaded.dataset_id).get_layer("copied").get_mag(1).read()[0]
    np.testing.assert_array_equal(streamed, data)
    api = f"{sb.url}/api/v16/datasets"
    admin = {"X-Auth-Token": sb.tokens["admin"]}
    layer = {"name": "color", "category": "color", "elementClass": "uint8", "dataFormat": "zarr3", "numChannels": 1,
             "boundingBox": {"topLeft": [0, 0, 0], "width": 16, "height": 16, "depth": 16}, "mags": [{"mag": [1, 1, 1]}]}  # fmt: skip
    reserve = {"datasetName": "x", "initialTeamIds": [], "folderId": None, "requireUniqueName": False, "layersToLink": [],
               "dataSource": {"id": {"name": "x", "team": ""}, "dataLayers": [layer], "scale": {"factor": [1, 1, 1], "unit": "nanometer"}}}  # fmt: skip
    assert httpx.post(f"{api}/reserveUploadToPaths", json={**reserve, "pathPrefix": "/elsewhere"}, headers=admin).status_code == 400
    no_layers = {**reserve, "dataSource": {**reserve["dataSource"], "dataLayers": []}}  # type: ignore[dict-item]
    assert httpx.post(f"{api}/reserveUploadToPaths", json=no_layers, headers=admin).status_code == 400
    taken = {**reserve, "datasetName": "to_paths", "requireUniqueName": True}
    assert httpx.post(f"{api}/reserveUploadToPaths", json=taken, headers=admin).status_code == 400
    mag = {"layerName": "color", "mag": [1, 1, 1], "axisOrder": None, "channelIndex": None, "pathPrefix": None, "overwritePending": True}
    dataset_id = uploaded.dataset_id
    assert httpx.post(f"{api}/{dataset_id}/reserveMagUploadToPath", json=mag, headers=admin).status_code == 400  # exists
    fresh = {**mag, "mag": [8, 8, 8]}
    path = httpx.post(f"{api}/{dataset_id}/reserveMagUploadToPath", json=fresh, headers=admin).json()
    assert path.endswith(f"/to_paths-{dataset_id}/color/8")
    annotator = {"X-Auth-Token": sb.tokens["annotator"]}
    assert httpx.post(f"{api}/{dataset_id}/reserveMagUploadToPath", json=fresh, headers=annotator).status_code in (403, 404)
    assert httpx.post(f"{api}/{dataset_id}/finishMagUploadToPath", json=fresh, headers=admin).status_code == 400  # nothing written


def test_wkw_upload_and_coarse_mags_of_an_unaligned_layer(sb: Sandbox, tmp_path: Path) -> None:
    wkw = wk.Dataset(tmp_path / "wkw", voxel_size=(1, 1, 1))
    wkw.add_layer("color", wk.COLOR_CATEGORY, dtype_per_channel="uint8", data_format=wk.DataFormat.WKW).add_mag(1).write(
        np.full((8, 8, 8), 3, np.uint8), allow_resize=True
    )
    properties = json.loads((tmp_path / "wkw" / "datasource-properties.json").read_text())
    layer = properties["dataLayers"][0]
    layer["wkwResolutions"] = [{"resolution": 1, "cubeLength": 1024}]  # the legacy form of older datasets
    layer.pop("mags", None)
    (tmp_path / "wkw" / "datasource-properties.json").write_text(json.dumps(properties))
    data = (np.arange(1000) % 250 + 1).astype(np.uint8).reshape((10, 10, 10))
    unaligned = _small_dataset(tmp_path / "unaligned", data, offset=(3164, 3212, 1017))  # 10³ voxels: not a multiple of 4
    unaligned.get_layer("color").add_mag("4-4-1", chunk_shape=32, shard_shape=32).write(data[::4, ::4, :], absolute_offset=(3164, 3212, 1017))
    with _context(sb):
        remote_wkw = wk.Dataset.open(tmp_path / "wkw").upload(new_dataset_name="legacy_wkw")
        info = _get_api_client().dataset_info(dataset_id=remote_wkw.dataset_id)
        assert all(m.path for layer in info.data_source.data_layers for m in layer.mags)
        remote = unaligned.upload(new_dataset_name="unaligned")
        downloaded = wk.RemoteDataset.open(remote.url).download(path=tmp_path / "down", layers=["color"])
    assert set(downloaded.get_layer("color").mags) == {wk.Mag(1), wk.Mag("4-4-1")}
    for mag in ("1", "4-4-1"):
        np.testing.assert_array_equal(
            downloaded.get_layer("color").get_mag(mag).read(), unaligned.get_layer("color").get_mag(mag).read()
        )


def test_recorded_annotation_info_logged_time_and_dataset_state(recorded_sandbox: Sandbox, recordings: Path) -> None:
    recorded_sandbox.reset()
    infos = [it for it in load_interactions(str(recordings)) if it.path.endswith("/info") and "/annotations/" in it.path]
    recorded = infos[0].response_json()
    with _context(recorded_sandbox):
        client = _get_api_client()
        info = client.annotation_info(annotation_id=recorded["id"])
        assert (info.id, info.typ, info.name) == (recorded["id"], recorded["typ"], recorded["name"])
        me = client.user_current()
        logged = client.user_logged_time(user_id=me.id).logged_time
        assert sum(month.duration_in_seconds for month in logged) > 0
    # changing a recorded dataset's layers keeps its voxels (its mag paths are the recorded server's)
    box = wk.BoundingBox((3584, 3584, 1024), (64, 64, 16))
    with _context(recorded_sandbox):
        l4 = wk.RemoteDataset.open(dataset_id="59e9cfbdba632ac2ab8b23b5")
        before = l4.get_layer("color").get_mag("16-16-4").read(absolute_bounding_box=box)
        l4.get_segmentation_layer("segmentation").largest_segment_id = 10
        after = wk.RemoteDataset.open(dataset_id="59e9cfbdba632ac2ab8b23b5").get_layer("color").get_mag("16-16-4").read(absolute_bounding_box=box)
    assert before.std() > 0
    np.testing.assert_array_equal(after, before)
    recorded_sandbox.reset()
    # l4_sample is served in the state most recordings that read it start from
    firsts: dict[str, dict] = {}
    for it in load_interactions(str(recordings)):
        if it.method == "GET" and it.status == 200 and it.path.endswith("/datasets/59e9cfbdba632ac2ab8b23b5"):
            firsts.setdefault(it.file, it.response_json())
    usual = Counter(json.dumps(a["metadata"], sort_keys=True) for a in firsts.values()).most_common(1)[0][0]
    served = httpx.get(f"{recorded_sandbox.url}/api/v16/datasets/59e9cfbdba632ac2ab8b23b5", headers={"X-Auth-Token": recorded_sandbox.token}).json()
    assert json.dumps(served["metadata"], sort_keys=True) == usual


def test_dataset_update_sets_metadata_as_the_sdk_writes_it(recorded_sandbox: Sandbox) -> None:
    recorded_sandbox.reset()
    with _context(recorded_sandbox):
        ds = wk.RemoteDataset.open("l4_sample", organization_id="Organization_X")
        before = len(ds.metadata)
        ds.metadata["species_count"] = 42  # PATCH /datasets/{id} with the whole dataset object
        ds.metadata["labels"] = ["a", "b"]
        again = wk.RemoteDataset.open("l4_sample", organization_id="Organization_X")
        assert (again.metadata["species_count"], again.metadata["labels"], len(again.metadata)) == (42, ["a", "b"], before + 2)
    url = f"{recorded_sandbox.url}/api/v16/datasets/59e9cfbdba632ac2ab8b23b5"
    headers = {"X-Auth-Token": recorded_sandbox.token}
    current = httpx.get(url, headers=headers).json()
    twice = [{"key": "k", "type": "string", "value": "a"}, {"key": "k", "type": "string", "value": "b"}]
    assert httpx.patch(url, json={**current, "metadata": twice}, headers=headers).status_code == 400
    assert httpx.patch(url, json={**current, "description": None}, headers=headers).json()["description"] is None
    recorded_sandbox.reset()
