"""``wkgt create-boxes``: from a dataset on a server to a new annotation full of boxes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console

from ..errors import InvalidInput, WriteError
from . import options as o
from . import strategy_options as s
from .output import print_json, stderr, stdout
from .render import print_plan, print_warnings

if TYPE_CHECKING:
    from ..jobs.create_boxes import CreateBoxesResult

WRITER = "Annotation options"
TASKS = "Task options"
BATCH = "Batch options (several datasets)"


def main(
    dataset: Annotated[
        Optional[list[str]],
        typer.Option(
            metavar="DATASET",
            help="Dataset name, id, viewer URL, or local dataset folder (a path: ./name); repeat it for a batch.",
            show_default=False,
        ),
    ] = None,
    layer: o.PlanLayerOption = None,
    name: Annotated[Optional[str], typer.Option(help="Annotation name (default: wkgt <dataset> mag <mag> <date>).", rich_help_panel=WRITER, show_default=False, callback=o.non_empty)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Read, plan and print the URLs; write nothing.", rich_help_panel=WRITER)] = False,
    force_new: Annotated[bool, typer.Option("--force-new", help="Create a new annotation even if this job ran before.", rich_help_panel=WRITER)] = False,
    fallback_segmentation: Annotated[
        Optional[str],
        typer.Option(
            "--fallback-segmentation", metavar="[LAYER]",
            help="Base the volume layer on a segmentation layer: the dataset's only one, or LAYER. Training mags are then the layer's.",
            rich_help_panel=WRITER, show_default=False,
        ),
    ] = None,
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
    project: Annotated[Optional[str], typer.Option(help="Existing project for --as-tasks.", rich_help_panel=TASKS, show_default=False, callback=o.non_empty)] = None,
    task_type: Annotated[Optional[str], typer.Option(metavar="ID|SUMMARY", help="Existing task type for --as-tasks.", rich_help_panel=TASKS, show_default=False, callback=o.non_empty)] = None,
    instances: Annotated[int, typer.Option("--annotators-per-task", metavar="N", help="Annotators per task (task instances).", rich_help_panel=TASKS)] = 1,
    experience: Annotated[Optional[str], typer.Option(metavar="DOMAIN=VALUE", help="Experience an annotator needs (default: the task type's or project's name, 0, if team members have it).", rich_help_panel=TASKS, show_default=False)] = None,
    allow_unassignable: Annotated[bool, typer.Option("--allow-unassignable", help="Create the tasks even if no team member could be handed one.", rich_help_panel=TASKS)] = False,
    rules: o.RulesOption = "guide",
    min_object_voxels: o.MinObjectVoxelsOption = None,
    min_box_voxels: o.MinBoxVoxelsOption = None,
    save: o.SaveOption = None,
    plan_file: Annotated[
        Optional[Path],
        typer.Option("--plan", metavar="FILE", help="Write exactly this reviewed plan (from --dry-run --save FILE), after checking it fits the dataset.", rich_help_panel=WRITER, show_default=False),
    ] = None,
    csv: o.CsvOption = None,
    quiet: o.QuietOption = False,
    margin_alias: o.MarginAliasOption = None,
    instances_alias: Annotated[Optional[int], typer.Option("--instances", hidden=True)] = None,
    tissue_budget: o.TissueBudgetOption = None,
    # batches (several datasets, one report): see wkgt.jobs.batch
    datasets_from: Annotated[Optional[Path], typer.Option("--datasets-from", metavar="FILE", help="Datasets, one name, id or URL a line.", rich_help_panel=BATCH, show_default=False)] = None,
    folder: Annotated[Optional[str], typer.Option(metavar="NAME|PATH|ID", help="Every dataset in this server folder.", rich_help_panel=BATCH, show_default=False, callback=o.non_empty)] = None,
    tag: Annotated[Optional[list[str]], typer.Option(metavar="TAG", help="Datasets carrying this tag (repeat: all of them).", rich_help_panel=BATCH, show_default=False, callback=o.non_empty)] = None,
    same_mag: Annotated[bool, typer.Option("--same-mag", help="Mags whose effective voxel sizes match across the datasets.", rich_help_panel=BATCH)] = False,
    memory_budget: Annotated[Optional[str], typer.Option("--memory-budget", metavar="SIZE", help="Memory for concurrent tissue scoring, e.g. 8G (default: half the available).", rich_help_panel=BATCH, show_default=False)] = None,
    strategy: s.StrategyOption = None,
    strata: s.StrataOption = None,
    strata_layer: s.StrataLayerOption = None,
    focus: s.FocusOption = None,
    compare: s.CompareOption = None,
    holdout: s.HoldoutOption = 0,
    holdout_gap_nm: s.HoldoutGapOption = s.DEFAULT_HOLDOUT_GAP_NM,
) -> None:
    """Plan boxes for a dataset and create them as named boxes in a new annotation (or as tasks).

    Review, then write: --dry-run --save plan.json --preview plan.png, look, then --plan plan.json."""
    from ..client import Connection
    from ..jobs.create_boxes import CreateBoxesJob, Rounds, WriteOptions
    from ..jobs.distribute import Distribution
    from ..jobs.planning import TissueOptions
    from ..writer.tasks import TaskOptions, parse_experience
    from .progress import progress_display

    margin = o.aliased(margin, margin_alias, default=0, name="--margin-voxels", alias_name="--margin")
    if instances_alias is not None:
        print_warnings(stderr, ["--instances is deprecated: it is --annotators-per-task now"])
        instances = o.aliased(instances, instances_alias, default=1, name="--annotators-per-task", alias_name="--instances")
    if instances < 1:
        raise InvalidInput(f"--annotators-per-task must be at least 1, got {instances}")
    tasks = None
    if as_tasks:
        if not project or not task_type:
            raise InvalidInput("--as-tasks needs --project and --task-type")
        tasks = TaskOptions(project, task_type, instances, parse_experience(experience) if experience else None, allow_unassignable)
    elif project or task_type or experience or allow_unassignable:
        raise InvalidInput("--project, --task-type, --experience and --allow-unassignable go with --as-tasks")
    planning = o.PlanningOptions(
        model, mag, object_size, min_voxel_size, box_edge_nm, box_size, count, total_voxels, roi, margin, seed,
        rules, min_object_voxels, min_box_voxels,
    )
    job = CreateBoxesJob(
        layer=layer,
        organization=organization,
        plan=s.with_strategy(planning.parse(), strategy, strata, strata_layer, focus, compare, holdout, holdout_gap_nm),
        tissue=TissueOptions(check=not no_tissue_check, min_tissue=min_tissue, **_budget(tissue_budget)),
        rounds=Rounds(avoid=tuple(avoid or ()), previous=avoid_previous, gap_nm=gap_nm),
        write=WriteOptions(
            name=o.check_name(name),
            dry_run=dry_run,
            force_new=force_new,
            fallback_segmentation=False if fallback_segmentation is None else fallback_segmentation or True,
            output=output,
            preview=preview,
            tasks=tasks,
            save=save,
            csv=csv,
        ),
        distribution=Distribution(jobs, distribution_strategy, o.parse_job_resources(job_resources)),
        reviewed=o.load_reviewed_plan(plan_file),
    ).validate()
    print_warnings(stderr, job.distribution.warnings)
    connection = Connection(webknossos_url, token, timeout)
    names = list(dataset or [])
    if len(names) > 1 or datasets_from or folder is not None or tag or same_mag:
        from .batch import run_batch_command

        run_batch_command(names, datasets_from, folder, tuple(tag or ()), same_mag, memory_budget, job, connection, json)
        return
    if not names:
        raise InvalidInput("name a dataset with --dataset (or several: --dataset, --datasets-from, --folder, --tag)")
    if memory_budget is not None:
        raise InvalidInput("--memory-budget goes with several datasets")
    from ..jobs.batch import create_boxes_with_hint

    with progress_display(quiet=quiet, as_json=json) as progress:
        result = create_boxes_with_hint(names[0], job, connection=connection, progress=progress)
    try:
        report(result, as_json=json, saved=(("plan", save), ("box table", csv)))
    except OSError as err:  # e.g. --json > /dev/full: the annotation exists, say so
        if "created" not in (result.status, result.tasks.status if result.tasks else None):
            raise
        raise WriteError(
            f"{summary_line(result)}, but printing the result failed ({err.strerror or err}); "
            "a rerun of the same job reports it as existing"
        ) from None


def _budget(text: str | None) -> dict[str, int]:
    budget = o.parse_tissue_budget(text)
    return {} if budget is None else {"budget_bytes": budget}


def report(result: CreateBoxesResult, *, as_json: bool, saved: Sequence[tuple[str, Path | None]] = ()) -> None:
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
    for what, path in saved:
        if path is not None:
            console.print(f"{what} saved to {path}", highlight=False, soft_wrap=True)
    print_warnings(stderr, result.all_warnings)
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
        extra = f"; deleted {len(tasks.deleted_duplicates)} duplicate(s) from a concurrent run" if tasks.deleted_duplicates else ""
        return f"{len(tasks.task_ids)} task(s) {verb} in {where}: {', '.join(tasks.task_ids)}{extra}"
    if result.status == "dry-run":
        return f"dry run: nothing written ({len(result.plan.boxes)} boxes planned on {result.dataset.name}/{result.layer})"
    if result.status == "saved":
        return f"annotation saved to {result.output} (upload it in WEBKNOSSOS or with webknossos.Annotation.load(...).upload())"
    assert result.annotation is not None
    verb = "created" if result.status == "created" else "exists already (same job, run key " + result.run_key + "; --force-new makes another)"
    archived = f" (archived {len(result.archived_duplicates)} newer duplicate(s) from a concurrent run: {', '.join(result.archived_duplicates)})" if result.archived_duplicates else ""
    return f"annotation {verb}: {result.annotation.url}{archived}"
