"""Reading a dataset from disk through the SDK (no server)."""

from __future__ import annotations

from pathlib import Path

from ..errors import InvalidInput
from ..planner.placement import Region
from .facts import DatasetFacts, LayerFacts
from .sdk import webknossos


def read_local_dataset(path: Path) -> DatasetFacts:
    """Facts of a local WEBKNOSSOS (wkw/zarr) dataset, through ``webknossos.Dataset``."""
    wk = webknossos()
    try:
        dataset = wk.Dataset.open(path)
    except Exception as err:  # noqa: BLE001 - the SDK raises many kinds on bad folders
        raise InvalidInput(f"cannot open dataset {path}: {err}".splitlines()[0]) from None
    voxel_size = dataset.voxel_size_with_unit
    layers = tuple(
        LayerFacts(
            name=layer.name,
            category=str(layer.category),
            dtype=str(layer.dtype),
            bbox=Region(tuple(layer.bounding_box.topleft_xyz), tuple(layer.bounding_box.size_xyz)),  # type: ignore[arg-type]
            mags=tuple(tuple(mag.to_tuple()) for mag in layer.mags),  # type: ignore[misc]
        )
        for layer in dataset.layers.values()
    )
    return DatasetFacts(
        name=dataset.name,
        voxel_size=tuple(float(v) for v in voxel_size.factor),  # type: ignore[arg-type]
        voxel_size_unit=str(voxel_size.unit.value),
        voxel_size_nm=tuple(float(v) for v in dataset.voxel_size),  # type: ignore[arg-type]
        layers=layers,
    )
