"""Client layer: server configuration, dataset references and reading datasets (I/O)."""

from .config import ServerConfig, resolve_server
from .dataset_ref import DatasetRef, parse_dataset_ref
from .facts import DatasetFacts, LayerFacts
from .local import read_local_dataset
from .session import RetryPolicy, Session

__all__ = [
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
