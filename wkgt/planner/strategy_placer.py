"""The strategies put together: read what a strategy needs at the analysis mag, place the
training boxes, then the holdout boxes (pure: the layers' readers are handed in).

:func:`strategy_placer` turns :class:`StrategyOptions` and the dataset's layers (each a
:class:`LayerSource`: name, category, mags and a reader of any mag) into the ``placer`` that
:func:`wkgt.planner.plan.make_plan` calls once the box size is known.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import attrs
import numpy as np

from ..errors import InvalidInput, NotFound
from .avoid import gap_voxels
from .focus import ScoreMap, disagreement_scores, place_by_score, segment_error_scores, uncertainty_scores
from .holdout import place_holdout
from .placement import place_boxes
from .strata import StrataMap, cluster_strata, default_strata, place_by_strata, strata_from_labels, stratum_reports, texture_features
from .strategy import Placement, PlacementTask, Placer, StrategyOptions, StrategyReport, analysis_mag, grid_at
from .tissue import foreground_mask, saturation_limits
from .vectors import Vec3, format_mag

CLUSTER_VOXELS_PER_BOX = 8
GridReader = Callable[[Vec3, Vec3, Vec3], np.ndarray]
"""``read(mag, start, shape)``: voxels ``[start, start + shape)`` of ``mag`` as an (x, y, z) array."""


@attrs.frozen
class LayerSource:
    """A layer a strategy may read: name, category (color/segmentation), mags, and its reader."""

    name: str
    category: str
    mags: tuple[Vec3, ...]
    read: GridReader = attrs.field(eq=False, repr=False)


@attrs.frozen
class _Read:
    mag: Vec3
    start: Vec3
    data: np.ndarray = attrs.field(eq=False)


def _read(source: LayerSource, task: PlacementTask, mags: tuple[Vec3, ...] | None = None) -> _Read:
    mag = analysis_mag(task.box_size_mag1, mags or source.mags, task.region)
    start, shape = grid_at(task.region, mag)
    data = np.asarray(source.read(mag, start, shape))
    if data.shape != tuple(shape):
        raise InvalidInput(f"layer {source.name} read as {data.shape} at mag {format_mag(mag)}, expected {shape}")
    return _Read(mag, start, data)


def _usable_voxels(data: np.ndarray, voxel_size_nm: tuple[float, ...], tissue_check: bool) -> np.ndarray:
    """Voxels to cluster: the tissue rule's foreground, or (without the check) all but the padding values."""
    if tissue_check:
        return foreground_mask(data, voxel_size_nm)
    lo, hi = saturation_limits(data.dtype)
    return (data > lo) & (data < hi)


