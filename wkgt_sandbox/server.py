"""Running the sandbox: in a background thread for tests (`run_sandbox`) or in the foreground (`serve`)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from .app import create_app
from .catalog import load_catalog
from .faults import Faults
from .recordings import world_from_recordings
from .state import SandboxState, World
from .world import default_world

DEFAULT_TOKEN = "wkgt-sandbox-token"
DEFAULT_API_VERSION = 16


@dataclass
class Sandbox:
    """A running sandbox: where it listens, the token it accepts, its state and fault rules."""

    url: str
    token: str
    state: SandboxState
    faults: Faults
    api_version: int
    datastore_url: str = ""
    """Where the datastore (`/data/...`) listens: `url`, or its own port with `separate_datastore`."""

    def reset(self) -> None:
        """Back to the start-up world: no faults, empty request log."""
        self.faults.clear()
        self.state.reset()


def build_world(catalog: str | Path | None = None, recordings: str | Path | None = None) -> World:
    """The start-up world: the recorded server (plus `catalog`'s datasets, if given) or the catalog."""
    if recordings is None:
        return default_world(load_catalog(catalog))
    world = world_from_recordings(recordings)
    if catalog is not None:
        world.datasets.update({d.id: d for d in load_catalog(catalog)})
    return world


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # IPPROTO_TCP: asyncio then sets TCP_NODELAY
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def _url(host: str, sock: socket.socket) -> str:
    """The URL clients use; a wildcard listen address is reached through loopback."""
    port = sock.getsockname()[1]
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _server(
    state: SandboxState,
    faults: Faults,
    token: str,
    api_version: int,
    log_level: str,
    *,
    web_api: bool = True,
    datastore: bool = True,
    datastore_url: str | None = None,
) -> uvicorn.Server:
    app = create_app(
        state, faults, token=token, api_version=api_version, web_api=web_api, datastore=datastore, datastore_url=datastore_url
    )
    config = uvicorn.Config(app, log_level=log_level, lifespan="off", timeout_graceful_shutdown=2, access_log=False)
    return uvicorn.Server(config)


@contextmanager
def run_sandbox(
    catalog: str | Path | None = None,
    recordings: str | Path | None = None,
    *,
    token: str = DEFAULT_TOKEN,
    api_version: int = DEFAULT_API_VERSION,
    host: str = "127.0.0.1",
    port: int = 0,
    separate_datastore: bool = False,
) -> Iterator[Sandbox]:
    """Serve a sandbox in a background thread (port 0 = a free port) until the block ends.

    `api_version` is the `currentApiVersion` it reports and the newest `/api/v{N}` it serves
    (e.g. 12 to play a server too old for the SDK). With `separate_datastore` the datastore
    (`/data/...`) listens on a second free loopback port and only there, as webknossos.org's
    datastore is another host; `Sandbox.datastore_url` says where.
    """
    state = SandboxState(build_world(catalog, recordings))
    faults = Faults()
    servers = _servers(state, faults, token, api_version, "warning", host, port, separate_datastore)
    threads = [
        threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="wkgt-sandbox", daemon=True)
        for server, sock in servers
    ]
    for thread in threads:
        thread.start()
    try:
        for (server, _), thread in zip(servers, threads):
            while not server.started:
                if not thread.is_alive():
                    raise RuntimeError("the sandbox server failed to start")
                thread.join(0.01)
        url = _url(host, servers[0][1])
        yield Sandbox(
            url=url, token=token, state=state, faults=faults, api_version=api_version, datastore_url=_url(host, servers[-1][1])
        )
    finally:
        for server, _ in servers:
            server.should_exit = True
        for thread in threads:
            thread.join(10)
        for _, sock in servers:
            sock.close()


def _servers(
    state: SandboxState,
    faults: Faults,
    token: str,
    api_version: int,
    log_level: str,
    host: str,
    port: int,
    separate_datastore: bool,
) -> list[tuple[uvicorn.Server, socket.socket]]:
    """One server for web API and datastore, or (web API, datastore) on two ports."""
    sock = _bind(host, port)
    if not separate_datastore:
        return [(_server(state, faults, token, api_version, log_level), sock)]
    datastore_sock = _bind(host, 0)
    datastore_url = _url(host, datastore_sock)
    web = _server(state, faults, token, api_version, log_level, datastore=False, datastore_url=datastore_url)
    store = _server(state, faults, token, api_version, log_level, web_api=False, datastore_url=datastore_url)
    return [(web, sock), (store, datastore_sock)]


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    catalog: str | Path | None = None,
    recordings: str | Path | None = None,
    token: str | None = None,
    separate_datastore: bool = False,
) -> None:
    """Serve a sandbox in the foreground until Ctrl-C, after printing the WK_URL and WK_TOKEN to use
    (and the datastore's URL when it listens on its own port)."""
    token = token or DEFAULT_TOKEN
    state = SandboxState(build_world(catalog, recordings))
    servers = _servers(state, Faults(), token, DEFAULT_API_VERSION, "info", host, port, separate_datastore)
    print(f"WK_URL={_url(host, servers[0][1])}")
    if separate_datastore:
        print(f"# datastore: {_url(host, servers[1][1])}")
    print(f"WK_TOKEN={token}", flush=True)
    try:
        if len(servers) == 1:
            servers[0][0].run(sockets=[servers[0][1]])
        else:
            asyncio.run(_serve_all(servers))
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it handled after shutting down
        pass
    finally:
        for _, sock in servers:
            sock.close()


async def _serve_all(servers: list[tuple[uvicorn.Server, socket.socket]]) -> None:
    await asyncio.gather(*(server.serve(sockets=[sock]) for server, sock in servers))
