"""``wkgt train``: check a training run's annotations together, then start WEBKNOSSOS's training."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

from ..planner.vectors import format_mag
from . import options as o
from .check import print_report
from .output import print_json, stderr, stdout

if TYPE_CHECKING:
    from ..jobs.train import TrainResult

SOURCES = "Which annotations"
STYLE = {"error": "red", "warning": "yellow"}


def main(
    name: Annotated[str, typer.Option(metavar="MODEL", help="Name of the new AI model (unique in your organization).", show_default=False, callback=o.non_empty)],
    annotation: Annotated[
        Optional[list[str]],
        typer.Option(metavar="ID|URL", help="An annotation of the run (repeatable).", rich_help_panel=SOURCES, show_default=False),
    ] = None,
    from_run: Annotated[
        Optional[list[str]],
        typer.Option("--from-run", metavar="RUN_KEY", help="Every finished annotation a create-boxes run wrote (its run_key; repeatable).", rich_help_panel=SOURCES, show_default=False),
    ] = None,
    dataset: Annotated[
        Optional[list[str]],
        typer.Option(metavar="DATASET", help="Every finished wkgt annotation and task annotation of this dataset (repeatable).", rich_help_panel=SOURCES, show_default=False),
    ] = None,
    folder: Annotated[Optional[str], typer.Option(metavar="NAME|PATH|ID", help="... of every dataset in this folder.", rich_help_panel=SOURCES, show_default=False, callback=o.non_empty)] = None,
    tag: Annotated[Optional[list[str]], typer.Option(metavar="TAG", help="... of every dataset carrying this tag.", rich_help_panel=SOURCES, show_default=False, callback=o.non_empty)] = None,
    model: o.ModelOption = o.ModelKind.NEURONS,
    layer: o.TrainLayerOption = None,
    ground_truth_layer: o.GroundTruthLayerOption = None,
    mag: o.MagOption = None,
    object_size: o.ObjectSizeOption = None,
    min_voxel_size: o.MinVoxelSizeOption = None,
    same_mag: Annotated[bool, typer.Option("--same-mag", help="Datasets of different voxel sizes: mags with equal effective voxel sizes.")] = False,
    comment: Annotated[Optional[str], typer.Option(help="Comment stored with the model (default: started by wkgt).", show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and print the exact request; start nothing.")] = False,
    organization: o.OrganizationOption = None,
    webknossos_url: o.WebknossosUrlOption = None,
    token: o.TokenOption = None,
    timeout: o.TimeoutOption = 60.0,
    json: o.JsonOption = False,
    rules: o.RulesOption = "guide",
    min_object_voxels: o.MinObjectVoxelsOption = None,
    allow_unpainted: Annotated[
        bool,
        typer.Option(
            "--allow-unpainted",
            help="Let some boxes hold nothing painted (e.g. instance boxes without any object); never a whole annotation.",
        ),
    ] = False,
) -> None:
    """Check the annotations of a training run together and start WEBKNOSSOS's training job (exit 1 on check errors)."""
    from ..client import Connection
    from ..jobs.batch import DatasetSelection
    from ..jobs.check import CheckJob
    from ..jobs.train import TrainJob, train
    from ..planner.vectors import parse_mag

    chosen = o.parse_rule_options(rules, min_object_voxels)
    check = CheckJob(
        layer, model, parse_mag(mag) if mag else None, object_size, min_voxel_size,
        rules=str(chosen["rules"]), min_object_voxels=min_object_voxels, ground_truth_layer=ground_truth_layer,
    )
    job = TrainJob(
        o.check_name(name) or name,
        tuple(annotation or ()),
        tuple(from_run or ()),
        DatasetSelection(tuple(dataset or ()), folder, tuple(tag or ()), organization),
        check,
        same_mag,
        comment,
        dry_run,
        allow_unpainted,
    )
    result = train(job, connection=Connection(webknossos_url, token, timeout))
    try:
        report(result, as_json=json)
    except OSError as err:  # e.g. --json > /dev/full: the training was started all the same, say so
        if result.status != "started":
            raise
        from ..errors import WriteError

        job_id = (result.job or {}).get("id")
        raise WriteError(
            f"training started (job {job_id}), but printing the result failed ({err.strerror or err}); "
            "a rerun of the same command reports it as existing"
        ) from None
    if not result.ok:
        raise typer.Exit(1)


def report(result: TrainResult, *, as_json: bool) -> None:
    """The check (stdout, or stderr under ``--json``), then what was started; JSON on stdout."""
    console: Console = stderr if as_json else stdout
    for check in result.checks:
        print_report(console, check)
    several = len(result.checks) > 1
    for finding in result.findings if several else ():
        if finding.box is None:
            console.print(f"[{STYLE[finding.severity]}]{finding.severity}:[/] {escape(finding.message)}", highlight=False)
    if result.same_mag is not None:
        for warning in result.same_mag.warnings:
            stderr.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    console.print(summary(result), highlight=False, soft_wrap=True)
    if as_json:
        print_json(result.to_dict())


def summary(result: TrainResult) -> str:
    if result.status == "refused":
        codes = sorted({f.code for f in result.errors})
        return f"not started: {len(result.errors)} error(s) in the check ({', '.join(codes)}); nothing was sent"
    request = result.request
    assert request is not None
    mags = ", ".join(sorted({format_mag(a.mag) for a in request.annotations}))
    what = f"model {request.name!r} ({request.model.value}) on {len(request.annotations)} annotation(s) at mag {mags}"
    if result.status == "dry-run":
        import json

        lines = [f"dry run: would start {what}" + (" (exists already: a run would report it)" if result.model else "")]
        lines.append(json.dumps(request.to_dict(result.server, result.api_version), indent=2, ensure_ascii=False))
        return "\n".join(lines)
    job = result.job or {}
    verb = "started" if result.status == "started" else "exists already (same name and annotations): not started again;"
    return f"training {verb} {what}: job {job.get('id')} ({job.get('state')}) {job.get('url')}"
