"""Custom catalogs: a dataset whose voxels come from a local WEBKNOSSOS dataset."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import webknossos as wk

from wkgt_sandbox import run_sandbox
from wkgt_sandbox.catalog import load_catalog


def _catalog_entry(local_path: Path) -> dict:
    layer = {
        "name": "color",
        "elementClass": "uint8",
        "category": "color",
        "dataFormat": "zarr3",
        "resolutions": [[1, 1, 1], [2, 2, 1]],
        "mags": [{"mag": [1, 1, 1], "path": "./color/1"}, {"mag": [2, 2, 1], "path": "./color/2-2-1"}],
        "numChannels": 1,
        "boundingBox": {"topLeft": [40, 50, 6], "width": 100, "height": 70, "depth": 20},
        "sandboxData": {"path": str(local_path), "layer": "color"},
    }
    return {
        "id": "0000000000000000000000aa",
        "name": "local_stack",
        "dataSource": {
            "id": {"name": "local_stack", "team": "my_lab"},
            "dataLayers": [layer],
            "scale": {"factor": [5, 5, 40], "unit": "nanometer"},
        },
        "dataStore": {
            "name": "sandbox",
            "url": "",
            "allowsUpload": False,
            "jobsSupportedByAvailableWorkers": [],
            "jobsEnabled": False,
        },
        "owningOrganization": "my_lab",
        "allowedTeams": [],
        "allowedTeamsCumulative": [],
        "isActive": True,
        "isPublic": True,
        "description": None,
        "directoryName": "local_stack",
        "created": 0,
        "isEditable": True,
        "lastUsedByUser": 0,
        "tags": [],
        "isUnreported": False,
        "folderId": "0000000000000000000000ab",
    }


def test_local_dataset_source(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    voxels = rng.integers(1, 255, size=(100, 70, 20), dtype=np.uint8)
    local = wk.Dataset(tmp_path / "local", voxel_size=(5, 5, 40))
    layer = local.add_layer("color", wk.COLOR_CATEGORY, dtype=np.uint8, data_format=wk.DataFormat.Zarr)
    layer.add_mag(1).write(voxels, absolute_offset=(40, 50, 6), allow_resize=True)
    expected_coarse = voxels[::2, ::2, :]
    layer.add_mag("2-2-1").write(expected_coarse, absolute_offset=(40, 50, 6))
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps([_catalog_entry(tmp_path / "local")]))

    with run_sandbox(catalog=catalog) as sb, wk.webknossos_context(url=sb.url, token=sb.token):
        remote = wk.RemoteDataset.open("local_stack", organization_id="my_lab").get_layer("color")
        assert np.array_equal(remote.get_mag(1).read()[0], voxels)
        assert np.array_equal(remote.get_mag("2-2-1").read()[0], expected_coarse)


def test_default_catalog() -> None:
    datasets = load_catalog()
    assert len({d.id for d in datasets}) == len(datasets)
    assert all(len(d.id) == 24 and int(d.id, 16) >= 0 for d in datasets)
    names = [(d.name, d.organization) for d in datasets]
    assert ("l4_sample", "sandbox_lab") in names and ("partial_tissue", "sandbox_lab") in names
    assert sorted(org for name, org in names if name == "shared_name") == ["partner_lab", "sandbox_lab"]
    assert any(all(layer["category"] != "color" for layer in d.layers) for d in datasets)
    assert all("sandboxData" not in json.dumps(d.json) for d in datasets)
