"""The memory budget of a batch: what one dataset's tissue scoring holds, and admission of
datasets while the running ones fit (``--memory-budget``)."""

from __future__ import annotations

import math
import os
import threading

from ..client import DatasetFacts
from ..errors import InvalidInput
from ..planner.mag_choice import coarsest_mag
from .create_boxes import CreateBoxesJob

TISSUE_BYTES_PER_COARSE_VOXEL = 16
"""What the tissue scoring holds per coarse voxel of the region: texture (float32), mask (bool),
summed-volume table (uint32) and the threshold's copy of the texture (float32)."""
CHUNK_TEMPORARIES = 10
"""float64 arrays of one chunk alive at once while its texture is computed."""
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
    """Estimated peak bytes of one dataset's tissue scoring: the coarsest mag over the layer's
    box (the planning region is never larger) and one chunk's temporaries; 0 without the check."""
    if not job.tissue.check:
        return 0
    layer = facts.layer(job.layer)
    mag = coarsest_mag(layer.mags)
    voxels = 1
    for size, factor in zip(layer.bbox.size, mag):
        voxels *= -(-int(size) // int(factor))
    chunk = job.tissue.chunk_voxels**3
    return voxels * TISSUE_BYTES_PER_COARSE_VOXEL + min(voxels, chunk) * 8 * CHUNK_TEMPORARIES


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
