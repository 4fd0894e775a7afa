"""A plan is data: the request, every choice with its reason, and the boxes.

It prints as a table, saves as JSON and loads back (``Plan.from_json(plan.to_json())``).
"""

from __future__ import annotations

import json
import math
import re
import typing
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import cattrs
import numpy as np

from .._version import __version__
from ..errors import InvalidInput
from .box_size import BoxSizeChoice, choose_box_size
from .choices import DEFAULT_SEED
from .mag_choice import MagChoice, choose_mag
from .placement import CandidateFilter, Region, Spread, measure_spread, place_boxes
from .ground_truth import GroundTruthLayer, no_common_mag, trainable_mags
from .rules import ModelKind, RuleSet, rule_set
from .strategy import Placement, Placer, PlacementTask, StrategyOptions, StrategyReport
from .vectors import Vec3, Vec3f, format_mag, to_mag, to_mags

MAX_BOXES = 20_000
"""The most boxes one run places: placement time grows faster than the count (README)."""
MAX_COORDINATE = 2**31 - 1
"""WEBKNOSSOS stores voxel coordinates as 32-bit integers."""
MAX_LENGTH_NM = 1e7
"""The longest length option (1 cm): far beyond any box, still exact in voxel arithmetic."""
VOXEL_SIZE_RANGE_NM = (1e-3, 1e6)
MAX_MAG_FACTOR = 2**16
MAX_SEED = 2**63 - 1


def _check_length(name: str, value: float | None) -> None:
    if value is None:
        return
    if not value > 0:
        raise InvalidInput(f"{name} must be positive, got {value:g}")
    if not value <= MAX_LENGTH_NM:
        raise InvalidInput(f"{name} must be at most {MAX_LENGTH_NM:,.0f} nm, got {value:g}")


def check_region(region: Region, what: str) -> None:
    """A region with positive size whose corners are 32-bit voxel coordinates."""
    values = (*region.topleft, *region.size, *region.end)
    if any(not -MAX_COORDINATE <= int(v) <= MAX_COORDINATE for v in values) or any(s <= 0 for s in region.size):
        raise InvalidInput(
            f"{what} {region} is out of range: sizes must be positive and coordinates within "
            f"±{MAX_COORDINATE:,} (WEBKNOSSOS's 32-bit voxel coordinates)"
        )


def check_mag(mag: Vec3, what: str) -> None:
    if any(not 1 <= f <= MAX_MAG_FACTOR for f in mag):
        raise InvalidInput(f"{what} {format_mag(mag)} is out of range: factors from 1 to {MAX_MAG_FACTOR:,}")

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

    @property
    def region(self) -> Region:
        """The voxels it covers (mag 1)."""
        return Region(self.topleft, self.size)

    def to_bounding_box(self) -> Any:
        """The SDK's ``webknossos.BoundingBox`` (named) for this box."""
        from webknossos import BoundingBox

        return BoundingBox(self.topleft, self.size).with_name(self.name)


