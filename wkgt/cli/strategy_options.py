"""Typer options of the strategies (``--strategy``, ``--strata``, ``--focus``, ``--holdout``…), kept
apart from the shared options so each command appends them as one block."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from .options import non_empty

if TYPE_CHECKING:
    from ..planner.plan import PlanOptions

STRATEGY = "Strategy options"
DEFAULT_HOLDOUT_GAP_NM = 1000.0  # wkgt.planner.strategy.DEFAULT_HOLDOUT_GAP_NM (not imported: numpy-free start-up)

StrategyOption = Annotated[
    Optional[str],
    typer.Option(
        "--strategy", metavar="spread|diverse|focus",
        help="spread: even (default); diverse: every kind of tissue gets a box (round 1); focus: where --focus scores high (later rounds).",
        rich_help_panel=STRATEGY, show_default=False,
    ),
]
StrataOption = Annotated[
    Optional[int],
    typer.Option("--strata", metavar="K", help="diverse: cluster the image texture into K strata (default: count/2, 2 to 6).", rich_help_panel=STRATEGY, show_default=False),
]
StrataLayerOption = Annotated[
    Optional[str],
    typer.Option("--strata-layer", metavar="LAYER", help="diverse: strata are the ids of this segmentation/mask layer (e.g. cortical layers).", rich_help_panel=STRATEGY, show_default=False, callback=non_empty),
]
FocusOption = Annotated[
    Optional[str],
    typer.Option("--focus", metavar="LAYER", help="focus: a probability layer (uncertainty) or a segmentation layer (signs of splits and mergers).", rich_help_panel=STRATEGY, show_default=False, callback=non_empty),
]
CompareOption = Annotated[
    Optional[str],
    typer.Option("--compare", metavar="LAYER", help="focus: a second segmentation; boxes go where it and --focus disagree.", rich_help_panel=STRATEGY, show_default=False, callback=non_empty),
]
HoldoutOption = Annotated[
    int, typer.Option("--holdout", metavar="K", help="K extra boxes in a separate evaluation annotation (a fair test set).", rich_help_panel=STRATEGY)
]
HoldoutGapOption = Annotated[
    float, typer.Option("--holdout-gap-nm", metavar="NM", help="Distance of every evaluation box from every training box.", rich_help_panel=STRATEGY)
]


def with_strategy(
    plan: PlanOptions, strategy: str | None, strata: int | None, strata_layer: str | None, focus: str | None,
    compare: str | None, holdout: int, holdout_gap_nm: float,
) -> PlanOptions:
    """``plan`` with the strategy the options ask for (checked: one line for contradictions)."""
    import attrs

    from ..planner.strategy import StrategyOptions, resolve_strategy

    name = resolve_strategy(strategy, focus=focus, strata=strata, strata_layer=strata_layer, holdout=holdout)
    options = StrategyOptions(name, strata, strata_layer, focus, compare, holdout, holdout_gap_nm)  # type: ignore[arg-type]
    return attrs.evolve(plan, strategy=options.validate())
