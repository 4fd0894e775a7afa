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
    annotation: Annotated[
        list[str],
        typer.Option(
            metavar="ID|URL|FILE",
            help="Annotation id, URL ({server}/annotations/{id}) or file (.zip from create-boxes --output, .nml); "
            "repeat it for the annotations of one training run.",
            show_default=False,
        ),
    ],
    layer: o.TrainLayerOption = None,
    model: o.ModelOption = o.ModelKind.NEURONS,
    mag: o.MagOption = None,
    object_size: o.ObjectSizeOption = None,
    min_voxel_size: o.MinVoxelSizeOption = None,
    webknossos_url: o.WebknossosUrlOption = None,
    token: o.TokenOption = None,
    timeout: o.TimeoutOption = 60.0,
    json: o.JsonOption = False,
    rules: o.RulesOption = "guide",
    min_object_voxels: o.MinObjectVoxelsOption = None,
    ground_truth_layer: o.GroundTruthLayerOption = None,
    dataset: Annotated[
        Optional[str],
        typer.Option(
            metavar="DATASET", help="Dataset of annotation files: name, id, URL or local folder (default: the one the file names, on the server).",
            show_default=False,
        ),
    ] = None,
    quiet: o.QuietOption = False,
    no_painted_check: Annotated[
        bool,
        typer.Option(
            "--no-painted-check",
            help="Skip reading how much of each box is painted (saves downloading the volume data).",
        ),
    ] = False,
) -> None:
    """Check the boxes of a training run's annotations: exit 1 on errors (warnings never fail)."""
    from ..client import Connection
    from ..jobs.check import CheckJob, check_annotations
    from .progress import progress_display

    chosen = o.parse_rule_options(rules, min_object_voxels)
    job = CheckJob(
        layer, model, parse_mag(mag) if mag else None, object_size, min_voxel_size,
        rules=str(chosen["rules"]), min_object_voxels=min_object_voxels, ground_truth_layer=ground_truth_layer, dataset=dataset,
        painted_check=not no_painted_check,
    )
    with progress_display(quiet=quiet, as_json=json) as progress:
        result = check_annotations(annotation, job, connection=Connection(webknossos_url, token, timeout), progress=progress)
    if json:
        print_json(result.to_dict())
    else:
        print_report(stdout, result)
    if not result.ok:
        raise typer.Exit(1)


def _verdicts(findings: tuple[Finding, ...]) -> str:
    return ", ".join(f"[{STYLE[f.severity]}]{f.code}[/]" for f in findings) or "[green]ok[/]"


def _painted(fraction: float | None) -> str:
    """Whole percent rounded down, as the findings say it ("-": not read)."""
    if fraction is None:
        return "-"
    return "<1%" if 0 < fraction < 0.01 else f"{int(fraction * 100)}%"


def print_report(console: Console, result: CheckResult) -> None:
    """One row per box with its verdicts, then every finding in words, then the outcome."""
    report = result.report
    source = "given" if report.mag_source == "given" else f"the rule; rules: {report.rules}"
    for checked in result.checked:
        boxes, facts, layer, gt = checked.annotation, checked.dataset, checked.layer, checked.ground_truth
        volume = "no ground-truth layer" if gt is None else f"ground truth {gt.name} at mags {', '.join(format_mag(m) for m in gt.mags)} ({gt.source})"
        console.print(
            f"annotation {escape(boxes.name)} ({escape(str(checked.file) if checked.file else boxes.id)}) on {facts.name}/{layer.name}: "
            f"{len(boxes.all_boxes)} boxes, {escape(volume)}",
            highlight=False,
        )
    console.print(
        f"training run: {len(report.boxes)} boxes, mag {format_mag(report.mag)} ({source}), {report.total_voxels:,} voxels",
        highlight=False,
    )
    table = Table(header_style="bold")
    in_mag = report.mag != (1, 1, 1)
    painted = any(s.painted is not None for s in report.boxes)
    columns = ["box", "top-left (mag 1)", "size (mag 1)"]
    columns += [f"size (mag {format_mag(report.mag)})"] if in_mag else []
    columns += ["painted"] if painted else []
    for column in [*columns, "verdicts"]:
        table.add_column(column, justify="right" if column == "painted" else "left")
    for summary in report.boxes:
        box = summary.box
        cells = [escape(box.name), format_vec(box.topleft, ","), format_vec(box.size)]
        cells += [format_vec(summary.size_in_mag)] if in_mag else []
        cells += [_painted(summary.painted)] if painted else []
        table.add_row(*cells, _verdicts(report.for_box(box.name)))
    console.print(table)
    for finding in report.findings:
        where = f"{finding.box}: " if finding.box else ""
        console.print(f"[{STYLE[finding.severity]}]{finding.severity}:[/] {escape(where + finding.message)}", highlight=False)
    outcome = "[green]ok[/]" if report.ok else "[red]not ready for training[/]"
    console.print(f"{outcome}: {len(report.errors)} error(s), {len(report.warnings)} warning(s)", highlight=False)
