"""The Starlette application: route table, API version check, request log and fault injection."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from starlette.applications import Starlette
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import api
from .ai_models import routes as ai_model_routes
from .annotation_zarr import routes as annotation_zarr_routes
from .annotations import routes as annotation_routes
from .auth import error
from .compose import routes as compose_routes
from .explore import routes as explore_routes
from .dataset_settings import routes as dataset_settings_routes
from .datastore import LEGACY_MOUNT
from .datastore import legacy_routes as legacy_datastore_routes
from .datastore import routes as datastore_routes
from .faults import Fault, Faults
from .folders import routes as folder_routes
from .rawdata import routes as raw_data_routes
from .state import RequestLogEntry, SandboxState
from .tasks import routes as task_routes
from .upload import routes as upload_routes
from .upload import unversioned_routes as unversioned_upload_routes
from .upload_parts import routes as upload_parts_routes
from .upload_to_paths import routes as upload_to_paths_routes
from .volume_mags import routes as volume_routes

_VERSIONED = re.compile(r"^/(api|data)/v(\d+)(/|$)")


class Instrumentation:
    """Outermost ASGI layer: applies faults, rejects unsupported API versions, logs every request."""

    def __init__(self, app: ASGIApp, state: SandboxState, faults: Faults, api_version: int) -> None:
        self.app = app
        self.state = state
        self.faults = faults
        self.api_version = api_version

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        fault = self.faults.take(method, path)
        if fault.after:
            await self._answer_late(scope, receive, send, fault)
            return
        if fault.latency:
            await asyncio.sleep(fault.latency)
        if fault.drop:
            self.state.log(RequestLogEntry(method, path, query, 0, _headers(scope)))
            _drop_connection(send)
            return
        await self._handle(scope, receive, send, fault)

    async def _answer_late(self, scope: Scope, receive: Receive, send: Send, fault: Fault) -> None:
        """Handle the request fully, then hold the answer back for the latency, or lose it."""
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self._handle(scope, receive, hold, Fault(status=fault.status))
        await asyncio.sleep(fault.latency)
        if fault.drop:
            _drop_connection(send)
            return
        for message in held:
            await send(message)

    async def _handle(self, scope: Scope, receive: Receive, send: Send, fault: Fault) -> None:
        """Answer one request (forced status, version check or the app) and log it."""
        method, path = scope["method"], scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        status, logged = 0, False

        def log() -> None:
            nonlocal logged
            if not logged:
                logged = True
                self.state.log(RequestLogEntry(method, path, query, status or 500, _headers(scope)))

        async def logging_send(message: Message) -> None:
            # log before the status line goes out, so a client never sees an answer not yet logged
            # (an empty body, e.g. a redirect's, is complete with its headers)
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                log()
            await send(message)

        version = _VERSIONED.match(path)
        supported = (api.OLDEST_API_VERSION, self.api_version)
        try:
            if fault.redirect_to is not None:
                location = fault.redirect_to.rstrip("/") + path + (f"?{query}" if query else "")
                await RedirectResponse(location, status_code=307)(scope, receive, logging_send)
            elif fault.html is not None:
                await HTMLResponse(fault.html, status_code=fault.status or 200)(scope, receive, logging_send)
            elif fault.status is not None:
                await error(fault.status, f"Sandbox fault injection: status {fault.status}")(
                    scope, receive, logging_send
                )
            elif version is not None and not supported[0] <= int(version.group(2)) <= supported[1]:
                message = (
                    f"API version {version.group(2)} is not supported (supported: {supported[0]} to {supported[1]})"
                )
                await error(400, message)(scope, receive, logging_send)
            else:
                await self.app(scope, receive, logging_send)
        finally:
            log()


def _headers(scope: Scope) -> tuple[tuple[str, str], ...]:
    return tuple((key.decode("latin-1").lower(), value.decode("latin-1")) for key, value in scope.get("headers", ()))


def _drop_connection(send: Send) -> None:
    """Close the client connection without any answer (uvicorn's `send` is bound to its cycle)."""
    transport: Any = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise RuntimeError("cannot drop the connection: no transport behind the ASGI send callable")
    transport.abort()


def datastore_name(state: SandboxState) -> str:
    """The datastore's name: the one the served datasets were recorded with, else "sandbox"."""
    for dataset in state.datasets.values():
        name = dataset.json.get("dataStore", {}).get("name")
        if name:
            return str(name)
    return "sandbox"


def create_app(
    state: SandboxState,
    faults: Faults,
    *,
    token: str,
    api_version: int,
    web_api: bool = True,
    datastore: bool = True,
    datastore_url: str | None = None,
) -> ASGIApp:
    """The sandbox ASGI app serving `/api/...` (web API, if `web_api`) and `/data/...` (datastore,
    if `datastore`). `datastore_url` is where the web API tells clients the datastore is (None: the
    URL the client used for this server)."""
    routes: list[Route | Mount] = []
    if web_api:
        routes += [
            Route("/api/buildinfo", api.build_info),
            Mount(
                "/api/v{version:int}",
                routes=upload_to_paths_routes + compose_routes + explore_routes + api.routes + dataset_settings_routes + folder_routes + annotation_routes + task_routes + ai_model_routes,
            ),
            Mount("/tracings", routes=volume_routes),
        ]
    if datastore:
        routes += [
            Mount(LEGACY_MOUNT, routes=legacy_datastore_routes),
            Mount("/data/v{version:int}/zarr/{dataset_id}", routes=datastore_routes),
            Mount("/data/v{version:int}/annotations/zarr/{annotation_id}", routes=annotation_zarr_routes),
            Mount("/data/v{version:int}", routes=raw_data_routes + upload_routes + upload_parts_routes),
            Mount("/data", routes=unversioned_upload_routes),
        ]
    app = Starlette(routes=routes)
    app.state.sandbox = state
    app.state.token = token
    app.state.api_version = api_version
    app.state.datastore_url = datastore_url
    app.state.datastore_name = datastore_name(state)
    return Instrumentation(app, state, faults, api_version)
