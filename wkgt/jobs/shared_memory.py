"""Memory this process shares with its local worker processes (Linux: one ``memfd``).

The file is made before the workers fork, so they inherit its descriptor; the parent then
carves regions out of it (:meth:`SharedMemory.allocate`, growing the file) and hands a job the
:class:`SharedRegion` (descriptor, offset, size: a few bytes to pickle). Voxels and codes then
pass between the parent and its workers through the pages both map, not through pipes.
Freed regions give their pages back to the system at once (``MADV_REMOVE``); the file goes
when the executor closes it and the last mapping is gone.
"""

from __future__ import annotations

import mmap
import os
import threading
from typing import Any

import attrs
import numpy as np

_MAPPED: dict[tuple[int, int], mmap.mmap] = {}  # this process's mappings, by (descriptor, offset)


def make() -> SharedMemory | None:
    """Shared memory, or ``None`` where there is none (no ``memfd_create`` or ``MADV_REMOVE``:
    not Linux; or a sandbox refuses it): then workers get pickles."""
    if not (hasattr(os, "memfd_create") and hasattr(mmap, "MADV_REMOVE")):
        return None
    try:
        return SharedMemory()
    except OSError:
        return None


class SharedMemory:
    """A growing anonymous file whose regions this process and its forked workers both map."""

    def __init__(self) -> None:
        self.fd = os.memfd_create("wkgt-shared", os.MFD_CLOEXEC)
        self._size = 0
        self._lock = threading.Lock()

    def allocate(self, nbytes: int) -> SharedRegion:
        """A new region of at least ``nbytes`` (page-aligned; never reused within this file)."""
        size = max(mmap.PAGESIZE, -(-int(nbytes) // mmap.PAGESIZE) * mmap.PAGESIZE)
        with self._lock:
            offset = self._size
            self._size += size
            os.ftruncate(self.fd, self._size)
        return SharedRegion(self.fd, offset, size)

    def close(self) -> None:
        """Close the file (mappings still in use keep their pages until they go)."""
        for key in [k for k in _MAPPED if k[0] == self.fd]:
            _drop(key)
        os.close(self.fd)


@attrs.frozen
class SharedRegion:
    """``size`` bytes at ``offset`` of the shared file open as ``fd`` (here and in the workers)."""

    fd: int
    offset: int
    size: int

    def array(self, shape: tuple[int, ...], dtype: Any, offset: int = 0) -> np.ndarray:
        """The region's bytes from ``offset`` on as an array (the region is mapped once per process)."""
        dtype = np.dtype(dtype)
        count = int(np.prod(shape, dtype=np.int64))
        return np.frombuffer(self._mapping(), dtype=dtype, count=count, offset=offset).reshape(shape)

    def release(self, start: int, stop: int) -> None:
        """Give back the whole pages within bytes ``[start, stop)`` of the region (they read as 0 again)."""
        first = -(-max(0, start) // mmap.PAGESIZE) * mmap.PAGESIZE
        last = min(stop, self.size) // mmap.PAGESIZE * mmap.PAGESIZE
        if last > first:
            self._mapping().madvise(mmap.MADV_REMOVE, first, last - first)

    def free(self) -> None:
        """Give back all its pages and unmap it here (views still alive keep the mapping, not the pages)."""
        self.release(0, self.size)
        _drop((self.fd, self.offset))

    def detach(self) -> None:
        """Leave the region to the arrays that view it here: it stays mapped (and its pages
        kept) until the last of them goes, after the shared file itself is closed."""
        _MAPPED.pop((self.fd, self.offset), None)

    def _mapping(self) -> mmap.mmap:
        key = (self.fd, self.offset)
        mapping = _MAPPED.get(key)
        if mapping is None:
            mapping = _MAPPED[key] = mmap.mmap(self.fd, self.size, offset=self.offset)
        return mapping


def _drop(key: tuple[int, int]) -> None:
    mapping = _MAPPED.pop(key, None)
    if mapping is not None:
        try:
            mapping.close()
        except BufferError:  # an array still views it: the mapping goes with the array
            pass
