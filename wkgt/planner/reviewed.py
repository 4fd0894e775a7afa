"""A reviewed plan: a saved plan that is written exactly as it was reviewed (``create-boxes --plan``).

Before it is written it must still fit the dataset: the same voxel size and mags, every box
inside the layer and aligned to the plan's mag. Its digest (mag and boxes) identifies it, so a
rerun of the same reviewed plan finds what the first run wrote.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from typing import Any

import attrs

from ..errors import InvalidInput
from .placement import Region
from .plan import Plan
from .vectors import Vec3, Vec3f, format_mag, format_vec


@attrs.frozen
class ReviewedPlan:
    """A plan and what it was made for: the dataset (``dataset_id``, ``dataset_name``) and ``layer``,
    when the file says so (``create-boxes --save`` does; ``wkgt plan --save`` knows no dataset)."""

    plan: Plan
    dataset_id: str | None = None
    dataset_name: str | None = None
    layer: str | None = None

    @classmethod
    def from_json(cls, text: str) -> ReviewedPlan:
        """A plan file of ``--save`` (or ``--json`` output): the plan, plus its ``dataset`` and ``layer``."""
        plan = Plan.from_json(text)
        data: dict[str, Any] = json.loads(text)
        dataset = data.get("dataset") if isinstance(data.get("dataset"), dict) else {}
        layer = data.get("layer") if isinstance(data.get("layer"), str) else None
        return cls(plan, _text(dataset.get("id")), _text(dataset.get("name")), layer)

    @property
    def digest(self) -> str:
        """16 hex digits over the mag and every box (name, top-left, size)."""
        boxes = [[b.name, list(b.topleft), list(b.size)] for b in self.plan.boxes]
        text = json.dumps({"mag": self.plan.mag, "boxes": boxes}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def check_dataset(self, dataset_id: str | None, dataset_name: str) -> None:
        """Refuse a plan made for another dataset (by id when both are known, else by name)."""
        if self.dataset_id and dataset_id:
            if self.dataset_id != dataset_id:
                raise InvalidInput(
                    f"the plan was made for dataset {self.dataset_name or ''} (id {self.dataset_id}), not "
                    f"{dataset_name} (id {dataset_id})".replace("  ", " ")
                )
        elif self.dataset_name and self.dataset_name != dataset_name:
            raise InvalidInput(f"the plan was made for dataset {self.dataset_name}, not {dataset_name}")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def misfits(plan: Plan, voxel_size_nm: Vec3f, mags: Sequence[Vec3], bbox: Region) -> list[str]:
    """Why ``plan`` does not fit a layer (voxel size in nm, mags, bounding box); empty if it fits."""
    problems = []
    if any(not math.isclose(a, b, rel_tol=1e-6) for a, b in zip(plan.voxel_size_nm, voxel_size_nm)):
        problems.append(
            f"the plan's voxel size is {format_vec(plan.voxel_size_nm)} nm, the dataset's {format_vec(voxel_size_nm)} nm"
        )
    layer_mags = [format_mag(m) for m in mags]
    if plan.mag not in layer_mags:
        problems.append(f"the layer has no mag {plan.mag} (it has {', '.join(layer_mags)})")
    elif sorted(plan.available_mags) != sorted(layer_mags):
        problems.append(f"the plan was made for mags {', '.join(plan.available_mags)}, the layer has {', '.join(layer_mags)}")
    if not plan.boxes:
        problems.append("the plan holds no boxes")
    mag = plan.mag_vec
    for box in plan.boxes:
        region = box.region
        if not bbox.contains(region):
            problems.append(f"{box.name} ({format_vec(box.topleft, ',')} + {format_vec(box.size)}) is not inside the layer {bbox}")
        elif any(t % m or s % m for t, s, m in zip(box.topleft, box.size, mag)):
            problems.append(f"{box.name} is not aligned to mag {plan.mag}")
    return problems


def check_fits(plan: Plan, voxel_size_nm: Vec3f, mags: Sequence[Vec3], bbox: Region) -> None:
    """Refuse a plan that does not fit the layer, naming the first problems."""
    problems = misfits(plan, voxel_size_nm, mags, bbox)
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise InvalidInput(f"the plan does not fit the dataset, nothing written: {'; '.join(problems[:3])}{more}")
