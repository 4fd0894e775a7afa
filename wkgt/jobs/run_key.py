"""The run key: a short fingerprint of a job, written into what the job creates.

A rerun of the same job (same server, dataset, layer, planning options, seed, and the options
that decide where boxes go and what is written) computes the same key and finds what the
earlier run made instead of making it again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from ..client.annotations import parse_annotation_ref
from ..client.facts import DatasetFacts, LayerFacts
from ..planner.plan import PlanOptions
from .planning import TissueOptions


def run_key(server: str | None, dataset: DatasetFacts, layer: LayerFacts, options: PlanOptions, kind: str = "annotation") -> str:
    """Same server, dataset, layer, options and job kind → same 16-hex key."""
    job = {
        "server": server,
        "dataset": dataset.id or dataset.name,
        "layer": layer.name,
        "options": options.to_dict(),
        "kind": kind,
    }
    return hashlib.sha256(json.dumps(job, sort_keys=True).encode()).hexdigest()[:16]


def run_kind(tissue: TissueOptions, avoid: Sequence[str], avoid_previous: bool, tasks: tuple[str, str] | None) -> str:
    """The run key's job kind: what the job writes (an annotation, or tasks in ``(project, task
    type)``), and the options besides the plan's that decide where boxes go (the tissue check,
    the annotations to avoid)."""
    kind = "annotation" if tasks is None else f"tasks:{tasks[0]}/{tasks[1]}"
    if tissue.check:
        kind += f";tissue>={tissue.min_tissue:g}"
    if avoid:
        kind += ";avoid=" + ",".join(sorted({parse_annotation_ref(ref).id for ref in avoid}))
    if avoid_previous:
        kind += ";avoid-previous"
    return kind
