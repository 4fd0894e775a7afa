"""A synthetic dataset written with the webknossos SDK (four textures, Voronoi cells, a prediction
with injected merges and splits) and a sandbox that serves it over HTTP (one per module)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest

from ...helpers import run_json  # noqa: F401 - re-exported for this folder's tests
from ...synthetic import four_textures, inject_errors, voronoi_cells

SHAPE = (128, 128, 128)
DATASET_ID = "0000000000000000000000c1"
ORG = "sandbox_lab"
NAME = "strata_stack"
BOX = "32,32,32"
PLAN_ARGS = ("--model", "instances", "--mag", "1", "--box-size", BOX, "--count", "8", "--json")


@attrs.frozen(eq=False)
class Synthetic:
    path: Path
    texture: np.ndarray
    truth: np.ndarray
    prediction: np.ndarray
    parts: np.ndarray
    owner: np.ndarray


def write_dataset(path: Path) -> Synthetic:
    import webknossos as wk

    image, texture = four_textures(SHAPE, seed=3)
    truth = voronoi_cells(SHAPE, 24, seed=3)
    prediction, parts, owner = inject_errors(truth, 4, 4, seed=3)
    dataset = wk.Dataset(path, voxel_size=(10, 10, 10))
    for name, category, data in (
        ("color", wk.COLOR_CATEGORY, image),
        ("truth", wk.SEGMENTATION_CATEGORY, truth),
        ("prediction", wk.SEGMENTATION_CATEGORY, prediction),
    ):
        kwargs = {"largest_segment_id": int(data.max())} if category == wk.SEGMENTATION_CATEGORY else {}
        layer = dataset.add_layer(name, category, dtype=data.dtype, data_format=wk.DataFormat.Zarr, **kwargs)
        layer.bounding_box = wk.BoundingBox((0, 0, 0), SHAPE)
        layer.add_mag(1).write(data, absolute_offset=(0, 0, 0))
        layer.add_mag(2).write(data[::2, ::2, ::2], absolute_offset=(0, 0, 0))
    return Synthetic(path, texture, truth, prediction, parts, owner)


def catalog_entry(synthetic: Synthetic) -> dict[str, Any]:
    def layer(name: str, category: str, element: str) -> dict[str, Any]:
        return {
            "name": name,
            "elementClass": element,
            "category": category,
            "dataFormat": "zarr",
            "resolutions": [[1, 1, 1], [2, 2, 2]],
            "mags": [{"mag": [1, 1, 1], "path": f"./{name}/1"}, {"mag": [2, 2, 2], "path": f"./{name}/2"}],
            "numChannels": 1,
            "boundingBox": {"topLeft": [0, 0, 0], "width": SHAPE[0], "height": SHAPE[1], "depth": SHAPE[2]},
            "sandboxData": {"path": str(synthetic.path), "layer": name},
            **({"largestSegmentId": int(synthetic.prediction.max())} if category == "segmentation" else {}),
        }

    return {
        "id": DATASET_ID,
        "name": NAME,
        "dataSource": {
            "id": {"name": NAME, "team": ORG},
            "dataLayers": [layer("color", "color", "uint8"), layer("truth", "segmentation", "uint32"), layer("prediction", "segmentation", "uint32")],
            "scale": {"factor": [10, 10, 10], "unit": "nanometer"},
        },
        "dataStore": {"name": "sandbox", "url": "", "allowsUpload": False, "jobsSupportedByAvailableWorkers": [], "jobsEnabled": False},
        "owningOrganization": ORG,
        "allowedTeams": [],
        "allowedTeamsCumulative": [],
        "isActive": True,
        "isPublic": False,
        "description": None,
        "directoryName": NAME,
        "created": 0,
        "isEditable": True,
        "lastUsedByUser": 0,
        "tags": [],
        "isUnreported": False,
        "folderId": "0000000000000000000000c2",
    }


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Synthetic:
    return write_dataset(tmp_path_factory.mktemp("synthetic") / NAME)


@pytest.fixture(scope="module")
def strata_sandbox(synthetic: Synthetic, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from wkgt_sandbox import run_sandbox

    catalog = tmp_path_factory.mktemp("catalog") / "catalog.json"
    catalog.write_text(json.dumps([catalog_entry(synthetic)]))
    with run_sandbox(catalog=catalog) as sb:
        yield sb


def server_argv(sandbox: Any, *args: str) -> list[str]:
    return ["create-boxes", "--dataset", NAME, "--organization", ORG, "--webknossos-url", sandbox.url, "--token", sandbox.token, *PLAN_ARGS, *args]


def box_slice(box: dict[str, Any]) -> tuple[slice, ...]:
    return tuple(slice(t, t + s) for t, s in zip(box["topleft"], box["size"]))
