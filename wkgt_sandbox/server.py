"""Running the sandbox: in a background thread for tests (`run_sandbox`) or in the foreground (`serve`)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import uvicorn

from .app import create_app
from .catalog import CatalogDataset, load_catalog
from .faults import Faults
from .recordings import world_from_recordings
from .state import SandboxState, SandboxUser, World
from .world import DEFAULT_TOKEN, default_world

DEFAULT_API_VERSION = 16


@dataclass
class Sandbox:
    """A running sandbox: where it listens, the default token (the organization admin's), its state
    and fault rules. `users` and `tokens` name every user with a token by role (see `world`)."""

    url: str
    token: str
    state: SandboxState
    faults: Faults
    api_version: int
    datastore_url: str = ""
    """Where the datastore (`/data/...`) listens: `url`, or its own port with `separate_datastore`."""

    @property
    def users(self) -> dict[str, SandboxUser]:
        """Users with a token by role: "admin", "manager", "annotator", "novice", "outsider" (and added ones)."""
        with self.state.lock:
            return dict(self.state.accounts)

    @property
    def tokens(self) -> dict[str, str]:
        """Token by role, e.g. `sb.tokens["manager"]`."""
        return {role: user.token for role, user in self.users.items()}

    def reset(self) -> None:
        """Back to the start-up world: no faults, empty request log, no added users or annotations."""
        self.faults.clear()
        self.state.reset()


def build_world(
    catalog: str | Path | None = None, recordings: str | Path | None = None, token: str = DEFAULT_TOKEN, *, builtin: bool = False
) -> World:
    """The start-up world: the catalog (default: the built-in one), or the recorded server plus
    `catalog`'s datasets (with `builtin` and no catalog: the built-in ones, as `wkgt sandbox
    --recordings` serves them; see `add_datasets`). `token` is the default token, the one of the
    world's current user."""
    if recordings is None:
        world = default_world(load_catalog(catalog))
    else:
        world = world_from_recordings(recordings)
        if catalog is not None or builtin:
            add_datasets(world, load_catalog(catalog))
    return _with_default_token(world, token)


def add_datasets(world: World, datasets: Iterable[CatalogDataset]) -> None:
    """Add catalog datasets to a recorded world. One of an organization the world does not know
    moves into the organization of the world's user (and its root folder), so that user can read
    it; one whose name that organization already holds (e.g. the recorded `l4_sample`) is left out."""
    home = str(world.users[world.current_user_id]["organization"])
    known = {str(u.get("organization")) for u in world.users.values()}
    root = next((f["id"] for f in world.folders.values() if f["organization"] == home and f["parent"] is None), None)
    taken = {(d.organization, d.name) for d in world.datasets.values()}
    for dataset in datasets:
        if dataset.organization not in known:
            dataset.json["owningOrganization"] = home
            dataset.json["dataSource"]["id"]["team"] = home
            if root is not None:
                dataset.json["folderId"] = root
        if (dataset.organization, dataset.name) in taken:
            continue
        taken.add((dataset.organization, dataset.name))
        world.datasets[dataset.id] = dataset


def datasets_table(datasets: Iterable[CatalogDataset]) -> str:
    """`# datasets (...):` and one `#` line per dataset: organization/name, id, voxel size, layers."""
    lines = ["# datasets (organization/name, id, voxel size in nm, layers: category, mags):"]
    rows = []
    for d in sorted(datasets, key=lambda d: (d.organization, d.name)):
        factor = "×".join(f"{float(v):g}" for v in d.json["dataSource"]["scale"]["factor"])
        layers = ", ".join(
            f"{layer['name']} ({layer['category']}, {'/'.join(_mag_text(m['mag']) for m in layer['mags'])})" for layer in d.layers
        )
        rows.append((f"{d.organization}/{d.name}", d.id, factor, layers + ("; public" if d.is_public else "")))
    widths = [max((len(r[i]) for r in rows), default=0) for i in range(3)]
    lines += ["#   " + "  ".join(c.ljust(w) for c, w in zip(r[:3], widths)) + "  " + r[3] for r in rows]
    return "\n".join(lines)


def _mag_text(mag: list[int]) -> str:
    x, y, z = mag
    return str(x) if x == y == z else f"{x}-{y}-{z}"


def _with_default_token(world: World, token: str) -> World:
    """Give the world's current user `token` (a recorded world gets its one account here)."""
    role = next((r for r, a in world.accounts.items() if a.id == world.current_user_id), None)
    user = world.users[world.current_user_id]
    if role is None:
        role = "admin" if user.get("isAdmin") else "user"
        description = f"the recorded user ({'organization admin' if user.get('isAdmin') else 'user'} of {user['organization']})"
        account = SandboxUser(role, user["id"], token, f"{user['firstName']} {user['lastName']}", user["organization"], description)
    else:
        account = replace(world.accounts[role], token=token)
    clashing = [r for r, a in world.accounts.items() if a.token == token and r != role]
    if clashing:
        raise ValueError(f"token {token!r} is already the token of the {clashing[0]} user")
    world.accounts[role] = account
    return world


def users_table(users: Iterable[SandboxUser]) -> str:
    """`# users (role, token, name, organization, rights):` and one `#` line per user."""
    rows = [(u.role, u.token, u.name, u.organization, u.description) for u in users]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["# users (role, token, name, organization, rights):"]
    lines += ["#   " + "  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4] for r in rows]
    return "\n".join(lines)


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
    state = SandboxState(build_world(catalog, recordings, token))
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
    (and the datastore's URL when it listens on its own port), every user's role and token, and
    every dataset. With `recordings` it serves the built-in datasets too (or `catalog`'s)."""
    token = token or DEFAULT_TOKEN
    state = SandboxState(build_world(catalog, recordings, token, builtin=True))
    servers = _servers(state, Faults(), token, DEFAULT_API_VERSION, "info", host, port, separate_datastore)
    print(f"WK_URL={_url(host, servers[0][1])}")
    if separate_datastore:
        print(f"# datastore: {_url(host, servers[1][1])}")
    print(f"WK_TOKEN={token}")
    print(users_table(state.accounts.values()))
    print(datasets_table(state.datasets.values()), flush=True)
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
