"""``wkgt evaluate``: how well a segmentation matches painted ground truth, per box and overall (pure).

Scikit-image's metrics, with the ground truth's 0 (unpainted) ignored:

- variation of information (``skimage.metrics.variation_of_information``), in bits, as its two
  conditional entropies: **split** = H(segmentation | truth) (over-segmentation) and
  **merge** = H(truth | segmentation) (under-segmentation);
- adapted Rand error (``skimage.metrics.adapted_rand_error``): 1 − F-score of the Rand index,
  with its precision and recall.

Overall scores pool every box's voxels, with ids made distinct per box (a segment id in two
boxes is two objects), so one box's objects never pair with another's.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np

from ..errors import InvalidInput


@attrs.frozen
class SegmentationScores:
    """VOI split and merge (bits), their sum, adapted Rand error with precision and recall,
    and the number of painted voxels compared."""

    voi_split: float
    voi_merge: float
    arand: float
    precision: float
    recall: float
    voxels: int

    @property
    def voi(self) -> float:
        return self.voi_split + self.voi_merge


def score_segmentation(truth: np.ndarray, segmentation: np.ndarray) -> SegmentationScores:
    """Scores of ``segmentation`` against ``truth`` (same shape; truth 0 is ignored)."""
    from skimage.metrics import adapted_rand_error, variation_of_information

    if truth.shape != segmentation.shape:
        raise InvalidInput(f"ground truth and segmentation differ in shape: {truth.shape} vs {segmentation.shape}")
    painted = int(np.count_nonzero(truth))
    if painted == 0:
        raise InvalidInput("the ground truth holds no painted voxel")
    split, merge = variation_of_information(truth, segmentation, ignore_labels=(0,))
    error, precision, recall = adapted_rand_error(truth, segmentation, ignore_labels=(0,))
    return SegmentationScores(
        float(split), float(merge), float(error), float(precision), float(recall), painted
    )


def pooled(pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """One flat (truth, segmentation) pair of every box's voxels, ids offset per box (truth 0 stays 0)."""
    truths, segmentations = [], []
    offset_truth = offset_segmentation = 0
    for truth, segmentation in pairs:
        t = truth.ravel().astype(np.uint64)
        s = segmentation.ravel().astype(np.uint64)
        t_ids, t_index = np.unique(t, return_inverse=True)
        s_ids, s_index = np.unique(s, return_inverse=True)
        truths.append(np.where(t == 0, 0, t_index.astype(np.uint64) + 1 + offset_truth))
        segmentations.append(s_index.astype(np.uint64) + offset_segmentation)
        offset_truth += len(t_ids) + 1
        offset_segmentation += len(s_ids)
    return np.concatenate(truths), np.concatenate(segmentations)


def score_boxes(pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[list[SegmentationScores | None], SegmentationScores | None]:
    """Scores per box (None for a box without painted voxels) and over all painted boxes."""
    per_box = [score_segmentation(t, s) if np.any(t) else None for t, s in pairs]
    painted = [(t, s) for (t, s), score in zip(pairs, per_box) if score is not None]
    overall = score_segmentation(*pooled(painted)) if painted else None
    return per_box, overall
