"""The unmodified webknossos SDK against the sandbox's default catalog, over real HTTP."""

from __future__ import annotations

import numpy as np
import pytest
import webknossos as wk

from wkgt_sandbox import Sandbox, run_sandbox

L4_ID = "66e1c3a2b7f0d94e1a2b1001"
ORG = "sandbox_lab"


def _check_l4(ds: wk.RemoteDataset) -> None:
    assert ds.voxel_size == pytest.approx((11.24, 11.24, 28.0))
    assert sorted(ds.layers) == ["color", "segmentation"]
    color = ds.get_layer("color")
    assert color.dtype == np.uint8
    assert color.bounding_box == wk.BoundingBox((3072, 3072, 512), (1024, 1024, 1024))
    assert sorted(m.to_layer_name() for m in color.mags) == sorted(["1", "2-2-1", "4-4-1", "8-8-2", "16-16-4"])
    assert ds.get_layer("segmentation").dtype == np.uint32


def test_open_by_name_id_and_url(sandbox: Sandbox) -> None:
    with wk.webknossos_context(url=sandbox.url, token=sandbox.token):
        _check_l4(wk.RemoteDataset.open("l4_sample", organization_id=ORG))
        _check_l4(wk.RemoteDataset.open("l4_sample"))  # organization of the current user
        _check_l4(wk.RemoteDataset.open(dataset_id=L4_ID))
        _check_l4(wk.RemoteDataset.open(f"{sandbox.url}/datasets/l4_sample-{L4_ID}/view#3584,3584,1024,0,1.3"))
    paths = [e.path for e in sandbox.state.request_log]
    assert "/api/v16/datasets" in paths
    assert f"/data/v15/zarr/{L4_ID}/datasource-properties.json" in paths


def test_anisotropic_and_isotropic_metadata(sandbox: Sandbox) -> None:
    with wk.webknossos_context(url=sandbox.url, token=sandbox.token):
        aniso = wk.RemoteDataset.open("aniso_4x4x35", organization_id=ORG)
        iso = wk.RemoteDataset.open("iso_8nm", organization_id=ORG)
        seg_only = wk.RemoteDataset.open("segmentation_only", organization_id=ORG)
    assert aniso.voxel_size == (4.0, 4.0, 35.0)
    assert list(aniso.layers) == ["color"]
    assert aniso.get_layer("color").bounding_box.size.to_tuple() == (8192, 8192, 512)
    assert iso.voxel_size == (8.0, 8.0, 8.0)
    assert sorted(m.to_layer_name() for m in iso.get_layer("color").mags) == ["1", "16", "2", "4", "8"]
    assert [layer.category for layer in seg_only.layers.values()] == ["segmentation"]


def test_read_generated_coarse_mag(sandbox: Sandbox) -> None:
    with wk.webknossos_context(url=sandbox.url, token=sandbox.token):
        mag = wk.RemoteDataset.open(dataset_id=L4_ID).get_layer("color").get_mag("16-16-4")
        data = mag.read()[0]
        again = mag.read()[0]
    assert data.shape == (64, 64, 256)
    assert np.array_equal(data, again)
    assert data.min() > 0 and data.std() > 10  # EM-like texture inside the bounding box, not flat


def test_partial_tissue_is_partly_black(sandbox: Sandbox) -> None:
    with wk.webknossos_context(url=sandbox.url, token=sandbox.token):
        data = (
            wk.RemoteDataset.open("partial_tissue", organization_id=ORG).get_layer("color").get_mag("16-16-4").read()[0]
        )
    tissue = float((data > 0).mean())
    assert 0.3 < tissue < 0.7


def test_generated_data_is_deterministic_across_servers() -> None:
    reads = []
    for _ in range(2):
        with run_sandbox() as sb, wk.webknossos_context(url=sb.url, token=sb.token):
            layer = wk.RemoteDataset.open(dataset_id=L4_ID).get_layer("color")
            reads.append(layer.get_mag("8-8-2").read(absolute_offset=(3072, 3072, 512), size=(256, 256, 64)))
    assert np.array_equal(reads[0], reads[1])


