"""Distributing work: the cluster_tools executor a job's chunks run on (the engine the webknossos SDK uses).

One local job scores here, chunk after chunk (no executor); more jobs or a cluster get a
``cluster_tools`` executor: multiprocessing, Slurm, Kubernetes or Dask.
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
    def local_and_single(self) -> bool:
        return self.strategy in ("multiprocessing", "sequential") and self.jobs == 1


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
        executor = cluster_tools.get_executor("multiprocessing", max_workers=distribution.jobs)
    elif strategy == "sequential":
        executor = cluster_tools.get_executor("sequential")
    elif strategy == "dask":
        executor = cluster_tools.get_executor("dask", job_resources=dict(resources or {}))
    else:
        kwargs: dict[str, Any] = {"debug": False, "keep_logs": False}
        if resources is not None:
            kwargs["job_resources"] = dict(resources)
        executor = cluster_tools.get_executor(strategy, **kwargs)
    with executor:
        yield executor


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
