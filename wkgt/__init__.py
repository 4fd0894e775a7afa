"""wkgt: pick the magnification and place ground-truth boxes for WEBKNOSSOS AI training.

Lab scripts use the same job as the CLI::

    from wkgt import PlanOptions, create_boxes
    result = create_boxes("l4_sample", PlanOptions(count=20), dry_run=True)
    for box, url in zip(result.plan.boxes, result.box_urls):
        print(box.name, url)

Names are imported on first use, so ``wkgt --help`` stays instant; ``webknossos`` is
imported only when a server or local dataset is read.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

from ._version import __version__

# However webknossos gets imported later (wkgt.client.sdk, or a lab script's own import), it
# should not ask PyPI for a newer version nor warn about optional image readers.
os.environ.setdefault("WEBKNOSSOS_SKIP_VERSION_CHECK", "True")
os.environ.setdefault("WEBKNOSSOS_SHOWED_IMAGE_READER_IMPORT_WARNING", "True")

if TYPE_CHECKING:
    from .errors import WkgtError
    from .create_job import CreateBoxesResult, create_boxes
    from .planner import Box, ModelKind, Plan, PlanOptions, PlanRequest, Region, make_plan
    from .tissue_plan import TissueOptions

_EXPORTS = {
    "CreateBoxesResult": ".create_job",
    "create_boxes": ".create_job",
    "TissueOptions": ".tissue_plan",
    "WkgtError": ".errors",
    "Box": ".planner",
    "ModelKind": ".planner",
    "Plan": ".planner",
    "PlanOptions": ".planner",
    "PlanRequest": ".planner",
    "Region": ".planner",
    "make_plan": ".planner",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'wkgt' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
