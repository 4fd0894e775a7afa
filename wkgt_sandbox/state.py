"""Mutable server state of a sandbox: the world (datasets, users, tasks, ...) and the request log."""

from __future__ import annotations

import copy
import itertools
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .catalog import CatalogDataset

JsonDict = dict[str, Any]


_counter = itertools.count(1)


def new_object_id() -> str:
    """A fresh 24-hex id shaped like the server's ObjectIds (seconds timestamp, random, counter)."""
    return f"{int(time.time()):08x}{os.urandom(4).hex()}{next(_counter) & 0xFFFFFFFF:08x}"


@dataclass(frozen=True)
class RequestLogEntry:
    """One handled request."""

    method: str
    path: str
    query: str
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    """The request's headers as received (lower-case names), e.g. to see which token went where."""

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive), if the request had it."""
        return next((value for key, value in self.headers if key == name.lower()), None)


@dataclass
class StoredAnnotation:
    """An annotation uploaded to the sandbox (or created for a task)."""

    id: str
    name: str
    description: str
    dataset_id: str | None
    dataset_name: str
    organization: str
    owner_id: str
    user_bounding_boxes: list[JsonDict]
    """Each box: {"id", "name", "color": [r,g,b,a], "isVisible", "topLeft": [x,y,z], "size": [w,h,d]}."""
    volume_layers: list[JsonDict]
    """Each layer: {"id", "name", "fallbackLayer", "largestSegmentId", "hasData"}."""
    edit_position: tuple[int, int, int]
    nml: str
    """The NML text the sandbox serves on download (skeleton, boxes, volume layers with data locations)."""
    nml_without_volume_data: str
    """The NML served with `skipVolumeData=true` (volume layers without data locations)."""
    volume_data: dict[str, bytes]
    """Volume data zips by NML location name (e.g. "data_0_Volume.zip")."""
    created: int
    typ: str = "Explorational"
    task_id: str | None = None


@dataclass
class World:
    """Everything the REST API serves; copied on reset."""

    datasets: dict[str, CatalogDataset]
    users: dict[str, JsonDict]
    current_user_id: str
    teams: dict[str, JsonDict]
    task_types: dict[str, JsonDict]
    projects: dict[str, JsonDict]
    tasks: dict[str, JsonDict]
    annotations: dict[str, StoredAnnotation] = field(default_factory=dict)


class SandboxState:
    """The inspectable state of a running sandbox. All access from tests is thread-safe enough
    for reading; the server mutates it under ``lock``."""

    def __init__(self, world: World) -> None:
        self._initial = world
        self.lock = threading.RLock()
        self.request_log: list[RequestLogEntry] = []
        self._load(world)

    def _load(self, world: World) -> None:
        w = copy.deepcopy(world)
        self.datasets = w.datasets
        self.users = w.users
        self.current_user_id = w.current_user_id
        self.teams = w.teams
        self.task_types = w.task_types
        self.projects = w.projects
        self.tasks = w.tasks
        self.annotations = w.annotations

    @property
    def current_user(self) -> JsonDict:
        return self.users[self.current_user_id]

    def reset(self) -> None:
        """Restore the world as it was at start-up and clear the request log."""
        with self.lock:
            self._load(self._initial)
            self.request_log.clear()

    def clear_log(self) -> None:
        with self.lock:
            self.request_log.clear()

    def log(self, entry: RequestLogEntry) -> None:
        with self.lock:
            self.request_log.append(entry)

    def requests(self, method: str | None = None, path_contains: str = "") -> list[RequestLogEntry]:
        """Logged requests filtered by method and a path substring."""
        with self.lock:
            return [e for e in self.request_log if (method is None or e.method == method) and path_contains in e.path]
