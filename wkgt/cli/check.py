"""``wkgt check``: WEBKNOSSOS's training verdicts and the guide's rules for an annotation's boxes."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..checker import CheckReport, Finding, check_boxes
from ..client import DatasetRef, Session, resolve_server
from ..client.annotations import AnnotationBoxes, parse_annotation_ref, read_annotation
from ..client.config import normalize_url
from ..client.facts import DatasetFacts, LayerFacts
from ..errors import InvalidInput
from ..planner.placement import Region
from ..planner.vectors import format_mag, format_vec, parse_mag
from . import options as o
from .output import print_json, stdout

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
    ref = parse_annotation_ref(annotation)
    if ref.server and webknossos_url and normalize_url(webknossos_url) != ref.server:
        raise InvalidInput(f"the annotation URL is on {ref.server}, but the server given is {webknossos_url}")
    session = Session(resolve_server(ref.server or webknossos_url, token, timeout))
    session.negotiate()
    boxes = read_annotation(session, ref.id)
    facts = session.dataset(
        DatasetRef(id=boxes.dataset_id) if boxes.dataset_id else DatasetRef(name=boxes.dataset_name, organization=boxes.organization)
    )
    chosen = facts.layer(layer)
    report = check_boxes(
        boxes.all_boxes,
        voxel_size_nm=facts.voxel_size_nm,
        mag=parse_mag(mag) if mag else None,
        available_mags=chosen.mags,
        dataset_bbox=chosen.bbox,
        volume_bbox=dataset_bbox(facts) if boxes.volume_layers else None,
        model=model,
        object_size_nm=object_size,
        min_voxel_size_nm=min_voxel_size,
    )
    if not boxes.volume_layers:
        report = report.with_finding(
            Finding("warning", "no-volume-layer", "no volume layer to hold ground truth: add one before annotating")
        )
    if json:
        print_json(document(report, boxes, facts, chosen, session.config.url))
    else:
        print_report(stdout, report, boxes, facts, chosen)
    if not report.ok:
        raise typer.Exit(1)


def dataset_bbox(facts: DatasetFacts) -> Region:
    """The union of the layers' boxes: what a new volume layer of the dataset covers."""
    lo = tuple(min(layer.bbox.topleft[i] for layer in facts.layers) for i in range(3))
    hi = tuple(max(layer.bbox.end[i] for layer in facts.layers) for i in range(3))
    return Region(lo, tuple(h - low for low, h in zip(lo, hi)))  # type: ignore[arg-type]


def document(report: CheckReport, boxes: AnnotationBoxes, facts: DatasetFacts, layer: LayerFacts, server: str) -> dict[str, Any]:
    """The ``--json`` output: the report plus what was checked."""
    return {
        **report.to_dict(),
        "annotation": {"id": boxes.id, "name": boxes.name, "url": f"{server}/annotations/{boxes.id}"},
        "dataset": {"id": facts.id, "name": facts.name, "voxel_size_nm": list(facts.voxel_size_nm)},
        "layer": layer.name,
        "volume_layers": list(boxes.volume_layers),
    }


def _verdicts(findings: tuple[Finding, ...]) -> str:
    return ", ".join(f"[{STYLE[f.severity]}]{f.code}[/]" for f in findings) or "[green]ok[/]"


def print_report(console: Console, report: CheckReport, boxes: AnnotationBoxes, facts: DatasetFacts, layer: LayerFacts) -> None:
    """One row per box with its verdicts, then every finding in words, then the outcome."""
    source = "given" if report.mag_source == "given" else "the guide's rule"
    console.print(
        f"annotation {escape(boxes.name)} ({boxes.id}) on {facts.name}/{layer.name}: "
        f"{len(report.boxes)} boxes, mag {format_mag(report.mag)} ({source}), {report.total_voxels:,} voxels",
        highlight=False,
    )
    table = Table(header_style="bold")
    for column in ("box", "top-left (mag 1)", "size (mag 1)", f"size (mag {format_mag(report.mag)})", "verdicts"):
        table.add_column(column)
    for summary in report.boxes:
        box = summary.box
        table.add_row(
            escape(box.name), format_vec(box.topleft, ","), format_vec(box.size), format_vec(summary.size_in_mag),
            _verdicts(report.for_box(box.name)),
        )
    console.print(table)
    for finding in report.findings:
        where = f"{finding.box}: " if finding.box else ""
        console.print(f"[{STYLE[finding.severity]}]{finding.severity}:[/] {escape(where + finding.message)}", highlight=False)
    outcome = "[green]ok[/]" if report.ok else "[red]not ready for training[/]"
    console.print(f"{outcome}: {len(report.errors)} error(s), {len(report.warnings)} warning(s)", highlight=False)
