"""Files wkgt writes on disk: a plan as JSON, an annotation as a zip (NML plus volume data).

Every file is written whole or not at all: into a temporary file beside the target, flushed
to disk, then renamed over it. A failed write (disk full, quota, Ctrl-C) leaves the previous
file as it was and no temporary file behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..planner.plan import Plan


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix) to write to; renamed to ``path`` when the
    block ends without an error, removed otherwise."""
    path = Path(path)
    descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".partial{path.suffix}", dir=path.parent)
    os.close(descriptor)
    temporary = Path(name)
    try:
        yield temporary
        _sync(temporary)
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o777)
        else:
            os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_atomically(path: Path, write: Callable[[Path], Any]) -> None:
    """``write(temporary_path)``, then the temporary file becomes ``path``. A failure is an
    ``OSError`` naming ``path`` (not the temporary file)."""
    try:
        with replacing(path) as temporary:
            write(temporary)
    except OSError as err:
        raise OSError(err.errno, err.strerror or str(err), str(path)) from None


def save_plan(plan: Plan, path: Path, about: dict[str, Any] | None = None) -> None:
    """The plan as JSON (``Plan.from_json`` loads it back), with ``about`` (e.g. the ``dataset``
    and ``layer`` it was made for, which ``create-boxes --plan`` checks) beside its fields."""
    text = json.dumps({**plan.to_dict(), **(about or {})}, indent=2, ensure_ascii=False) + "\n"
    write_atomically(Path(path), lambda temporary: temporary.write_text(text, encoding="utf-8"))


def save_annotation(annotation: Any, path: Path) -> None:
    """The SDK's ``Annotation`` as a ``.zip`` (upload it in WEBKNOSSOS or with ``Annotation.load(...).upload()``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, annotation.save)


def _sync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
