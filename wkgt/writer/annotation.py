"""Turning a plan into a WEBKNOSSOS annotation (the SDK's ``Annotation``): boxes, colours, name, description."""

from __future__ import annotations

import colorsys
import datetime as dt
from typing import Any

from .._version import __version__
from ..client.annotations import COPY_LABEL, EVALUATION_LABEL, RUN_KEY_LABEL, UPLOAD_LABEL
from ..client.facts import DatasetFacts
from ..client.sdk import webknossos
from ..planner.ground_truth import fallback_layer
from ..planner.plan import Plan

VOLUME_LAYER_NAME = "ground_truth"


def box_colors(n: int) -> list[tuple[float, float, float, float]]:
    """``n`` clearly distinct, saturated colours (golden-ratio steps around the hue circle)."""
    golden = 0.618033988749895
    return [(*colorsys.hsv_to_rgb((i * golden) % 1.0, 0.85, 1.0), 1.0) for i in range(n)]  # type: ignore[misc]


def default_name(dataset: DatasetFacts, plan: Plan, today: dt.date | None = None) -> str:
    return f"wkgt {dataset.name} mag {plan.mag} {(today or dt.date.today()).isoformat()}"


def describe(plan: Plan, key: str, upload_id: str | None = None, copy: bool = False, evaluation_of: str | None = None) -> str:
    """The annotation's description: the plan in one paragraph, then the run key (a rerun of the
    job finds the annotation by it), the id of this upload (finds exactly this upload after an
    unclear failure), for ``--force-new`` the mark that this is an extra copy, and for an
    evaluation set the run key of its job (``wkgt history`` and ``wkgt undo`` count it there)."""
    marks = (
        (f"\n{UPLOAD_LABEL}: {upload_id}" if upload_id else "")
        + (f"\n{COPY_LABEL}" if copy else "")
        + (f"\n{EVALUATION_LABEL}: {evaluation_of}" if evaluation_of else "")
    )
    size = "×".join(map(str, plan.box_size))
    size_mag1 = "×".join(map(str, plan.box_size_mag1))
    return (
        f"Ground-truth boxes planned by wkgt {__version__}: mag {plan.mag} "
        f"({'×'.join(f'{v:g}' for v in plan.effective_voxel_size_nm)} nm), {len(plan.boxes)} boxes of {size} "
        f"voxels in mag {plan.mag} ({size_mag1} in mag 1; {plan.total_voxels:,} voxels in all), "
        f"model {plan.model.value}, seed {plan.seed}.\n"
        f"{plan.mag_reason}.\n{RUN_KEY_LABEL}: {key}{marks}"
    )


def build_annotation(
    plan: Plan,
    dataset: DatasetFacts,
    *,
    name: str,
    description: str,
    fallback_segmentation: bool | str = False,
) -> Any:
    """An explorational annotation holding every box (visible, named, coloured) and an
    empty volume layer for the ground truth (on a segmentation layer if asked: True for the
    dataset's only one, or the layer's name)."""
    wk = webknossos()
    boxes = [
        wk.BoundingBox(box.topleft, box.size).with_name(box.name).with_color(color).with_is_visible(True)
        for box, color in zip(plan.boxes, box_colors(len(plan.boxes)))
    ]
    annotation = wk.Annotation(
        name=name,
        dataset_name=dataset.directory_name or dataset.name,
        voxel_size=dataset.voxel_size_nm,
        organization_id=dataset.organization,
        description=description,
        edit_position=plan.boxes[0].center if plan.boxes else None,
        user_bounding_boxes=boxes,
    )
    if dataset.id is not None:
        annotation.dataset_id = dataset.id
    fallback = None
    dtype = "uint32"
    layer = fallback_layer(dataset.layers, fallback_segmentation, f"dataset {dataset.name}")
    if layer is not None:
        fallback, dtype = layer.name, layer.dtype
    annotation.add_volume_layer(VOLUME_LAYER_NAME, dtype=dtype, fallback_layer=fallback)
    return annotation
