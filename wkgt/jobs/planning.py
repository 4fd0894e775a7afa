"""The planning step of a job: score the coarse mag for tissue, place the boxes, check the plan.

Glue between the pure pieces (:mod:`wkgt.planner.tissue`, :func:`wkgt.planner.make_plan`,
:func:`wkgt.planner.check.check_boxes`), the readers of :mod:`wkgt.client.imagery` and the
executors of :mod:`wkgt.jobs.distribute`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from ..client.facts import DatasetFacts, LayerFacts
from ..errors import InvalidInput, ServerError, WkgtError
from ..planner.check import check_boxes
from ..planner.mag_choice import coarsest_mag
from ..planner.placement import Region
from ..planner.plan import (
    AvoidedBox,
    Plan,
    PlanOptions,
    PlanRequest,
    TissueReport,
    make_plan,
    planning_region,
)
from ..planner.strategy import Placer
from ..planner.tissue import DEFAULT_CHUNK_VOXELS, DEFAULT_MIN_TISSUE, TissueMap, score_region
from ..planner.vectors import Vec3, format_mag
from ..writer.preview import render_preview
from .distribute import Distribution, executor_for

@attrs.frozen
class TissueOptions:
    """The tissue check: on/off, the foreground share a box needs, the chunk size of the scoring."""

    check: bool = True
    min_tissue: float = DEFAULT_MIN_TISSUE
    chunk_voxels: int = DEFAULT_CHUNK_VOXELS

    def validate(self) -> TissueOptions:
        if not 0 < self.min_tissue <= 1:
            raise InvalidInput(f"--min-tissue must be in (0, 1], got {self.min_tissue:g}")
        if self.chunk_voxels < 8:
            raise InvalidInput(f"the tissue chunk size must be at least 8 voxels, got {self.chunk_voxels}")
        return self


def score_tissue(
    reader: Any, mag: Vec3, region: Region, voxel_size_nm: Sequence[float], options: TissueOptions, distribution: Distribution
) -> TissueMap:
    """Score the coarse mag over ``region`` (chunked, on the chosen executor); reading errors become one line."""
    try:
        with executor_for(distribution) as executor:
            return score_region(
                reader, mag, region.topleft, region.size, voxel_size_nm, executor=executor, chunk=options.chunk_voxels
            )
    except WkgtError:
        raise
    except Exception as err:  # noqa: BLE001 - SDK, tensorstore and executor failures of many kinds
        lines = [line.strip() for line in str(err).splitlines() if any(c.isalnum() for c in line)]
        first = lines[0] if lines else type(err).__name__
        raise ServerError(f"reading mag {format_mag(mag)} for the tissue check failed: {first[:300]}") from None


def plan_boxes(
    request: PlanRequest,
    *,
    reader: Any | None = None,
    tissue_mag: Vec3 | None = None,
    options: TissueOptions = TissueOptions(),
    distribution: Distribution = Distribution(),
    avoided: Sequence[AvoidedBox] = (),
    gap: int = 0,
    placer: Placer | None = None,
) -> tuple[Plan, TissueMap | None]:
    """``make_plan`` with boxes kept on tissue (when a ``reader`` of ``tissue_mag`` is given and
    the check is on) and clear of ``avoided`` boxes by ``gap`` mag-1 voxels; ``placer`` is the
    strategy (:mod:`wkgt.jobs.strategies`)."""
    options = options.validate()
    occupied = [(box.topleft, box.size) for box in avoided]
    tissue: TissueMap | None = None
    if options.check and reader is not None and tissue_mag is not None:
        tissue = score_tissue(reader, tissue_mag, planning_region(request), request.voxel_size_nm, options, distribution)
    skipped = tissue is not None and tissue.padding_fraction >= 1.0  # nothing but 0s: no image data to judge
    tissue_map = tissue

    def on_tissue(box_mag1: Vec3, mag: Vec3) -> Any:
        assert tissue_map is not None
        return tissue_map.candidate_filter(box_mag1, options.min_tissue)

    try:
        plan = make_plan(
            request, occupied=occupied, gap=gap, filter_for_box=on_tissue if tissue is not None and not skipped else None,
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
    if tissue is not None:
        corners = np.array([box.topleft for box in plan.boxes]).reshape(-1, 3)
        fractions = tissue.fractions(corners, plan.box_size_mag1)
        report = TissueReport(
            mag=format_mag(tissue.mag),
            bytes_read=tissue.bytes_read,
            coarse_bytes=tissue.coarse_bytes,
            foreground_fraction=round(tissue.foreground_fraction, 4),
            min_tissue=options.min_tissue,
            box_fractions=tuple(round(float(f), 4) for f in fractions),
            checked=not skipped,
        )
    warnings = plan.warnings
    if skipped:
        assert tissue is not None
        warnings += (
            (
                f"mag {format_mag(tissue.mag)} reads as empty (all 0) over the region: no image data to find the "
                "tissue in, so the boxes were placed without the tissue check"
            ),
        )
    return attrs.evolve(plan, tissue=report, avoided=tuple(avoided), warnings=warnings), tissue


PLANNER_WARNS_ALREADY = frozenset({"total-volume", "few-boxes", "few-voxels", "not-multiple"})


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
    placer: Placer | None = None,
) -> Plan:
    """Plan boxes on ``layer`` (on tissue where ``reader`` reads its coarsest mag, clear of
    ``avoided``), check the plan, and draw it into ``preview``."""
    plan, tissue_map = plan_boxes(
        options.request(facts.voxel_size_nm, layer.mags, layer.bbox),
        reader=reader,
        tissue_mag=coarsest_mag(layer.mags),
        options=tissue,
        distribution=distribution,
        avoided=avoided,
        gap=gap,
        placer=placer,
    )
    plan = checked(plan, facts, layer, options)
    if preview is not None:
        render_preview(plan, preview, tissue_map)
    return plan


def checked(plan: Plan, facts: DatasetFacts, layer: LayerFacts, options: PlanOptions) -> Plan:
    """Run ``wkgt check``'s rules on a plan: refuse one with errors, keep the new warnings."""
    report = check_boxes(
        plan.boxes,
        voxel_size_nm=facts.voxel_size_nm,
        mag=plan.mag_vec,
        available_mags=layer.mags,
        dataset_bbox=layer.bbox,
        volume_bbox=None,
        model=plan.model,
        object_size_nm=options.object_size_nm,
        min_voxel_size_nm=options.min_voxel_size_nm,
    )
    if not report.ok:
        raise InvalidInput(f"the plan fails the training check, nothing written: {report.errors[0].message}")
    extra = tuple(f.message for f in report.warnings if f.code not in PLANNER_WARNS_ALREADY)
    return attrs.evolve(plan, warnings=plan.warnings + extra) if extra else plan
