"""Arranging a sandbox's world over its HTTP API, as a lab would: folders, tags, painted and
finished annotations (the unmodified SDK builds and uploads them)."""

from __future__ import annotations

import contextlib
import io
from typing import Any

import httpx
import numpy as np

ORG = "sandbox_lab"


def client(sb: Any, token: str | None = None) -> httpx.Client:
    return httpx.Client(base_url=f"{sb.url}/api/v16", headers={"X-Auth-Token": token or sb.token}, timeout=30)


def organize(sb: Any, folder: str | None, datasets: dict[str, list[str]]) -> str | None:
    """Put the named datasets (name → tags) into a new folder ``folder`` under the root (if given)."""
    with client(sb) as http:
        folder_id = None
        if folder is not None:
            root = http.get("/folders/root").json()["id"]
            folder_id = http.post("/folders/create", params={"parentId": root, "name": folder}).raise_for_status().json()["id"]
        ids = {d["name"]: d["id"] for d in http.get("/datasets", params={"organizationId": ORG}).json()}
        for name, tags in datasets.items():
            body: dict[str, Any] = {"tags": tags}
            if folder_id is not None:
                body["folderId"] = folder_id
            http.patch(f"/datasets/{ids[name]}/updatePartial", json=body).raise_for_status()
    return folder_id


def finish(sb: Any, annotation_id: str, token: str | None = None) -> None:
    """Archive an annotation, as its owner does when the painting is done."""
    with client(sb, token) as http:
        http.patch(f"/annotations/Explorational/{annotation_id}/finish", params={"timestamp": 0}).raise_for_status()


Boxes = list[tuple[str, tuple[int, int, int], tuple[int, int, int]]]


def upload_painted(sb: Any, name: str, boxes: Boxes, *, dataset: str = "l4_sample", finished: bool = True) -> str:
    """An annotation on ``dataset`` (of the sandbox's organization) with ``boxes`` and a
    ``ground_truth`` volume layer holding labels in its first box; uploaded with the SDK and
    (by default) finished. Returns its URL."""
    import webknossos as wk

    [found] = [d for d in sb.state.datasets.values() if d.name == dataset and d.organization == ORG]
    voxel_size = tuple(found.json["dataSource"]["scale"]["factor"])
    # the SDK prints progress bars on stdout while it compresses and uploads
    with wk.webknossos_context(url=sb.url, token=sb.token), contextlib.redirect_stdout(io.StringIO()):
        annotation = wk.Annotation(
            name, dataset_name=dataset, voxel_size=voxel_size, organization_id=ORG,
            user_bounding_boxes=[wk.BoundingBox(t, s).with_name(n) for n, t, s in boxes],
        )
        annotation.dataset_id = found.id
        volume = annotation.add_volume_layer("ground_truth", dtype="uint32")
        with volume.edit() as segmentation:  # small shards: the SDK's default (1024³) takes a minute to write
            labels = np.zeros((64, 64, 16), dtype="uint32")
            labels[8:40, 8:40, 2:12] = 7
            segmentation.add_mag(1, chunk_shape=32, shard_shape=32).write(labels, absolute_offset=boxes[0][1], allow_resize=True)
        url = annotation.upload()
    if finished:
        finish(sb, url.rstrip("/").rsplit("/", 1)[-1])
    return url


def box_row(prefix: str, y: int, count: int = 3) -> list[tuple[str, tuple[int, int, int], tuple[int, int, int]]]:
    """``count`` boxes of 170×170×64 in a row at height ``y`` of l4_sample."""
    return [(f"{prefix}{i}", (3200 + 180 * i, y, 600), (170, 170, 64)) for i in range(count)]
