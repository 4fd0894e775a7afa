"""``--focus LAYER``: score places by a layer the lab already has, put boxes where it is high (pure).

Scores per voxel of the analysis mag, each in [0, 1] or a few units (higher = more worth annotating):

- **uncertainty** of a prediction (a color layer of probabilities: integers scaled by the
  dtype's maximum, floats taken as they are): the binary entropy of p, 1 at p = 0.5, 0 at 0 and 1;
- **segment errors** of a segmentation: each segment is scored by how far it falls outside
  the segments of the region, in robust z-scores (volume-weighted median and MAD: the typical
  segment a voxel lies in) above ``Z_ALLOWED``: too
  small (tiny fragments: splits; only segments that do not touch the region's border, whose
  size is cut), too large (mergers), or too little of its bounding box filled (oddly shaped
  segments: mergers along a branch). Its voxels carry the largest of the three;
- **disagreement** of two segmentations (``--compare``): 1 where a voxel's pair of ids is not
  the best match of its id in either layer (splits and merges between them), 0 elsewhere;
  voxels that are 0 in either layer count as agreeing.

A box's score is its mean voxel score (a summed-volume table: any box costs 64 look-ups).
Placement reuses :func:`place_boxes`, one box at a time: first only corners whose box scores at
least the 99th percentile of the positive scores (of a sample of usable corners) are
candidates, then lower percentiles (``LEVELS``) down to any positive score; each new box is the candidate
farthest from the boxes placed so far and keeps a quarter of a box edge from them, so ten boxes do
not pile up on one error; a second pass over the high levels (from the median up) lets
boxes lie side by side, then the low levels go the same way; whatever does not fit is spread
over the usable region.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np

from ..errors import InvalidInput
from .avoid import gap_voxels
from .placement import aligned_corner_range
from .strategy import Placement, PlacementTask, place_up_to
from .tissue import box_sums
from .vectors import Vec3

Z_ALLOWED = 3.0
Z_CAP = 10.0
MIN_LOG_SPREAD = 0.05
LEVELS = (0.99, 0.98, 0.96, 0.93, 0.9, 0.85, 0.8, 0.75, 0.6, 0.5, 0.25, 0.0)
HIGH = 0.5
SCORE_SAMPLE = 8192
SPACING_EDGES = 0.25


def uncertainty_scores(data: np.ndarray) -> np.ndarray:
    """Binary entropy (bits) of the probability each voxel holds."""
    values = data.astype(np.float32)
    if np.issubdtype(data.dtype, np.integer):
        values /= float(np.iinfo(data.dtype).max)
    p = np.clip(np.nan_to_num(values, nan=0.0), 1e-6, 1 - 1e-6)
    return (-(p * np.log2(p) + (1 - p) * np.log2(1 - p))).astype(np.float32)


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def _robust_z(values: np.ndarray, reference: np.ndarray, weights: np.ndarray, floor: float) -> np.ndarray:
    """z-scores against the volume-weighted median and MAD of ``reference`` (the typical segment a
    voxel lies in: a thousand tiny fragments hold few voxels and do not shift it)."""
    if reference.size == 0:
        return np.zeros_like(values)
    centre = _weighted_median(reference, weights)
    spread = max(1.4826 * _weighted_median(np.abs(reference - centre), weights), floor)
    return (values - centre) / spread


def segment_error_scores(data: np.ndarray) -> np.ndarray:
    """Per voxel, its segment's error score (0 for id 0 and for segments that look typical)."""
    from scipy import ndimage

    ids, inverse = np.unique(data, return_inverse=True)
    inverse = inverse.reshape(data.shape)
    volumes = np.bincount(inverse.ravel(), minlength=len(ids)).astype(np.float64)
    boxes = ndimage.find_objects(inverse + 1)
    extents = np.ones(len(ids))
    border = np.zeros(len(ids), dtype=bool)
    for i, slices in enumerate(boxes):
        if slices is None:
            continue
        extents[i] = volumes[i] / np.prod([s.stop - s.start for s in slices])
        border[i] = any(s.start == 0 or s.stop == n for s, n in zip(slices, data.shape))
    real = ids != 0
    inner = real & ~border
    log_volume = np.log(volumes)
    reference = inner if inner.sum() >= 5 else real
    weights = volumes[reference]
    size_z = _robust_z(log_volume, log_volume[reference], weights, MIN_LOG_SPREAD)
    large = size_z
    small = np.where(inner, -size_z, 0.0)
    odd = np.where(inner, -_robust_z(extents, extents[reference], weights, 0.02), 0.0)
    score = np.clip(np.maximum.reduce([large, small, odd]) - Z_ALLOWED, 0.0, Z_CAP)
    score[~real] = 0.0
    return score.astype(np.float32)[inverse]


