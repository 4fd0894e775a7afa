"""What wkgt knows about a dataset once it has read it: voxel size, layers, mags, boxes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from ..errors import InvalidInput, NotFound
from ..planner.placement import Region
from ..planner.vectors import Vec3, Vec3f


UINT24 = "uint24"
UINT24_REFUSED = "WEBKNOSSOS cannot train on uint24 layers; choose another color layer with --layer"


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
    is_public: bool | None = None  # None: unknown (a local dataset, a saved plan)

    def layer(self, name: str | None = None) -> LayerFacts:
        """The named layer, or the first color layer WEBKNOSSOS can train on; clear errors otherwise.

        WEBKNOSSOS cannot train on uint24 (RGB) colour layers (``colorLayerMustNotBeUint24Rule``,
        frontend/javascripts/viewer/view/ai_jobs/utils.ts): they are skipped, and refused by name.
        """
        names = ", ".join(f"{layer.name} ({layer.category})" for layer in self.layers) or "none"
        if name is not None:
            for layer in self.layers:
                if layer.name == name:
                    if not layer.mags:
                        raise InvalidInput(f"layer {name!r} of {self.name} lists no mags")
                    if layer.dtype == UINT24:
                        raise InvalidInput(f"layer {name!r} of {self.name} is uint24 (RGB): {UINT24_REFUSED}")
                    return layer
            raise NotFound(f"dataset {self.name} has no layer {name!r}; its layers: {names}")
        colors = [layer for layer in self.layers if layer.category == "color"]
        for layer in colors:
            if layer.dtype != UINT24:
                return layer
        if colors:
            raise InvalidInput(f"dataset {self.name} has only uint24 (RGB) color layers ({names}): {UINT24_REFUSED}")
        raise NotFound(f"dataset {self.name} has no color layer (layers: {names}); choose one with --layer")

    @property
    def bbox(self) -> Region:
        """The union of the layers' boxes: what a new volume layer of the dataset covers."""
        lo = tuple(min(layer.bbox.topleft[i] for layer in self.layers) for i in range(3))
        hi = tuple(max(layer.bbox.end[i] for layer in self.layers) for i in range(3))
        return Region(lo, tuple(h - low for low, h in zip(lo, hi)))  # type: ignore[arg-type]

    def segmentation_layers(self) -> list[LayerFacts]:
        return [layer for layer in self.layers if layer.category == "segmentation"]


def layer_facts(name: str, category: Any, dtype: Any, bounding_box: Any, mags: Iterable[Any]) -> LayerFacts:
    """One layer from the SDK's values (``NDBoundingBox``, ``Mag``s), remote or local alike."""
    return LayerFacts(
        name=name,
        category=str(getattr(category, "value", category)),
        dtype=str(dtype),
        bbox=Region(tuple(int(v) for v in bounding_box.topleft_xyz), tuple(int(v) for v in bounding_box.size_xyz)),  # type: ignore[arg-type]
        mags=tuple(tuple(int(v) for v in mag.to_tuple()) for mag in mags),  # type: ignore[misc]
    )


def dataset_facts(voxel_size: Any, layers: Iterable[LayerFacts], **identity: Any) -> DatasetFacts:
    """A dataset from the SDK's ``VoxelSize`` (factor and unit) and its layers."""
    return DatasetFacts(
        voxel_size=tuple(float(v) for v in voxel_size.factor),  # type: ignore[arg-type]
        voxel_size_unit=str(getattr(voxel_size.unit, "value", voxel_size.unit)),
        voxel_size_nm=tuple(float(v) for v in voxel_size.to_nanometer()),  # type: ignore[arg-type]
        layers=tuple(layers),
        **identity,
    )


def element_class(layer: Any) -> str:
    """WEBKNOSSOS's element class of an SDK layer: its dtype, or ``uint24`` for 3 × uint8 (RGB),
    which the SDK keeps as dtype uint8 with 3 channels."""
    bbox = layer.bounding_box
    axes = list(getattr(bbox, "axes", ()))
    channels = int(bbox.size[axes.index("c")]) if "c" in axes else 1
    dtype = str(layer.dtype)
    return UINT24 if (dtype, channels) == ("uint8", 3) else dtype


def facts_from_properties(properties: Any, **identity: Any) -> DatasetFacts:
    """Facts from the SDK's ``DatasetProperties`` (a server's ``dataSource``)."""
    layers = (
        layer_facts(layer.name, layer.category, element_class(layer), layer.bounding_box, (m.mag for m in layer.mags))
        for layer in properties.data_layers
    )
    return dataset_facts(properties.scale, layers, **identity)
