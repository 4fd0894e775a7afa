"""Writing an annotation to the server: the rerun check, one upload (never retried blindly), and
the reconciliation that leaves exactly one result of a job however many machines ran it."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import filelock

from ..client.annotations import JobRun, find_upload, own_runs
from ..client.session import NoAnswer, Session
from ..errors import AuthError, Busy, Interrupted, WkgtError, WriteError

DEFAULT_LOCK_TIMEOUT_S = 600.0


@attrs.frozen
class AnnotationRef:
    """An annotation on the server."""

    id: str
    url: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "url": self.url}


@attrs.frozen
class Reconciled:
    """The job's one result after an upload, and the newer duplicates that were archived."""

    survivor: AnnotationRef
    archived: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def new_upload_id() -> str:
    """A fresh id for one upload, written into its description (16 hex)."""
    return secrets.token_hex(8)


def _ref(session: Session, annotation_id: str) -> AnnotationRef:
    return AnnotationRef(annotation_id, f"{session.config.url}/annotations/{annotation_id}")


def active_runs(session: Session, key: str) -> tuple[JobRun, ...]:
    """The caller's own *active* annotations with this run key, oldest first: an archived one
    (``wkgt undo``, WEBKNOSSOS's Archive button, a duplicate the reconciliation retired) is no
    longer the job's result."""
    return tuple(run for run in own_runs(session, key) if run.state == "Active")


def find_existing(session: Session, key: str) -> AnnotationRef | None:
    """The job's result: the oldest of the caller's own active annotations with this run key
    (colleagues' shared annotations, archived ones and ``--force-new`` copies do not count), or None."""
    runs = active_runs(session, key)
    return _ref(session, runs[0].id) if runs else None


def upload(session: Session, annotation: Any, upload_id: str) -> AnnotationRef:
    """Upload once. If the outcome is unclear (timeout, dropped connection, 5xx), look for this
    very upload (its ``upload_id`` is in the description) instead of posting again, and say
    what happened."""
    session.config.require_token()
    try:
        url = session.translate("uploading the annotation", annotation.upload)
    except KeyboardInterrupt:
        raise Interrupted(
            "during the upload: the server may have created the annotation; rerun the same command, "
            "it reports the annotation as exists or creates it"
        ) from None
    except AuthError:
        raise
    except WkgtError as err:
        try:
            found = find_upload(session, upload_id)
        except WkgtError:
            raise WriteError(
                f"upload failed ({err}) and wkgt could not check whether the server created the annotation; "
                "rerun the same command: it finds the annotation if it exists"
            ) from None
        if found is not None:
            return _ref(session, found)
        if isinstance(err, NoAnswer):
            raise WriteError(
                f"upload got no answer ({err}); no annotation from it is on the server yet, but it may still be "
                "processing: rerun the same command later, it finds the annotation if it was created"
            ) from None
        raise WriteError(f"upload failed ({err}); the server holds no annotation from it (checked), so a rerun is safe") from None
    return _ref(session, str(url).rstrip("/").rsplit("/", 1)[-1])


def archive(session: Session, annotation_id: str) -> None:
    """Archive one's own explorational annotation (``PATCH /annotations/Explorational/{id}/finish``,
    what the "Archive" button does; owners may not delete it). Repeating it changes nothing."""
    route = f"/annotations/Explorational/{annotation_id}/finish"
    session.read(
        f"archiving annotation {annotation_id}",
        lambda: session.api()._patch(route, None, query={"timestamp": int(time.time() * 1000)}),
    )


def reconcile(session: Session, key: str, made: AnnotationRef) -> Reconciled:
    """After an upload, look again at the caller's active annotations with this run key: the oldest is
    the job's result; newer ones (another machine or cache directory ran the same job at
    the same time) are archived, the way the API lets owners retire an annotation. Every run sees
    the same list, so all agree on the survivor. A failed archive is a warning, not an error."""
    runs = active_runs(session, key)
    if not runs:  # not listed (yet): the upload answered, so it is the result
        return Reconciled(made)
    survivor, newer = runs[0], runs[1:]
    archived, warnings = [], []
    for run in newer:
        try:
            archive(session, run.id)
            archived.append(run.id)
        except WkgtError as err:
            warnings.append(f"annotation {run.id} duplicates {survivor.id} (same job) but could not be archived: {err}")
    return Reconciled(_ref(session, survivor.id), tuple(archived), tuple(warnings))


def lock_path(key: str, directory: Path | None = None) -> Path:
    """Where the lock of a job lives: ``directory``, else ``$XDG_CACHE_HOME/wkgt/locks`` (``~/.cache``)."""
    if directory is None:
        directory = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "wkgt" / "locks"
    return directory / f"{key}.lock"


@contextmanager
def job_lock(key: str, directory: Path | None = None, timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> Iterator[bool]:
    """Serialize runs of the same job that share the lock directory (one machine, by default): a
    second run waits, then finds the first's result. Yields whether it had to wait (then the
    caller looks for that result again). The cheap first line of defence; runs on other machines
    are made one by :func:`reconcile` afterwards."""
    path = lock_path(key, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(path))
    try:
        try:
            lock.acquire(timeout=0)
            waited = False
        except filelock.Timeout:
            lock.acquire(timeout=timeout_s)
            waited = True
    except filelock.Timeout:
        raise Busy(f"another wkgt run of the same job holds {path} for more than {timeout_s:g} s") from None
    try:
        yield waited
    finally:
        lock.release()