@attrs.frozen
class _StrategyPlacer:
    options: StrategyOptions
    image: LayerSource
    layers: Mapping[str, LayerSource] = attrs.field(eq=False)
    tissue_check: bool = True

    def layer(self, name: str, what: str) -> LayerSource:
        if name not in self.layers:
            raise NotFound(f"{what} {name}: the dataset has no such layer (layers: {', '.join(self.layers) or 'none'})")
        return self.layers[name]

    def strata(self, task: PlacementTask) -> tuple[StrataMap | None, str, str, str, int, tuple[str, ...]]:
        """(map, source, layer, mag, bytes read, warnings) of the strata."""
        options = self.options
        if options.strata_layer:
            source = self.layer(options.strata_layer, "--strata-layer")
            read = _read(source, task)
            labels, ids = strata_from_labels(read.data)
            found = StrataMap(read.mag, read.start, labels, len(ids), ids) if ids else None
            warnings = () if ids else (f"--strata-layer {source.name} holds no labels over the region: no strata",)
            return found, f"labels of {source.name}", source.name, format_mag(read.mag), read.data.nbytes, warnings
        read = _read(self.image, task)
        span = np.asarray(task.box_size_mag1) / np.asarray(read.mag)
        step = max(1, int(span.min() // CLUSTER_VOXELS_PER_BOX))  # features vary over half a box: cluster on a coarser grid
        grid = (slice(None, None, step),) * 3
        voxel_size = tuple(v * m * step for v, m in zip(task.voxel_size_nm, read.mag))
        mask = _usable_voxels(read.data[grid], voxel_size, self.tissue_check)
        k = options.strata or default_strata(task.count)
        bytes_read = read.data.nbytes
        if not mask.any():
            return None, "none", self.image.name, format_mag(read.mag), bytes_read, (
                f"mag {format_mag(read.mag)} of {self.image.name} holds no image data to find strata in: boxes were spread evenly",
            )
        coarse = cluster_strata(texture_features(read.data, span)[(slice(None), *grid)], mask, k, task.seed)
        labels = coarse
        for axis in range(3):
            labels = np.repeat(labels, step, axis=axis)
        labels = np.ascontiguousarray(labels[tuple(slice(0, n) for n in read.data.shape)])
        found = StrataMap(read.mag, read.start, labels, int(labels.max()))
        return found, f"texture of {self.image.name}, k-means with k = {k}", self.image.name, format_mag(read.mag), bytes_read, ()

    def scores(self, task: PlacementTask) -> tuple[ScoreMap, str, str, int]:
        """(map, kind, mag, bytes read) of the focus score."""
        options = self.options
        assert options.focus is not None
        source = self.layer(options.focus, "--focus")
        if options.compare:
            other = self.layer(options.compare, "--compare")
            common = tuple(m for m in source.mags if m in other.mags)
            if not common:
                raise InvalidInput(f"--focus {source.name} and --compare {other.name} share no mag")
            first, second = _read(source, task, common), _read(other, task, common)
            values = disagreement_scores(first.data, second.data)
            return ScoreMap(first.mag, first.start, values), "disagreement", format_mag(first.mag), first.data.nbytes + second.data.nbytes
        read = _read(source, task)
        if source.category == "segmentation":
            values, kind = segment_error_scores(read.data), "segment-errors"
        else:
            values, kind = uncertainty_scores(read.data), "uncertainty"
        return ScoreMap(read.mag, read.start, values), kind, format_mag(read.mag), read.data.nbytes

    def __call__(self, task: PlacementTask) -> Placement:
        options = self.options
        strata: StrataMap | None = None
        source = layer = mag = None
        bytes_read = 0
        warnings: tuple[str, ...] = ()
        if options.needs_strata:
            strata, source, layer, mag, bytes_read, warnings = self.strata(task)
        report = StrategyReport(options.name, layer=layer, mag=mag, strata_source=source)
        if options.name == "focus":
            score_map, kind, focus_mag, read_bytes = self.scores(task)
            what = f"--focus {options.focus}" + (f" against --compare {options.compare}" if options.compare else "")
            placed, threshold = place_by_score(task, score_map, what)
            bytes_read += read_bytes
            report = attrs.evolve(
                report, layer=options.focus, mag=focus_mag, score=kind, compare=options.compare,
                score_threshold=round(threshold, 4), region_mean_score=round(score_map.mean, 4),
            )
        elif options.name == "diverse" and strata is not None:
            placed = place_by_strata(task, strata)
        else:
            placed = Placement(place_boxes(
                task.region, task.box_size_mag1, task.mag, task.voxel_size_nm, task.count, task.seed,
                occupied=task.occupied, gap=task.gap, candidate_filter=task.candidate_filter,
            ))
        train_strata = placed.strata
        if strata is not None and train_strata is None:
            train_strata = strata.majority(placed.corners, task.box_size_mag1)
        holdout, holdout_strata = place_holdout(
            task, placed.corners, train_strata or (), options.holdout, gap_voxels(options.holdout_gap_nm, task.voxel_size_nm), strata
        )
        report = attrs.evolve(
            report,
            bytes_read=bytes_read,
            strata=stratum_reports(strata, train_strata or (), holdout_strata) if strata is not None else (),
            holdout_gap_nm=options.holdout_gap_nm if options.holdout else None,
        )
        return attrs.evolve(
            placed,
            strata=train_strata,
            holdout=holdout,
            holdout_strata=holdout_strata if options.holdout else None,
            report=report,
            warnings=warnings + placed.warnings,
        )


def strategy_placer(
    options: StrategyOptions, image: LayerSource, layers: Mapping[str, LayerSource], *, tissue_check: bool = True
) -> Placer | None:
    """The placer for ``options`` (None for the plain spread without holdout): strata from the
    texture of ``image`` (or the labels of ``--strata-layer``), scores from ``--focus``."""
    options = options.validate()
    if options.name == "spread" and not options.holdout:
        return None
    return _StrategyPlacer(options, image, dict(layers), tissue_check)
