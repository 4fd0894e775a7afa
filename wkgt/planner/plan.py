"""A plan is data: the request, every choice with its reason, and the boxes.

It prints as a table, saves as JSON and loads back (``Plan.from_json(plan.to_json())``).
"""

from __future__ import annotations

import json
import math
import typing
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import cattrs
import numpy as np

from .._version import __version__
from ..errors import InvalidInput
from .box_size import choose_box_size
from .choices import DEFAULT_SEED
from .mag_choice import choose_mag
from .placement import CandidateFilter, Region, Spread, measure_spread, place_boxes
from .rules import DEFAULT_RULES, GuideRules, ModelKind
from .strategy import Placement, Placer, PlacementTask, StrategyOptions, StrategyReport
from .vectors import Vec3, Vec3f, format_mag


@attrs.frozen
class Box:
    """One ground-truth box: name, top-left corner and size in mag-1 voxels; the stratum
    (``diverse``, ``--holdout``) and score (``focus``) where a strategy set them."""

    name: str
    topleft: Vec3
    size: Vec3
    stratum: int | None = attrs.field(default=None, eq=False)  # a box is its name and place; these annotate it
    score: float | None = attrs.field(default=None, eq=False)

    @property
    def center(self) -> Vec3:
        return tuple(t + s // 2 for t, s in zip(self.topleft, self.size))  # type: ignore[return-value]

    def to_bounding_box(self) -> Any:
        """The SDK's ``webknossos.BoundingBox`` (named) for this box."""
        from webknossos import BoundingBox

        return BoundingBox(self.topleft, self.size).with_name(self.name)


@attrs.frozen
class PlanOptions:
    """The user's choices (all optional); sizes in voxels, lengths in nm."""

    model: ModelKind = ModelKind.NEURONS
    mag: Vec3 | None = None
    object_size_nm: float | None = None
    min_voxel_size_nm: float | None = None
    box_edge_nm: float | None = None
    box_size: Vec3 | None = None
    count: int | None = None
    total_voxels: int | None = None
    roi: Region | None = None
    margin: int = 0
    seed: int = DEFAULT_SEED
    strategy: StrategyOptions = StrategyOptions()

    def request(self, voxel_size_nm: Vec3f, mags: Sequence[Vec3], bbox: Region) -> PlanRequest:
        """Combine these choices with a layer's facts."""
        return PlanRequest(voxel_size_nm, tuple(mags), bbox, self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; the default strategy is left out (run keys of earlier jobs stay valid)."""
        data = _converter.unstructure(self)
        if self.strategy.is_default:
            del data["strategy"]
        return data


@attrs.frozen
class PlanRequest:
    """Everything the planner needs: a layer's facts (mag-1 voxels) and the user's choices."""

    voxel_size_nm: Vec3f
    mags: tuple[Vec3, ...]
    bbox: Region
    options: PlanOptions = PlanOptions()
    rules: GuideRules = DEFAULT_RULES

    def with_options(self, **changes: Any) -> PlanRequest:
        """The same request with some choices changed, e.g. ``request.with_options(seed=1)``."""
        return attrs.evolve(self, options=attrs.evolve(self.options, **changes))


@attrs.frozen
class TissueReport:
    """How the boxes were kept on tissue: the coarse mag read, what it cost, what it showed."""

    mag: str
    bytes_read: int
    coarse_bytes: int
    foreground_fraction: float
    min_tissue: float
    box_fractions: tuple[float, ...] = ()
    checked: bool = True


@attrs.frozen
class AvoidedBox:
    """A box of an earlier annotation that new boxes keep clear of (mag-1 voxels)."""

    annotation: str
    name: str
    topleft: Vec3
    size: Vec3


@attrs.frozen
class Plan:
    """The outcome of planning, with the reason for every choice."""

    model: ModelKind
    voxel_size_nm: Vec3f
    available_mags: tuple[str, ...]
    mag: str
    mag_reason: str
    effective_voxel_size_nm: Vec3f
    box_size: Vec3
    box_size_reason: str
    count_reason: str
    region: Region
    seed: int
    spread: Spread
    boxes: tuple[Box, ...]
    warnings: tuple[str, ...] = ()
    wkgt_version: str = __version__
    tissue: TissueReport | None = None
    avoided: tuple[AvoidedBox, ...] = ()
    strategy: StrategyReport | None = None
    holdout: tuple[Box, ...] = ()

    @property
    def mag_vec(self) -> Vec3:
        from .vectors import parse_mag

        return parse_mag(self.mag)

    @property
    def box_size_mag1(self) -> Vec3:
        return tuple(s * m for s, m in zip(self.box_size, self.mag_vec))  # type: ignore[return-value]

    @property
    def box_size_um(self) -> Vec3f:
        return tuple(  # type: ignore[return-value]
            round(s * v / 1000, 3) for s, v in zip(self.box_size, self.effective_voxel_size_nm)
        )

    @property
    def box_voxels(self) -> int:
        return math.prod(self.box_size)

    @property
    def total_voxels(self) -> int:
        return self.box_voxels * len(self.boxes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: the stored fields plus the derived sizes and totals."""
        data = _converter.unstructure(self)
        data.update(
            box_size_mag1=list(self.box_size_mag1),
            box_size_um=list(self.box_size_um),
            box_voxels=self.box_voxels,
            count=len(self.boxes),
            total_voxels=self.total_voxels,
        )
        data["spread"]["ratio"] = round(self.spread.ratio, 4)
        return data

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        return _converter.structure(data, cls)

    @classmethod
    def from_json(cls, text: str) -> Plan:
        try:
            return cls.from_dict(json.loads(text))
        except (ValueError, cattrs.BaseValidationError, KeyError, TypeError) as err:
            raise InvalidInput(f"not a wkgt plan: {err}") from None


def _make_converter() -> cattrs.Converter:
    """cattrs converter producing JSON-native values: tuples become lists, enums their value."""
    converter = cattrs.Converter(forbid_extra_keys=False)
    converter.register_unstructure_hook_func(
        lambda t: t is tuple or typing.get_origin(t) is tuple,
        lambda value: [converter.unstructure(v) for v in value],
    )
    converter.register_unstructure_hook(ModelKind, lambda kind: kind.value)
    converter.register_unstructure_hook(  # a box's stratum and score only where a strategy set them
        Box, cattrs.gen.make_dict_unstructure_fn(Box, converter, _cattrs_omit_if_default=True)
    )
    return converter


_converter = _make_converter()


def choose_count(box_voxels: int, request: PlanRequest) -> tuple[int, str]:
    """How many boxes: the user's count, or the fewest reaching the total volume."""
    rules, options = request.rules, request.options
    if options.count is not None and options.total_voxels is not None:
        raise InvalidInput("give --count or --total-voxels, not both")
    if options.count is not None:
        if options.count < 1:
            raise InvalidInput(f"--count must be at least 1, got {options.count}")
        return options.count, "given with --count"
    target = rules.min_total_voxels if options.total_voxels is None else options.total_voxels
    if target < 1:
        raise InvalidInput(f"--total-voxels must be positive, got {target}")
    count = math.ceil(target / box_voxels)
    if options.total_voxels is not None:
        return count, f"fewest boxes reaching {target:,} voxels (--total-voxels)"
    if count < rules.min_box_count:
        return rules.min_box_count, (
            f"at least {rules.min_box_count} boxes, so the trainer can hold some back as a test set "
            f"({count} would reach {target:,} voxels)"
        )
    return count, f"fewest boxes reaching {target:,} voxels (the guide's minimum)"


def count_warnings(count: int, box_voxels: int, rules: GuideRules) -> list[str]:
    """The guide's volume and count rules, as warnings."""
    total = count * box_voxels
    warnings = []
    if not rules.min_total_voxels <= total <= rules.max_total_voxels:
        warnings.append(
            f"total volume {total:,} voxels is outside the recommended "
            f"{rules.min_total_voxels:,}–{rules.max_total_voxels:,}"
        )
    if count < rules.min_box_count:
        warnings.append(
            f"only {count} box(es): the trainer holds some back as a test set, "
            f"plan at least {rules.min_box_count}"
        )
    return warnings


def planning_region(request: PlanRequest) -> Region:
    """The layer box, or the ROI (checked to lie inside it), shrunk by the margin."""
    region, roi, margin = request.bbox, request.options.roi, request.options.margin
    if roi is not None:
        if not request.bbox.contains(roi):
            raise InvalidInput(f"--roi {roi} is not inside the layer's bounding box {request.bbox}")
        region = roi
    if margin < 0:
        raise InvalidInput(f"--margin must not be negative, got {margin}")
    return region.shrunk(margin) if margin else region


def make_plan(
    request: PlanRequest,
    *,
    occupied: Sequence[tuple[Vec3, Vec3]] = (),
    gap: int = 0,
    name_prefix: str = "GT",
    filter_for_box: Callable[[Vec3, Vec3], CandidateFilter] | None = None,
    placer: Placer | None = None,
) -> Plan:
    """Choose mag, box size and count, and place the boxes (pure; same request → same plan).

    ``filter_for_box(box_size_mag1, mag)`` builds the filter of candidate corners once the box
    size is known (e.g. the tissue check, whose verdict depends on the box size). ``placer``
    (a strategy, :mod:`wkgt.planner.strategy`) places the boxes instead of the even spread.
    """
    options = request.options
    mag = choose_mag(
        request.voxel_size_nm,
        request.mags,
        options.model,
        mag=options.mag,
        object_size_nm=options.object_size_nm,
        min_voxel_size_nm=options.min_voxel_size_nm,
        rules=request.rules,
    )
    size = choose_box_size(
        mag.effective_voxel_size_nm,
        options.model,
        box_size=options.box_size,
        box_edge_nm=options.box_edge_nm,
        rules=request.rules,
    )
    box_voxels = math.prod(size.size)
    count, count_reason = choose_count(box_voxels, request)
    region = planning_region(request)
    box_mag1: Vec3 = tuple(s * m for s, m in zip(size.size, mag.mag))  # type: ignore[assignment]
    candidate_filter = filter_for_box(box_mag1, mag.mag) if filter_for_box is not None else None
    task = PlacementTask(
        region, box_mag1, mag.mag, request.voxel_size_nm, count, options.seed,
        tuple((tuple(t), tuple(s)) for t, s in occupied), gap, candidate_filter,  # type: ignore[arg-type]
    )
    placed = placer(task) if placer is not None else Placement(
        place_boxes(region, box_mag1, mag.mag, request.voxel_size_nm, count, options.seed,
                    occupied=occupied, gap=gap, candidate_filter=candidate_filter)
    )
    corners = placed.corners
    boxes = _named_boxes(name_prefix, corners, box_mag1, placed.strata, placed.scores)
    holdout = _named_boxes("EVAL", placed.holdout, box_mag1, placed.holdout_strata, None)
    return Plan(
        model=options.model,
        voxel_size_nm=tuple(float(v) for v in request.voxel_size_nm),  # type: ignore[arg-type]
        available_mags=tuple(format_mag(m) for m in request.mags),
        mag=format_mag(mag.mag),
        mag_reason=mag.reason,
        effective_voxel_size_nm=mag.effective_voxel_size_nm,
        box_size=size.size,
        box_size_reason=size.reason,
        count_reason=count_reason,
        region=region,
        seed=options.seed,
        spread=measure_spread(corners, box_mag1, region, request.voxel_size_nm),
        boxes=boxes,
        warnings=(*mag.warnings, *size.warnings, *count_warnings(count, box_voxels, request.rules), *placed.warnings),
        strategy=placed.report,
        holdout=holdout,
    )


def _named_boxes(
    prefix: str, corners: np.ndarray, size: Vec3, strata: Sequence[int] | None, scores: Sequence[float] | None
) -> tuple[Box, ...]:
    """Boxes named ``prefix 01``… in z, y, x order of their corners, with their stratum and score."""
    order = np.lexsort((corners[:, 0], corners[:, 1], corners[:, 2])) if len(corners) else np.arange(0)
    width = max(2, len(str(len(corners))))
    return tuple(
        Box(
            f"{prefix} {i:0{width}d}",
            tuple(int(v) for v in corners[k]),  # type: ignore[arg-type]
            size,
            stratum=int(strata[k]) if strata is not None and strata[k] else None,  # 0: in no stratum
            score=None if scores is None else float(scores[k]),
        )
        for i, k in enumerate(order, start=1)
    )
