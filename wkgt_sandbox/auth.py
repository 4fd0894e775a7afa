"""Token authentication, the rights of a token's user, and the error answers of the real server.

Web API: the token comes in the `X-Auth-Token` header (or a `token` query parameter) and names one
user of the world (`SandboxState.accounts`). Routes that need a user (the server's `SecuredAction`)
answer a missing, unknown or deactivated user's token with 401 and the plain text of
`user.notAuthorised` (webknossos `app/ErrorHandler.scala`); routes open to anonymous users
(`UserAwareAction`, e.g. datasets, annotation info) treat such a token like none.
Datastore: a dataset the token may not read (or an unknown one) answers 403 in plain text
(webknossos-datastore `AccessTokenService`).

The rights below follow webknossos `app/models/user/UserService.scala` (`isTeamManagerOrAdminOf`,
`isTeamManagerOrAdminOfOrg`) and the access queries (`readAccessQ`) of the DAOs they name.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

NOT_AUTHENTICATED = "You are not authorized to view this resource. Please log in."
DATASTORE_FORBIDDEN = "Token may be expired, consider reloading. Access forbidden: No read access on dataset"
NOT_ALLOWED = "You are not authorized to view or edit this resource."
"""`Msg.notAllowed` (util/src/main/scala/com/scalableminds/util/Msg.scala)."""
EMPTY_BOX = "Couldn't find the requested resource."
"""What a controller answers (404) for an empty result, e.g. a failed `Fox.assertTrue`
(util/.../mvc/ExtendedController.scala, `BoxToResultHelpers.asResult`)."""

User = dict[str, Any]


def request_token(request: Request) -> str | None:
    """The token a request carries (header first, then query parameter)."""
    return request.headers.get("x-auth-token") or request.query_params.get("token")


def request_user(request: Request) -> User | None:
    """The user whose token the request carries, or None (anonymous)."""
    return request.app.state.sandbox.user_for_token(request_token(request))  # type: ignore[no-any-return]


def is_authenticated(request: Request) -> bool:
    return request_user(request) is not None


def team_ids(user: User) -> set[str]:
    return {t["id"] for t in user.get("teams", [])}


def managed_team_ids(user: User) -> set[str]:
    return {t["id"] for t in user.get("teams", []) if t.get("isTeamManager")}


def is_admin_of(user: User, organization: str | None) -> bool:
    """`User.isAdminOf`: an admin of that organization."""
    return bool(user.get("isAdmin")) and user.get("organization") == organization


def is_team_manager_or_admin_of(user: User, team: dict[str, Any] | None) -> bool:
    """`UserService.isTeamManagerOrAdminOf(user, _team)`: manages the team, or admins its organization."""
    if team is None:
        return False
    return team["id"] in managed_team_ids(user) or is_admin_of(user, team.get("organization"))


def is_team_manager_or_admin_of_org(user: User, organization: str | None) -> bool:
    """`UserService.isTeamManagerOrAdminOfOrg`: manages some team (in its own organization) or is its admin."""
    in_org = user.get("organization") == organization
    return (in_org and bool(managed_team_ids(user))) or is_admin_of(user, organization)


async def json_body(request: Request) -> Any:
    """The request's JSON body, or None when it is no JSON (the routes answer "Invalid Json format")."""
    try:
        return await request.json()
    except ValueError:
        return None


async def json_object(request: Request) -> dict[str, Any] | None:
    """The request's JSON body when it is an object, else None."""
    body = await json_body(request)
    return body if isinstance(body, dict) else None


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The server's JSON error body: {"messages": [{"error": ...}]}."""
    return JSONResponse({"messages": [{"error": message}]}, status_code=status, headers=headers)


def chained_error(status: int, outer: str, inner: str) -> JSONResponse:
    """A failure wrapped with `?~>`: the route's message, then the reason it chains."""
    return JSONResponse({"messages": [{"error": outer}, {"chain": inner}]}, status_code=status)


def not_authenticated() -> Response:
    return PlainTextResponse(NOT_AUTHENTICATED, status_code=401)


def not_allowed() -> Response:
    """403 `Msg.notAllowed`, the answer of `?~> Msg.notAllowed ~> FORBIDDEN`."""
    return error(403, NOT_ALLOWED)


def empty_box() -> Response:
    """404 of an empty result without its own message (a failed `Fox.assertTrue`)."""
    return error(404, EMPTY_BOX)


def datastore_forbidden() -> Response:
    return PlainTextResponse(DATASTORE_FORBIDDEN, status_code=403)


def can_read_dataset(user: User | None, dataset: Any) -> bool:
    """`DatasetDAO.readAccessQ`: a public dataset; otherwise, in the user's organization, an admin or
    dataset manager, or a member of one of its allowed teams (cumulative, i.e. with its folders')."""
    if dataset.is_public:
        return True
    if user is None or user.get("organization") != dataset.organization:
        return False
    if user.get("isAdmin") or user.get("isDatasetManager"):
        return True
    allowed = dataset.json.get("allowedTeamsCumulative") or dataset.json.get("allowedTeams") or []
    return bool({t["id"] for t in allowed} & team_ids(user))


def can_edit_dataset(user: User | None, dataset: Any) -> bool:
    """`DatasetService.isEditableBy` as the sandbox applies it: an admin or dataset manager of the
    dataset's organization (the server also lets team managers of its allowed teams edit it; the
    sandbox is stricter)."""
    if user is None or user.get("organization") != dataset.organization:
        return False
    return bool(user.get("isAdmin") or user.get("isDatasetManager"))


def can_read_user(reader: User, other: User) -> bool:
    """`UserDAO.readAccessQ`: oneself, members of a team one manages, everyone of one's organization for admins."""
    return (
        reader["id"] == other["id"]
        or bool(team_ids(other) & managed_team_ids(reader))
        or is_admin_of(reader, other.get("organization"))
    )


def can_read_team(reader: User, team: dict[str, Any]) -> bool:
    """`TeamDAO.readAccessQ`: one's own teams, and every team of one's organization for admins and dataset managers."""
    if team["id"] in team_ids(reader):
        return True
    in_org = team.get("organization") == reader.get("organization")
    return in_org and bool(reader.get("isAdmin") or reader.get("isDatasetManager"))
