"""Planning with the tissue check and earlier boxes: scoring the coarse mag, then placing.

Glue between the pure pieces (:mod:`wkgt.tissue`, :func:`wkgt.planner.make_plan`) and the
readers of :mod:`wkgt.client.imagery`; the executor comes from ``cluster_tools`` only when
more than one job or a cluster is asked for.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import attrs
import numpy as np

from .errors import InvalidInput, ServerError, WkgtError
from .planner.placement import Region
from .planner.plan import (
    AvoidedBox,
    Plan,
    PlanRequest,
    TissueReport,
    make_plan,
    planning_region,
)
from .planner.vectors import Vec3, format_mag
from .tissue import DEFAULT_CHUNK_VOXELS, DEFAULT_MIN_TISSUE, TissueMap, score_region

STRATEGIES: tuple[str, ...] = ("multiprocessing", "slurm", "kubernetes", "dask", "sequential")


@attrs.frozen
class TissueOptions:
    """The tissue check: on/off, the foreground share a box needs, and how to distribute it."""

    check: bool = True
    min_tissue: float = DEFAULT_MIN_TISSUE
    jobs: int = 1
    distribution_strategy: str = "multiprocessing"
    job_resources: dict[str, Any] | None = None
    chunk_voxels: int = DEFAULT_CHUNK_VOXELS

    def validate(self) -> TissueOptions:
        if not 0 < self.min_tissue <= 1:
            raise InvalidInput(f"--min-tissue must be in (0, 1], got {self.min_tissue:g}")
        if self.jobs < 1:
            raise InvalidInput(f"--jobs must be at least 1, got {self.jobs}")
        if self.distribution_strategy not in STRATEGIES:
            raise InvalidInput(
                f"--distribution-strategy must be one of {', '.join(STRATEGIES)}, got {self.distribution_strategy!r}"
            )
        if self.chunk_voxels < 8:
            raise InvalidInput(f"the tissue chunk size must be at least 8 voxels, got {self.chunk_voxels}")
        if self.check:
            _check_available(self.distribution_strategy)
        return self


@contextmanager
def executor_for(options: TissueOptions) -> Iterator[Any | None]:
    """``None`` (score here, one chunk after another) for one local job, else a cluster_tools executor."""
    if options.distribution_strategy in ("multiprocessing", "sequential") and options.jobs == 1:
        yield None
        return
    import cluster_tools

    strategy = options.distribution_strategy
    if strategy == "multiprocessing":
        executor = cluster_tools.get_executor("multiprocessing", max_workers=options.jobs)
    elif strategy == "sequential":
        executor = cluster_tools.get_executor("sequential")
    elif strategy == "dask":
        executor = cluster_tools.get_executor("dask", job_resources=dict(options.job_resources or {}))
    else:
        kwargs: dict[str, Any] = {"debug": False, "keep_logs": False}
        if options.job_resources is not None:
            kwargs["job_resources"] = dict(options.job_resources)
        executor = cluster_tools.get_executor(strategy, **kwargs)
    with executor:
        yield executor


def _check_available(strategy: str) -> None:
    """One clear line instead of a cluster_tools failure deep in the first job."""
    import importlib.util
    import shutil

    needs = {"slurm": ("sbatch", None), "kubernetes": (None, "kubernetes"), "dask": (None, "distributed")}
    command, module = needs.get(strategy, (None, None))
    if command is not None and shutil.which(command) is None:
        raise InvalidInput(f"--distribution-strategy {strategy} needs {command!r} on the PATH (run it on the cluster's login node)")
    if module is not None and importlib.util.find_spec(module) is None:
        raise InvalidInput(
            f"--distribution-strategy {strategy} needs the Python package {module!r} (pip install 'cluster_tools[{strategy}]')"
        )


def score_tissue(reader: Any, mag: Vec3, region: Region, voxel_size_nm: Sequence[float], options: TissueOptions) -> TissueMap:
    """Score the coarse mag over ``region`` (chunked, on the chosen executor); reading errors become one line."""
    try:
        with executor_for(options) as executor:
            return score_region(
                reader, mag, region.topleft, region.size, voxel_size_nm, executor=executor, chunk=options.chunk_voxels
            )
    except WkgtError:
        raise
    except Exception as err:  # noqa: BLE001 - SDK, tensorstore and executor failures of many kinds
        lines = [line.strip() for line in str(err).splitlines() if any(c.isalnum() for c in line)]
        first = lines[0] if lines else type(err).__name__
        raise ServerError(f"reading mag {format_mag(mag)} for the tissue check failed: {first[:300]}") from None


def plan_boxes(
    request: PlanRequest,
    *,
    reader: Any | None = None,
    tissue_mag: Vec3 | None = None,
    options: TissueOptions = TissueOptions(),
    avoided: Sequence[AvoidedBox] = (),
    gap: int = 0,
) -> tuple[Plan, TissueMap | None]:
    """``make_plan`` with boxes kept on tissue (when a ``reader`` of ``tissue_mag`` is given and
    the check is on) and clear of ``avoided`` boxes by ``gap`` mag-1 voxels."""
    options = options.validate()
    occupied = [(box.topleft, box.size) for box in avoided]
    tissue: TissueMap | None = None
    if options.check and reader is not None and tissue_mag is not None:
        tissue = score_tissue(reader, tissue_mag, planning_region(request), request.voxel_size_nm, options)
    skipped = tissue is not None and tissue.padding_fraction >= 1.0  # nothing but 0s: no image data to judge
    tissue_map = tissue

    def on_tissue(box_mag1: Vec3, mag: Vec3) -> Any:
        assert tissue_map is not None
        return tissue_map.candidate_filter(box_mag1, options.min_tissue)

    try:
        plan = make_plan(
            request, occupied=occupied, gap=gap, filter_for_box=on_tissue if tissue is not None and not skipped else None
        )
    except InvalidInput as err:
        if tissue is None or skipped or "usable ground" not in str(err):
            raise
        raise InvalidInput(
            f"{err}; usable means at least {options.min_tissue:.0%} tissue (the region is "
            f"{tissue.foreground_fraction:.0%} tissue): lower --count or --min-tissue, shrink the boxes, "
            "or pass --no-tissue-check"
        ) from None
    report = None
    if tissue is not None:
        corners = np.array([box.topleft for box in plan.boxes]).reshape(-1, 3)
        fractions = tissue.fractions(corners, plan.box_size_mag1)
        report = TissueReport(
            mag=format_mag(tissue.mag),
            bytes_read=tissue.bytes_read,
            coarse_bytes=tissue.coarse_bytes,
            foreground_fraction=round(tissue.foreground_fraction, 4),
            min_tissue=options.min_tissue,
            box_fractions=tuple(round(float(f), 4) for f in fractions),
            checked=not skipped,
        )
    warnings = plan.warnings
    if skipped:
        assert tissue is not None
        warnings += (
            (
                f"mag {format_mag(tissue.mag)} reads as empty (all 0) over the region: no image data to find the "
                "tissue in, so the boxes were placed without the tissue check"
            ),
        )
    return attrs.evolve(plan, tissue=report, avoided=tuple(avoided), warnings=warnings), tissue
