"""Token authentication and the error answers of the real server.

Web API: the token comes in the `X-Auth-Token` header (or a `token` query parameter). Routes that
need a user (the server's `SecuredAction`) answer a missing or wrong token with 401 and the plain
text of `user.notAuthorised` (webknossos `app/ErrorHandler.scala`); routes open to anonymous users
(`UserAwareAction`, e.g. datasets) treat a wrong token like none and only show public objects.
Datastore: a dataset the token may not read (or an unknown one) answers 403 in plain text
(webknossos-datastore `AccessTokenService`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

NOT_AUTHENTICATED = "You are not authorized to view this resource. Please log in."
DATASTORE_FORBIDDEN = "Token may be expired, consider reloading. Access forbidden: No read access on dataset"


def request_token(request: Request) -> str | None:
    """The token a request carries (header first, then query parameter)."""
    return request.headers.get("x-auth-token") or request.query_params.get("token")


def is_authenticated(request: Request) -> bool:
    return request_token(request) == request.app.state.token


def error(status: int, message: str) -> JSONResponse:
    """The server's JSON error body: {"messages": [{"error": ...}]}."""
    return JSONResponse({"messages": [{"error": message}]}, status_code=status)


def not_authenticated() -> Response:
    return PlainTextResponse(NOT_AUTHENTICATED, status_code=401)


def datastore_forbidden() -> Response:
    return PlainTextResponse(DATASTORE_FORBIDDEN, status_code=403)
