"""The Dask strategy for real: a dask.distributed LocalCluster (the engine a lab's Dask cluster runs)."""

from __future__ import annotations

import numpy as np

from wkgt.jobs.distribute import Distribution, executor_for
from wkgt.jobs.planning import TissueOptions, score_tissue
from wkgt.planner import Region
from wkgt.planner.tissue import array_reader

from .test_nuclei import READ, nuclei_dataset


def test_scoring_on_a_dask_cluster_matches_scoring_here():
    from distributed import LocalCluster

    data, _ = nuclei_dataset(seed=1)
    data[100:] = 0  # some padding too
    region = Region((0, 0, 0), tuple(n * m for n, m in zip(data.shape, READ)))
    args = (array_reader(data), READ, region, (10.0, 10.0, 25.0), TissueOptions())
    here, _ = score_tissue(*args, Distribution())
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None) as cluster:
        distribution = Distribution(jobs=2, strategy="dask", resources={"address": cluster.scheduler_address})
        with executor_for(distribution) as executor:
            assert executor.client.scheduler.address == cluster.scheduler_address
        there, stored = score_tissue(*args, distribution)
    assert np.array_equal(here.table, there.table) and stored == data.nbytes
    assert 0.6 < there.foreground_fraction < 0.85
