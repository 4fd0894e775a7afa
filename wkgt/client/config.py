"""Which server and token to use: options, then ``WK_URL``/``WK_TOKEN``, then ``./.env``."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import attrs
from dotenv import dotenv_values, find_dotenv

from ..errors import AuthError, InvalidInput

DEFAULT_URL = "https://webknossos.org"
DEFAULT_TIMEOUT_S = 60.0


@attrs.frozen
class RetryPolicy:
    """How often and how patiently to retry a read (delays double each time)."""

    attempts: int = 4
    first_delay_s: float = 0.5


@attrs.frozen
class Connection:
    """The connection settings a job is run with: server, token, timeout, retries.

    ``url``/``token`` left ``None`` come from ``WK_URL``/``WK_TOKEN``, then ``./.env`` (see
    :func:`resolve_server`). ``repr`` never shows the token.
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
    token: str | None = attrs.field(default=None, repr=False)
    timeout_s: float = DEFAULT_TIMEOUT_S

    def require_token(self) -> str:
        if not self.token:
            raise AuthError(
                f"no token for {self.url}: pass --token or set WK_TOKEN (in the environment or ./.env); "
                "WEBKNOSSOS shows yours under your user menu → Auth Token"
            )
        return self.token


def normalize_url(url: str) -> str:
    """``"https://host/"`` → ``"https://host"``; rejects what is not an http(s) URL."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(f"not a server URL (http[s]://host[:port]): {url!r}")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def resolve_server(
    url: str | None = None,
    token: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    *,
    target: str | None = None,
) -> ServerConfig:
    """Combine options, environment and the ``.env`` of the working directory (first wins).

    ``target`` is the server a pasted dataset or annotation URL names; it wins over the
    configured one. A token from the environment or ``.env`` belongs to the configured server
    and is never sent to another: that is an error unless ``token`` is given explicitly.
    """
    if not timeout_s > 0:
        raise InvalidInput(f"--timeout must be positive, got {timeout_s:g}")
    dotenv_path = find_dotenv(usecwd=True)
    dotenv = dotenv_values(dotenv_path) if dotenv_path else {}

    def pick(given: str | None, key: str) -> str | None:
        return given or os.environ.get(key) or dotenv.get(key) or None

    configured = normalize_url(pick(url, "WK_URL") or DEFAULT_URL)
    chosen_token = pick(token, "WK_TOKEN")
    if target is None or normalize_url(target) == configured:
        return ServerConfig(configured, chosen_token, timeout_s)
    target = normalize_url(target)
    if url is not None:
        raise InvalidInput(f"the URL is on {target}, but the server given is {url}")
    if chosen_token and token is None:
        raise AuthError(
            f"the URL is on {target}, but your token is for {configured} (WK_URL / .env); wkgt does not send "
            f"it to another server: set WK_URL={target} with that server's token, or pass --token"
        )
    return ServerConfig(target, chosen_token, timeout_s)
