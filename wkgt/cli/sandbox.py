"""``wkgt sandbox``: serve the loopback WEBKNOSSOS sandbox for trying scripts safely."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Annotated, Optional

import typer


def main(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback unless you say otherwise).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0 picks a free one).")] = 0,
    catalog: Annotated[
        Optional[Path],
        typer.Option(
            metavar="FILE",
            help="Datasets to serve instead of the built-in ones: a JSON list of dataset objects as GET /api/datasets/{id} "
            'answers them; a layer\'s "sandboxData" says where its voxels come from (generated: {"generator": "em", "seed": 1}; '
            'a local dataset: {"path": "/data/ds", "layer": "color"}; none: no voxels). See README, "The sandbox".',
            show_default=False,
        ),
    ] = None,
    recordings: Annotated[
        Optional[Path],
        typer.Option(metavar="DIR", help="Also serve what real recorded traffic holds (e.g. ../shared/wk-recordings), besides the built-in datasets.", show_default=False),
    ] = None,
    separate_datastore: Annotated[bool, typer.Option("--separate-datastore", help="Serve the datastore (/data/...) on a second port only, like a remote datastore host.")] = False,
) -> None:
    """Serve a local WEBKNOSSOS sandbox (API + datastore) until Ctrl-C; prints WK_URL, WK_TOKEN, every user's token and every dataset."""
    from wkgt_sandbox import serve

    from ..errors import InvalidInput

    try:
        serve(host=host, port=port, catalog=catalog, recordings=recordings, separate_datastore=separate_datastore)
    except (ValueError, KeyError, TypeError) as err:  # a catalog or recordings it cannot read
        raise InvalidInput(f"cannot start the sandbox: {err}") from None
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            raise InvalidInput(f"cannot start the sandbox: port {port} on {host} is in use (choose another, or --port 0 for a free one)") from None
        where = f": {err.filename}" if err.filename else ""
        raise InvalidInput(f"cannot start the sandbox: {err.strerror or err}{where}") from None
