"""A loopback sandbox of the WEBKNOSSOS HTTP REST API: web API (`/api/v{N}`) and datastore zarr
streaming (`/data/v{N}/zarr`), served by uvicorn on 127.0.0.1.

    from wkgt_sandbox import run_sandbox

    with run_sandbox() as sb:                      # default catalog, free port
        sb.url, sb.token                           # use as WK_URL / WK_TOKEN (the organization admin)
        sb.tokens["manager"], sb.users["annotator"] # every role's token and user (see `world`)
        sb.state.add_user(...), sb.state.add_annotation(...)  # more users and annotations for a test
        sb.faults.add(r"/datasets/", status=503, times=2)
        ...
        sb.state.request_log, sb.state.annotations, sb.state.tasks

`run_sandbox(catalog=FILE)` serves the datasets of a catalog file (see `catalog`),
`run_sandbox(recordings=DIR)` the world recorded from a real server (see `recordings`), and
`serve(...)` runs a sandbox in the foreground (the `wkgt sandbox` command).
"""

from .faults import FaultRule, Faults
from .server import (
    DEFAULT_API_VERSION,
    DEFAULT_TOKEN,
    Sandbox,
    build_world,
    run_sandbox,
    serve,
)
from .state import RequestLogEntry, SandboxState, SandboxUser, StoredAnnotation

__all__ = [
    "DEFAULT_API_VERSION",
    "DEFAULT_TOKEN",
    "FaultRule",
    "Faults",
    "RequestLogEntry",
    "Sandbox",
    "SandboxState",
    "SandboxUser",
    "StoredAnnotation",
    "build_world",
    "run_sandbox",
    "serve",
]
