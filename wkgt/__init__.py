"""wkgt: pick the magnification and place ground-truth boxes for WEBKNOSSOS AI training.

Lab scripts run the same jobs as the CLI, each over a small frozen job description::

    from wkgt import CreateBoxesJob, PlanOptions, WriteOptions, create_boxes
    job = CreateBoxesJob(plan=PlanOptions(count=20), write=WriteOptions(dry_run=True))
    result = create_boxes("l4_sample", job)
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
    from .client import Connection, RetryPolicy
    from .errors import WkgtError
    from .jobs.check import CheckJob, CheckResult, check_annotation, check_annotations
    from .jobs.create_boxes import CreateBoxesJob, CreateBoxesResult, Rounds, WriteOptions, create_boxes
    from .jobs.distribute import Distribution
    from .jobs.planning import TissueOptions
    from .planner import Box, ModelKind, Plan, PlanOptions, PlanRequest, Region, make_plan
    from .jobs.batch import BatchJob, BatchResult, DatasetSelection, run_batch
    from .jobs.evaluate import EvaluateJob, EvaluateResult, evaluate
    from .jobs.history import HistoryJob, HistoryResult, history
    from .jobs.info import DatasetsJob, InfoJob, dataset_info, list_datasets_job
    from .jobs.train import TrainJob, TrainResult, train
    from .jobs.undo import UndoJob, UndoResult, undo
    from .planner.reviewed import ReviewedPlan
    from .planner.strategy import StrategyOptions
    from .writer.tasks import TaskOptions

_EXPORTS = {
    "CreateBoxesJob": ".jobs.create_boxes",
    "CreateBoxesResult": ".jobs.create_boxes",
    "Rounds": ".jobs.create_boxes",
    "WriteOptions": ".jobs.create_boxes",
    "create_boxes": ".jobs.create_boxes",
    "CheckJob": ".jobs.check",
    "CheckResult": ".jobs.check",
    "check_annotation": ".jobs.check",
    "check_annotations": ".jobs.check",
    "Distribution": ".jobs.distribute",
    "TissueOptions": ".jobs.planning",
    "TaskOptions": ".writer.tasks",
    "Connection": ".client",
    "RetryPolicy": ".client",
    "WkgtError": ".errors",
    "Box": ".planner",
    "ModelKind": ".planner",
    "Plan": ".planner",
    "PlanOptions": ".planner",
    "PlanRequest": ".planner",
    "Region": ".planner",
    "make_plan": ".planner",
    "ReviewedPlan": ".planner.reviewed",
    "StrategyOptions": ".planner.strategy",
    **dict.fromkeys(("BatchJob", "BatchResult", "DatasetSelection", "run_batch"), ".jobs.batch"),
    **dict.fromkeys(("EvaluateJob", "EvaluateResult", "evaluate"), ".jobs.evaluate"),
    **dict.fromkeys(("HistoryJob", "HistoryResult", "history"), ".jobs.history"),
    **dict.fromkeys(("DatasetsJob", "InfoJob", "dataset_info", "list_datasets_job"), ".jobs.info"),
    **dict.fromkeys(("TrainJob", "TrainResult", "train"), ".jobs.train"),
    **dict.fromkeys(("UndoJob", "UndoResult", "undo"), ".jobs.undo"),
}
__all__ = ["__version__", *_EXPORTS]


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'wkgt' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
