"""What a person reviews around a ``create-boxes`` job: the plan file (``--save``, ``--plan``),
the box table (``--csv``), the preview, and the progress of the tissue read.

Review, then write: a dry run saves its plan (``--save plan.json``); ``--plan plan.json``
writes exactly those boxes after checking that the plan still fits the dataset (voxel size,
mags, boxes inside the layer and aligned to the mag) and passes the training check; nothing
is planned again and no image is read for it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from ..client.dataset_ref import DatasetRef, local_folder_hint
from ..client.facts import DatasetFacts, LayerFacts
from ..errors import InvalidInput
from ..planner.ground_truth import GroundTruthLayer
from ..planner.plan import Plan, PlanOptions, box_size_mag1, planning_region
from ..planner.reviewed import ReviewedPlan, check_fits
from ..planner.tissue import choose_tissue_read, coarse_grid
from ..planner.vectors import Vec3, format_mag
from ..writer.boxes_csv import save_boxes_csv
from ..writer.files import save_plan
from ..writer.preview import PreviewRequest, check_preview_path, render_preview
from ..writer.progress import CountingReader, Progress
from .distribute import Distribution
from .planning import TissueOptions, checked, itemsize_of


def check_job(options: PlanOptions, avoids: bool) -> None:
    """A reviewed plan is written as it is: no planning options, no rounds to avoid."""
    if options != PlanOptions():
        raise InvalidInput("--plan writes the reviewed plan as it is: planning options go with the dry run that made it")
    if avoids:
        raise InvalidInput("--plan writes the reviewed plan as it is: --avoid and --avoid-previous go with the dry run that made it")


def check_files(preview: Path | None, save: Path | None, csv: Path | None) -> None:
    """Output files, checked before any work: a ``.png`` preview, and no file named twice."""
    if preview is not None:
        check_preview_path(preview)
    named = [Path(p).resolve() for p in (preview, save, csv) if p is not None]
    if len(set(named)) < len(named):
        raise InvalidInput("--preview, --save and --csv must name different files")


def reviewed_plan(
    reviewed: ReviewedPlan, facts: DatasetFacts, layer: LayerFacts, ground_truth: GroundTruthLayer | None, preview: PreviewRequest | None
) -> Plan:
    """The reviewed plan, once it fits ``layer`` of ``facts`` and passes the training check
    (refused otherwise, before anything is written); drawn into ``preview`` if asked."""
    reviewed.check_dataset(facts.id, facts.name)
    check_fits(reviewed.plan, facts.voxel_size_nm, layer.mags, layer.bbox)
    plan = checked(reviewed.plan, facts, layer, PlanOptions(model=reviewed.plan.model, rules=reviewed.plan.rules), ground_truth)
    plan = attrs.evolve(plan, warnings=tuple(dict.fromkeys(plan.warnings)))
    if preview is not None:
        render_preview(plan, preview)
    return plan


def save(plan: Plan, path: Path | None, facts: DatasetFacts, layer: LayerFacts) -> None:
    """``--save``: the plan, with the dataset and layer it was made for (``--plan`` checks them)."""
    if path is None:
        return
    about = {
        "dataset": {"name": facts.name, "id": facts.id, "organization": facts.organization, "server": facts.server},
        "layer": layer.name,
    }
    save_plan(plan, path, about)


def save_csv(plan: Plan, path: Path | None, urls: Sequence[str | None]) -> None:
    """``--csv``: one row per box with its URL."""
    if path is not None:
        save_boxes_csv(plan, path, urls)


def preview_request(
    path: Path | None, facts: DatasetFacts, layer: LayerFacts, readers: Callable[[Vec3], Any], progress: Progress
) -> PreviewRequest | None:
    """The preview to draw (None: none asked), titled with the dataset and layer, with a slice of
    every box read through ``readers(mag)``."""
    if path is None:
        return None
    return PreviewRequest(path, dataset=f"{facts.name} / {layer.name}", slices=readers, progress=progress)


def counting(
    reader: Any | None,
    facts: DatasetFacts,
    layer: LayerFacts,
    options: PlanOptions,
    ground_truth: GroundTruthLayer | None,
    progress: Progress,
    distribution: Distribution = Distribution(),
    tissue: TissueOptions = TissueOptions(),
) -> Any | None:
    """The tissue check's reader, reporting bytes read out of the coarse mag over the planning
    region; the next step ("placing boxes") begins when all of it was read. Chunks read by other
    processes (``--jobs``, a cluster) report nothing here: the step then shows no byte count."""
    if reader is None:
        progress.step("placing boxes")
        return None
    try:
        request = options.request(facts.voxel_size_nm, layer.mags, layer.bbox, ground_truth)
        region = planning_region(request)
        box = box_size_mag1(request)
    except InvalidInput:  # planning says so, with its own words
        return reader
    itemsize = itemsize_of(layer.dtype)
    read = choose_tissue_read(request.mags, box, region.topleft, region.size, itemsize, tissue.budget_bytes)
    mag = read.mag
    if not distribution.local_and_single:
        progress.step(
            f"reading mag {format_mag(mag)} of {layer.name} for the tissue check and placing boxes "
            f"({distribution.jobs} {distribution.strategy} job(s))"
        )
        return reader
    _, shape = coarse_grid(read.topleft, read.size, mag)
    voxels = math.prod(shape)
    progress.step(f"reading mag {format_mag(mag)} of {layer.name} for the tissue check", total=voxels * itemsize)
    return CountingReader(reader, progress, voxels, then="scoring tissue and placing boxes")


def with_local_folder_note(plan: Plan, ref: DatasetRef) -> Plan:
    """A warning when the dataset name used on the server is also a local dataset folder here."""
    hint = local_folder_hint(ref)
    if hint is None:
        return plan
    return attrs.evolve(plan, warnings=(*plan.warnings, f"used the server's dataset {ref.name}; {hint}"))
