"""wkgt: pick the magnification and place ground-truth boxes for WEBKNOSSOS AI training.

Lab scripts use the same job as the CLI::

    from wkgt import PlanOptions, create_boxes
    result = create_boxes("l4_sample", PlanOptions(count=20), dry_run=True)
    for box, url in zip(result.plan.boxes, result.box_urls):
        print(box.name, url)

Importing wkgt does not import ``webknossos``; the first server call does.
"""

from ._version import __version__
from .create_boxes import CreateBoxesResult, create_boxes
from .errors import WkgtError
from .planner import Box, ModelKind, Plan, PlanOptions, PlanRequest, Region, make_plan

__all__ = [
    "Box",
    "CreateBoxesResult",
    "ModelKind",
    "Plan",
    "PlanOptions",
    "PlanRequest",
    "Region",
    "WkgtError",
    "__version__",
    "create_boxes",
    "make_plan",
]
