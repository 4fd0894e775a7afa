"""Lazy, quiet import of the ``webknossos`` SDK (it costs about a second)."""

from __future__ import annotations

import os
import warnings
from types import ModuleType


def webknossos() -> ModuleType:
    """Import ``webknossos`` without its PyPI version check and image-reader warning."""
    os.environ.setdefault("WEBKNOSSOS_SKIP_VERSION_CHECK", "True")
    os.environ.setdefault("WEBKNOSSOS_SHOWED_IMAGE_READER_IMPORT_WARNING", "True")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import webknossos as wk
    return wk
