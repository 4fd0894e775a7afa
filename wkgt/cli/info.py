"""``wkgt info``: a dataset's layers, and which mag wkgt would pick there and why."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..planner.vectors import format_mag, format_vec
from . import options as o
from .output import print_json, stdout

if TYPE_CHECKING:
    from ..jobs.info import InfoResult


def main(
    dataset: Annotated[str, typer.Option(metavar="DATASET", help="Dataset name, id, viewer URL, or local dataset path.", show_default=False)],
    layer: o.PlanLayerOption = None,
    model: o.ModelOption = o.ModelKind.NEURONS,
    mag: o.MagOption = None,
    object_size: o.ObjectSizeOption = None,
    min_voxel_size: o.MinVoxelSizeOption = None,
    fallback_segmentation: Annotated[
        Optional[str],
        typer.Option("--fallback-segmentation", metavar="[LAYER]", help="The ground-truth layer is based on a segmentation layer (as in create-boxes).", show_default=False),
    ] = None,
    organization: o.OrganizationOption = None,
    webknossos_url: o.WebknossosUrlOption = None,
    token: o.TokenOption = None,
    timeout: o.TimeoutOption = 60.0,
    json: o.JsonOption = False,
) -> None:
    """Show a dataset's layers and the mag, box size and count each rule set picks (and why)."""
    from ..client import Connection
    from ..jobs.info import InfoJob, dataset_info

    planning = o.PlanningOptions(model, mag, object_size, min_voxel_size)
    job = InfoJob(
        layer, organization, planning.parse(),
        False if fallback_segmentation is None else fallback_segmentation or True,
    )
    result = dataset_info(dataset, job, connection=Connection(webknossos_url, token, timeout))
    if json:
        print_json(result.to_dict())
    else:
        print_info(stdout, result)


def print_info(console: Console, result: InfoResult) -> None:
    facts, advice = result.dataset, result.advice
    where = f" ({facts.organization})" if facts.organization else ""
    console.print(f"[bold]{escape(facts.name)}[/]{escape(where)}: voxel size {format_vec(facts.voxel_size_nm)} nm", highlight=False)
    table = Table(header_style="bold")
    for column in ("layer", "category", "dtype", "mags", "top-left", "size (voxels)", "size (µm)"):
        table.add_column(column, overflow="fold")
    for layer in facts.layers:
        um = tuple(round(s * v / 1000, 2) for s, v in zip(layer.bbox.size, facts.voxel_size_nm))
        table.add_row(
            escape(layer.name), layer.category, layer.dtype, ", ".join(format_mag(m) for m in layer.mags),
            format_vec(layer.bbox.topleft, ","), format_vec(layer.bbox.size), format_vec(um),
        )
    console.print(table)
    if advice is None:
        console.print(f"[yellow]no training mag:[/] {escape(result.advice_error or '')}", highlight=False, soft_wrap=True)
        return
    truth = advice.ground_truth
    console.print(
        f"planned on layer [bold]{escape(advice.layer.name)}[/]; a new ground-truth layer gets mags "
        f"{', '.join(format_mag(m) for m in truth.mags)} ({escape(truth.source)})",
        highlight=False, soft_wrap=True,
    )
    for exclusion in advice.exclusions:
        console.print(f"  left out: {escape(exclusion)}", highlight=False, soft_wrap=True)
    rules = Table(header_style="bold")
    for column in ("rules", "mag", "effective voxel size (nm)", "box size (voxels of the mag)", "count"):
        rules.add_column(column, overflow="fold")
    for r in advice.by_rules:
        rules.add_row(r.rules, format_mag(r.mag.mag), format_vec(r.mag.effective_voxel_size_nm), format_vec(r.box_size), str(r.count))
    console.print(rules)
    first = advice.by_rules[0]
    console.print(f"why mag {format_mag(first.mag.mag)}: {escape(first.mag.reason)}", highlight=False, soft_wrap=True)
    for r in advice.by_rules:
        console.print(f"box size ({r.rules}): {escape(r.box_size_reason)}", highlight=False, soft_wrap=True)
    for warning in first.mag.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
