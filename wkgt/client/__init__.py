"""Client layer (I/O): server configuration and sessions; reading datasets, image data, annotations, tasks."""

from .config import Connection, RetryPolicy, ServerConfig, resolve_server
from .dataset_ref import DatasetRef, parse_dataset_ref
from .facts import DatasetFacts, LayerFacts
from .local import read_local_dataset
from .session import Session

__all__ = [
    "Connection",
    "DatasetFacts",
    "DatasetRef",
    "LayerFacts",
    "RetryPolicy",
    "ServerConfig",
    "Session",
    "parse_dataset_ref",
    "read_local_dataset",
    "resolve_server",
]
