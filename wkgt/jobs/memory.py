"""The memory budget of a batch: what one dataset's tissue scoring holds, and admission of
datasets while the running ones fit (``--memory-budget``)."""

from __future__ import annotations

import math
import os
import threading

from ..client import DatasetFacts
from ..errors import InvalidInput, WkgtError
from ..planner.ground_truth import fallback_layer, ground_truth_layer
from ..planner.plan import box_size_mag1, planning_region
from ..planner.tissue import WORK_BYTES, choose_tissue_read, coarse_grid, held_bytes_per_voxel
from .create_boxes import CreateBoxesJob
from .planning import itemsize_of

UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_size(text: str) -> int:
    """``--memory-budget``: bytes, or a number with K, M, G or T (powers of 1024), e.g. ``4G``."""
    value = text.strip().upper().removesuffix("B")
    unit = value[-1] if value and value[-1] in "KMGT" else ""
    try:
        number = float(value[: len(value) - len(unit)])
    except ValueError:
        raise InvalidInput(f"--memory-budget expects a size like 4G or 512M, got {text!r}") from None
    if not (number > 0 and math.isfinite(number)):
        raise InvalidInput(f"--memory-budget must be positive, got {text!r}")
    return int(number * UNITS[unit])


def available_memory() -> int:
    """Bytes of memory available now (``MemAvailable``), or 4 GiB when the system does not say."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return 4 * UNITS["G"]


def tissue_memory(facts: DatasetFacts, job: CreateBoxesJob) -> int:
    """Estimated peak bytes of one dataset's tissue scoring: what the scorer holds per voxel of
    the mag the check will read (the same choice as :func:`~wkgt.planner.tissue.choose_tissue_read`,
    within ``--tissue-budget``) plus its working set; 0 without the check."""
    if not job.tissue.check:
        return 0
    try:
        layer = facts.layer(job.layer)
        fallback = fallback_layer(facts.layers, job.write.fallback_segmentation, facts.name) if job.write.tasks is None else None
        request = job.plan.request(facts.voxel_size_nm, layer.mags, layer.bbox, ground_truth_layer(facts.layers, fallback))
        region, box = planning_region(request), box_size_mag1(request)
    except WkgtError:  # the job itself says what is wrong, in its own words
        return WORK_BYTES
    itemsize = itemsize_of(layer.dtype)
    read = choose_tissue_read(request.mags, box, region.topleft, region.size, itemsize, job.tissue.budget_bytes)
    voxels = math.prod(coarse_grid(read.topleft, read.size, read.mag)[1])
    return voxels * held_bytes_per_voxel(itemsize) + WORK_BYTES


class Budget:
    """Admits datasets while their estimated memory fits the budget (one always runs)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.running = 0
        self.condition = threading.Condition()

    def acquire(self, need: int, stop: threading.Event) -> bool:
        with self.condition:
            while self.running and self.used + need > self.limit:
                if stop.is_set():
                    return False
                self.condition.wait(0.2)
            if stop.is_set():
                return False
            self.used += need
            self.running += 1
            return True

    def release(self, need: int) -> None:
        with self.condition:
            self.used -= need
            self.running -= 1
            self.condition.notify_all()
