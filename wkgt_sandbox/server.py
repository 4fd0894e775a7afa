"""Running the sandbox: in a background thread for tests (`run_sandbox`) or in the foreground (`serve`)."""

from __future__ import annotations

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


def _server(state: SandboxState, faults: Faults, token: str, api_version: int, log_level: str) -> uvicorn.Server:
    app = create_app(state, faults, token=token, api_version=api_version)
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
) -> Iterator[Sandbox]:
    """Serve a sandbox in a background thread (port 0 = a free port) until the block ends.

    `api_version` is the `currentApiVersion` it reports and the newest `/api/v{N}` it serves
    (e.g. 12 to play a server too old for the SDK).
    """
    state = SandboxState(build_world(catalog, recordings))
    faults = Faults()
    server = _server(state, faults, token, api_version, "warning")
    sock = _bind(host, port)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="wkgt-sandbox", daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the sandbox server failed to start")
            thread.join(0.01)
        yield Sandbox(url=_url(host, sock), token=token, state=state, faults=faults, api_version=api_version)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    catalog: str | Path | None = None,
    recordings: str | Path | None = None,
    token: str | None = None,
) -> None:
    """Serve a sandbox in the foreground until Ctrl-C, after printing the WK_URL and WK_TOKEN to use."""
    token = token or DEFAULT_TOKEN
    state = SandboxState(build_world(catalog, recordings))
    server = _server(state, Faults(), token, DEFAULT_API_VERSION, "info")
    sock = _bind(host, port)
    print(f"WK_URL={_url(host, sock)}")
    print(f"WK_TOKEN={token}", flush=True)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it handled after shutting down
        pass
    finally:
        sock.close()
