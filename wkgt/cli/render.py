"""Terminal views of plans and results (rich tables)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from ..planner.vectors import format_vec

if TYPE_CHECKING:
    from ..planner.plan import Plan


EVEN_SPACING = {1: "length/count", 2: "(area/count)^½", 3: "(volume/count)^⅓"}
"""The even spacing the spread ratio compares with, by the region's effective dimension
(extents less one box each; see :mod:`wkgt.planner.spread`)."""


def _um(size_mag1: Sequence[int], voxel_size_nm: Sequence[float]) -> str:
    return format_vec(tuple(round(s * v / 1000, 2) for s, v in zip(size_mag1, voxel_size_nm)))


RULE_SOURCES = {
    "guide": "the guide's worked examples: about 1 µm boxes, ≥ 250,000 voxels",
    "webknossos": "WEBKNOSSOS's docs: multiples of the minimum box, ≥ 230,000 voxels",
}


def plan_summary(plan: Plan) -> Table:
    """Mag, sizes, count and spread, each with the reason it was chosen."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("rules", f"{plan.rules}  ({RULE_SOURCES.get(plan.rules, '')})")
    table.add_row("mag", f"{plan.mag}  ({plan.mag_reason})")
    for exclusion in plan.mag_exclusions:
        table.add_row("mag left out", exclusion)
    table.add_row("effective voxel size", f"{format_vec(plan.effective_voxel_size_nm)} nm")
    in_mag1 = "" if plan.mag == "1" else f" = {format_vec(plan.box_size_mag1)} in mag 1"
    table.add_row(
        "box size",
        f"{format_vec(plan.box_size)} voxels in mag {plan.mag}{in_mag1} = {format_vec(plan.box_size_um)} µm  "
        f"({plan.box_size_reason})",
    )
    table.add_row("count", f"{len(plan.boxes)}  ({plan.count_reason})")
    table.add_row("total", f"{plan.total_voxels:,} voxels in mag {plan.mag}")
    table.add_row("region", f"{format_vec(plan.region.topleft, ',')} + {format_vec(plan.region.size)} (mag-1 voxels)")
    s = plan.spread
    table.add_row(
        "spread",
        f"closest pair {s.min_center_distance_nm / 1000:.2f} µm, mean nearest {s.mean_nearest_neighbour_nm / 1000:.2f} µm, "
        f"ratio {s.ratio:.2f} to {EVEN_SPACING.get(s.dimension, EVEN_SPACING[3])} = {s.ideal_spacing_nm / 1000:.2f} µm",
    )
    table.add_row("seed", str(plan.seed))
    if plan.tissue is not None:
        t = plan.tissue
        ratio = t.bytes_read / t.coarse_bytes if t.coarse_bytes else 0.0
        table.add_row(
            "tissue",
            (
                f"{t.foreground_fraction:.0%} of the region is tissue (mag {t.mag}); every box ≥ {t.min_tissue:.0%} tissue; "
                if t.checked
                else f"not checked: mag {t.mag} holds no image data over the region; "
            )
            + f"read {t.bytes_read:,} bytes ({ratio:.2f}× the mag over the region; {t.decoded_bytes:,} decoded)"
            + (f"; {t.mag_reason}" if t.mag_reason else ""),
        )
    if plan.strategy is not None:
        table.add_row("strategy", strategy_line(plan))
    if plan.avoided:
        annotations = sorted({box.annotation for box in plan.avoided})
        table.add_row("avoided", f"{len(plan.avoided)} earlier box(es) of {len(annotations)} annotation(s): {', '.join(annotations)}")
    return table


def strategy_line(plan: Plan) -> str:
    """The strategy, what it read, its strata (share: training + evaluation boxes) and score."""
    s = plan.strategy
    assert s is not None
    parts = [s.name]
    if s.layer:
        parts.append(f"read {s.layer} at mag {s.mag} ({s.bytes_read:,} bytes)")
    if s.score:
        versus = f" against {s.compare}" if s.compare else ""
        parts.append(f"score {s.score}{versus}, region mean {s.region_mean_score:g}, boxes from score {s.score_threshold:g} up")
    if s.strata:
        held = any(x.holdout for x in s.strata)
        strata = ", ".join(
            f"{x.stratum}{'' if x.label is None else f' (id {x.label})'}: {x.share:.0%} {x.boxes}" + (f"+{x.holdout}" if held else "")
            for x in s.strata
        )
        parts.append(f"strata from {s.strata_source} (share: boxes{' + evaluation' if held else ''}): {strata}")
    if s.holdout_gap_nm is not None:
        parts.append(f"{len(plan.holdout)} evaluation boxes ≥ {s.holdout_gap_nm:g} nm from every training box")
    return "; ".join(parts)


def box_table(plan: Plan) -> Table:
    """One row per box (training, then evaluation): name, top-left and size in mag-1 voxels, size
    in µm, and the tissue share, stratum and score where known."""
    table = Table(title=None, header_style="bold")
    fractions = plan.tissue.box_fractions if plan.tissue is not None else ()
    boxes = plan.boxes + plan.holdout
    strata = any(box.stratum is not None for box in boxes)
    scores = any(box.score is not None for box in boxes)
    columns = ("box", "top-left (mag 1)", "size (mag 1)", "size (µm)") + (("tissue",) if fractions else ())
    for column in columns + (("stratum",) if strata else ()) + (("score",) if scores else ()):
        table.add_column(column)
    for i, box in enumerate(boxes):
        extra = ((f"{fractions[i]:.0%}" if i < len(fractions) else "",) if fractions else ())
        extra += (str(box.stratum or ""),) if strata else ()
        extra += ("" if box.score is None else f"{box.score:.3g}",) if scores else ()
        table.add_row(box.name, format_vec(box.topleft, ","), format_vec(box.size), _um(box.size, plan.voxel_size_nm), *extra)
    return table


def print_plan(console: Console, plan: Plan, urls: Sequence[str] | None = None) -> None:
    """Summary, box table, then one viewer URL per box (on its own line, whole, clickable)."""
    console.print(plan_summary(plan))
    console.print(box_table(plan))
    for box, url in zip(plan.boxes, urls or ()):
        console.print(f"{box.name}  {url}", highlight=False, soft_wrap=True)


def print_warnings(console: Console, warnings: Sequence[str]) -> None:
    for warning in warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
