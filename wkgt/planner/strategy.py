"""Where boxes go beyond an even spread: the strategy options, the placement task a strategy
solves, and what it reports. No I/O.

- ``spread`` (default): boxes spread evenly over the usable region (:func:`place_boxes`).
- ``diverse`` (round 1): the region is cut into strata (clusters of image texture, or the
  labels of a segmentation/mask layer); every stratum gets a box, the rest go by volume.
- ``focus`` (later rounds): boxes go where a layer the lab already has scores high (the
  uncertainty of a prediction, the signs of errors of a segmentation, or where two
  segmentations disagree).
- ``holdout`` (any strategy): extra boxes for a separate evaluation annotation, a gap away
  from every training box, covering the strata as the training boxes do.

The strata and scores are computed on arrays at the *analysis mag*: the mag of the read
layer at which a box spans about ``ANALYSIS_SPAN_VOXELS`` voxels.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

import attrs
import numpy as np

from ..errors import InvalidInput
from .placement import CandidateFilter, Region, place_boxes
from .vectors import Vec3, Vec3f

StrategyName = Literal["spread", "diverse", "focus"]
STRATEGIES: tuple[str, ...] = ("spread", "diverse", "focus")
ANALYSIS_SPAN_VOXELS = 16
MIN_SPAN_VOXELS = 4
MAX_ANALYSIS_VOXELS = 2**22
DEFAULT_HOLDOUT_GAP_NM = 1000.0
MAX_STRATA = 32


@attrs.frozen
class StrategyOptions:
    """The strategy and its choices: ``strata`` clusters (or the labels of ``strata_layer``) for
    ``diverse``; the ``focus`` layer (and a ``compare`` segmentation) for ``focus``; ``holdout``
    evaluation boxes at least ``holdout_gap_nm`` from every training box."""

    name: StrategyName = "spread"
    strata: int | None = None
    strata_layer: str | None = None
    focus: str | None = None
    compare: str | None = None
    holdout: int = 0
    holdout_gap_nm: float = DEFAULT_HOLDOUT_GAP_NM

    @property
    def needs_strata(self) -> bool:
        return self.name == "diverse" or self.holdout > 0

    @property
    def is_default(self) -> bool:
        return self == StrategyOptions()

    def validate(self) -> StrategyOptions:
        """Refuse contradictory choices with one line naming the options."""
        if self.name not in STRATEGIES:
            raise InvalidInput(f"--strategy must be one of {', '.join(STRATEGIES)}, got {self.name!r}")
        if self.name == "focus" and not self.focus:
            raise InvalidInput("--strategy focus needs --focus LAYER (a prediction or segmentation layer)")
        if self.focus and self.name != "focus":
            raise InvalidInput(f"--focus goes with --strategy focus, not --strategy {self.name}")
        if self.compare and not self.focus:
            raise InvalidInput("--compare goes with --focus (two segmentation layers)")
        if self.compare and self.compare == self.focus:
            raise InvalidInput(f"--compare must name another layer than --focus {self.focus}: a layer never disagrees with itself")
        if self.strata is not None and self.strata_layer:
            raise InvalidInput("give --strata K or --strata-layer LAYER, not both")
        if (self.strata is not None or self.strata_layer) and not self.needs_strata:
            raise InvalidInput("--strata and --strata-layer go with --strategy diverse or --holdout")
        if self.strata is not None and not 1 <= self.strata <= MAX_STRATA:
            raise InvalidInput(f"--strata must be between 1 and {MAX_STRATA}, got {self.strata}")
        if self.holdout < 0:
            raise InvalidInput(f"--holdout must not be negative, got {self.holdout}")
        if not self.holdout_gap_nm >= 0:
            raise InvalidInput(f"--holdout-gap-nm must not be negative, got {self.holdout_gap_nm:g}")
        return self


def resolve_strategy(strategy: str | None, *, focus: str | None, strata: int | None, strata_layer: str | None, holdout: int) -> str:
    """The strategy the options ask for: ``--focus`` implies ``focus``; ``--strata``/``--strata-layer``
    imply ``diverse`` unless they shape a ``--holdout``; else ``spread``."""
    if strategy is not None:
        return strategy
    if focus:
        return "focus"
    if (strata is not None or strata_layer) and not holdout:
        return "diverse"
    return "spread"


@attrs.frozen
class PlacementTask:
    """What a strategy places: ``count`` boxes of ``box_size_mag1`` (mag-aligned to ``mag``) in
    ``region``, clear of ``occupied`` boxes by ``gap`` voxels, on corners ``candidate_filter`` accepts."""

    region: Region
    box_size_mag1: Vec3
    mag: Vec3
    voxel_size_nm: Vec3f
    count: int
    seed: int
    occupied: tuple[tuple[Vec3, Vec3], ...] = ()
    gap: int = 0
    candidate_filter: CandidateFilter | None = attrs.field(default=None, eq=False)


@attrs.frozen
class StratumReport:
    """One stratum: its number (1 = largest), share of the analysed region, boxes in each set,
    and the segment id it stands for (``--strata-layer``)."""

    stratum: int
    share: float
    boxes: int
    holdout: int = 0
    label: int | None = None


@attrs.frozen
class StrategyReport:
    """How the boxes were chosen: the strategy, the layer and mag analysed, the bytes read, the
    strata (``diverse``, ``--holdout``) and the score (``focus``)."""

    name: str
    layer: str | None = None
    mag: str | None = None
    bytes_read: int = 0
    strata_source: str | None = None
    strata: tuple[StratumReport, ...] = ()
    score: str | None = None
    compare: str | None = None
    score_threshold: float | None = None
    region_mean_score: float | None = None
    holdout_gap_nm: float | None = None


@attrs.frozen(eq=False)
class Placement:
    """A strategy's answer: training corners (n, 3), with each box's stratum (1-based) and score
    where known, the holdout corners and strata, the report and any warnings."""

    corners: np.ndarray
    strata: tuple[int, ...] | None = None
    scores: tuple[float, ...] | None = None
    holdout: np.ndarray = attrs.field(factory=lambda: np.empty((0, 3), dtype=np.int64))
    holdout_strata: tuple[int, ...] | None = None
    report: StrategyReport | None = None
    warnings: tuple[str, ...] = ()


Placer = Callable[[PlacementTask], Placement]


def analysis_mag(box_size_mag1: Sequence[int], mags: Sequence[Vec3], region: Region, *, span: int = ANALYSIS_SPAN_VOXELS, budget: int = MAX_ANALYSIS_VOXELS) -> Vec3:
    """The mag at which a box spans about ``span`` voxels (geometric mean over the axes; ties go
    to the coarser mag; never below ``MIN_SPAN_VOXELS`` on an axis when a finer mag avoids it),
    coarsened until the region holds at most ``budget`` voxels there."""
    if not mags:
        raise InvalidInput("the layer lists no mags to analyse")
    box = np.asarray(box_size_mag1, dtype=float)
    ordered = sorted(mags, key=lambda m: (math.prod(m), m))

    def badness(mag: Vec3) -> tuple[float, float]:
        spans = box / np.asarray(mag, dtype=float)
        too_thin = float(spans.min() < MIN_SPAN_VOXELS)
        return too_thin, abs(math.log(float(np.exp(np.log(spans).mean())) / span))

    best = min(reversed(ordered), key=badness)
    index = ordered.index(best)
    while index + 1 < len(ordered) and voxels_at(region, ordered[index]) > budget:
        index += 1
    return tuple(int(v) for v in ordered[index])  # type: ignore[return-value]


def grid_at(region: Region, mag: Sequence[int]) -> tuple[Vec3, Vec3]:
    """The voxels of ``mag`` (start, shape) that cover the mag-1 ``region``."""
    start = [int(t) // int(m) for t, m in zip(region.topleft, mag)]
    end = [-(-(int(t) + int(s)) // int(m)) for t, s, m in zip(region.topleft, region.size, mag)]
    return tuple(start), tuple(e - s for s, e in zip(start, end))  # type: ignore[return-value]


def voxels_at(region: Region, mag: Sequence[int]) -> int:
    return math.prod(grid_at(region, mag)[1])


def allocate(count: int, shares: Sequence[float]) -> list[int]:
    """Boxes per stratum: one each (the largest strata first when there are fewer boxes than
    strata), the rest in proportion to the shares (largest remainder)."""
    shares_array = np.asarray(shares, dtype=float)
    out = np.zeros(len(shares_array), dtype=int)
    present = np.flatnonzero(shares_array > 0)
    if count <= 0 or len(present) == 0:
        return out.tolist()
    by_size = present[np.argsort(-shares_array[present], kind="stable")]
    out[by_size[:count]] = 1
    rest = count - int(out.sum())
    if rest > 0:
        ideal = rest * shares_array / shares_array.sum()
        base = np.floor(ideal).astype(int)
        left = rest - int(base.sum())
        order = np.argsort(-(ideal - base), kind="stable")
        base[order[:left]] += 1
        out += base
    return out.tolist()


def place_up_to(
    task: PlacementTask,
    count: int,
    seed: int,
    candidate_filter: CandidateFilter | None,
    occupied: Sequence[tuple[Vec3, Vec3]],
    gap: int,
) -> np.ndarray:
    """As many of ``count`` spread boxes as fit (:func:`place_boxes`, the most found by bisection)."""

    def attempt(n: int) -> np.ndarray | None:
        if n == 0:
            return np.empty((0, 3), dtype=np.int64)
        try:
            return place_boxes(
                task.region, task.box_size_mag1, task.mag, task.voxel_size_nm, n, seed,
                occupied=occupied, gap=gap, candidate_filter=candidate_filter,
            )
        except InvalidInput:
            return None

    found = attempt(count)
    if found is not None:
        return found
    one = attempt(1) if count > 1 else None
    if one is None:
        return np.empty((0, 3), dtype=np.int64)
    low, high, best = 1, count - 1, one
    while low < high:
        middle = (low + high + 1) // 2
        placed = attempt(middle)
        if placed is None:
            high = middle - 1
        else:
            low, best = middle, placed
    return best
