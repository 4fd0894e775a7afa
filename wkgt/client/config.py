"""Which server and token to use.

The rule: **a token travels only with the URL it was configured with.** There are three
sources, each a pair of server and token: the command line (``--webknossos-url`` or a pasted
dataset/annotation URL, with ``--token``), the environment (``WK_URL``/``WK_TOKEN``), and the
``.env`` file of the working directory (parent folders are never searched). The server is the
first one given (a pasted URL, the option, ``WK_URL``, ``.env``, else webknossos.org); the token
is the first token whose own source names that same server. A token whose source names another
server, or none, is never sent anywhere: wkgt stops with one line instead of guessing.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import attrs

from ..errors import AuthError, InvalidInput, WkgtWarning
from .token import Token, check_token, redact, remember_secret

DEFAULT_URL = "https://webknossos.org"
DEFAULT_TIMEOUT_S = 60.0
MAX_TIMEOUT_S = 86_400.0
DEFAULT_PORTS = {"http": 80, "https": 443}
DOTENV_KEYS = frozenset({"WK_URL", "WK_TOKEN"})


@attrs.frozen
class RetryPolicy:
    """How often and how patiently to retry a read (delays double each time)."""

    attempts: int = 4
    first_delay_s: float = 0.5


@attrs.frozen
class Connection:
    """The connection settings a job is run with: server, token, timeout, retries.

    ``url``/``token`` are the command line's pair; left ``None`` they come from
    ``WK_URL``/``WK_TOKEN``, then ``./.env`` (see :func:`resolve_server`). ``repr`` never
    shows the token.
    """

    url: str | None = None
    token: str | None = attrs.field(default=None, repr=False)
    timeout_s: float = DEFAULT_TIMEOUT_S
    retry: RetryPolicy = RetryPolicy()

    def resolve(self, target: str | None = None) -> ServerConfig:
        """The server and token to use (``target``: the server a pasted URL names)."""
        return resolve_server(self.url, self.token, self.timeout_s, target=target)


@attrs.frozen
class ServerConfig:
    """A WEBKNOSSOS server and the credentials for it. ``repr`` never shows the token."""

    url: str
    token: Token | None = attrs.field(default=None, repr=False)
    timeout_s: float = DEFAULT_TIMEOUT_S

    def require_token(self) -> Token:
        if not self.token:
            raise AuthError(
                f"no token for {self.url}: pass --webknossos-url with --token, or set WK_URL and WK_TOKEN "
                "(in the environment or ./.env); WEBKNOSSOS shows yours under your user menu → Auth Token"
            )
        return self.token


@attrs.frozen
class _Source:
    """One place a server and a token can come from."""

    name: str
    url: str | None
    token: Token | None = attrs.field(repr=False)


def normalize_url(url: str, what: str = "the server URL") -> str:
    """``"HTTPS://Host:443/"`` → ``"https://host"``: scheme, host, port (unless the default),
    path; user name and password are dropped. Rejects what is not an http(s) URL in one line
    that never shows URL credentials."""
    text = url.strip()
    shown = _shown(text)
    if any(not char.isprintable() or char.isspace() for char in text):
        raise InvalidInput(f"{what} contains a space or control character: {shown}")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as err:
        raise InvalidInput(f"{what} is not a valid URL ({err}): {shown}") from None
    if parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname:
        raise InvalidInput(f"{what} is not a server URL (http[s]://host[:port]): {shown}")
    scheme, host = parts.scheme.lower(), parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


def _shown(text: str, limit: int = 120) -> str:
    """User input as it may appear in a message: credentials redacted, quoted, shortened."""
    text = redact(text)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def check_timeout(timeout_s: float) -> float:
    if not (math.isfinite(timeout_s) and 0 < timeout_s <= MAX_TIMEOUT_S):
        raise InvalidInput(f"--timeout must be a number of seconds in (0, {MAX_TIMEOUT_S:,.0f}], got {timeout_s:g}")
    return float(timeout_s)


def read_dotenv(path: Path) -> dict[str, str]:
    """The ``KEY=VALUE`` pairs of a ``.env`` file; a line that does not parse, or text that is not
    UTF-8, stops with one line naming the file and line (never its contents). ``WK_URL`` or
    ``WK_TOKEN`` set twice is a :class:`WkgtWarning` naming the key and lines (the last counts)."""
    from dotenv import dotenv_values
    from dotenv.parser import parse_stream

    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"{path} is not UTF-8 text (saved as UTF-16?): save it as UTF-8 with KEY=VALUE lines") from None
    except OSError as err:
        raise InvalidInput(f"cannot read {path}: {err.strerror}") from None
    lines: dict[str, list[int]] = {}
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raise InvalidInput(f"{path}, line {binding.original.line}: not a KEY=VALUE line (check quotes and spaces)")
        if binding.key in DOTENV_KEYS:
            lines.setdefault(binding.key, []).append(binding.original.line)
    for key, numbers in lines.items():
        if len(numbers) > 1:
            times = "twice" if len(numbers) == 2 else f"{len(numbers)} times"
            warnings.warn(WkgtWarning(f"{key} is set {times} in {path} (lines {', '.join(map(str, numbers))}): the last one counts"), stacklevel=2)
    values = dotenv_values(stream=io.StringIO(text))
    return {key: value for key, value in values.items() if value is not None}


def _sources(url: str | None, token: str | None, target: str | None) -> tuple[str, list[_Source]]:
    """The server to talk to and the three sources of tokens, in order of precedence."""
    option_url = normalize_url(url, "--webknossos-url") if url else None
    target_url = normalize_url(target, "the URL's server") if target else None
    if option_url and target_url and option_url != target_url:
        raise InvalidInput(f"the URL is on {target_url}, but the server given is {option_url}")
    command_line = _Source("--token", target_url or option_url, check_token(token, "--token") if token else None)
    if command_line.token and command_line.url is None:
        raise InvalidInput(
            "--token goes with --webknossos-url (or a dataset/annotation URL) naming its server: "
            "wkgt sends a token only to the server it was given with"
        )
    remember_secret(os.environ.get("WK_TOKEN"))
    environment = _Source(
        "WK_TOKEN",
        normalize_url(os.environ["WK_URL"], "WK_URL") if os.environ.get("WK_URL", "").strip() else None,
        check_token(os.environ["WK_TOKEN"], "WK_TOKEN") if os.environ.get("WK_TOKEN") else None,
    )
    sources = [command_line, environment]
    path = Path.cwd() / ".env"
    if path.exists() and not path.is_file():  # a folder (or a pipe) would be skipped silently, or block
        raise InvalidInput(f"{path} is not a file: wkgt reads WK_URL and WK_TOKEN from a .env file in the working directory")
    if path.is_file():
        values = read_dotenv(path)
        remember_secret(values.get("WK_TOKEN"))
        sources.append(
            _Source(
                f"{path}",
                normalize_url(values["WK_URL"], f"WK_URL in {path}") if values.get("WK_URL", "").strip() else None,
                check_token(values["WK_TOKEN"], f"WK_TOKEN in {path}") if values.get("WK_TOKEN") else None,
            )
        )
    server = next((s.url for s in sources if s.url), DEFAULT_URL)
    return server, sources


def resolve_server(
    url: str | None = None,
    token: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    *,
    target: str | None = None,
) -> ServerConfig:
    """The server (``target``, the server a pasted URL names, first) and the token configured
    with it (see the module's rule). A token configured for another server, or for none, is an
    :class:`AuthError` naming where it came from."""
    timeout_s = check_timeout(timeout_s)
    server, sources = _sources(url, token, target)
    for source in sources:
        if source.token and source.url == server:
            return ServerConfig(server, source.token, timeout_s)
    stray = next((s for s in sources if s.token), None)
    if stray is None:
        return ServerConfig(server, None, timeout_s)
    where = "the environment" if stray.name == "WK_TOKEN" else stray.name
    if stray.url is None:
        raise AuthError(
            f"WK_TOKEN is set in {where} without WK_URL: wkgt sends a token only to the server configured "
            f"with it; set WK_URL (e.g. {server}) next to it"
        )
    raise AuthError(
        f"the server is {server}, but your token is for {stray.url} (WK_URL/WK_TOKEN in {where}); wkgt does not send "
        f"it to another server: pass --webknossos-url {server} with --token, or set WK_URL and WK_TOKEN for it"
    )
