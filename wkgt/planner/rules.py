"""The two published rule sets wkgt plans and checks by, kept as data.

``guide`` is *Choosing Magnification and Bounding Boxes for AI Analysis in WEBKNOSSOS*
(seed-guide-magnification-and-boxes.md) read by its worked examples: boxes about 1 µm per side
in physical space (89×89×34 at 11.24×11.24×30 nm, 125×125×32 at 8×8×35 nm), ≥ 250,000 voxels.
Its other sentence, "integer multiples of these values", contradicts those examples; this set
follows the examples, so it does not warn on non-multiples.

``webknossos`` is what WEBKNOSSOS itself says and does today (February 2026): the docs page
``docs/automation/choosing_mags_and_bboxes.md`` of scalableminds/webknossos (≥ 230,000 voxels
per box, hard minimum 85×85×32 for neurons and 32×32×32 for instances, 64×64×64 recommended,
"integer multiples of these minimum values") and the "generate bounding boxes" dialog
``frontend/javascripts/viewer/view/right_border_tabs/generate_bounding_boxes_modal.tsx``
(``TRAINING_DEFAULTS``: 85×85×32 and 64×64×64; it warns on a dimension that is not a multiple of
the minimum because "the training backend pads or crops to the nearest multiple"). Boxes are
multiples of the minimum, per axis, as near a physical cube as possible.

Both share the mag rules: neurons gain nothing from voxels finer than 8 nm; instances train at
the coarsest mag at which the object still spans ``min_object_voxels`` voxels in-plane. Every
number can be changed from the command line.
"""

from __future__ import annotations

from typing import Any

import attrs

from ..errors import InvalidInput
from .choices import ModelKind
from .vectors import Vec3

__all__ = ["DEFAULT_RULES", "GUIDE_RULES", "RULE_SETS", "WEBKNOSSOS_RULES", "GuideRules", "ModelKind", "RuleSet", "rule_set"]


@attrs.frozen
class RuleSet:
    """Thresholds of one rule set (``name``, whose ``source`` is quoted in reasons)."""

    name: str
    source: str
    neuron_min_voxel_size_nm: float = 8.0
    """Neurons: the finest useful voxel size (both sets; the guide and the docs agree)."""
    voxel_size_tolerance: float = 0.05
    neuron_max_inplane_nm: float = 20.0
    """Neurons: mag-1 voxels coarser than this in-plane are not EM-like (the model's data)."""
    min_object_voxels: int = 24
    """Instances: the object spans at least this many voxels in-plane at the training mag.
    24 keeps nuclei of 5–8 µm on ~11 nm data at mag 16, as in the docs' nuclei example."""
    min_object_sections: int = 3
    """Instances: fewer sections than this across the object in z earn a warning."""
    object_context: float = 2.0
    """Instances: a box is at least this many object diameters per side (object + context)."""
    neuron_min_box: Vec3 = (85, 85, 32)
    instance_min_box: Vec3 = (32, 32, 32)
    min_box_voxels: int = 250_000
    box_edge_nm: float = 1000.0
    multiples_of_minimum: bool = False
    """Box sizes are integer multiples of the minimum box (and other sizes earn a warning)."""
    min_total_voxels: int = 5_000_000
    max_total_voxels: int = 10_000_000
    min_box_count: int = 5

    def min_box(self, model: ModelKind) -> Vec3:
        """The hard minimum box size (voxels of the chosen mag) for a model kind."""
        return self.neuron_min_box if model is ModelKind.NEURONS else self.instance_min_box

    @property
    def label(self) -> str:
        """``rules: guide`` — how reasons name the set that decided."""
        return f"rules: {self.name}"

    def with_overrides(self, **changes: Any) -> RuleSet:
        """This set with the numbers the user gave (``None`` keeps the set's value)."""
        given = {k: v for k, v in changes.items() if v is not None}
        return attrs.evolve(self, **given) if given else self


GUIDE_RULES = RuleSet(
    "guide",
    "the guide's worked examples (about 1 µm per side, ≥ 250,000 voxels)",
)
WEBKNOSSOS_RULES = RuleSet(
    "webknossos",
    "WEBKNOSSOS's docs and box generator (multiples of the minimum, ≥ 230,000 voxels)",
    min_box_voxels=230_000,
    multiples_of_minimum=True,
)
RULE_SETS: dict[str, RuleSet] = {rules.name: rules for rules in (GUIDE_RULES, WEBKNOSSOS_RULES)}
DEFAULT_RULES = GUIDE_RULES
GuideRules = RuleSet
"""The name of wkgt 0.2 for a rule set."""


def rule_set(name: str) -> RuleSet:
    """The published rule set called ``name`` (``guide`` or ``webknossos``)."""
    try:
        return RULE_SETS[name]
    except KeyError:
        raise InvalidInput(f"--rules must be one of {', '.join(RULE_SETS)}, got {name!r}") from None
