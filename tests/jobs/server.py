"""Arranging a sandbox's world over its HTTP API, as a lab would: folders, tags, painted and
finished annotations (the unmodified SDK builds and uploads them)."""

from __future__ import annotations

import contextlib
import io
import tempfile
import warnings
from collections.abc import Collection
from pathlib import Path
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


_PAINTED: dict[tuple[Any, ...], Path] = {}
"""Annotations painted so far (saved with the SDK), by dataset and painted boxes: the SDK paints
one 32³ chunk at a time (~20 ms each), so each set of boxes is painted once per test session."""
_SAVED = tempfile.TemporaryDirectory(prefix="wkgt-tests-painted-")


def _overlap(a: tuple[Any, Any], b: tuple[Any, Any]) -> bool:
    return all(ta < tb + sb and tb < ta + sa for ta, sa, tb, sb in zip(a[0], a[1], b[0], b[1]))


def _painted_volume(dataset: str, voxel_size: tuple[float, ...], boxes: Boxes, keep_clear: Boxes = ()) -> Path:
    """An annotation file whose ``ground_truth`` layer labels every voxel of ``boxes`` (two
    labels, split along x) and none of ``keep_clear``, painted with the SDK's volume editing
    (or one painted before that labels more boxes, none of them overlapping ``keep_clear``)."""
    import webknossos as wk

    wanted = {(t, s) for _, t, s in boxes}
    clear = [(t, s) for _, t, s in keep_clear]
    for (name, done), path in _PAINTED.items():
        if name == dataset and wanted <= set(done) and not any(_overlap(p, c) for p in done for c in clear):
            return path
    key = (dataset, tuple((t, s) for _, t, s in boxes))
    if key not in _PAINTED:
        annotation = wk.Annotation("painted", dataset_name=dataset, voxel_size=voxel_size, organization_id=ORG)
        volume = annotation.add_volume_layer("ground_truth", dtype="uint32")
        if boxes:
            with volume.edit() as segmentation:  # small shards: the SDK's default (1024³) takes a minute to write
                mag = segmentation.add_mag(1, chunk_shape=32, shard_shape=32)
                for _, topleft, size in boxes:
                    labels = np.full(size, 7, dtype="uint32")
                    labels[size[0] // 2 :] = 8
                    mag.write(labels, absolute_offset=topleft, allow_resize=True, allow_unaligned=True)  # one writer
        path = Path(_SAVED.name) / f"{len(_PAINTED)}.zip"
        annotation.save(path)
        _PAINTED[key] = path
    return _PAINTED[key]


def upload_painted(
    sb: Any, name: str, boxes: Boxes, *, dataset: str = "l4_sample", finished: bool = True, unpainted: Collection[str] = ()
) -> str:
    """An annotation on ``dataset`` (of the sandbox's organization) with ``boxes`` and a
    ``ground_truth`` volume layer in which every box is painted densely except those named in
    ``unpainted``; uploaded with the SDK and (by default) finished. Returns its URL."""
    import webknossos as wk

    [found] = [d for d in sb.state.datasets.values() if d.name == dataset and d.organization == ORG]
    voxel_size = tuple(found.json["dataSource"]["scale"]["factor"])
    # the SDK prints progress bars on stdout while it compresses and uploads
    with wk.webknossos_context(url=sb.url, token=sb.token), contextlib.redirect_stdout(io.StringIO()):
        painted = _painted_volume(
            dataset, voxel_size, [b for b in boxes if b[0] not in unpainted], [b for b in boxes if b[0] in unpainted]
        )
        with warnings.catch_warnings():  # the SDK's note that an empty volume layer holds no data
            warnings.simplefilter("ignore")
            annotation = wk.Annotation.load(painted)
        annotation.name = name
        annotation.dataset_id = found.id
        annotation.user_bounding_boxes = [wk.BoundingBox(t, s).with_name(n) for n, t, s in boxes]
        url = annotation.upload()
    if finished:
        finish(sb, url.rstrip("/").rsplit("/", 1)[-1])
    return url


def box_row(prefix: str, y: int, count: int = 3) -> list[tuple[str, tuple[int, int, int], tuple[int, int, int]]]:
    """``count`` boxes of 170×170×64 in a row at height ``y`` of l4_sample."""
    return [(f"{prefix}{i}", (3200 + 180 * i, y, 600), (170, 170, 64)) for i in range(count)]


def _blob(topleft: tuple[int, ...], size: tuple[int, ...], edge: int = 32) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A cube of up to ``edge`` voxels inside the box, on the 32-voxel chunk grid where it fits
    (the SDK's volume editing costs ~20 ms per chunk touched)."""
    start, extent = [], []
    for t, s in zip(topleft, size):
        n = min(edge, s)
        aligned = -(-t // 32) * 32
        start.append(aligned if aligned + n <= t + s else t)
        extent.append(n)
    return tuple(start), tuple(extent)


def paint_copy(sb: Any, annotation_id: str, *, finished: bool = True) -> str:
    """What a lab does in WEBKNOSSOS, done with the SDK (the sandbox has no volume editing):
    download the annotation, paint one object (label i + 1) into each of its user boxes (a 32³
    cube: a neuron box painted this little gets "partly-painted"), keeping the ground-truth
    layer's name and fallback, and upload it as a new annotation with the same description (run
    key); it is finished by default, the original stays active. Returns the new annotation's id."""
    import webknossos as wk

    with wk.webknossos_context(url=sb.url, token=sb.token), contextlib.redirect_stdout(io.StringIO()):
        annotation = wk.Annotation.download(annotation_id)
        [name] = annotation.get_volume_layer_names()
        fallback = annotation.get_volume_layer(volume_layer_name=name).fallback_layer_name
        annotation.delete_volume_layer(name)  # downloaded without data (nothing painted yet): start it afresh
        volume = annotation.add_volume_layer(name, dtype=np.uint32, fallback_layer=fallback)
        with volume.edit() as layer:
            mag = layer.get_or_add_mag(1, chunk_shape=32, shard_shape=32)  # small shards: quick writes
            for label, box in enumerate(annotation.user_bounding_boxes, 1):
                start, size = _blob(tuple(box.topleft), tuple(box.size))
                mag.write(np.full(size, label, dtype=np.uint32), absolute_offset=start, allow_resize=True, allow_unaligned=True)
        painted = annotation.upload().rstrip("/").rsplit("/", 1)[-1]
    if finished:
        finish(sb, painted)
    return painted
