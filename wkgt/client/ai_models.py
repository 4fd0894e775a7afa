"""Reading for ``wkgt train``: the finished annotations of a run or a dataset, and the AI models.

The SDK (4.3) wraps no AI-model route; its API client still sends them (``_get_json``), with the
session's server, token and API version. ``GET /api/v{N}/aiModels`` (``AiModelController
.listAiModels``) lists the models of the token's organization with their training job
(``trainingJob.args.training_annotations``), which is how a rerun finds the job it started.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from .annotations import find_run_key
from .facts import DatasetFacts
from .session import Session

PAGE_SIZE = 1000
FINISHED = "Finished"


@attrs.frozen
class FoundAnnotation:
    """An annotation picked for training: id, name, and where it came from (in words)."""

    id: str
    name: str
    source: str


def _ready(session: Session) -> Session:
    if session.api_version is None:
        session.negotiate()
    return session


def readable_annotations(session: Session, *, finished: bool | None = True) -> list[dict[str, Any]]:
    """``/annotations/readable`` as JSON (the token's explorationals and those shared with it),
    page by page; ``finished``: only Finished (True), only Active (False), or both (None)."""
    _ready(session)
    found: list[dict[str, Any]] = []
    page = 0
    while True:
        query = {"isFinished": finished, "limit": PAGE_SIZE, "pageNumber": page}
        batch = session.read(
            "listing your annotations",
            lambda: session.api()._get_json("/annotations/readable", list[dict[str, Any]], query=query),
        )
        found += batch
        if len(batch) < PAGE_SIZE:
            return found
        page += 1


def run_annotations(session: Session, run_key: str, *, finished: bool | None = True) -> list[FoundAnnotation]:
    """The annotations wkgt wrote with ``run_key`` in their description (1 request per 1,000)."""
    return [
        FoundAnnotation(str(a["id"]), str(a.get("name") or ""), f"run {run_key}")
        for a in readable_annotations(session, finished=finished)
        if find_run_key(a.get("description")) == run_key
    ]


def dataset_annotations(session: Session, facts: DatasetFacts, *, finished: bool | None = True) -> list[FoundAnnotation]:
    """The annotations wkgt wrote on ``facts`` (a run key in their description)."""
    return [
        FoundAnnotation(str(a["id"]), str(a.get("name") or ""), f"wkgt annotation of {facts.name}")
        for a in readable_annotations(session, finished=finished)
        if find_run_key(a.get("description"))
        and a.get("dataSetName") == facts.name
        and (facts.organization is None or a.get("organization") in (None, facts.organization))
    ]


def dataset_task_annotations(session: Session, facts: DatasetFacts) -> list[FoundAnnotation]:
    """The finished annotations of the dataset's tasks (the task list, then one request per task;
    task lists are for team managers and admins)."""
    _ready(session)
    tasks = session.read("listing tasks", lambda: session.api().task_list())
    found: list[FoundAnnotation] = []
    for task in tasks:
        if task.dataset_id != facts.id:
            continue
        annotations = session.read(
            f"listing the annotations of task {task.id}", lambda task_id=task.id: session.api().annotation_infos_by_task(task_id=task_id)
        )
        found += [
            FoundAnnotation(a.id, a.name or "", f"task {task.id} of {facts.name}") for a in annotations if a.state == FINISHED
        ]
    return found


def ai_models(session: Session) -> list[dict[str, Any]]:
    """``GET /aiModels``: the AI models the token's user can see, with their training jobs (1 request)."""
    _ready(session)
    return session.read("listing AI models", lambda: session.api()._get_json("/aiModels", list[dict[str, Any]]))  # type: ignore[no-any-return]


def job_info(session: Session, job_id: str) -> dict[str, Any]:
    """``GET /jobs/{id}``: a job's state (1 request)."""
    _ready(session)
    return session.read(f"reading job {job_id}", lambda: session.api()._get_json(f"/jobs/{job_id}", dict[str, Any]))  # type: ignore[no-any-return]


def unique(found: Iterable[FoundAnnotation]) -> list[FoundAnnotation]:
    """``found`` without repeated ids, in first-seen order."""
    seen: set[str] = set()
    out = []
    for item in found:
        if item.id not in seen:
            seen.add(item.id)
            out.append(item)
    return out
