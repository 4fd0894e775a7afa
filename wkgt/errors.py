"""Errors that wkgt reports to users as one line and a documented exit code."""

from __future__ import annotations


class WkgtError(Exception):
    """Base class: ``str(err)`` is the one-line message, ``exit_code`` the process exit code."""

    exit_code: int = 1


class InvalidInput(WkgtError):
    """Malformed or contradictory options, or a plan that cannot be satisfied."""

    exit_code = 2


class NotFound(WkgtError):
    """Dataset, layer, annotation, project or task type that does not exist (or is ambiguous)."""

    exit_code = 3


class NotVisibleToToken(NotFound):
    """Not found, and the token is why: none was given, or the server refused it (still exit 3:
    a lookup never exits 4; the message names the cause)."""


class AuthError(WkgtError):
    """Missing or rejected token."""

    exit_code = 4


class ServerError(WkgtError):
    """Server unreachable, not WEBKNOSSOS, too old, or failing (5xx, timeouts) after retries."""

    exit_code = 5


class WriteError(WkgtError):
    """The write (upload, task creation) failed or its outcome is unknown."""

    exit_code = 6


class Busy(WkgtError):
    """Another wkgt run for the same job holds the lock."""

    exit_code = 7


class Interrupted(KeyboardInterrupt):
    """Ctrl-C while writing: ``str(err)`` says what may exist on the server (exit 130)."""


class WkgtWarning(UserWarning):
    """Something the user should know that does not stop the run; the CLI prints it as one line."""
