"""``wkgt create-boxes`` over several datasets: run the batch, print one table and one report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .output import print_json, stderr, stdout
from .render import print_warnings

if TYPE_CHECKING:
    from ..client import Connection
    from ..jobs.batch import BatchResult, DatasetOutcome
    from ..jobs.create_boxes import CreateBoxesJob


def run_batch_command(
    names: list[str],
    datasets_from: Path | None,
    folder: str | None,
    tags: tuple[str, ...],
    same_mag: bool,
    memory_budget: str | None,
    job: CreateBoxesJob,
    connection: Connection,
    as_json: bool,
) -> None:
    """Run the batch; exit with the first failed dataset's code (0 when all succeeded)."""
    from ..jobs.batch import BatchJob, DatasetSelection, read_dataset_list, run_batch
    from ..jobs.memory import parse_size

    listed = read_dataset_list(datasets_from) if datasets_from is not None else ()
    selection = DatasetSelection(tuple(names) + listed, folder, tags, job.organization)
    budget = parse_size(memory_budget) if memory_budget is not None else None
    result = run_batch(BatchJob(selection, job, same_mag, budget), connection=connection)
    try:
        report_batch(result, as_json=as_json)
    except OSError as err:  # e.g. --json > /dev/full: what was created exists, say so
        created = result.counts().get("created", 0)
        if not created:
            raise
        from ..errors import WriteError

        raise WriteError(
            f"{created} of {len(result.outcomes)} dataset(s) got a new annotation or tasks, but printing the report failed "
            f"({err.strerror or err}); a rerun of the same batch reports them as existing"
        ) from None
    if result.exit_code:
        raise typer.Exit(result.exit_code)


def _where(outcome: DatasetOutcome) -> str:
    result = outcome.result
    if result is None:
        return f"[red]error:[/] {escape(outcome.error or '')}"
    if result.tasks is not None:
        return f"{len(result.tasks.task_ids)} task(s) in project {escape(result.tasks.project)}"
    if result.annotation is not None:
        return result.annotation.url
    return "nothing written (dry run)"


def batch_table(result: BatchResult) -> Table:
    """One row per dataset: status, mag, effective voxel size and boxes."""
    table = Table(header_style="bold")
    for column in ("dataset", "status", "mag", "effective voxel size (nm)", "boxes"):
        table.add_column(column)
    for outcome in result.outcomes:
        plan = outcome.result.plan if outcome.result is not None else None
        style = "green" if outcome.ok else "red"
        table.add_row(
            escape(outcome.input),
            f"[{style}]{outcome.status}[/]" + (f" (exit {outcome.exit_code})" if not outcome.ok and outcome.exit_code else ""),
            plan.mag if plan else "",
            "×".join(f"{v:g}" for v in plan.effective_voxel_size_nm) if plan else "",
            str(len(plan.boxes)) if plan else "",
        )
    return table


def report_batch(result: BatchResult, *, as_json: bool) -> None:
    """The table (stdout, or stderr under ``--json``), warnings on stderr, the JSON on stdout."""
    console: Console = stderr if as_json else stdout
    console.print(batch_table(result))
    for outcome in result.outcomes:  # whole lines: URLs stay clickable, errors readable
        console.print(f"{escape(outcome.input)}  {_where(outcome)}", highlight=False, soft_wrap=True)
    counts = result.counts()
    console.print(
        f"{counts['ok']} of {counts['datasets']} dataset(s) done, {counts['failed']} failed", highlight=False
    )
    if result.same_mag is not None:
        print_warnings(stderr, result.same_mag.warnings)
    for outcome in result.outcomes:
        if outcome.result is not None:
            print_warnings(stderr, [f"{outcome.input}: {w}" for w in outcome.result.plan.warnings])
    if as_json:
        print_json(result.to_dict())
