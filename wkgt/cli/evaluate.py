"""``wkgt evaluate``: VOI (split/merge) and adapted Rand error of a segmentation against painted boxes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..planner.vectors import format_mag, format_vec, parse_mag
from . import options as o
from .output import print_json, stdout

if TYPE_CHECKING:
    from ..jobs.evaluate import EvaluateResult
    from ..planner.evaluation import SegmentationScores


def main(
    annotation: Annotated[str, typer.Option(metavar="ID|URL|FILE.zip", help="The painted annotation (usually the evaluation set of --holdout).", show_default=False)],
    segmentation: Annotated[str, typer.Option(metavar="LAYER", help="The dataset's segmentation layer to score.", show_default=False, callback=o.non_empty)],
    volume_layer: Annotated[Optional[str], typer.Option(metavar="NAME", help="Volume layer with the ground truth (default: ground_truth, or the only one).", show_default=False, callback=o.non_empty)] = None,
    mag: Annotated[Optional[str], typer.Option(help="Compare at this mag (default: the finest both have).", show_default=False)] = None,
    dataset: Annotated[Optional[Path], typer.Option(metavar="PATH", help="Local dataset folder, for an annotation given as a file.", show_default=False)] = None,
    webknossos_url: o.WebknossosUrlOption = None,
    token: o.TokenOption = None,
    timeout: o.TimeoutOption = 60.0,
    json: o.JsonOption = False,
) -> None:
    """Score a segmentation layer against an annotation's painted boxes: VOI split/merge and adapted Rand error."""
    from ..client import Connection
    from ..jobs.evaluate import EvaluateJob, evaluate

    job = EvaluateJob(segmentation, volume_layer, parse_mag(mag) if mag else None, dataset)
    result = evaluate(annotation, job, connection=Connection(webknossos_url, token, timeout))
    if json:
        print_json(result.to_dict())
    else:
        print_report(stdout, result)


def _cells(scores: SegmentationScores | None) -> list[str]:
    if scores is None:
        return ["not painted", "", "", "", ""]
    return [f"{scores.voxels:,}", f"{scores.voi_split:.3f}", f"{scores.voi_merge:.3f}", f"{scores.voi:.3f}", f"{scores.arand:.3f}"]


def print_report(console: Console, result: EvaluateResult) -> None:
    """One row per box, then the overall row (all painted voxels pooled)."""
    console.print(
        f"{escape(result.segmentation)} against {escape(result.annotation.name)} ({escape(result.volume_layer)}) "
        f"at mag {format_mag(result.mag)}; VOI in bits (split: over-segmentation, merge: under-segmentation)",
        highlight=False,
    )
    table = Table(header_style="bold")
    for column in ("box", "top-left (mag 1)", "size (mag 1)", "painted voxels", "VOI split", "VOI merge", "VOI", "ARAND"):
        table.add_column(column)
    for item in result.boxes:
        table.add_row(escape(item.box.name), format_vec(item.box.topleft, ","), format_vec(item.box.size), *_cells(item.scores))
    table.add_row("overall", "", "", *_cells(result.overall), style="bold")
    console.print(table)
