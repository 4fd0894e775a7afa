"""No token to another origin on a redirect.

The SDK's web API and datastore clients (httpx) and its chunk reads (tensorstore) do not
follow redirects. Its file reads over HTTP (fsspec with aiohttp, e.g. the datastore's
``datasource-properties.json``) do, with every header, ``X-Auth-Token`` included. wkgt adds,
through fsspec's public configuration (``fsspec.config.conf``), an aiohttp client middleware
that stops a redirect to another origin (scheme, host, port) while the request carries a
token; a redirect within the origin still works.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

from ..errors import ServerError

TOKEN_HEADER = "X-Auth-Token"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class CrossOriginRedirect(ServerError):
    """A server redirected a request carrying the token to another origin; wkgt did not follow."""


def origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of a URL, the default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(scheme)


async def same_origin_redirects_only(request: Any, handler: Any) -> Any:
    """aiohttp client middleware: run the request; refuse to go on if the answer redirects a
    request that carries the token to another origin."""
    response = await handler(request)
    if response.status in REDIRECT_STATUSES and TOKEN_HEADER in request.headers:
        location = response.headers.get("Location")
        if location is not None:
            source = str(request.url)
            target = urljoin(source, location)
            if origin(target) != origin(source):
                response.close()
                here = "{}://{}".format(*origin(source)[:2])
                there = "{}://{}".format(*origin(target)[:2])
                raise CrossOriginRedirect(
                    f"{here} redirected a request to {there}; wkgt does not send your token to another origin"
                )
    return response


def guard_redirects() -> None:
    """Install :func:`same_origin_redirects_only` for every fsspec HTTP filesystem made from now
    on (idempotent; a no-op when fsspec is missing)."""
    try:
        import fsspec.config
    except ImportError:
        return
    for protocol in ("http", "https"):
        settings = fsspec.config.conf.setdefault(protocol, {})
        client_kwargs = dict(settings.get("client_kwargs", {}))
        middlewares = tuple(client_kwargs.get("middlewares", ()))
        if same_origin_redirects_only not in middlewares:
            client_kwargs["middlewares"] = (*middlewares, same_origin_redirects_only)
            settings["client_kwargs"] = client_kwargs
