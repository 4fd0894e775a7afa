"""``--strategy diverse``: cut the region into strata and give every stratum a box (pure numpy/scipy).

Strata come from the image (cheap texture features clustered by k-means) or from the labels
of a segmentation/mask layer (e.g. cortical layers). Features, per voxel of the analysis mag,
each averaged over a window of about half a box:

- intensity moments: local mean, standard deviation and skewness;
- multi-scale local contrast: Gaussian gradient magnitude at σ = 1 and 2 voxels;
- a membrane-density proxy: the positive part of the Laplacian of Gaussian (σ = 1 voxel),
  high where thin dark structures (membranes) are dense.

Features are standardized (median and interquartile range) and clustered with k-means++
(several starts, the tightest kept); strata are numbered by volume (1 = largest). A box
belongs to the stratum that fills three quarters of it (else at least half) (read off one summed-volume table per
stratum); boxes of a stratum are spread with the planner's :func:`place_boxes`.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np

from ..errors import InvalidInput
from .strategy import MAX_STRATA, Placement, PlacementTask, StratumReport, allocate, place_up_to
from .tissue import box_sums, summed_volume_table
from .vectors import Vec3

PURITIES = (0.75, 0.5)
KMEANS_SAMPLE = 10_000
KMEANS_STARTS = 4
DEFAULT_MAX_STRATA = 6


def default_strata(count: int) -> int:
    """Without ``--strata``: half the boxes by diversity, the other half by volume (2 to 6 strata)."""
    return int(min(max(2, count // 2), DEFAULT_MAX_STRATA))


def texture_features(data: np.ndarray, box_span: Sequence[float]) -> np.ndarray:
    """(6, x, y, z) float32 features of an (x, y, z) image at the analysis mag; ``box_span`` is
    the box size in voxels of that mag (the window is about half a box on each axis)."""
    from scipy import ndimage

    image = data.astype(np.float32)
    window = tuple(max(int(round(float(s) / 4)) * 2 + 1, 3) for s in box_span)

    def smooth(values: np.ndarray) -> np.ndarray:
        return ndimage.uniform_filter(values, window, mode="reflect")

    mean = smooth(image)
    second = smooth(image * image)
    third = smooth(image * image * image)
    variance = np.maximum(second - mean * mean, 0.0)
    std = np.sqrt(variance)
    skew = (third - 3 * mean * second + 2 * mean**3) / np.maximum(std, 1e-3) ** 3
    contrast = [smooth(ndimage.gaussian_gradient_magnitude(image, s)) for s in (1.0, 2.0)]
    membranes = smooth(np.maximum(ndimage.gaussian_laplace(image, 1.0), 0.0))
    return np.stack([mean, std, np.clip(skew, -10, 10), *contrast, membranes]).astype(np.float32)


def _standardized(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and scale (interquartile range, else standard deviation, else 1) per feature."""
    centre = np.median(samples, axis=0)
    q1, q3 = np.percentile(samples, (25, 75), axis=0)
    scale = (q3 - q1) / 1.349
    scale = np.where(scale > 1e-6, scale, samples.std(axis=0))
    return centre, np.where(scale > 1e-6, scale, 1.0)


