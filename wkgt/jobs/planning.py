"""The planning step of a job: score the coarse mag for tissue, place the boxes, check the plan.

Glue between the pure pieces (:mod:`wkgt.planner.tissue`, :func:`wkgt.planner.make_plan`,
:func:`wkgt.planner.check.check_boxes`), the readers of :mod:`wkgt.client.imagery` and the
executors of :mod:`wkgt.jobs.distribute`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from ..client.facts import DatasetFacts, LayerFacts
from ..errors import InvalidInput, WkgtError
from ..planner.check import check_boxes
from ..planner.ground_truth import GroundTruthLayer
from ..planner.mag_choice import finest_first
from ..planner.placement import Region
from ..planner.plan import (
    AvoidedBox,
    Plan,
    PlanOptions,
    PlanRequest,
    TissueReport,
    box_size_mag1,
    make_plan,
    planning_region,
)
from ..planner.strategy import Placer
from ..planner.tissue import (
    DEFAULT_CHUNK_VOXELS,
    DEFAULT_MIN_TISSUE,
    TissueMap,
    TissueRead,
    choose_tissue_read,
    format_bytes,
    score_region,
)
from ..planner.vectors import Vec3, format_mag
from ..writer.preview import render_preview
from .distribute import Distribution, executor_for

DEFAULT_TISSUE_BUDGET = 1 << 30  # bytes: a quarter of what a 2-core/8 GB laptop has free


@attrs.frozen
class TissueOptions:
    """The tissue check: on/off, the foreground share a box needs, the memory it may use
    (``budget_bytes``: decides the mag read), and the piece size of the scoring."""

    check: bool = True
    min_tissue: float = DEFAULT_MIN_TISSUE
    chunk_voxels: int = DEFAULT_CHUNK_VOXELS
    budget_bytes: int = DEFAULT_TISSUE_BUDGET

    def validate(self) -> TissueOptions:
        if not 0 < self.min_tissue <= 1:
            raise InvalidInput(f"--min-tissue must be in (0, 1], got {self.min_tissue:g}")
        if self.chunk_voxels < 8:
            raise InvalidInput(f"the tissue chunk size must be at least 8 voxels, got {self.chunk_voxels}")
        if self.budget_bytes < 128 << 20:
            raise InvalidInput(f"--tissue-budget must be at least 128 MiB, got {format_bytes(self.budget_bytes)}")
        return self


def score_tissue(
    reader: Any,
    mag: Vec3,
    region: Region,
    voxel_size_nm: Sequence[float],
    options: TissueOptions,
    distribution: Distribution,
    box_size_mag1: Sequence[int] | None = None,
) -> tuple[TissueMap, int]:
    """Score ``mag`` over ``region`` (on the chosen executor): the map and the bytes read from
    storage (response bodies, file reads; the decoded size for in-memory readers). Reading
    errors become one line."""
    from ..client.imagery import bytes_transferred, read_error

    box_voxels = [b / m for b, m in zip(box_size_mag1, mag)] if box_size_mag1 is not None else None
    counted = bool(getattr(reader, "counts_storage_bytes", False))
    before = bytes_transferred() if counted else 0
    try:
        with executor_for(distribution) as executor:
            tissue = score_region(
                reader,
                mag,
                region.topleft,
                region.size,
                voxel_size_nm,
                executor=executor,
                workers=distribution.jobs,
                chunk=options.chunk_voxels,
                box_voxels=box_voxels,
            )
    except WkgtError:
        raise
    except Exception as err:  # noqa: BLE001 - tensorstore, timeouts and executor failures of many kinds
        raise read_error(f"reading mag {format_mag(mag)} for the tissue check", err) from None
    return tissue, (bytes_transferred() - before if counted else tissue.bytes_read)


def plan_boxes(
    request: PlanRequest,
    *,
    reader: Any | None = None,
    tissue_mag: Vec3 | None = None,
    itemsize: int = 1,
    options: TissueOptions = TissueOptions(),
    distribution: Distribution = Distribution(),
    avoided: Sequence[AvoidedBox] = (),
    gap: int = 0,
    placer: Placer | None = None,
) -> tuple[Plan, TissueMap | None]:
    """``make_plan`` with boxes kept on tissue and clear of ``avoided`` boxes by ``gap`` mag-1 voxels.

    The check runs when a ``reader`` is given and the check is on: at ``tissue_mag`` if given,
    else at the mag :func:`~wkgt.planner.tissue.choose_tissue_read` picks for the box size and
    the budget (``reader.at(mag)`` reads it; ``itemsize``: bytes per voxel of the layer).
    ``placer`` is the strategy (:mod:`wkgt.jobs.strategies`).
    """
    options = options.validate()
    occupied = [(box.topleft, box.size) for box in avoided]
    tissue: TissueMap | None = None
    read: TissueRead | None = None
    stored = 0
    box = box_size_mag1(request) if options.check and reader is not None else None
    if box is not None:
        region = planning_region(request)
        if tissue_mag is not None:
            read = TissueRead(tuple(tissue_mag), region.topleft, region.size, "given")  # type: ignore[arg-type]
        else:
            read = choose_tissue_read(request.mags, box, region.topleft, region.size, itemsize, options.budget_bytes)
            reader = reader.at(read.mag) if hasattr(reader, "at") else reader
            if read.sampled:
                request = request.with_options(roi=Region(read.topleft, read.size), margin=0)
        tissue, stored = score_tissue(
            reader, read.mag, Region(read.topleft, read.size), request.voxel_size_nm, options, distribution, box
        )
        coarser = [m for m in finest_first(request.mags) if math.prod(m) > math.prod(read.mag)]
        while tissue_mag is None and tissue.padding_fraction >= 1.0 and coarser and hasattr(reader, "at"):
            empty, mag = format_mag(read.mag), coarser.pop(0)  # unwritten (not downsampled) mag: try a coarser one
            read = attrs.evolve(read, mag=mag, reason=f"mag {empty} reads as empty (all 0), so the next coarser one")
            more, stored_more = score_tissue(
                reader.at(mag), mag, Region(read.topleft, read.size), request.voxel_size_nm, options, distribution, box
            )
            tissue, stored = more, stored + stored_more
    skipped = tissue is not None and tissue.padding_fraction >= 1.0  # nothing but 0s: no image data to judge
    tissue_map = tissue

    def on_tissue(box_mag1: Vec3, mag: Vec3) -> Any:
        assert tissue_map is not None
        return tissue_map.candidate_filter(box_mag1, options.min_tissue)

    try:
        plan = make_plan(
            request, occupied=occupied, gap=gap, filter_for_box=on_tissue if tissue is not None and not skipped else None,
            earlier=avoided,
            placer=placer,
        )
    except InvalidInput as err:
        if tissue is None or skipped or "usable ground" not in str(err):
            raise
        raise InvalidInput(
            f"{err}; usable means at least {options.min_tissue:.0%} tissue (the region is "
            f"{tissue.foreground_fraction:.0%} tissue): lower --count or --min-tissue, shrink the boxes, "
            "or pass --no-tissue-check"
        ) from None
    report = None
    warnings = plan.warnings
    if tissue is not None and read is not None:
        corners = np.array([b.topleft for b in plan.boxes]).reshape(-1, 3)
        fractions = tissue.fractions(corners, plan.box_size_mag1)
        report = TissueReport(
            mag=format_mag(tissue.mag),
            bytes_read=int(stored),
            coarse_bytes=tissue.coarse_bytes,
            foreground_fraction=round(tissue.foreground_fraction, 4),
            min_tissue=options.min_tissue,
            box_fractions=tuple(round(float(f), 4) for f in fractions),
            checked=not skipped,
            decoded_bytes=tissue.bytes_read,
            mag_reason=read.reason,
            budget_bytes=options.budget_bytes,
            sampled=read.sampled,
        )
        if read.sampled:
            warnings += (f"tissue check: {read.reason} (--roi chooses another part)",)
    if skipped:
        assert tissue is not None
        warnings += (
            (
                f"mag {format_mag(tissue.mag)} reads as empty (all 0) over the region: no image data to find the "
                "tissue in, so the boxes were placed without the tissue check"
            ),
        )
    return attrs.evolve(plan, tissue=report, avoided=tuple(avoided), warnings=warnings), tissue


PLANNER_WARNS_ALREADY = frozenset(
    {"total-volume", "few-boxes", "few-voxels", "not-multiple", "not-multiple-of-minimum", "not-em-like"}
)
ALONE_FAILS = frozenset({"too-few-boxes"})
"""Errors of a training run, not of one annotation: later rounds may join it (kept as warnings)."""


def plan_layer(
    facts: DatasetFacts,
    layer: LayerFacts,
    options: PlanOptions,
    tissue: TissueOptions,
    distribution: Distribution,
    reader: Any | None,
    preview: Path | None,
    avoided: Sequence[AvoidedBox] = (),
    gap: int = 0,
    ground_truth: GroundTruthLayer | None = None,
    placer: Placer | None = None,
) -> Plan:
    """Plan boxes on ``layer`` (on tissue where ``reader`` reads it, at the mag the box size and
    the budget choose; clear of ``avoided``; at a mag ``ground_truth`` has), check the plan, and draw
    it into ``preview``."""
    plan, tissue_map = plan_boxes(
        options.request(facts.voxel_size_nm, layer.mags, layer.bbox, ground_truth),
        reader=reader,
        itemsize=itemsize_of(layer.dtype),
        options=tissue,
        distribution=distribution,
        avoided=avoided,
        gap=gap,
        placer=placer,
    )
    plan = checked(plan, facts, layer, options, ground_truth)
    if preview is not None:
        render_preview(plan, preview, tissue_map)
    return plan


def itemsize_of(dtype: str) -> int:
    try:
        return int(np.dtype({"float": "float32", "double": "float64"}.get(dtype, dtype)).itemsize)
    except TypeError:
        return 1


def checked(
    plan: Plan, facts: DatasetFacts, layer: LayerFacts, options: PlanOptions, ground_truth: GroundTruthLayer | None = None
) -> Plan:
    """Run ``wkgt check``'s rules (the same rule set, the ground-truth layer's mags and box) on a
    plan: refuse one with errors, keep the new warnings. Too few boxes fail only a training run
    of this annotation alone: a warning here."""
    report = check_boxes(
        plan.boxes,
        voxel_size_nm=facts.voxel_size_nm,
        mag=plan.mag_vec,
        available_mags=layer.mags,
        dataset_bbox=layer.bbox,
        volume_bbox=ground_truth.bbox if ground_truth is not None else None,
        model=plan.model,
        object_size_nm=options.object_size_nm,
        min_voxel_size_nm=options.min_voxel_size_nm,
        rules=options.rule_set,
        ground_truth_mags=ground_truth.mags if ground_truth is not None else None,
    )
    errors = [f for f in report.errors if f.code not in ALONE_FAILS]
    if errors:
        raise InvalidInput(f"the plan fails the training check, nothing written: {errors[0].message}")
    extra = tuple(
        f.message for f in (*report.warnings, *report.errors) if f.code not in PLANNER_WARNS_ALREADY and f not in errors
    )
    return attrs.evolve(plan, warnings=plan.warnings + extra) if extra else plan
