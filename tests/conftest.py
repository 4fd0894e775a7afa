"""Shared fixtures: a fresh loopback sandbox per test, the recordings, a clean environment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("WEBKNOSSOS_SKIP_VERSION_CHECK", "True")
os.environ.setdefault("WEBKNOSSOS_SHOWED_IMAGE_READER_IMPORT_WARNING", "True")


def _stall_limits_of_the_default_timeout() -> None:
    """tensorstore reads its curl stall limits once per process, and wkgt sets them from the first
    run's ``--timeout`` (``client/imagery._stall_limit``). The tests share one process: without
    this, a test with a 1 s timeout would leave every later image read a 1 s stall limit, and a
    loaded CI machine would see retried chunks (and counts off by a retry)."""
    from wkgt.client.config import DEFAULT_TIMEOUT_S
    from wkgt.client.imagery import _stall_limit

    _stall_limit(DEFAULT_TIMEOUT_S)


_stall_limits_of_the_default_timeout()

REPO_ROOT = Path(__file__).resolve().parents[1]


def recordings_dir() -> Path | None:
    """``$WKGT_RECORDINGS``, else ``shared/wk-recordings`` beside the repository checkout."""
    path = Path(os.environ.get("WKGT_RECORDINGS") or REPO_ROOT.parent / "shared" / "wk-recordings")
    return path if path.is_dir() else None


@pytest.fixture
def sandbox() -> Iterator:
    from wkgt_sandbox import run_sandbox

    with run_sandbox() as sb:
        yield sb


@pytest.fixture(scope="module")
def module_sandbox() -> Iterator:
    """One sandbox per test module (starting one is what costs); take it as ``sandbox`` with
    ``from tests.helpers import reset_module_sandbox as sandbox``: reset before each test."""
    from wkgt_sandbox import run_sandbox

    with run_sandbox() as sb:
        yield sb


@pytest.fixture(scope="session")
def recordings() -> Path:
    path = recordings_dir()
    if path is None:
        pytest.skip("WEBKNOSSOS recordings not found (shared/wk-recordings beside the repo or $WKGT_RECORDINGS)")
    return path


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No WK_URL/WK_TOKEN from the developer's shell, no ./.env, locks in a private cache."""
    monkeypatch.delenv("WK_URL", raising=False)
    monkeypatch.delenv("WK_TOKEN", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
