"""What wkgt knows about a dataset once it has read it: voxel size, layers, mags, boxes."""

from __future__ import annotations

from typing import Any

import attrs

from ..errors import InvalidInput, NotFound
from ..planner.placement import Region
from ..planner.vectors import Vec3, Vec3f


@attrs.frozen
class LayerFacts:
    """One layer: category (color/segmentation), dtype, bounding box (mag-1 voxels), mags."""

    name: str
    category: str
    dtype: str
    bbox: Region
    mags: tuple[Vec3, ...]


@attrs.frozen
class DatasetFacts:
    """A dataset as the planner and the writer need it."""

    name: str
    voxel_size: Vec3f
    voxel_size_unit: str
    voxel_size_nm: Vec3f
    layers: tuple[LayerFacts, ...]
    id: str | None = None
    organization: str | None = None
    directory_name: str | None = None
    server: str | None = None

    def layer(self, name: str | None = None) -> LayerFacts:
        """The named layer, or the first color layer; clear errors otherwise."""
        names = ", ".join(f"{layer.name} ({layer.category})" for layer in self.layers) or "none"
        if name is not None:
            for layer in self.layers:
                if layer.name == name:
                    if not layer.mags:
                        raise InvalidInput(f"layer {name!r} of {self.name} lists no mags")
                    return layer
            raise NotFound(f"dataset {self.name} has no layer {name!r}; its layers: {names}")
        for layer in self.layers:
            if layer.category == "color":
                return layer
        raise NotFound(f"dataset {self.name} has no color layer (layers: {names}); choose one with --layer")

    def segmentation_layers(self) -> list[LayerFacts]:
        return [layer for layer in self.layers if layer.category == "segmentation"]


def facts_from_properties(properties: Any, **identity: Any) -> DatasetFacts:
    """Build facts from the SDK's ``DatasetProperties`` (remote ``dataSource`` or local file)."""
    scale = properties.scale
    layers = []
    for layer in properties.data_layers:
        box = layer.bounding_box
        layers.append(
            LayerFacts(
                name=layer.name,
                category=str(getattr(layer.category, "value", layer.category)),
                dtype=str(layer.dtype),
                bbox=Region(tuple(int(v) for v in box.topleft_xyz), tuple(int(v) for v in box.size_xyz)),  # type: ignore[arg-type]
                mags=tuple(tuple(int(v) for v in m.mag.to_tuple()) for m in layer.mags),  # type: ignore[misc]
            )
        )
    return DatasetFacts(
        voxel_size=tuple(float(v) for v in scale.factor),  # type: ignore[arg-type]
        voxel_size_unit=str(getattr(scale.unit, "value", scale.unit)),
        voxel_size_nm=tuple(float(v) for v in scale.to_nanometer()),  # type: ignore[arg-type]
        layers=tuple(layers),
        **identity,
    )
