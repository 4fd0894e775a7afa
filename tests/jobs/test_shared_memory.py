"""Memory shared with forked workers: regions, what they give back, and what outlives the file."""

from __future__ import annotations

import os

import numpy as np

from wkgt.jobs import shared_memory
from wkgt.jobs.distribute import Distribution, executor_for


def held_bytes(memory: shared_memory.SharedMemory) -> int:
    return os.fstat(memory.fd).st_blocks * 512


def fill_in_worker(region: shared_memory.SharedRegion, value: int) -> int:
    view = region.array((1 << 20,), np.uint8)
    view[:] = value
    return int(view.sum())


def test_a_worker_writes_what_the_parent_reads_and_released_pages_go_back():
    with executor_for(Distribution(jobs=2)) as executor:
        memory = executor.shared_memory
        assert memory is not None
        region = memory.allocate(1 << 20)
        assert executor.submit(fill_in_worker, region, 3).result() == 3 << 20
        here = region.array((1 << 20,), np.uint8)
        assert (here == 3).all() and held_bytes(memory) >= 1 << 20
        region.release(4096, 1 << 20)
        assert held_bytes(memory) <= 2 * 4096 and here[0] == 3 and not here[4096:].any()


def test_a_detached_region_outlives_the_shared_file():
    memory = shared_memory.make()
    assert memory is not None
    kept, freed = memory.allocate(8192), memory.allocate(8192)
    table = kept.array((4096,), np.uint16)
    table[:] = np.arange(4096)
    freed.array((8192,), np.uint8)[:] = 1
    freed.free()
    kept.detach()
    memory.close()
    assert int(table[4095]) == 4095 and int(table.sum()) == 4095 * 4096 // 2