def test_annotation_boxes_round_trip(sandbox: Sandbox) -> None:
    boxes: list[wk.NDBoundingBox] = [
        wk.BoundingBox((3100, 3200, 600), (256, 256, 64))
        .with_name("train_0")
        .with_color((1.0, 0.0, 0.0, 1.0))
        .with_is_visible(True),
        wk.BoundingBox((3500, 3300, 700), (128, 128, 32))
        .with_name("train_1")
        .with_color((0.0, 0.5, 1.0, 1.0))
        .with_is_visible(False),
    ]
    annotation = wk.Annotation(
        name="wkgt_boxes",
        dataset_name="l4_sample",
        voxel_size=(11.24, 11.24, 28),
        organization_id=ORG,
        description="ground truth boxes",
        user_bounding_boxes=boxes,
    )
    annotation.dataset_id = L4_ID
    annotation.add_volume_layer("Volume", dtype=np.uint32)
    with wk.webknossos_context(url=sandbox.url, token=sandbox.token):
        url = annotation.upload()
        annotation_id = url.rsplit("/", 1)[-1]
        back = wk.Annotation.download(url)
        remote = wk.AnnotationInfo.get_remote_annotations()
    stored = sandbox.state.annotations[annotation_id]
    assert stored.dataset_id == L4_ID and stored.description == "ground truth boxes"
    assert [v["name"] for v in stored.volume_layers] == ["Volume"]
    assert [(b.name, b.color, b.is_visible) for b in back.user_bounding_boxes] == [
        (b.name, b.color, b.is_visible) for b in boxes
    ]
    assert back.user_bounding_boxes == boxes
    assert list(back.get_volume_layer_names()) == ["Volume"]
    assert back.dataset_id == L4_ID
    assert [a.id for a in remote] == [annotation_id]


def test_tasks_with_bounding_boxes_are_listed(sandbox: Sandbox) -> None:
    with wk.webknossos_context(url=sandbox.url, token=sandbox.token):
        task_type = wk.TaskType.get_list()[0]
        project = wk.Project.get_by_name("sandbox_project")
        created = []
        for i in range(3):
            box = wk.BoundingBox((3100 + 200 * i, 3200, 600), (128, 128, 32))
            created += wk.Task.create(
                task_type_id=task_type,
                project_name=project,
                needed_experience_domain="training_boxes",
                needed_experience_value=1,
                starting_position=box.topleft + box.size // 2,
                dataset_id=L4_ID,
                bounding_box=box,
            )
        listed = project.get_tasks()
        all_tasks = wk.Task.get_list()
        by_id = wk.Task.get_by_id(created[0].task_id)
    assert {t.task_id for t in listed} == {t.task_id for t in created} == {t.task_id for t in all_tasks}
    assert sorted(t.bounding_box.topleft.x for t in listed if t.bounding_box) == [3100, 3300, 3500]
    assert by_id.bounding_box == wk.BoundingBox((3100, 3200, 600), (128, 128, 32))
    assert len(sandbox.state.tasks) == 3


def test_task_from_annotation_files(sandbox: Sandbox) -> None:
    base = wk.Annotation(name="base", dataset_name="l4_sample", voxel_size=(11.24, 11.24, 28), organization_id=ORG)
    base.dataset_id = L4_ID
    with wk.webknossos_context(url=sandbox.url, token=sandbox.token):
        tasks = wk.Task.create_from_annotations(
            task_type_id=wk.TaskType.get_list()[0],
            project_name="sandbox_project",
            base_annotations=[base],
            needed_experience_domain="training_boxes",
            needed_experience_value=1,
            bounding_box=wk.BoundingBox((3100, 3200, 600), (64, 64, 16)),
        )
    assert len(tasks) == 1 and tasks[0].dataset_id == L4_ID
    assert [a.task_id for a in sandbox.state.annotations.values()] == [tasks[0].task_id]


def test_server_too_old_for_the_sdk() -> None:
    with (
        run_sandbox(api_version=12) as sb,
        wk.webknossos_context(url=sb.url, token=sb.token),
        pytest.raises(RuntimeError, match="client supports 13 to 16"),
    ):
        wk.RemoteDataset.open(dataset_id=L4_ID)
