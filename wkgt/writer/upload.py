"""Writing to the server: one upload, never retried blindly, and the rerun check."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import filelock

from ..client.session import NoAnswer, Session
from ..errors import AuthError, Busy, WkgtError, WriteError
from ..client.annotations import find_run_key

DEFAULT_LOCK_TIMEOUT_S = 600.0


@attrs.frozen
class AnnotationRef:
    """An annotation on the server."""

    id: str
    url: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "url": self.url}


def find_existing(session: Session, key: str) -> AnnotationRef | None:
    """The annotation an earlier run with this run key created, if the token can read it."""
    for info in session.annotations():
        if find_run_key(info.description) == key:
            return AnnotationRef(info.id, f"{session.config.url}/annotations/{info.id}")
    return None


def upload(session: Session, annotation: Any, key: str) -> AnnotationRef:
    """Upload once. If the outcome is unclear (timeout, dropped connection, 5xx), look for
    the run key instead of posting again, and say what happened."""
    session.config.require_token()
    try:
        url = session.translate("uploading the annotation", annotation.upload)
    except AuthError:
        raise
    except WkgtError as err:
        try:
            existing = find_existing(session, key)
        except WkgtError:
            raise WriteError(
                f"upload failed ({err}) and wkgt could not check whether the server created the annotation; "
                f"rerun the same command: it finds the annotation if it exists ({key})"
            ) from None
        if existing is not None:
            return existing
        if isinstance(err, NoAnswer):
            raise WriteError(
                f"upload got no answer ({err}); no annotation from it is on the server yet, but it may still be "
                "processing: rerun the same command later, it finds the annotation if it was created"
            ) from None
        raise WriteError(f"upload failed ({err}); the server holds no annotation from it (checked), so a rerun is safe") from None
    annotation_id = str(url).rstrip("/").rsplit("/", 1)[-1]
    return AnnotationRef(annotation_id, f"{session.config.url}/annotations/{annotation_id}")


def lock_path(key: str) -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "wkgt" / "locks" / f"{key}.lock"


@contextmanager
def job_lock(key: str, timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> Iterator[None]:
    """Serialize runs of the same job on this machine (a second run waits, then finds the first's)."""
    path = lock_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with filelock.FileLock(str(path), timeout=timeout_s):
            yield
    except filelock.Timeout:
        raise Busy(f"another wkgt run of the same job holds {path} for more than {timeout_s:g} s") from None
