"""The run key: a short fingerprint of a job, written into what the job creates.

A rerun of the same job computes the same key and finds what the earlier run made instead of
making it again. The same job means: the same server (however its URL is spelled), dataset,
layer, planning options and seed, and every option that decides where boxes go or what is
written. Options left at their default and the same value spelled out give the same key.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from ..client.annotations import parse_annotation_ref
from ..client.facts import DatasetFacts, LayerFacts
from ..planner.avoid import DEFAULT_GAP_NM
from ..planner.plan import PlanOptions
from .planning import TissueOptions

DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_server(url: str | None) -> str | None:
    """One spelling per server: host in lower case, every loopback address (``localhost``,
    ``127.0.0.1``, ``::1``) as ``localhost``, default ports dropped, no trailing slash, and no
    scheme (one host and port serves either http or https, never two different servers)."""
    if url is None:
        return None
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().rstrip(".")
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback:
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is not None and port != DEFAULT_PORTS.get(parts.scheme.lower()):
        host += f":{port}"
    return host + parts.path.rstrip("/")


def job_facets(
    tissue: TissueOptions,
    avoid: Sequence[str] = (),
    avoid_previous: bool = False,
    gap_nm: float | None = None,
    *,
    fallback_segmentation: bool | str = False,
    name: str | None = None,
    tasks: tuple[str, str, int, tuple[str, int]] | None = None,
) -> dict[str, Any]:
    """What a job writes and the options besides the plan's that decide where boxes go: the tissue
    check, the annotations and the gap to keep clear of, and either the annotation (its name if
    given, the fallback segmentation) or the tasks (project, task type id, instances, experience)."""
    avoided = sorted({parse_annotation_ref(ref).id for ref in avoid})
    rounds = bool(avoided) or avoid_previous
    facets: dict[str, Any] = {
        "tissue": tissue.min_tissue if tissue.check else None,
        "avoid": avoided,
        "avoid_previous": avoid_previous,
        "gap_nm": float(DEFAULT_GAP_NM if gap_nm is None else gap_nm) if rounds else None,
    }
    if tasks is None:
        facets["writes"] = {"annotation": {"name": name, "fallback_segmentation": fallback_segmentation}}
    else:
        project, task_type_id, instances, (domain, value) = tasks
        facets["writes"] = {
            "tasks": {"project": project, "task_type": task_type_id, "instances": instances, "experience": [domain, value]}
        }
    return facets


def run_key(
    server: str | None,
    dataset: DatasetFacts,
    layer: LayerFacts,
    options: PlanOptions,
    facets: dict[str, Any] | None = None,
) -> str:
    """Same server, dataset, layer, options and facets (:func:`job_facets`) → same 16-hex key."""
    job = {
        "server": canonical_server(server),
        "dataset": dataset.id or dataset.name,
        "layer": layer.name,
        "options": options.to_dict(),
        "facets": facets if facets is not None else job_facets(TissueOptions()),
    }
    return hashlib.sha256(json.dumps(job, sort_keys=True).encode()).hexdigest()[:16]
