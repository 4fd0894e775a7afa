"""The boxes as a CSV table (``--csv FILE``): for spreadsheets and WEBKNOSSOS's task CSV import.

One row per box: its name, top-left corner and size in mag-1 voxels (WEBKNOSSOS's
``minX,minY,minZ,width,height,depth``), its centre (a task's start position) and its viewer URL.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from ..planner.plan import Plan
from .files import write_atomically

HEADER = ("name", "x", "y", "z", "width", "height", "depth", "center_x", "center_y", "center_z", "url")


def box_rows(plan: Plan, urls: Sequence[str | None] = ()) -> list[tuple[object, ...]]:
    """The table's rows (without the header); a box without URL gets an empty cell."""
    links = list(urls) + [None] * (len(plan.boxes) - len(urls))
    return [(box.name, *box.topleft, *box.size, *box.center, url or "") for box, url in zip(plan.boxes, links)]


def save_boxes_csv(plan: Plan, path: Path, urls: Sequence[str | None] = ()) -> None:
    """Write the header and one row per box to ``path`` (whole or not at all)."""

    def write(temporary: Path) -> None:
        with temporary.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADER)
            writer.writerows(box_rows(plan, urls))

    write_atomically(Path(path), write)