@attrs.frozen
class PlanOptions:
    """The user's choices (all optional); sizes in voxels, lengths in nm."""

    model: ModelKind = ModelKind.NEURONS
    mag: Vec3 | None = attrs.field(default=None, converter=attrs.converters.optional(to_mag))
    """The training mag: ``2``, ``"2-2-1"``, ``(2, 2, 1)`` or a ``webknossos.Mag``."""
    object_size_nm: float | None = None
    min_voxel_size_nm: float | None = None
    box_edge_nm: float | None = None
    box_size: Vec3 | None = attrs.field(default=None, converter=attrs.converters.optional(tuple))
    count: int | None = None
    total_voxels: int | None = None
    roi: Region | None = None
    margin: int = 0
    seed: int = DEFAULT_SEED
    rules: str = "guide"
    """The rule set: ``guide`` or ``webknossos`` (:mod:`wkgt.planner.rules`)."""
    min_object_voxels: int | None = None
    min_box_voxels: int | None = None
    strategy: StrategyOptions = StrategyOptions()

    def request(
        self, voxel_size_nm: Vec3f, mags: Sequence[Vec3], bbox: Region, ground_truth: GroundTruthLayer | None = None
    ) -> PlanRequest:
        """Combine these choices with a layer's facts (and the ground-truth layer's, if known)."""
        return PlanRequest(voxel_size_nm, to_mags(mags), bbox, self, ground_truth)

    @property
    def rule_set(self) -> RuleSet:
        """The chosen rule set with the numbers given here."""
        return rule_set(self.rules).with_overrides(
            min_object_voxels=self.min_object_voxels, min_box_voxels=self.min_box_voxels
        )

    def validate(self) -> PlanOptions:
        """Refuse choices out of range (finite lengths, 32-bit coordinates, at most
        :data:`MAX_BOXES` boxes) with one line naming the option."""
        for name, value in (
            ("--object-size", self.object_size_nm),
            ("--min-voxel-size", self.min_voxel_size_nm),
            ("--box-edge-nm", self.box_edge_nm),
        ):
            _check_length(name, value)
        if self.mag is not None:
            check_mag(self.mag, "--mag")
        if self.box_size is not None and any(not 1 <= s <= MAX_COORDINATE for s in self.box_size):
            raise InvalidInput(f"--box-size must be positive 32-bit sizes, got {','.join(map(str, self.box_size))}")
        if self.count is not None and self.count < 1:
            raise InvalidInput(f"--count must be at least 1, got {self.count}")
        if self.count is not None and self.count > MAX_BOXES:
            raise InvalidInput(
                f"--count {self.count:,} is more than one run places: at most {MAX_BOXES:,} boxes "
                "(split the work into rounds with --avoid-previous)"
            )
        if self.total_voxels is not None and not 1 <= self.total_voxels <= 2**63 - 1:
            raise InvalidInput(f"--total-voxels must be from 1 to {2**63 - 1:,}, got {self.total_voxels:,}")
        if self.roi is not None:
            check_region(self.roi, "--roi")
        if not 0 <= self.margin <= MAX_COORDINATE:
            raise InvalidInput(f"--margin must be from 0 to {MAX_COORDINATE:,} voxels, got {self.margin:,}")
        if not 0 <= self.seed <= MAX_SEED:
            raise InvalidInput(f"--seed must be from 0 to {MAX_SEED:,}, got {self.seed:,}")
        return self

    def to_dict(self) -> dict[str, Any]:
        """The choices as JSON values; the options added with the rule sets and the strategy only
        when they differ from their defaults, so the run keys of earlier jobs stay the same."""
        data = _converter.unstructure(self)
        for name in ("rules", "min_object_voxels", "min_box_voxels"):
            if data[name] == _DEFAULT_CHOICES[name]:
                del data[name]
        if self.strategy.is_default:
            del data["strategy"]
        return data


@attrs.frozen
class PlanRequest:
    """Everything the planner needs: a layer's facts (mag-1 voxels) and the user's choices."""

    voxel_size_nm: Vec3f = attrs.field(converter=tuple)
    mags: tuple[Vec3, ...] = attrs.field(converter=to_mags)
    """The layer's mags, each as :func:`~wkgt.planner.vectors.to_mag` takes it (text, tuple, ``webknossos.Mag``)."""
    bbox: Region
    options: PlanOptions = PlanOptions()
    ground_truth: GroundTruthLayer | None = None
    """The ground-truth volume layer (None: not known, every image mag counts)."""

    @property
    def rules(self) -> RuleSet:
        return self.options.rule_set

    def validate(self) -> PlanRequest:
        """Refuse layer facts out of range (voxel size, bounding box, mags), then the choices."""
        low, high = VOXEL_SIZE_RANGE_NM
        if len(self.voxel_size_nm) != 3 or any(not low <= v <= high for v in self.voxel_size_nm):
            raise InvalidInput(
                f"the voxel size must be 3 lengths from {low:g} to {high:,.0f} nm, got "
                f"{','.join(f'{v:g}' for v in self.voxel_size_nm)}"
            )
        check_region(self.bbox, "the layer's bounding box")
        if not self.mags:
            raise InvalidInput("the layer has no mags")
        for mag in self.mags:
            check_mag(mag, "mag")
        self.options.validate()
        return self

    def with_options(self, **changes: Any) -> PlanRequest:
        """The same request with some choices changed, e.g. ``request.with_options(seed=1)``."""
        return attrs.evolve(self, options=attrs.evolve(self.options, **changes))


