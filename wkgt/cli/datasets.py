"""``wkgt datasets``: the datasets this token can read, with their layers, voxel size and mag."""

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
    from ..jobs.info import DatasetsResult, ListedDataset


def main(
    organization: Annotated[Optional[str], typer.Option(metavar="ORG", help="Only this organization's datasets.", show_default=False, callback=o.non_empty)] = None,
    folder: Annotated[Optional[str], typer.Option(metavar="NAME|PATH|ID", help="Only the datasets in this folder.", show_default=False, callback=o.non_empty)] = None,
    tag: Annotated[Optional[list[str]], typer.Option(metavar="TAG", help="Only datasets carrying this tag (repeat: all of them).", show_default=False, callback=o.non_empty)] = None,
    webknossos_url: o.WebknossosUrlOption = None,
    token: o.TokenOption = None,
    timeout: o.TimeoutOption = 60.0,
    json: o.JsonOption = False,
) -> None:
    """List the datasets you can read: layers, voxel size, tags, folder, and the mag wkgt picks for neurons."""
    from ..client import Connection
    from ..jobs.info import DatasetsJob, list_datasets_job

    result = list_datasets_job(DatasetsJob(organization, folder, tuple(tag or ())), connection=Connection(webknossos_url, token, timeout))
    if json:
        print_json(result.to_dict())
    else:
        print_datasets(stdout, result)


def print_datasets(console: Console, result: DatasetsResult) -> None:
    """One row per dataset (mag: what wkgt picks for neurons), then what could not be read."""
    table = Table(header_style="bold")
    table.add_column("dataset", no_wrap=True)  # names stay whole, to copy into --dataset
    for column in ("organization", "folder", "tags", "layers", "voxel size (nm)", "mag"):
        table.add_column(column, overflow="fold")
    for listed in result.datasets:
        entry, facts = listed.entry, listed.facts
        table.add_row(
            escape(entry.name),
            escape(entry.organization or ""),
            escape(_folder(listed)),
            escape(", ".join(entry.tags)),
            f"{len(entry.color_layers)} color, {len(entry.segmentation_layers)} seg.",
            format_vec(facts.voxel_size_nm) if facts else "",
            format_mag(listed.mag.mag) if listed.mag else "[yellow]—[/]",
        )
    console.print(table)
    where = f" in folder {result.folder.path}" if result.folder else ""
    console.print(f"{len(result.datasets)} dataset(s){where} on {result.server}", highlight=False)
    for listed in result.datasets:
        if listed.problem:
            console.print(f"[yellow]{escape(listed.entry.name)}:[/] {escape(listed.problem)}", highlight=False, soft_wrap=True)


def _folder(listed: ListedDataset) -> str:
    """Your folder's path; another organization's folder by its name, if the server gave it."""
    if listed.folder is not None:
        return listed.folder.path
    if listed.entry.folder_id is None:
        return ""
    owner = f"(folder of {listed.entry.organization or 'another organization'})"
    return f"{listed.folder_name} {owner}" if listed.folder_name else owner