def disagreement_scores(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """1 where the pair of ids is not the best match of its id in either segmentation, else 0."""
    if first.shape != second.shape:
        raise InvalidInput(f"--focus and --compare cover different grids ({first.shape} vs {second.shape})")
    a_ids, a = np.unique(first, return_inverse=True)
    b_ids, b = np.unique(second, return_inverse=True)
    a, b = a.ravel().astype(np.int64), b.ravel().astype(np.int64)
    pair, pair_index, pair_count = np.unique(a * len(b_ids) + b, return_inverse=True, return_counts=True)
    pair_a, pair_b = pair // len(b_ids), pair % len(b_ids)
    best_for_a = np.full(len(a_ids), -1)
    best_for_b = np.full(len(b_ids), -1)
    for best, owner in ((best_for_a, pair_a), (best_for_b, pair_b)):
        order = np.lexsort((-pair_count, owner))  # per owner, the most frequent pair first
        first_of_owner = np.r_[True, owner[order][1:] != owner[order][:-1]]
        best[owner[order][first_of_owner]] = order[first_of_owner]
    pair_index = pair_index.ravel()
    matched = (best_for_a[a] == pair_index) & (best_for_b[b] == pair_index)
    background = (first.ravel() == 0) | (second.ravel() == 0)
    return (~matched & ~background).astype(np.float32).reshape(first.shape)


@attrs.frozen(eq=False)
class ScoreMap:
    """Voxel scores on the grid of ``mag``; ``scores[0, 0, 0]`` is voxel ``origin`` of that mag."""

    mag: Vec3
    origin: Vec3
    scores: np.ndarray
    table: np.ndarray = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        table = np.zeros(tuple(n + 1 for n in self.scores.shape), dtype=np.float64)
        inner = table[1:, 1:, 1:]
        np.cumsum(self.scores, axis=0, dtype=np.float64, out=inner)
        np.cumsum(inner, axis=1, out=inner)
        np.cumsum(inner, axis=2, out=inner)
        object.__setattr__(self, "table", table)

    @property
    def mean(self) -> float:
        return float(self.scores.mean()) if self.scores.size else 0.0

    def box_scores(self, corners: np.ndarray, box_size_mag1: Sequence[int]) -> np.ndarray:
        """Mean voxel score of each box (top-left mag-1 ``corners``)."""
        corners = np.asarray(corners, dtype=np.float64).reshape(-1, 3)
        mag = np.asarray(self.mag, dtype=np.float64)
        lo = corners / mag - np.asarray(self.origin)
        hi = lo + np.asarray(box_size_mag1, dtype=np.float64) / mag
        return box_sums(self.table, lo, hi) / np.prod(hi - lo, axis=1)


def place_by_score(task: PlacementTask, scores: ScoreMap, what: str = "the focus layer") -> tuple[Placement, float]:
    """``count`` boxes where the score is high, spread among themselves; and the lowest threshold used.

    Thresholds step down through ``LEVELS`` (quantiles of the positive box scores of a sample of
    usable corners), then none: at each step as many boxes as fit go where the score reaches
    it, spread and clear of the boxes placed before.
    """
    rng = np.random.default_rng(task.seed)
    first, last = aligned_corner_range(task.region, task.box_size_mag1, task.mag)
    mag = np.asarray(task.mag)
    sample = first + rng.integers(0, (last - first) // mag + 1, size=(SCORE_SAMPLE, 3)) * mag
    if task.candidate_filter is not None:
        sample = sample[task.candidate_filter(sample)]
    values = scores.box_scores(sample, task.box_size_mag1) if len(sample) else np.zeros(0)
    positive = values[values > 0]
    thresholds = sorted({float(np.quantile(positive, q)) for q in LEVELS}, reverse=True) if positive.size else []
    spacing = max(task.gap, gap_voxels(SPACING_EDGES * float(np.mean(np.asarray(task.box_size_mag1) * np.asarray(task.voxel_size_nm))), task.voxel_size_nm))
    placed = np.empty((0, 3), dtype=np.int64)
    used = 0.0
    high = [t for t in thresholds if t >= float(np.quantile(positive, HIGH))] if positive.size else []
    low = [t for t in thresholds if t not in high]
    for levels, gap in ((high, spacing), (high, task.gap), (low, spacing), (low, task.gap)):
        for threshold in levels:  # apart from each other first (one box per error before a second), then side by side
            usable = _at_least(scores, task, threshold)
            while len(placed) < task.count and _any_free(sample[values >= threshold], _occupied(task, placed), task.box_size_mag1, gap):
                more = place_up_to(task, 1, task.seed + len(placed), usable, _occupied(task, placed), gap)  # type: ignore[arg-type]
                if not len(more):
                    break
                placed, used = np.concatenate([placed, more]), threshold
    if len(placed) < task.count:  # the rest spread over the usable region
        more = place_up_to(task, task.count - len(placed), task.seed, task.candidate_filter, _occupied(task, placed), task.gap)
        placed = np.concatenate([placed, more])
        used = 0.0 if len(more) else used
    if len(placed) < task.count:
        raise InvalidInput(
            f"{task.count} boxes of {'×'.join(map(str, task.box_size_mag1))} mag-1 voxels do not fit on usable ground "
            f"in the region: only {len(placed)} could be placed"
        )
    box_scores = scores.box_scores(placed, task.box_size_mag1)
    return Placement(placed, scores=tuple(round(float(v), 4) for v in box_scores), warnings=_unscored_warning(box_scores, what)), used


def _unscored_warning(box_scores: np.ndarray, what: str) -> tuple[str, ...]:
    """Say so when the score found no place (or too few places) for the boxes: those were spread evenly."""
    unscored = int(np.count_nonzero(box_scores <= 0))
    if unscored == 0:
        return ()
    if unscored == len(box_scores):
        return (f"{what} scores 0 everywhere in the region (nothing looks uncertain, wrong or disagreeing): the boxes were spread evenly",)
    return (f"{unscored} of {len(box_scores)} boxes found no place where {what} scores above 0: those were spread evenly",)


def _any_free(corners: np.ndarray, occupied: list[tuple[Vec3, Vec3]], box: Vec3, gap: int) -> bool:
    """Whether any of ``corners`` keeps ``gap`` from every occupied box (a cheap test before placing)."""
    free = np.ones(len(corners), dtype=bool)
    for start, size in occupied:
        free &= ~np.all((corners < np.asarray(start) + np.asarray(size) + gap) & (corners + np.asarray(box) + gap > np.asarray(start)), axis=1)
    return bool(free.any())


def _occupied(task: PlacementTask, placed: np.ndarray) -> list[tuple[Vec3, Vec3]]:
    return list(task.occupied) + [(tuple(int(v) for v in c), task.box_size_mag1) for c in placed]  # type: ignore[misc]


def _at_least(scores: ScoreMap, task: PlacementTask, threshold: float) -> object:
    def usable(corners: np.ndarray) -> np.ndarray:
        ok = scores.box_scores(corners, task.box_size_mag1) >= threshold - 1e-9
        if task.candidate_filter is not None:
            ok &= task.candidate_filter(corners)
        return ok

    return usable
