"""The API token: checked once, never shown, and handed to worker jobs only through a private file.

A :class:`Token` is a ``str`` (the SDK and httpx take it as it is) that never shows itself:
``repr`` hides it, and pickling it (cluster jobs, other processes) is refused unless a
:func:`token_handoff` is active; then the pickle holds the path of a file (mode 0600, in a
0700 directory) that the worker reads, and the file is removed when the handoff ends.
:func:`redact` removes every token seen and URL credentials from text meant for people.
"""

from __future__ import annotations

import atexit
import os
import pickle
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import InvalidInput, WkgtError

_LOCK = threading.Lock()
_SEEN: set[str] = set()
_HANDOFF_DIR: Path | None = None
_HANDOFF_FILES: dict[str, Path] = {}
URL_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]*@")


class Token(str):
    """An API token: a ``str`` whose ``repr`` is masked and whose pickle holds no secret."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Token('***')"

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return load_token, (str(_handoff_file(self)),)

    def __reduce_ex__(self, protocol: object) -> tuple[object, tuple[str]]:
        return self.__reduce__()

    def __copy__(self) -> Token:
        return self

    def __deepcopy__(self, memo: object) -> Token:
        return self


def check_token(raw: str, source: str) -> Token | None:
    """``raw`` without surrounding whitespace (a CR/LF from a Windows token file), as a
    :class:`Token`; ``None`` if empty. Any other character outside printable ASCII is refused
    with a message that names ``source`` and the position, never the token."""
    remember_secret(raw)
    text = raw.strip()
    if not text:
        return None
    for position, char in enumerate(text, start=1):
        if not "!" <= char <= "~":
            kind = "a space" if char == " " else "a control character" if ord(char) < 32 or ord(char) == 127 else "a non-ASCII character"
            raise InvalidInput(
                f"the token from {source} contains {kind} at position {position} (token not shown); "
                "copy it again from WEBKNOSSOS (user menu → Auth Token)"
            )
    remember_secret(text)
    return Token(text)


def remember_secret(text: str | None) -> None:
    """Have :func:`redact` hide ``text`` (and its stripped form) from now on."""
    if not text:
        return
    with _LOCK:
        _SEEN.update(t for t in (text, text.strip()) if len(t) >= 4)


def redact(text: str) -> str:
    """``text`` without any token seen in this process and without URL user:password parts."""
    with _LOCK:
        secrets = sorted(_SEEN, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, "***")
    return URL_CREDENTIALS.sub("***@", text)


def load_token(path: str) -> Token:
    """A worker's side of the handoff: the token from the private file the main process wrote."""
    try:
        text = Path(path).read_text(encoding="ascii")
    except OSError as err:
        raise WkgtError(
            f"the token file of this worker job is gone ({err.strerror}): the wkgt run that started the job has ended"
        ) from None
    return Token(text)


def _handoff_file(token: Token) -> Path:
    """The private file holding ``token`` during the active handoff (written on first use)."""
    with _LOCK:
        if _HANDOFF_DIR is None:
            raise pickle.PicklingError("wkgt pickles a token only for its worker jobs, through a private token file")
        path = _HANDOFF_FILES.get(str(token))
        if path is None:
            path = _HANDOFF_DIR / f"token-{len(_HANDOFF_FILES)}"
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="ascii") as file:
                file.write(str(token))
            _HANDOFF_FILES[str(token)] = path
        return path


@contextmanager
def token_handoff(parent: Path | None = None) -> Iterator[Path]:
    """While active, tokens pickled for worker jobs go through files in a new private directory
    under ``parent`` (default: the system's temporary folder; workers on other machines need a
    shared one, e.g. the working directory). The directory is removed on every way out: normal
    end, exceptions, Ctrl-C, SIGTERM/SIGHUP (turned into an exit) and interpreter exit.
    Environment variables holding a token are hidden meanwhile, so cluster jobs (Kubernetes
    copies the whole environment into the job spec; Slurm exports it) do not carry it."""
    global _HANDOFF_DIR
    if parent is not None:
        Path(parent).mkdir(parents=True, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix=".wkgt-token-", dir=parent))  # mode 0700

    def remove() -> None:
        shutil.rmtree(directory, ignore_errors=True)

    atexit.register(remove)
    hidden: dict[str, str] = {}
    installed: dict[int, tuple[object, object]] = {}
    with _LOCK:
        outer = (_HANDOFF_DIR, dict(_HANDOFF_FILES))
        _HANDOFF_DIR = directory
        _HANDOFF_FILES.clear()
    try:
        hidden = _hide_token_variables()
        installed = _exit_on_termination()
        yield directory
    finally:
        with _LOCK:
            _HANDOFF_DIR = outer[0]
            _HANDOFF_FILES.clear()
            _HANDOFF_FILES.update(outer[1])
        remove()
        atexit.unregister(remove)
        os.environ.update(hidden)
        _restore_signals(installed)


def _hide_token_variables() -> dict[str, str]:
    """Remove ``WK_TOKEN`` and any variable holding a known token from ``os.environ``; return them."""
    with _LOCK:
        secrets = set(_SEEN)
    hidden = {
        name: value
        for name, value in os.environ.items()
        if name == "WK_TOKEN" or (value.strip() and value.strip() in secrets)
    }
    for name in hidden:
        del os.environ[name]
    return hidden


def _exit_on_termination() -> dict[int, tuple[object, object]]:
    """Turn SIGTERM/SIGHUP into ``SystemExit`` (so ``finally`` blocks run) after any handler
    already installed (e.g. cluster_tools' job cleanup); main thread only."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    installed: dict[int, tuple[object, object]] = {}
    for number in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        previous = signal.getsignal(number) if number is not None else signal.SIG_IGN
        if number is None or previous == signal.SIG_IGN:
            continue

        def exit_after(received: int, frame: object, previous: object = previous) -> None:
            if callable(previous):
                previous(received, frame)
            raise SystemExit(128 + received)

        signal.signal(number, exit_after)
        installed[number] = (previous, exit_after)
    return installed


def _restore_signals(installed: dict[int, tuple[object, object]]) -> None:
    """Put the old handlers back, unless another handler (cluster_tools') was installed on top."""
    for number, (previous, ours) in installed.items():
        if signal.getsignal(number) is ours:
            signal.signal(number, previous)  # type: ignore[arg-type]