@attrs.frozen
class TissueReport:
    """How the boxes were kept on tissue: the mag read and why, what it cost (``bytes_read`` from
    storage, ``decoded_bytes`` as arrays, ``coarse_bytes`` the mag over the region), what it showed."""

    mag: str
    bytes_read: int
    coarse_bytes: int
    foreground_fraction: float
    min_tissue: float
    box_fractions: tuple[float, ...] = ()
    checked: bool = True
    decoded_bytes: int = 0
    mag_reason: str = ""
    budget_bytes: int = 0
    sampled: bool = False


@attrs.frozen
class AvoidedBox:
    """A box of an earlier annotation that new boxes keep clear of (mag-1 voxels)."""

    annotation: str
    name: str
    topleft: Vec3
    size: Vec3
    mag: str | None = None
    """The training mag of the wkgt round that made the box (None: not made by wkgt); boxes of
    the plan's mag count towards its total."""


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
    rules: str = "guide"
    """The rule set that decided (``guide`` or ``webknossos``)."""
    mag_exclusions: tuple[str, ...] = ()
    """Why image mags were left out (the ground-truth layer does not have them)."""
    earlier_boxes: int = 0
    earlier_voxels: int = 0
    """Boxes of earlier wkgt rounds at the same mag, and their voxels in that mag: one training
    run holds them and this plan's boxes, so they count towards the total."""
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

    @property
    def run_total_voxels(self) -> int:
        """This plan's voxels and those of earlier rounds at the same mag."""
        return self.total_voxels + self.earlier_voxels

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
        """A plan from its JSON; anything else is InvalidInput naming what is wrong (not JSON,
        not an object, the first missing or malformed fields by their JSON path)."""
        try:
            data = json.loads(text)
        except ValueError as err:
            raise InvalidInput(f"not a wkgt plan: not JSON ({err})") from None
        if not isinstance(data, dict):
            raise InvalidInput(f"not a wkgt plan: expected a JSON object as --save writes, got {_json_kind(data)}")
        try:
            return cls.from_dict(data)
        except cattrs.BaseValidationError as err:
            problems = cattrs.transform_error(err)
            more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
            raise InvalidInput(f"not a wkgt plan: {'; '.join(problems[:3])}{more}") from None
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise InvalidInput(f"not a wkgt plan: {err}") from None


