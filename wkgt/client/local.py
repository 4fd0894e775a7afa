"""Reading a dataset from disk through the SDK (no server)."""

from __future__ import annotations

from pathlib import Path

from ..errors import InvalidInput
from .facts import DatasetFacts, dataset_facts, layer_facts
from .sdk import webknossos


def read_local_dataset(path: Path) -> DatasetFacts:
    """Facts of a local WEBKNOSSOS (wkw/zarr) dataset, through ``webknossos.Dataset``."""
    wk = webknossos()
    try:
        dataset = wk.Dataset.open(path)
    except Exception as err:  # noqa: BLE001 - the SDK raises many kinds on bad folders
        raise InvalidInput(f"cannot open dataset {path}: {err}".splitlines()[0]) from None
    layers = (
        layer_facts(layer.name, layer.category, layer.dtype, layer.bounding_box, layer.mags)
        for layer in dataset.layers.values()
    )
    return dataset_facts(dataset.voxel_size_with_unit, layers, name=dataset.name)
