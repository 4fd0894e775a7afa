"""``wkgt create-boxes``: from a dataset on a server to a new annotation full of boxes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console

from ..errors import InvalidInput
from . import options as o
from . import strategy_options as s
from .output import print_json, stderr, stdout
from .render import print_plan, print_warnings

if TYPE_CHECKING:
    from ..jobs.create_boxes import CreateBoxesResult

WRITER = "Annotation options"
TASKS = "Task options"


def main(
    dataset: Annotated[str, typer.Option(metavar="DATASET", help="Dataset name, id, viewer URL, or local dataset path.")],
    layer: Annotated[Optional[str], typer.Option(help="Layer to plan for (default: first color layer).", show_default=False)] = None,
    name: Annotated[Optional[str], typer.Option(help="Annotation name (default: wkgt <dataset> mag <mag> <date>).", rich_help_panel=WRITER, show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Read, plan and print the URLs; write nothing.", rich_help_panel=WRITER)] = False,
    force_new: Annotated[bool, typer.Option("--force-new", help="Create a new annotation even if this job ran before.", rich_help_panel=WRITER)] = False,
    fallback_segmentation: Annotated[bool, typer.Option("--fallback-segmentation", help="Base the volume layer on the dataset's segmentation.", rich_help_panel=WRITER)] = False,
    output: Annotated[Optional[Path], typer.Option(metavar="FILE.zip", help="Local dataset: write the annotation here.", rich_help_panel=WRITER, show_default=False)] = None,
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
    organization: o.OrganizationOption = None,
    webknossos_url: o.WebknossosUrlOption = None,
    token: o.TokenOption = None,
    timeout: o.TimeoutOption = 60.0,
    json: o.JsonOption = False,
    no_tissue_check: o.NoTissueCheckOption = False,
    min_tissue: o.MinTissueOption = 0.9,
    jobs: o.JobsOption = 1,
    distribution_strategy: o.DistributionStrategyOption = "multiprocessing",
    job_resources: o.JobResourcesOption = None,
    avoid: o.AvoidOption = None,
    avoid_previous: o.AvoidPreviousOption = False,
    gap_nm: o.GapOption = None,
    preview: o.PreviewOption = None,
    as_tasks: Annotated[bool, typer.Option("--as-tasks", help="Create one task per box instead of an annotation.", rich_help_panel=TASKS)] = False,
    project: Annotated[Optional[str], typer.Option(help="Existing project for --as-tasks.", rich_help_panel=TASKS, show_default=False)] = None,
    task_type: Annotated[Optional[str], typer.Option(metavar="ID|SUMMARY", help="Existing task type for --as-tasks.", rich_help_panel=TASKS, show_default=False)] = None,
    instances: Annotated[int, typer.Option(help="Annotators per task.", rich_help_panel=TASKS)] = 1,
    experience: Annotated[Optional[str], typer.Option(metavar="DOMAIN=VALUE", help="Experience an annotator needs (default: task type, 0).", rich_help_panel=TASKS, show_default=False)] = None,
    strategy: s.StrategyOption = None,
    strata: s.StrataOption = None,
    strata_layer: s.StrataLayerOption = None,
    focus: s.FocusOption = None,
    compare: s.CompareOption = None,
    holdout: s.HoldoutOption = 0,
    holdout_gap_nm: s.HoldoutGapOption = s.DEFAULT_HOLDOUT_GAP_NM,
) -> None:
    """Plan boxes for a dataset and create them as named boxes in a new annotation (or as tasks)."""
    from ..client import Connection
    from ..jobs.create_boxes import CreateBoxesJob, Rounds, WriteOptions, create_boxes
    from ..jobs.distribute import Distribution
    from ..jobs.planning import TissueOptions
    from ..writer.tasks import TaskOptions, parse_experience

    tasks = None
    if as_tasks:
        if not project or not task_type:
            raise InvalidInput("--as-tasks needs --project and --task-type")
        tasks = TaskOptions(project, task_type, instances, parse_experience(experience) if experience else None)
    elif project or task_type or experience:
        raise InvalidInput("--project, --task-type and --experience go with --as-tasks")
    planning = o.PlanningOptions(
        model, mag, object_size, min_voxel_size, box_edge_nm, box_size, count, total_voxels, roi, margin, seed
    )
    job = CreateBoxesJob(
        layer=layer,
        organization=organization,
        plan=s.with_strategy(planning.parse(), strategy, strata, strata_layer, focus, compare, holdout, holdout_gap_nm),
        tissue=TissueOptions(check=not no_tissue_check, min_tissue=min_tissue),
        rounds=Rounds(avoid=tuple(avoid or ()), previous=avoid_previous, gap_nm=gap_nm),
        write=WriteOptions(
            name=name,
            dry_run=dry_run,
            force_new=force_new,
            fallback_segmentation=fallback_segmentation,
            output=output,
            preview=preview,
            tasks=tasks,
        ),
        distribution=Distribution(jobs, distribution_strategy, o.parse_job_resources(job_resources)),
    ).validate()
    result = create_boxes(dataset, job, connection=Connection(webknossos_url, token, timeout))
    report(result, as_json=json)


def report(result: CreateBoxesResult, *, as_json: bool) -> None:
    """Table (stdout, or stderr under ``--json``), warnings on stderr, JSON on stdout."""
    console: Console = stderr if as_json else stdout
    urls = [url or "" for url in result.box_urls] if any(result.box_urls) else None
    print_plan(console, result.plan, urls)
    console.print(summary_line(result), highlight=False, soft_wrap=True)
    if result.plan.holdout:
        where = result.evaluation.url if result.evaluation else result.evaluation_output or "not written (dry run)"
        console.print(f"evaluation set ({len(result.plan.holdout)} boxes): {where}", highlight=False, soft_wrap=True)
    if result.preview is not None:
        console.print(f"preview: {result.preview}", highlight=False, soft_wrap=True)
    print_warnings(stderr, result.plan.warnings)
    if as_json:
        print_json(result.to_dict())


def summary_line(result: CreateBoxesResult) -> str:
    if result.tasks is not None:
        tasks = result.tasks
        where = f"project {tasks.project}, task type {tasks.task_type}"
        if tasks.status == "dry-run":
            existing = len(tasks.task_ids)
            return f"dry run: would create {len(tasks.tasks) - existing} task(s) in {where} ({existing} exist already)"
        verb = "created" if tasks.status == "created" else "exist already (same job)"
        return f"{len(tasks.task_ids)} task(s) {verb} in {where}: {', '.join(tasks.task_ids)}"
    if result.status == "dry-run":
        return f"dry run: nothing written ({len(result.plan.boxes)} boxes planned on {result.dataset.name}/{result.layer})"
    if result.status == "saved":
        return f"annotation saved to {result.output} (upload it in WEBKNOSSOS or with webknossos.Annotation.load(...).upload())"
    assert result.annotation is not None
    verb = "created" if result.status == "created" else "exists already (same job, run key " + result.run_key + "; --force-new makes another)"
    return f"annotation {verb}: {result.annotation.url}"
