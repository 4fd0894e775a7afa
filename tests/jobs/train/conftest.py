"""One sandbox per test module, reset before each test (the top-level conftest isolates env)."""

from __future__ import annotations

from tests.helpers import reset_module_sandbox as sandbox  # noqa: F401 (the module's sandbox, reset per test)

