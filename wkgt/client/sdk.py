"""Lazy, quiet import of the ``webknossos`` SDK (it costs about a second)."""

from __future__ import annotations

import os
import sys
import warnings
from types import ModuleType

from .origins import guard_redirects


def webknossos() -> ModuleType:
    """Import ``webknossos`` without its PyPI version check and image-reader warning.

    The SDK's import runs ``load_dotenv()``, which searches ``.env`` files upwards from the
    SDK's own folder and copies them into ``os.environ``; wkgt takes its server and token only
    from its own sources (see :mod:`wkgt.client.config`), so what that added is removed again.
    Redirects that would carry the token to another origin are refused (:mod:`.origins`).
    """
    os.environ.setdefault("WEBKNOSSOS_SKIP_VERSION_CHECK", "True")
    os.environ.setdefault("WEBKNOSSOS_SHOWED_IMAGE_READER_IMPORT_WARNING", "True")
    first_import = "webknossos" not in sys.modules
    before = set(os.environ) if first_import else set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import webknossos as wk
    if first_import:
        for added in set(os.environ) - before:
            del os.environ[added]
    guard_redirects()
    return wk
