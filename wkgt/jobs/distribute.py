"""Distributing work: the cluster_tools executor a job's pieces run on (the engine the webknossos SDK uses).

One local job scores here, piece after piece (no executor); more jobs or a cluster get a
``cluster_tools`` executor: multiprocessing, Slurm, Kubernetes or Dask. The jobs get their
voxels from the parent and return codes (1 byte per voxel), so they need only numpy and
scipy; local worker processes start once per run (forked on Linux, with those loaded) and
are shut down (joined) before the run returns, on errors too. Forked local workers share
memory with the parent (``executor.shared_memory``, :mod:`wkgt.jobs.shared_memory`): voxels
and codes pass through it instead of pickles.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs

from ..client.token import token_handoff
from ..errors import InvalidInput

MAX_JOBS = 4096
STRATEGIES: tuple[str, ...] = ("multiprocessing", "slurm", "kubernetes", "dask", "sequential")


@attrs.frozen
class Distribution:
    """How many jobs run at once, where (``strategy``), and with which cluster resources."""

    jobs: int = 1
    strategy: str = "multiprocessing"
    resources: dict[str, Any] | None = None

    def validate(self) -> Distribution:
        if not 1 <= self.jobs <= MAX_JOBS:
            raise InvalidInput(f"--jobs must be from 1 to {MAX_JOBS:,}, got {self.jobs:,}")
        if self.strategy not in STRATEGIES:
            raise InvalidInput(f"--distribution-strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}")
        return self

    @property
    def local(self) -> bool:
        return self.strategy in ("multiprocessing", "sequential")

    @property
    def local_and_single(self) -> bool:
        return self.local and self.jobs == 1

    @property
    def warnings(self) -> tuple[str, ...]:
        """What has no effect: cluster resources for jobs on this machine."""
        if self.resources is not None and self.local:
            return (f"--job-resources applies to slurm, kubernetes and dask only: ignored with --distribution-strategy {self.strategy}",)
        return ()


def handoff_folder(strategy: str) -> Path | None:
    """Where worker jobs find the token file: the folder cluster_tools shares with its Slurm and
    Kubernetes jobs (``$CFUT_DIR``, default ``.cfut``), the working directory for Dask, the
    system's temporary folder for processes on this machine."""
    if strategy in ("slurm", "kubernetes", "pbs"):
        return Path(os.environ.get("CFUT_DIR", ".cfut")).absolute()
    return Path.cwd() if strategy == "dask" else None


@contextmanager
def executor_for(distribution: Distribution) -> Iterator[Any | None]:
    """``None`` (work here, one piece after another) for one local job, else a cluster_tools executor.

    While the executor runs, a token its jobs need reaches them only through a private file
    (mode 0600) that is removed when the executor ends, however it ends; the pickled jobs and
    the job environment hold no token (:func:`wkgt.client.token.token_handoff`).
    """
    if distribution.local_and_single:
        yield None
        return
    with token_handoff(handoff_folder(distribution.strategy)), _executor(distribution) as executor:
        yield executor


@contextmanager
def _executor(distribution: Distribution) -> Iterator[Any]:
    import cluster_tools

    strategy, resources = distribution.strategy, distribution.resources
    if strategy == "multiprocessing":
        executor = _local_workers(distribution.jobs)
    elif strategy == "sequential":
        executor = cluster_tools.get_executor("sequential")
    elif strategy == "dask":
        executor = DaskJobs.connect(dict(resources or {}), distribution.jobs)
    else:
        kwargs: dict[str, Any] = {"debug": False, "keep_logs": False}
        if resources is not None:
            kwargs["job_resources"] = dict(resources)
        executor = cluster_tools.get_executor(strategy, **kwargs)
    try:
        with executor:
            yield executor
    finally:
        shared = getattr(executor, "shared_memory", None)
        if shared is not None:
            shared.close()
        if strategy == "multiprocessing":
            _stop_resource_tracker()


def _local_workers(jobs: int) -> Any:
    """A pool of ``jobs`` local processes, started at once. On Linux they fork from this
    process before it reads anything (no imports to repeat: numpy and scipy are loaded
    first) and inherit the shared memory made just before (``executor.shared_memory``);
    elsewhere they are spawned and import what the jobs need while the first slab is read."""
    import sys

    from cluster_tools.executors.multiprocessing_ import MultiprocessingExecutor

    from ..planner.tissue import prepare_worker
    from . import shared_memory

    # directly, not through cluster_tools.get_executor: that first starts and stops a throw-away pool
    if sys.platform == "linux":
        prepare_worker()
        shared = shared_memory.make()
        executor = MultiprocessingExecutor(max_workers=jobs, start_method="fork")
        try:
            executor.submit(prepare_worker).result()  # forks every worker now, before reader threads start
        except BaseException:
            executor.shutdown()
            if shared is not None:
                shared.close()
            raise
        executor.shared_memory = shared
        return executor
    return MultiprocessingExecutor(max_workers=jobs, start_method="spawn", initializer=prepare_worker)


class DaskJobs:
    """Jobs on a Dask cluster through ``distributed.Client`` (at ``address``, ``$DASK_ADDRESS``, or
    a local cluster of ``jobs`` workers). Not cluster_tools' Dask executor: that one runs each
    job in a child process whose result must fit a pipe buffer (64 KiB) or the job never ends."""

    def __init__(self, client: Any, resources: dict[str, Any]) -> None:
        self.client = client
        self.resources = resources or None

    @classmethod
    def connect(cls, resources: dict[str, Any], jobs: int) -> DaskJobs:
        import os

        from distributed import Client

        address = resources.pop("address", None) or os.environ.get("DASK_ADDRESS")
        if address:
            return cls(Client(address), resources)
        return cls(Client(n_workers=jobs, threads_per_worker=1, dashboard_address=None), resources)

    def submit(self, fn: Any, *args: Any) -> Any:
        return self.client.submit(fn, *args, pure=False, resources=self.resources)

    def __enter__(self) -> DaskJobs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()


def _stop_resource_tracker() -> None:
    """multiprocessing's helper process would outlive the workers (until this process ends);
    it is started again whenever it is needed."""
    from multiprocessing import resource_tracker

    stop = getattr(getattr(resource_tracker, "_resource_tracker", None), "_stop", None)
    if stop is not None:
        stop()


def check_available(strategy: str) -> None:
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
