"""The tissue check on a dataset on disk (webknossos.Dataset): one mag is read, each stored byte once."""

from __future__ import annotations

import numpy as np

from .conftest import run_json


def test_local_dataset_boxes_stay_on_the_written_tissue(tmp_path, capsys):
    from wkgt.client.sdk import webknossos

    wk = webknossos()
    dataset = wk.Dataset(tmp_path / "local_ds", voxel_size=(10, 10, 25))
    layer = dataset.add_layer("color", wk.COLOR_CATEGORY, dtype="uint8")
    layer.bounding_box = wk.BoundingBox((0, 0, 0), (1024, 1024, 256))
    for mag in ("1", "2-2-1"):
        layer.add_mag(mag)
    coarse = layer.add_mag("8-8-2")
    rng = np.random.default_rng(0)
    data = np.clip(rng.normal(140, 30, (128, 128, 128)), 1, 254).astype(np.uint8)
    data[64:] = 0  # tissue only where x < 512 (mag 1)
    coarse.write(data, absolute_offset=(0, 0, 0))
    out = tmp_path / "plan.png"
    code, result, err = run_json(capsys, ["create-boxes", "--dataset", str(tmp_path / "local_ds"), "--dry-run", "--json", "--count", "6", "--preview", str(out)])
    assert code == 0, err
    tissue = result["tissue"]
    assert tissue["mag"] == "8-8-2" and tissue["decoded_bytes"] == tissue["coarse_bytes"] == 128**3
    on_disk = sum(f.stat().st_size for f in (tmp_path / "local_ds" / "color" / "8-8-2").rglob("*") if f.is_file())
    assert 0.5 * on_disk < tissue["bytes_read"] <= on_disk  # the storage bytes, each shard (and its index) once
    assert 0.45 < tissue["foreground_fraction"] <= 0.5
    assert all(box["topleft"][0] + box["size"][0] <= 512 + 0.1 * box["size"][0] for box in result["boxes"])
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
