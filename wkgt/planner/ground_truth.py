"""Which mags and which bounding box the ground-truth volume layer has (pure).

WEBKNOSSOS offers for training only the mags that both the image layer and the ground-truth
volume layer have (``getIntersectingMagList`` in
``frontend/javascripts/viewer/view/ai_jobs/utils.ts``; none in common is the training dialog's
error "No common magnification found for the selected layers.", ``training_data_validation.ts``).
A volume layer's mags are fixed when it is created, by the tracing store's
``VolumeTracingMags.magsForVolumeTracing`` (``webknossos-tracingstore/.../volume/VolumeTracingMags.scala``):
the fallback segmentation layer's mags when it has one; otherwise the union of all layers' mags,
unless two of them share their largest factor (e.g. 2-2-1 and 2-2-2), then the mags of the
layer with most mags; sorted by largest factor. A task type's ``MagRestrictions`` (``min`` ≤
largest factor ≤ ``max``) trim them.

Its bounding box (the dialog's "outside the ground truth layer", ``getGroundTruthLayerBoundingBox``)
is set on upload by ``AnnotationIOController.adaptPropertiesToFallbackLayer``: the NML's task
bounding box if any, else the fallback layer's box, else the dataset's (the union of its layers).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import attrs

from ..errors import InvalidInput, NotFound
from .placement import Region
from .vectors import Vec3, format_mag


class LayerLike(Protocol):
    """A dataset layer as the rules need it (``wkgt.client.LayerFacts`` is one)."""

    @property
    def name(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def bbox(self) -> Region: ...
    @property
    def mags(self) -> tuple[Vec3, ...]: ...


@attrs.frozen
class MagRestrictions:
    """A task type's mag restrictions: allowed when ``min`` ≤ largest factor ≤ ``max``."""

    min: int | None = None
    max: int | None = None

    def allows(self, mag: Vec3) -> bool:
        return (self.min or 0) <= max(mag) <= (self.max if self.max is not None else 2**31)

    @property
    def any(self) -> bool:
        return self.min is not None or self.max is not None


@attrs.frozen
class GroundTruthLayer:
    """The ground-truth volume layer: its mags, its bounding box (None: unknown) and where both
    came from, in words (e.g. ``"fallback layer 'segmentation'"`` or ``"the tracing store"``)."""

    mags: tuple[Vec3, ...]
    bbox: Region | None
    source: str
    name: str | None = None

    def describe(self) -> str:
        mags = ", ".join(format_mag(m) for m in self.mags) or "none"
        return f"the ground-truth layer's mags ({self.source}): {mags}"


def _union(layers: Sequence[LayerLike]) -> Region:
    lo = tuple(min(layer.bbox.topleft[i] for layer in layers) for i in range(3))
    hi = tuple(max(layer.bbox.end[i] for layer in layers) for i in range(3))
    return Region(lo, tuple(h - low for low, h in zip(lo, hi)))  # type: ignore[arg-type]


def volume_layer_mags(layers: Sequence[LayerLike], fallback: LayerLike | None) -> tuple[Vec3, ...]:
    """``VolumeTracingMags.magsForVolumeTracing``: the mags a new volume layer gets."""
    if fallback is not None:
        mags = list(dict.fromkeys(fallback.mags))
    else:
        union = list(dict.fromkeys(m for layer in layers for m in layer.mags))
        if len({max(m) for m in union}) == len(union):
            mags = union
        else:  # conflicting mags (e.g. 2-2-1 and 2-2-2): the first layer with most mags
            template = max(layers, key=lambda layer: len(layer.mags))
            mags = list(dict.fromkeys(template.mags))
    return tuple(sorted(mags, key=max))


def ground_truth_layer(
    layers: Sequence[LayerLike],
    fallback: LayerLike | None = None,
    *,
    task_box: Region | None = None,
    restrictions: MagRestrictions = MagRestrictions(),
    name: str | None = None,
) -> GroundTruthLayer:
    """The volume layer WEBKNOSSOS creates on this dataset (on ``fallback`` if given)."""
    if not layers:
        raise InvalidInput("the dataset has no layers")
    mags = tuple(m for m in volume_layer_mags(layers, fallback) if restrictions.allows(m))
    source = f"fallback layer {fallback.name!r}" if fallback is not None else "the dataset's layers"
    if restrictions.any:
        source += f", task type mags {restrictions.min or 'any'}–{restrictions.max or 'any'}"
    bbox = task_box or (fallback.bbox if fallback is not None else _union(layers))
    return GroundTruthLayer(mags, bbox, source, name)


def fallback_layer(layers: Sequence[LayerLike], choice: bool | str | None, dataset: str = "the dataset") -> LayerLike | None:
    """The segmentation layer ``--fallback-segmentation [LAYER]`` names: None for no fallback;
    ``True`` or ``""`` for the dataset's only segmentation layer; a name for that layer."""
    if choice is None or choice is False:
        return None
    segmentation = [layer for layer in layers if layer.category == "segmentation"]
    names = ", ".join(layer.name for layer in segmentation)
    if isinstance(choice, str) and choice:
        for layer in segmentation:
            if layer.name == choice:
                return layer
        others = f"its segmentation layers: {names}" if names else "it has no segmentation layer"
        raise NotFound(f"{dataset} has no segmentation layer {choice!r} for --fallback-segmentation; {others}")
    if not segmentation:
        raise NotFound(f"{dataset} has no segmentation layer for --fallback-segmentation")
    if len(segmentation) > 1:
        raise InvalidInput(
            f"{dataset} has {len(segmentation)} segmentation layers ({names}): name one with --fallback-segmentation LAYER"
        )
    return segmentation[0]


def trainable_mags(image_mags: Sequence[Vec3], ground_truth: GroundTruthLayer | None) -> tuple[tuple[Vec3, ...], tuple[str, ...]]:
    """The image layer's mags the ground-truth layer has too, and one reason per mag left out."""
    if ground_truth is None:
        return tuple(image_mags), ()
    kept = tuple(m for m in image_mags if m in ground_truth.mags)
    excluded = tuple(
        f"mag {format_mag(m)}: not among {ground_truth.describe()}" for m in image_mags if m not in ground_truth.mags
    )
    return kept, excluded


def no_common_mag(image_mags: Sequence[Vec3], ground_truth: GroundTruthLayer) -> str:
    """WEBKNOSSOS's error, with both mag lists."""
    image = ", ".join(format_mag(m) for m in image_mags) or "none"
    return f"No common magnification found for the selected layers: the image layer has {image}; {ground_truth.describe()}"