def _json_kind(value: object) -> str:
    """How JSON names a value's type (for messages)."""
    kinds = {type(None): "null", bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list"}
    return kinds.get(type(value), type(value).__name__)


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
_DEFAULT_CHOICES = _converter.unstructure(PlanOptions())


def choose_count(box_voxels: int, request: PlanRequest, earlier_voxels: int = 0, earlier_boxes: int = 0) -> tuple[int, str]:
    """How many boxes: the user's count, or the fewest reaching the total volume together with
    ``earlier_boxes`` of earlier rounds at the same mag (``earlier_voxels`` in all)."""
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
    count = math.ceil(max(target - earlier_voxels, 0) / box_voxels)
    if count > MAX_BOXES:
        raise InvalidInput(
            f"{count:,} boxes of {box_voxels:,} voxels would be needed for {target:,} voxels; wkgt places at most "
            f"{MAX_BOXES:,} boxes in one run: lower --total-voxels or make the boxes larger"
        )
    if earlier_boxes:
        return _count_after_earlier(count, target, earlier_voxels, earlier_boxes, rules, options.total_voxels is not None)
    if options.total_voxels is not None:
        return count, f"fewest boxes reaching {target:,} voxels (--total-voxels)"
    if count < rules.min_box_count:
        return rules.min_box_count, (
            f"at least {rules.min_box_count} boxes, so the trainer can hold some back as a test set "
            f"({count} would reach {target:,} voxels)"
        )
    return count, f"fewest boxes reaching {target:,} voxels ({rules.label})"


def _count_after_earlier(
    count: int, target: int, earlier_voxels: int, earlier_boxes: int, rules: RuleSet, given_total: bool
) -> tuple[int, str]:
    earlier = f"the {earlier_boxes} box(es) of earlier rounds at this mag hold {earlier_voxels:,} voxels"
    source = "--total-voxels" if given_total else rules.label
    if not given_total and count + earlier_boxes < rules.min_box_count:
        return rules.min_box_count - earlier_boxes, (
            f"at least {rules.min_box_count} boxes in the training run, so the trainer can hold some back as a test set; {earlier}"
        )
    if count == 0:
        return 1, f"{earlier}, {target:,} already ({source}): one more box; --count asks for more"
    return count, f"fewest boxes reaching {target:,} voxels together with earlier rounds ({source}); {earlier}"


def count_warnings(count: int, box_voxels: int, rules: RuleSet, earlier_voxels: int = 0, earlier_boxes: int = 0) -> list[str]:
    """The guide's volume and count rules, as warnings, for the training run: this plan's boxes
    and those of earlier rounds at the same mag."""
    total = count * box_voxels + earlier_voxels
    with_earlier = f" ({count * box_voxels:,} new + {earlier_voxels:,} in earlier rounds)" if earlier_boxes else ""
    warnings = []
    if not rules.min_total_voxels <= total <= rules.max_total_voxels:
        warnings.append(
            f"total volume {total:,} voxels{with_earlier} is outside the recommended "
            f"{rules.min_total_voxels:,}–{rules.max_total_voxels:,}"
        )
    if count + earlier_boxes < rules.min_box_count:
        boxes = f"{count} box(es)" + (f" and {earlier_boxes} of earlier rounds" if earlier_boxes else "")
        warnings.append(
            f"only {boxes}: the trainer holds some back as a test set, "
            f"plan at least {rules.min_box_count}"
        )
    return warnings


_NUMBERED = re.compile(r"^(?P<prefix>.+) (?P<number>\d+)$")


def first_number(earlier: Sequence[AvoidedBox], prefix: str) -> int:
    """The number after the highest ``<prefix> NN`` among earlier boxes (1 if none): names
    continue from round to round."""
    numbers = [int(m["number"]) for box in earlier if (m := _NUMBERED.match(box.name)) and m["prefix"] == prefix]
    return max(numbers, default=0) + 1


def earlier_at_mag(earlier: Sequence[AvoidedBox], mag: Vec3) -> tuple[int, int]:
    """(boxes, voxels in ``mag``) of earlier wkgt rounds trained at ``mag``."""
    same = [box for box in earlier if box.mag is not None and box.mag == format_mag(mag)]
    return len(same), sum(math.prod(s // m for s, m in zip(box.size, mag)) for box in same)


def planning_region(request: PlanRequest) -> Region:
    """The layer box (only the part the ground-truth layer covers: boxes outside it fail
    training), or the ROI (checked to lie inside it), shrunk by the margin."""
    region, roi, margin = request.bbox, request.options.roi, request.options.margin
    truth = request.ground_truth.bbox if request.ground_truth is not None else None
    if truth is not None and not truth.contains(region):
        lo = tuple(max(a, b) for a, b in zip(region.topleft, truth.topleft))
        hi = tuple(min(a, b) for a, b in zip(region.end, truth.end))
        if any(h <= low for low, h in zip(lo, hi)):
            raise InvalidInput(f"the layer's bounding box {region} and the ground-truth layer's {truth} do not overlap")
        region = Region(lo, tuple(h - low for low, h in zip(lo, hi)))  # type: ignore[arg-type]
    if roi is not None:
        if not region.contains(roi):
            where = "the layer's bounding box" if region == request.bbox else "the part of the layer the ground-truth layer covers"
            raise InvalidInput(f"--roi {roi} is not inside {where} {region}")
        region = roi
    if margin < 0:
        raise InvalidInput(f"--margin must not be negative, got {margin}")
    return region.shrunk(margin) if margin else region


def choose_mag_and_size(request: PlanRequest) -> tuple[MagChoice, BoxSizeChoice, tuple[str, ...]]:
    """Steps 1 and 2 of a plan: the training mag (among the mags the ground-truth layer will
    have) and the box size, and why image mags were left out. :func:`make_plan` and whoever must
    know the box size before planning (the tissue check's read) ask this one function."""
    options = request.options
    mags, exclusions = trainable_mags(request.mags, request.ground_truth)
    if request.ground_truth is not None and not mags:
        raise InvalidInput(no_common_mag(request.mags, request.ground_truth))
    if options.mag is not None and options.mag in request.mags and options.mag not in mags:
        assert request.ground_truth is not None
        raise InvalidInput(
            f"--mag {format_mag(options.mag)}: the ground-truth layer will not have it, so WEBKNOSSOS cannot train "
            f"at it ({request.ground_truth.describe()})"
        )
    mag = choose_mag(
        request.voxel_size_nm,
        mags,
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
        object_size_nm=options.object_size_nm,
        rules=request.rules,
    )
    return mag, size, exclusions


def box_size_mag1(request: PlanRequest) -> Vec3:
    """The box size (mag-1 voxels) :func:`make_plan` chooses for ``request``."""
    mag, size, _ = choose_mag_and_size(request)
    return tuple(s * m for s, m in zip(size.size, mag.mag))  # type: ignore[return-value]


def make_plan(
    request: PlanRequest,
    *,
    occupied: Sequence[tuple[Vec3, Vec3]] = (),
    gap: int = 0,
    name_prefix: str = "GT",
    filter_for_box: Callable[[Vec3, Vec3], CandidateFilter] | None = None,
    earlier: Sequence[AvoidedBox] = (),
    placer: Placer | None = None,
) -> Plan:
    """Choose mag, box size and count, and place the boxes (pure; same request → same plan).

    ``filter_for_box(box_size_mag1, mag)`` builds the filter of candidate corners once the box
    size is known (e.g. the tissue check, whose verdict depends on the box size). ``earlier``
    boxes (of earlier rounds) continue the numbering, and those of wkgt rounds at the chosen
    mag count towards the total. ``placer`` (a strategy, :mod:`wkgt.planner.strategy`) places
    the boxes instead of the even spread.
    """
    request = request.validate()
    options = request.options
    mag, size, exclusions = choose_mag_and_size(request)
    box_voxels = math.prod(size.size)
    earlier_boxes, earlier_voxels = earlier_at_mag(earlier, mag.mag)
    count, count_reason = choose_count(box_voxels, request, earlier_voxels, earlier_boxes)
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
    boxes = _named_boxes(name_prefix, corners, box_mag1, placed.strata, placed.scores, first_number(earlier, name_prefix))
    holdout = _named_boxes("EVAL", placed.holdout, box_mag1, placed.holdout_strata, None)
    return Plan(
        model=options.model,
        voxel_size_nm=tuple(float(v) for v in request.voxel_size_nm),  # type: ignore[arg-type]
        available_mags=tuple(format_mag(m) for m in request.mags),
        mag=format_mag(mag.mag),
        mag_reason=mag.reason if options.mag is not None else f"{mag.reason}; {request.rules.label}",
        effective_voxel_size_nm=mag.effective_voxel_size_nm,
        box_size=size.size,
        box_size_reason=size.reason,
        count_reason=count_reason,
        region=region,
        seed=options.seed,
        spread=measure_spread(corners, box_mag1, region, request.voxel_size_nm),
        boxes=boxes,
        warnings=(
            *mag.warnings, *size.warnings,
            *count_warnings(count, box_voxels, request.rules, earlier_voxels, earlier_boxes), *placed.warnings,
        ),
        rules=request.rules.name,
        mag_exclusions=exclusions,
        earlier_boxes=earlier_boxes,
        earlier_voxels=earlier_voxels,
        strategy=placed.report,
        holdout=holdout,
    )


def _named_boxes(
    prefix: str,
    corners: np.ndarray,
    size: Vec3,
    strata: Sequence[int] | None,
    scores: Sequence[float] | None,
    start: int = 1,
) -> tuple[Box, ...]:
    """Boxes named ``prefix NN`` (from ``start``) in z, y, x order of their corners, with their
    stratum and score."""
    order = np.lexsort((corners[:, 0], corners[:, 1], corners[:, 2])) if len(corners) else np.arange(0)
    width = max(2, len(str(start + len(corners) - 1)))
    return tuple(
        Box(
            f"{prefix} {i:0{width}d}",
            tuple(int(v) for v in corners[k]),  # type: ignore[arg-type]
            size,
            stratum=int(strata[k]) if strata is not None and strata[k] else None,  # 0: in no stratum
            score=None if scores is None else float(scores[k]),
        )
        for i, k in enumerate(order, start=start)
    )
