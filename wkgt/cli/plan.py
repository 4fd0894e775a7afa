"""``wkgt plan``: plan boxes from dataset facts given on the command line (no server)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..planner.vectors import parse_mags
from . import options as o
from .output import emit_plan


def main(
    voxel_size: Annotated[str, typer.Option(metavar="X,Y,Z", help="Voxel size at mag 1 in nm, e.g. 11.24,11.24,30.", show_default=False)],
    mags: Annotated[str, typer.Option(metavar="MAGS", help="Available mags, e.g. 1,2-2-1,4-4-1.", show_default=False)],
    bbox: Annotated[str, typer.Option(metavar="X,Y,Z,W,H,D", help="Layer bounding box in mag-1 voxels.", show_default=False)],
    model: o.ModelOption = o.ModelKind.NEURONS,
    mag: o.MagOption = None,
    object_size: o.ObjectSizeOption = None,
    min_voxel_size: o.MinVoxelSizeOption = None,
    box_edge_nm: o.BoxEdgeOption = None,
    box_size: o.BoxSizeOption = None,
    count: o.CountOption = None,
    total_voxels: o.TotalVoxelsOption = None,
    roi: o.RoiOption = None,
    margin: o.MarginOption = 0,
    seed: o.SeedOption = o.DEFAULT_SEED,
    json: o.JsonOption = False,
    save: o.SaveOption = None,
    preview: o.PreviewOption = None,
    rules: o.RulesOption = "guide",
    min_object_voxels: o.MinObjectVoxelsOption = None,
    min_box_voxels: o.MinBoxVoxelsOption = None,
    ground_truth_mags: Annotated[
        Optional[str],
        typer.Option(
            metavar="MAGS", help="Mags the ground-truth volume layer will have (default: all of --mags).",
            rich_help_panel=o.RULES, show_default=False,
        ),
    ] = None,
    csv: o.CsvOption = None,
    margin_alias: o.MarginAliasOption = None,
) -> None:
    """Choose the mag and box size and place well-spread boxes, from the dataset's facts."""
    from ..planner.ground_truth import GroundTruthLayer
    from ..planner.plan import make_plan
    from ..writer.files import save_plan

    margin = o.aliased(margin, margin_alias, default=0, name="--margin-voxels", alias_name="--margin")
    planning = o.PlanningOptions(
        model, mag, object_size, min_voxel_size, box_edge_nm, box_size, count, total_voxels, roi, margin, seed,
        rules, min_object_voxels, min_box_voxels,
    )
    ground_truth = (
        GroundTruthLayer(tuple(parse_mags(ground_truth_mags)), None, "--ground-truth-mags") if ground_truth_mags else None
    )
    request = planning.parse().request(
        o.parse_voxel_size(voxel_size), parse_mags(mags), o.parse_region(bbox, "--bbox"), ground_truth
    )
    plan = make_plan(request)
    if save is not None:
        save_plan(plan, save)
    if csv is not None:
        from ..writer.boxes_csv import save_boxes_csv

        save_boxes_csv(plan, csv)
    if preview is not None:  # no server, no image: boxes over an empty region
        from ..writer.preview import render_preview

        render_preview(plan, preview)
    emit_plan(plan, as_json=json)
