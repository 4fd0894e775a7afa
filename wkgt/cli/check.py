"""``wkgt check``: WEBKNOSSOS's training verdicts and the guide's rules for an annotation's boxes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..planner.vectors import format_mag, format_vec, parse_mag
from . import options as o
from .output import print_json, stdout

if TYPE_CHECKING:
    from ..jobs.check import CheckResult
    from ..planner.check import Finding

STYLE = {"error": "red", "warning": "yellow"}


def main(
    annotation: Annotated[str, typer.Option(metavar="ID|URL", help="Annotation id or URL ({server}/annotations/{id}).", show_default=False)],
    layer: Annotated[Optional[str], typer.Option(help="Image layer to train on (default: first color layer).", show_default=False)] = None,
    model: o.ModelOption = o.ModelKind.NEURONS,
    mag: o.MagOption = None,
    object_size: o.ObjectSizeOption = None,
    min_voxel_size: o.MinVoxelSizeOption = None,
    webknossos_url: o.WebknossosUrlOption = None,
    token: o.TokenOption = None,
    timeout: o.TimeoutOption = 60.0,
    json: o.JsonOption = False,
) -> None:
    """Check an annotation's boxes before training: exit 1 on errors (warnings never fail)."""
    from ..client import Connection
    from ..jobs.check import CheckJob, check_annotation

    job = CheckJob(layer, model, parse_mag(mag) if mag else None, object_size, min_voxel_size)
    result = check_annotation(annotation, job, connection=Connection(webknossos_url, token, timeout))
    if json:
        print_json(result.to_dict())
    else:
        print_report(stdout, result)
    if not result.ok:
        raise typer.Exit(1)


def _verdicts(findings: tuple[Finding, ...]) -> str:
    return ", ".join(f"[{STYLE[f.severity]}]{f.code}[/]" for f in findings) or "[green]ok[/]"


def print_report(console: Console, result: CheckResult) -> None:
    """One row per box with its verdicts, then every finding in words, then the outcome."""
    report, boxes, facts, layer = result.report, result.annotation, result.dataset, result.layer
    source = "given" if report.mag_source == "given" else "the guide's rule"
    console.print(
        f"annotation {escape(boxes.name)} ({boxes.id}) on {facts.name}/{layer.name}: "
        f"{len(report.boxes)} boxes, mag {format_mag(report.mag)} ({source}), {report.total_voxels:,} voxels",
        highlight=False,
    )
    table = Table(header_style="bold")
    in_mag = report.mag != (1, 1, 1)
    columns = ("box", "top-left (mag 1)", "size (mag 1)", f"size (mag {format_mag(report.mag)})", "verdicts")
    for column in columns if in_mag else columns[:3] + columns[4:]:
        table.add_column(column)
    for summary in report.boxes:
        box = summary.box
        cells = [escape(box.name), format_vec(box.topleft, ","), format_vec(box.size)]
        cells += [format_vec(summary.size_in_mag)] if in_mag else []
        table.add_row(*cells, _verdicts(report.for_box(box.name)))
    console.print(table)
    for finding in report.findings:
        where = f"{finding.box}: " if finding.box else ""
        console.print(f"[{STYLE[finding.severity]}]{finding.severity}:[/] {escape(where + finding.message)}", highlight=False)
    outcome = "[green]ok[/]" if report.ok else "[red]not ready for training[/]"
    console.print(f"{outcome}: {len(report.errors)} error(s), {len(report.warnings)} warning(s)", highlight=False)
