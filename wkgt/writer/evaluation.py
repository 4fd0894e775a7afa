"""The evaluation annotation (``--holdout``): the holdout boxes in an annotation of their own,
named and described as the evaluation set, so no training run picks them up by accident."""

from __future__ import annotations

from typing import Any

import attrs

from ..client.facts import DatasetFacts
from ..planner.plan import Plan
from .annotation import build_annotation, describe

EVALUATION_SUFFIX = " evaluation set"


def evaluation_name(training_name: str) -> str:
    return f"{training_name}{EVALUATION_SUFFIX}"


def evaluation_plan(plan: Plan) -> Plan:
    """The plan of the evaluation annotation: the holdout boxes as its boxes."""
    return attrs.evolve(plan, boxes=plan.holdout, holdout=(), tissue=None)


def build_evaluation_annotation(
    plan: Plan, dataset: DatasetFacts, *, name: str, key: str, of_key: str, upload_id: str | None = None,
    fallback_segmentation: bool | str = False,
) -> Any:
    """An annotation with every holdout box and an empty ground-truth volume layer; its
    description says it is a test set (and how to score a segmentation against it), carries its
    own run key ``key`` and that of its job, ``of_key``."""
    held_out = evaluation_plan(plan)
    gap = plan.strategy.holdout_gap_nm if plan.strategy is not None else None
    apart = f" at least {gap:g} nm from every training box" if gap is not None else ""
    note = (
        f"Evaluation set: {len(held_out.boxes)} boxes{apart}. "
        "Paint them, keep them out of training, and score a segmentation with "
        "`wkgt evaluate --annotation <this annotation> --segmentation <layer>`.\n"
    )
    return build_annotation(
        held_out, dataset, name=name, description=note + describe(held_out, key, upload_id, evaluation_of=of_key), fallback_segmentation=fallback_segmentation
    )