def cluster_strata(features: np.ndarray, mask: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Labels (int16, 0 outside ``mask``, 1..k by volume) of k-means++ clusters of the features."""
    from scipy.cluster.vq import kmeans2, vq

    points = features[:, mask].T.astype(np.float64)
    labels = np.zeros(mask.shape, dtype=np.int16)
    if len(points) == 0:
        return labels
    rng = np.random.default_rng(seed)
    sample = points[rng.choice(len(points), min(len(points), KMEANS_SAMPLE), replace=False)]
    centre, scale = _standardized(sample)
    sample = (sample - centre) / scale
    k = max(1, min(k, len(np.unique(sample, axis=0))))
    best, best_cost = None, np.inf
    for _ in range(KMEANS_STARTS):
        centres, assigned = kmeans2(sample, k, minit="++", seed=rng)
        cost = float(((sample - centres[assigned]) ** 2).sum())
        if cost < best_cost:
            best, best_cost = centres, cost
    assert best is not None
    assigned, _ = vq((points - centre) / scale, best, check_finite=False)
    counts = np.bincount(assigned, minlength=k)
    rank = np.empty(k, dtype=np.int64)
    rank[np.argsort(-counts, kind="stable")] = np.arange(1, k + 1)
    labels[mask] = rank[assigned].astype(np.int16)
    return labels


def strata_from_labels(data: np.ndarray, max_strata: int = MAX_STRATA) -> tuple[np.ndarray, tuple[int, ...]]:
    """Strata from a segmentation/mask layer: each non-zero id a stratum (1 = largest), and the
    ids in stratum order. More than ``max_strata`` ids is an error (strata are a few regions)."""
    ids, inverse, counts = np.unique(data, return_inverse=True, return_counts=True)
    nonzero = ids != 0
    if nonzero.sum() > max_strata:
        raise InvalidInput(
            f"--strata-layer holds {int(nonzero.sum())} distinct ids over the region; strata are a few regions "
            f"(at most {max_strata}, e.g. cortical layers or a tissue-type mask)"
        )
    order = [i for i in np.argsort(-counts, kind="stable") if nonzero[i]]
    number = np.zeros(len(ids), dtype=np.int16)
    number[order] = np.arange(1, len(order) + 1)
    return number[inverse.reshape(data.shape)], tuple(int(ids[i]) for i in order)


@attrs.frozen(eq=False)
class StrataMap:
    """Strata on the grid of ``mag``: ``labels[0, 0, 0]`` is voxel ``origin`` of that mag; 0 = no stratum."""

    mag: Vec3
    origin: Vec3
    labels: np.ndarray
    count: int
    ids: tuple[int, ...] = ()
    tables: tuple[np.ndarray, ...] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "tables", tuple(summed_volume_table(self.labels == s) for s in range(1, self.count + 1)))

    def volume_shares(self) -> np.ndarray:
        """(count,) share of each stratum among the voxels that have one."""
        counts = np.bincount(self.labels.ravel(), minlength=self.count + 1)[1 : self.count + 1].astype(float)
        return counts / counts.sum() if counts.sum() else counts

    def _bounds(self, corners: np.ndarray, box_size_mag1: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        lo = np.asarray(corners, dtype=np.float64).reshape(-1, 3) / np.asarray(self.mag, dtype=np.float64) - np.asarray(self.origin)
        return lo, lo + np.asarray(box_size_mag1, dtype=np.float64) / np.asarray(self.mag, dtype=np.float64)

    def share_of(self, stratum: int, corners: np.ndarray, box_size_mag1: Sequence[int]) -> np.ndarray:
        """(n,) share of each box (top-left mag-1 ``corners``) that ``stratum`` fills."""
        lo, hi = self._bounds(corners, box_size_mag1)
        return box_sums(self.tables[stratum - 1], lo, hi) / np.prod(hi - lo, axis=1)

    def shares(self, corners: np.ndarray, box_size_mag1: Sequence[int]) -> np.ndarray:
        """(n, count) share of each box that each stratum fills."""
        if self.count == 0:
            return np.zeros((len(np.asarray(corners).reshape(-1, 3)), 0))
        return np.stack([self.share_of(s, corners, box_size_mag1) for s in range(1, self.count + 1)], axis=1)

    def majority(self, corners: np.ndarray, box_size_mag1: Sequence[int]) -> tuple[int, ...]:
        """Each box's stratum: the one filling most of it (0 when none is there)."""
        shares = self.shares(corners, box_size_mag1)
        if shares.shape[1] == 0:
            return tuple(0 for _ in range(len(shares)))
        best = np.argmax(shares, axis=1)
        return tuple(int(b + 1) if shares[i, b] > 0 else 0 for i, b in enumerate(best))

    def filter_for(self, stratum: int, box_size_mag1: Sequence[int], base: object | None = None, purity: float = PURITIES[-1]) -> object:
        """The candidate filter of one stratum: the stratum fills at least ``purity`` of the box."""
        size = tuple(int(v) for v in box_size_mag1)

        def usable(corners: np.ndarray) -> np.ndarray:
            ok = self.share_of(stratum, corners, size) >= purity - 1e-9
            if base is not None:
                ok &= base(corners)  # type: ignore[operator]
            return ok

        return usable


def _as_occupied(corners: np.ndarray, task: PlacementTask) -> list[tuple[Vec3, Vec3]]:
    return [(tuple(int(v) for v in c), task.box_size_mag1) for c in corners]  # type: ignore[misc]


def place_per_stratum(
    task: PlacementTask, strata: StrataMap, wanted: Sequence[int], occupied: Sequence[tuple[Vec3, Vec3]], gap: int
) -> tuple[np.ndarray, list[int], list[int]]:
    """Place ``wanted[s]`` boxes in each stratum, rarest first, each stratum spread by
    :func:`place_boxes` and clear of every box placed before; a stratum that holds fewer passes
    the rest on to the largest stratum. Returns corners, their strata, and boxes per stratum."""
    shares = strata.volume_shares()
    order = sorted(range(strata.count), key=lambda s: (shares[s], -s))
    wanted = list(wanted)
    placed: list[np.ndarray] = []
    numbers: list[int] = []
    got = [0] * strata.count
    taken = list(occupied)
    for position, s in enumerate(order):
        want = wanted[s]
        corners = np.empty((0, 3), dtype=np.int64)
        for purity in PURITIES:  # boxes well inside the stratum first (spread pushes them to its edges)
            usable = strata.filter_for(s + 1, task.box_size_mag1, task.candidate_filter, purity)
            more = place_up_to(task, want - len(corners), task.seed + s, usable, taken + _as_occupied(corners, task), gap)  # type: ignore[arg-type]
            corners = np.concatenate([corners, more])
            if len(corners) == want:
                break
        short = want - len(corners)
        if short and position + 1 < len(order):
            wanted[order[-1]] += short  # the largest stratum takes what a small one cannot hold
        got[s] = len(corners)
        placed.append(corners)
        numbers += [s + 1] * len(corners)
        taken += [(tuple(int(v) for v in c), task.box_size_mag1) for c in corners]  # type: ignore[misc]
    return (np.concatenate(placed) if placed else np.empty((0, 3), dtype=np.int64)), numbers, got


def place_by_strata(task: PlacementTask, strata: StrataMap) -> Placement:
    """``count`` boxes: one per stratum (the largest first when there are fewer boxes), the rest
    by volume; fails like :func:`place_boxes` when fewer fit."""
    shares = strata.volume_shares()
    wanted = allocate(task.count, shares)
    corners, numbers, got = place_per_stratum(task, strata, wanted, task.occupied, task.gap)
    if len(corners) < task.count:
        raise InvalidInput(
            f"{task.count} boxes of {'×'.join(map(str, task.box_size_mag1))} mag-1 voxels do not fit on usable ground "
            f"in the region's strata: only {len(corners)} could be placed"
        )
    warnings = tuple(
        f"stratum {s + 1} ({shares[s]:.1%} of the region) has no box-sized place it fills by half: it got no box"
        for s in range(strata.count)
        if got[s] == 0 and shares[s] > 0
    )
    if task.count < int((shares > 0).sum()):
        warnings += (f"{task.count} boxes for {int((shares > 0).sum())} strata: the smallest strata got none (raise --count or lower --strata)",)
    return Placement(corners, strata=tuple(numbers), warnings=warnings)


def stratum_reports(strata: StrataMap, train: Sequence[int], holdout: Sequence[int] = ()) -> tuple[StratumReport, ...]:
    shares = strata.volume_shares()
    return tuple(
        StratumReport(
            stratum=s,
            share=round(float(shares[s - 1]), 4),
            boxes=sum(1 for v in train if v == s),
            holdout=sum(1 for v in holdout if v == s),
            label=strata.ids[s - 1] if strata.ids else None,
        )
        for s in range(1, strata.count + 1)
    )
