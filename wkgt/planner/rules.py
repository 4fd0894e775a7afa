"""The guide's numbers (seed-guide-magnification-and-boxes.md), kept in one place."""

from __future__ import annotations

import attrs

from .choices import ModelKind
from .vectors import Vec3

__all__ = ["DEFAULT_RULES", "GuideRules", "ModelKind"]


@attrs.frozen
class GuideRules:
    """Thresholds of the guide; every one can be changed from the command line."""

    neuron_min_voxel_size_nm: float = 8.0
    voxel_size_tolerance: float = 0.05
    objects_span_voxels: int = 20
    neuron_min_box: Vec3 = (85, 85, 32)
    instance_min_box: Vec3 = (32, 32, 32)
    min_box_voxels: int = 250_000
    box_edge_nm: float = 1000.0
    min_total_voxels: int = 5_000_000
    max_total_voxels: int = 10_000_000
    min_box_count: int = 5

    def min_box(self, model: ModelKind) -> Vec3:
        """The hard minimum box size (voxels of the chosen mag) for a model kind."""
        return self.neuron_min_box if model is ModelKind.NEURONS else self.instance_min_box


DEFAULT_RULES = GuideRules()
