"""``wkgt demo``: the main job end to end on the built-in sandbox, no server of yours needed."""

from __future__ import annotations

from typing import Annotated

import typer

from .create_boxes import report
from .output import stderr, stdout


def main(
    dataset: Annotated[str, typer.Option(help="A dataset of the sandbox's built-in catalog.")] = "l4_sample",
    json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Start the sandbox on a free loopback port, create boxes for l4_sample over HTTP, and
    download the annotation again to show the boxes are there."""
    from wkgt_sandbox import run_sandbox

    from ..client import Connection
    from ..client.sdk import webknossos
    from ..jobs.create_boxes import create_boxes

    console = stderr if json else stdout
    with run_sandbox() as sandbox:
        console.print(f"sandbox WEBKNOSSOS at {sandbox.url}", highlight=False)
        result = create_boxes(dataset, connection=Connection(sandbox.url, sandbox.token))
        report(result, as_json=json)
        assert result.annotation is not None
        wk = webknossos()
        with wk.webknossos_context(url=sandbox.url, token=sandbox.token):
            downloaded = wk.Annotation.download(result.annotation.id)
        names = ", ".join(box.name for box in downloaded.user_bounding_boxes)
        console.print(
            f"downloaded the annotation back: {len(downloaded.user_bounding_boxes)} boxes ({names}), "
            f"volume layers: {', '.join(downloaded.get_volume_layer_names()) or 'none'}",
            highlight=False,
        )
