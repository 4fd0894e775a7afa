"""Talking to a WEBKNOSSOS server through the SDK's API client, with few requests.

Reads are retried with exponential backoff on timeouts, dropped connections and 5xx
answers; writes never are (see :mod:`wkgt.writer`). Every failure becomes a
:class:`~wkgt.errors.WkgtError` with one line a user can act on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx

from ..errors import AuthError, NotFound, NotVisibleToToken, ServerError, WkgtError
from .config import RetryPolicy, ServerConfig
from .dataset_ref import DatasetRef
from .facts import DatasetFacts, facts_from_properties
from .sdk import webknossos

T = TypeVar("T")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
PAGE_SIZE = 1000
"""Entries per page of a paged list (the server's default ``limit`` of ``annotations/readable``)."""


def server_message(response: httpx.Response) -> str:
    """The server's own error text (``{"messages":[{"error": ...}]}``), if any."""
    try:
        messages = response.json().get("messages", [])
        return "; ".join(str(v) for m in messages for v in m.values())
    except (ValueError, AttributeError):
        return ""


class Session:
    """An open connection to one server: negotiated API version and the SDK's client."""

    def __init__(self, config: ServerConfig, retry: RetryPolicy = RetryPolicy()):
        self.config = config
        self.retry = retry
        self._wk = webknossos()
        self.api_version: int | None = None
        self._me: Any | None = None
        self._datastores: dict[str, str] = {}  # dataset id → datastore URL, from reads already made

    @contextmanager
    def context(self) -> Iterator[None]:
        """The SDK's ``webknossos_context`` for this server and token."""
        if self.api_version is None:
            self.negotiate()
        with self._wk.webknossos_context(
            url=self.config.url,
            token=self.config.token,
            timeout=max(1, round(self.config.timeout_s)),
            api_version=self.api_version,
        ):
            yield

    # -- error translation and retries -------------------------------------------------

    def read(self, what: str, call: Callable[[], T]) -> T:
        """Run an idempotent SDK call, retrying passing faults with backoff."""
        delay = self.retry.first_delay_s
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return self.translate(what, call)
            except _Retryable as fault:
                if attempt == self.retry.attempts:
                    raise ServerError(f"{what}: {fault} (tried {attempt} times)") from None
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def translate(self, what: str, call: Callable[[], T]) -> T:
        """Run an SDK call once; map its exceptions to wkgt errors (or :class:`_Retryable`)."""
        from webknossos.client.api_client.errors import CannotHandleResponseError, UnexpectedStatusError

        url = self.config.url
        try:
            if self.api_version is None:
                return call()
            with self.context():
                return call()
        except WkgtError:
            raise
        except UnexpectedStatusError as err:
            raise self._status_error(what, _response_of(err)) from None
        except CannotHandleResponseError:
            raise ServerError(f"{what}: {url} gave an answer wkgt cannot read; is it a WEBKNOSSOS server?") from None
        except httpx.TimeoutException:
            raise NoAnswer(f"{url} did not answer within {self.config.timeout_s:g} s") from None
        except httpx.ConnectError as err:
            raise ServerError(f"cannot reach {url}: {_reason(err)}") from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as err:
            raise NoAnswer(f"{url} dropped the connection ({_reason(err)})") from None
        except httpx.HTTPError as err:
            raise ServerError(f"{what}: {url}: {_reason(err)}") from None

    def _status_error(self, what: str, response: httpx.Response | None) -> Exception:
        return error_for_status(what, self.config.url, response, has_token=bool(self.config.token))

    # -- requests --------------------------------------------------------------------------

    def negotiate(self) -> int:
        """Ask the unversioned ``/api/buildinfo`` which API version to speak (1 request).

        The SDK would ask too, but could not tell a server that is down from one that is
        not WEBKNOSSOS; the version found is handed to the SDK so it does not ask again.
        """
        from webknossos.client.context import LIBRARY_SUPPORTED_API_VERSIONS

        url = f"{self.config.url}/api/buildinfo"
        try:
            response = self.read(
                "checking the server version", lambda: _checked(httpx.get(url, timeout=self.config.timeout_s))
            )
        except (NotFound, AuthError):
            raise ServerError(f"{self.config.url} is not a WEBKNOSSOS server (GET /api/buildinfo failed){self._root_hint()}") from None
        try:
            versioning = response.json()["httpApiVersioning"]
            newest, oldest = int(versioning["currentApiVersion"]), int(versioning["oldestSupportedApiVersion"])
        except (ValueError, KeyError, TypeError):
            raise ServerError(f"{self.config.url} is not a WEBKNOSSOS server (no API version in /api/buildinfo){self._root_hint()}") from None
        shared = set(range(oldest, newest + 1)) & set(LIBRARY_SUPPORTED_API_VERSIONS)
        if not shared:
            supported = sorted(LIBRARY_SUPPORTED_API_VERSIONS)
            raise ServerError(
                f"{self.config.url} speaks API v{oldest}–v{newest}; the webknossos SDK wkgt uses needs "
                f"v{supported[0]}–v{supported[-1]} (a {'newer' if newest < supported[0] else 'older'} server or SDK)"
            )
        self.api_version = max(shared)
        return self.api_version

    def _root_hint(self) -> str:
        """WEBKNOSSOS serves at the root of its host: a URL with a path (a pasted API or page
        URL) is the likely cause."""
        from urllib.parse import urlsplit

        parts = urlsplit(self.config.url)
        if parts.path.strip("/"):
            return f"; give the server's root URL, e.g. {parts.scheme}://{parts.netloc}"
        return ""

    def api(self) -> Any:
        from webknossos.client.context import _get_api_client

        return _get_api_client()

    def dataset_id(self, ref: DatasetRef) -> str:
        """Resolve a name to an id: 0 requests for an id, else 1 (search or disambiguation)."""
        if ref.id is not None:
            return ref.id
        name = ref.name
        if ref.organization:
            try:
                return self.read(
                    f"looking up dataset {ref.describe()}",
                    lambda: self.api().dataset_id_from_name(directory_name=name, organization_id=ref.organization),
                )
            except NotFound:
                raise NotFound(f"no dataset {name!r} in organization {ref.organization} on {self.config.url}") from None
        found = self.read(
            f"searching dataset {name!r}",
            lambda: self.api().dataset_list(is_active=True, organization_id=None, name=name, folder_id=None),
        )
        exact = [d for d in found if d.name == name]
        if not exact:
            raise NotFound(f"no dataset named {name!r} on {self.config.url} (readable with this token)")
        if len(exact) > 1:
            ids = ", ".join(d.id for d in exact)
            raise NotFound(
                f"dataset name {name!r} is ambiguous on {self.config.url} ({len(exact)} datasets: {ids}); "
                "pass --organization, the dataset id or its viewer URL"
            )
        return exact[0].id

    def dataset(self, ref: DatasetRef) -> DatasetFacts:
        """Read a dataset's facts in at most two requests after negotiation; when none is found,
        say whether the token is the cause (:meth:`not_found_or_refused`)."""
        try:
            return self._dataset(ref)
        except NotFound as err:
            if "ambiguous" in str(err) or "not usable" in str(err):
                raise
            raise self.not_found_or_refused(err) from None

    def not_found_or_refused(self, err: NotFound, visible: str = "public datasets") -> WkgtError:
        """A lookup found nothing, perhaps because of the token: it stays "not found" (exit 3;
        a lookup never exits 4) and says which: without a token only ``visible`` things are; with
        one, ``GET /user`` (1 request) tells a refused token from a valid one (naming its user)."""
        if not self.config.token:
            return NotVisibleToToken(
                f"{err}: no token was given, so only {visible} are visible "
                "(set WK_TOKEN, WK_TOKEN in ./.env, or --token with --webknossos-url)"
            )
        try:
            user = self.current_user()
        except AuthError:
            return NotVisibleToToken(
                f"{err}: the server refused the token (wrong or expired; a new one is in WEBKNOSSOS → user menu → Auth Token)"
            )
        except WkgtError:
            return err
        who = " ".join(str(part) for part in (getattr(user, "first_name", ""), getattr(user, "last_name", "")) if part)
        organization = getattr(user, "organization", None)
        return NotFound(f"{err}; the token is valid (user {who or getattr(user, 'id', '?')} of organization {organization})")

    def _dataset(self, ref: DatasetRef) -> DatasetFacts:
        dataset_id = self.dataset_id(ref)
        try:
            api_dataset = self.read(f"reading dataset {ref.describe()}", lambda: self.api().dataset_info(dataset_id=dataset_id))
        except NotFound:
            raise NotFound(f"no dataset with id {dataset_id} on {self.config.url} (or not readable with this token)") from None
        self._datastores[api_dataset.id] = api_dataset.data_store.url
        source = api_dataset.data_source
        if not hasattr(source, "data_layers"):
            status = getattr(source, "status", "unusable")
            raise NotFound(f"dataset {api_dataset.name} is not usable on the server: {status}")
        return facts_from_properties(
            source,
            name=api_dataset.name,
            id=api_dataset.id,
            organization=api_dataset.owning_organization,
            directory_name=api_dataset.directory_name,
            server=self.config.url,
            is_public=bool(api_dataset.is_public),
        )

    def known_user(self) -> Any | None:
        """The token's user if a request of this session already read it, else None (no request)."""
        return self._me

    def current_user(self) -> Any:
        """The token's user (the SDK's ``ApiUser``: id, organization, teams, experiences); one
        request (``GET /user``) the first time, none after."""
        if self._me is None:
            self._me = self.read("reading your user", lambda: self.api().user_current())
        return self._me

    def pages(self, what: str, route: str, item_type: Any, page_size: int = PAGE_SIZE) -> Iterator[list[Any]]:
        """A paged list route (``limit``, ``pageNumber``, ``includeTotalCount``), one page per
        request, until a short page or ``X-Total-Count`` entries. The SDK's generic client sends
        the requests; each page is retried like any read."""

        def page(number: int) -> tuple[list[Any], int | None]:
            api = self.api()
            query = {"limit": page_size, "pageNumber": number, "includeTotalCount": True}
            response = api._get(route, query)
            total = response.headers.get("X-Total-Count")
            return api._parse_json(response, list[item_type]), int(total) if total is not None else None

        number, seen = 0, 0
        while True:
            items, total = self.read(what, lambda: page(number))
            yield items
            seen += len(items)
            number += 1
            if len(items) < page_size or (total is not None and seen >= total):
                return
    def datastore_url(self, dataset_id: str) -> str:
        """The URL of the datastore serving a dataset: known from :meth:`dataset`, else 1 request."""
        if dataset_id not in self._datastores:
            info = self.read(f"reading dataset {dataset_id}", lambda: self.api().dataset_info(dataset_id=dataset_id))
            self._datastores[dataset_id] = info.data_store.url
        return self._datastores[dataset_id]

    def annotations(self) -> list[Any]:
        """Every annotation this token can list (``annotations/readable``: one's own and those
        shared with one's teams, newest first), page by page: one request per 1,000."""
        from webknossos.client.api_client.models import ApiAnnotation

        listed: dict[str, Any] = {}
        for page in self.pages("listing your annotations", "/annotations/readable", ApiAnnotation):
            listed.update((a.id, a) for a in page if a.id not in listed)  # a page boundary may repeat one
        return list(listed.values())


def error_for_status(what: str, server: str, response: httpx.Response | None, *, has_token: bool) -> Exception:
    """The wkgt error for an HTTP error answer of ``server`` (web API or its datastore): 401/403
    → :class:`AuthError` (exit 4), 404 → :class:`NotFound`, 429/5xx → retryable, else
    :class:`ServerError`. The message quotes the server's own error text, never the token."""
    if response is None:
        return ServerError(f"{what}: unexpected answer from {server}")
    status = response.status_code
    detail = server_message(response)
    suffix = f": {detail}" if detail else ""
    if status in (401, 403):
        hint = "" if has_token else " (no token given)"
        return AuthError(
            f"{what}: {server} refused access (HTTP {status}): the token is missing, wrong or "
            f"expired, or may not do this{hint}{suffix}"
        )
    if status == 404:
        return NotFound(f"{what}: not found on {server} (HTTP 404){suffix}")
    if status in RETRY_STATUSES:
        return _Retryable(f"{server} answered HTTP {status}{suffix}")
    if 300 <= status < 400:
        return ServerError(f"{what}: {server} answered with a redirect (HTTP {status}), which wkgt does not follow")
    return ServerError(f"{what}: {server} answered HTTP {status}{suffix}")


class _Retryable(ServerError):
    """A passing fault worth another try: a 5xx/429 answer, or :class:`NoAnswer`."""


class NoAnswer(_Retryable):
    """No answer at all (timeout, dropped connection): a write may or may not have happened."""


def _checked(response: httpx.Response) -> httpx.Response:
    """Raise for HTTP errors the way the SDK's client does, so one mapping serves both."""
    from webknossos.client.api_client.errors import UnexpectedStatusError

    try:
        response.raise_for_status()
    except httpx.HTTPStatusError as err:
        raise UnexpectedStatusError(response) from err
    return response


def _response_of(err: Exception) -> httpx.Response | None:
    cause = err.__cause__
    return getattr(cause, "response", None)


def _reason(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
