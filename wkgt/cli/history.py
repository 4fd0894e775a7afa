"""``wkgt history``: the annotations and tasks wkgt made for a dataset, one row per run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import options as o
from .output import print_json, stderr, stdout
from .render import print_warnings

if TYPE_CHECKING:
    from ..jobs.history import HistoryResult, HistoryRun


def main(
    dataset: Annotated[str, typer.Option(metavar="DATASET", help="Dataset name, id or viewer URL.", show_default=False)],
    organization: o.OrganizationOption = None,
    webknossos_url: o.WebknossosUrlOption = None,
    token: o.TokenOption = None,
    timeout: o.TimeoutOption = 60.0,
    json: o.JsonOption = False,
    quiet: o.QuietOption = False,
) -> None:
    """List the runs wkgt made for a dataset: your annotations and the tasks of projects you manage (newest first)."""
    from ..client import Connection
    from ..jobs.history import HistoryJob, history
    from .progress import progress_display

    with progress_display(quiet=quiet, as_json=json) as progress:
        result = history(HistoryJob(dataset, organization), connection=Connection(webknossos_url, token, timeout), progress=progress)
    if json:
        print_warnings(stderr, result.warnings)
        print_json(result.to_dict())
    else:
        print_history(stdout, result)
        print_warnings(stderr, result.warnings)


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _made(run: HistoryRun) -> str:
    if run.kind == "tasks":
        return f"{plural(len(run.tasks), 'task')} in project {run.project}"
    copies = sum(a.copy for a in run.annotations)
    archived = sum(not a.active for a in run.annotations)
    extra = [f"{archived} archived"] if archived and archived < len(run.annotations) else []
    extra += [f"{copies} --force-new {'copy' if copies == 1 else 'copies'}"] if copies else []
    extra += [f"evaluation set of {plural(e.boxes, 'box')}" for e in run.annotations if e.evaluation]
    details = f" ({', '.join(extra)})" if extra else ""
    return f"{plural(len(run.annotations), 'annotation')}{details}: {run.url}"


def print_history(console: Console, result: HistoryResult) -> None:
    """One row per run: run key, kind, date (UTC), boxes, owner, state, what it made."""
    facts = result.dataset
    if not result.runs:
        console.print(f"no wkgt runs for {escape(facts.name)} on {escape(result.server)} that you can see", highlight=False)
        return
    console.print(f"wkgt runs for {escape(facts.name)} on {escape(result.server)}, newest first:", highlight=False)
    table = Table(header_style="bold")
    for column in ("run key", "kind", "date (UTC)", "boxes", "owner", "state", "made"):
        table.add_column(column)
    for run in result.runs:
        state = run.state if run.state == "active" else f"[dim]{run.state}[/]"
        table.add_row(
            run.run_key, run.kind, run.created.strftime("%Y-%m-%d %H:%M"), str(run.boxes),
            escape(run.owner or "—"), state, escape(_made(run)),
        )  # fmt: skip
    console.print(table)
    console.print("`wkgt undo RUN_KEY` archives a run's annotations or deletes its tasks.", highlight=False, markup=False)
