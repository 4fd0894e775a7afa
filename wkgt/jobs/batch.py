"""Batches (``wkgt create-boxes`` over several datasets): one run, one report.

A batch names datasets (names, ids, viewer URLs; repeated ``--dataset`` or ``--datasets-from
FILE``) and/or selects them on the server (``--folder``, ``--tag``), all on one server. It reads
every dataset's facts first (which also resolves names, drops duplicates and feeds
``--same-mag``), then runs the single-dataset job (:func:`wkgt.jobs.create_boxes.create_boxes`)
for each, by id, and collects a result or a one-line error per dataset: one failing dataset
never stops the others, and reruns are safe per dataset (each has its own run key).

**Concurrency.** With a local distribution strategy (``multiprocessing``, the default), ``--jobs
N`` means N datasets at once (threads), each scoring its tissue here, chunk after chunk; a
cluster strategy (``slurm``, ``kubernetes``, ``dask``) takes the datasets one after another and
spreads each one's tissue scoring over ``--jobs`` cluster jobs, as for one dataset. Datasets
start only while the estimated memory of the running ones' tissue scoring stays within the
memory budget (default: half of the memory available at start; a dataset larger than the budget
runs alone).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import attrs

from ..client import Connection, DatasetFacts, Session, parse_dataset_ref
from ..client.config import normalize_url
from ..client.datasets import list_datasets, resolve_folder, with_suggestions
from ..client.token import redact
from ..errors import InvalidInput, NotFound, WkgtError
from ..planner.ground_truth import fallback_layer, ground_truth_layer, trainable_mags
from ..planner.same_mag import DatasetMags, MagOptions, SameMagChoice, same_mags
from ..writer.progress import SILENT, Progress
from .create_boxes import CreateBoxesJob, CreateBoxesResult, create_boxes
from .distribute import Distribution
from .memory import Budget, available_memory, tissue_memory

LOCAL_STRATEGIES = ("multiprocessing", "sequential")
INTERNAL_ERROR = 70
SURVEY_READERS = 8
"""Datasets read at once before the batch runs (each costs one or two requests)."""


@attrs.frozen
class DatasetSelection:
    """Which datasets: ``names`` (names, ids or viewer URLs) and/or those the server lists in
    ``folder`` carrying every tag of ``tags``; ``organization`` disambiguates names and narrows
    the server's list."""

    names: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    folder: str | None = None
    tags: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    organization: str | None = None

    @property
    def on_server(self) -> bool:
        return self.folder is not None or bool(self.tags)


@attrs.frozen
class BatchJob:
    """A batch of ``create-boxes`` jobs: the datasets, the job run on each, ``same_mag`` (equal
    effective voxel sizes) and the memory budget of concurrent tissue scoring (None: half the
    available memory)."""

    selection: DatasetSelection
    create: CreateBoxesJob = CreateBoxesJob()
    same_mag: bool = False
    memory_budget_bytes: int | None = None

    def validate(self) -> BatchJob:
        self.create.validate()
        write = self.create.write
        if write.output is not None:
            raise InvalidInput("--output is for one local dataset; a batch writes to the server")
        if not self.selection.names and not self.selection.on_server:
            raise InvalidInput("name datasets with --dataset or --datasets-from, or select them with --folder or --tag")
        if self.memory_budget_bytes is not None and self.memory_budget_bytes < 1:
            raise InvalidInput("--memory-budget must be positive")
        return self

    @property
    def workers(self) -> int:
        """Datasets at once: ``--jobs`` with a local strategy, one with a cluster."""
        distribution = self.create.distribution
        return distribution.jobs if distribution.strategy in LOCAL_STRATEGIES else 1

    def job_for(self, mag: Any | None) -> CreateBoxesJob:
        """The single-dataset job: with a local strategy each dataset scores its tissue here."""
        job = self.create
        if job.distribution.strategy in LOCAL_STRATEGIES:
            job = attrs.evolve(job, distribution=Distribution(1, job.distribution.strategy, job.distribution.resources))
        if mag is not None:
            job = attrs.evolve(job, plan=attrs.evolve(job.plan, mag=mag))
        return job


@attrs.frozen
class DatasetOutcome:
    """One dataset of the batch: its result, or its one-line error and exit code."""

    input: str
    result: CreateBoxesResult | None = None
    error: str | None = None
    exit_code: int = 0
    dataset_id: str | None = None
    same_mag_reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def status(self) -> str:
        if self.result is None:
            return "failed"
        tasks = self.result.tasks
        return tasks.status if tasks is not None else self.result.status

    def to_dict(self) -> dict[str, Any]:
        if self.result is None:
            return {"input": self.input, "ok": False, "status": "failed", "error": self.error, "exit_code": self.exit_code}
        data = {"input": self.input, "ok": True, "status": self.status, "result": self.result.to_dict()}
        if self.same_mag_reason is not None:
            data["same_mag_reason"] = self.same_mag_reason
        return data


@attrs.frozen
class BatchResult:
    """Every dataset's outcome in input order, and the ``--same-mag`` choice."""

    outcomes: tuple[DatasetOutcome, ...]
    same_mag: SameMagChoice | None = None
    server: str | None = None

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes)

    @property
    def exit_code(self) -> int:
        """0 when every dataset succeeded, else the exit code of the first failed dataset."""
        return next((o.exit_code for o in self.outcomes if not o.ok), 0)

    def counts(self) -> dict[str, int]:
        counts = {"datasets": len(self.outcomes), "ok": sum(o.ok for o in self.outcomes)}
        counts["failed"] = counts["datasets"] - counts["ok"]
        for outcome in self.outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + (outcome.status != "failed")
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch": True,
            "ok": self.ok,
            "exit_code": self.exit_code,
            "server": self.server,
            "counts": self.counts(),
            "same_mag": self.same_mag.to_dict() if self.same_mag is not None else None,
            "datasets": [o.to_dict() for o in self.outcomes],
        }


def read_dataset_list(path: Path) -> tuple[str, ...]:
    """``--datasets-from FILE``: one name, id or URL a line; blank lines and ``#`` comments skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"--datasets-from {path}: not UTF-8 text") from None
    names = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    return tuple(n for n in names if n)


def create_boxes_with_hint(
    dataset: str, job: CreateBoxesJob, *, connection: Connection | None = None, progress: Progress = SILENT
) -> CreateBoxesResult:
    """:func:`create_boxes` on one dataset; a name that is not found gets the close names the
    token can list (``l4_sampel`` → did you mean 'l4_sample'?)."""
    try:
        return create_boxes(dataset, job, connection=connection, progress=progress)
    except NotFound as err:
        try:
            ref = parse_dataset_ref(dataset, job.organization)
        except WkgtError:
            raise err from None
        if ref.name is None or ref.id is not None or ref.local_path is not None:
            raise
        connection = connection or Connection()
        session = Session(connection.resolve(target=ref.server), connection.retry)
        raise with_suggestions(err, session, ref) from None


def one_line(message: str) -> str:
    """An error for the report: no token, no control characters."""
    return "".join(c if c.isprintable() else " " for c in redact(message))


@attrs.frozen
class _Surveyed:
    """A dataset read before the batch runs, or why it could not be."""

    input: str
    facts: DatasetFacts | None = None
    error: WkgtError | None = None


def _server_of(names: Sequence[str]) -> str | None:
    """The one server the named URLs point to (None: no URL); several servers are refused."""
    servers = set()
    for name in names:
        try:
            ref = parse_dataset_ref(name)
        except WkgtError:
            continue  # reported for that dataset
        if ref.local_path is not None:
            raise InvalidInput(f"{name}: a batch takes datasets on a server; run a local dataset on its own (with --output)")
        if ref.server is not None:
            servers.add(normalize_url(ref.server))
    if len(servers) > 1:
        raise InvalidInput(f"the datasets of one batch must be on one server, got {', '.join(sorted(servers))}")
    return next(iter(servers), None)


def _survey(session: Session, name: str, organization: str | None) -> _Surveyed:
    try:
        ref = parse_dataset_ref(name, organization)
        try:
            return _Surveyed(name, session.dataset(ref))
        except NotFound as err:
            raise with_suggestions(err, session, ref) from None
    except WkgtError as err:
        return _Surveyed(name, error=err)


def survey(session: Session, selection: DatasetSelection) -> list[_Surveyed]:
    """Read every named and selected dataset once (``SURVEY_READERS`` at a time); duplicates
    (same id) are kept once."""
    wanted = [(name, selection.organization, name) for name in selection.names]
    if selection.on_server:
        folder = resolve_folder(session, selection.folder) if selection.folder is not None else None
        entries = list_datasets(
            session, organization=selection.organization, folder_id=folder.id if folder else None, tags=selection.tags
        )
        if not entries:
            where = f"in folder {folder.path}" if folder else "readable with this token"
            tags = f" tagged {', '.join(selection.tags)}" if selection.tags else ""
            raise NotFound(f"no dataset {where}{tags} on {session.config.url}")
        wanted += [(entry.id, None, entry.name) for entry in entries]

    def read(item: tuple[str, str | None, str]) -> _Surveyed:
        text, organization, label = item
        return attrs.evolve(_survey(session, text, organization), input=label)

    with ThreadPoolExecutor(max_workers=SURVEY_READERS, thread_name_prefix="wkgt-survey") as pool:
        surveyed = list(pool.map(read, wanted))
    seen: set[str] = set()
    unique = []
    for item in surveyed:
        key = item.facts.id if item.facts is not None and item.facts.id else None
        if key is not None:
            if key in seen:
                continue
            seen.add(key)
        unique.append(item)
    return unique


def choose_same_mags(
    items: Sequence[_Surveyed], job: CreateBoxesJob
) -> tuple[SameMagChoice | None, list[int], dict[int, WkgtError]]:
    """``--same-mag`` over the readable datasets: the mags each can train at (its image layer and
    the ground-truth layer the job creates), equalized; with the index of each dataset in the
    choice. Datasets whose layer cannot be used fail here (by index)."""
    failed: dict[int, WkgtError] = {}
    candidates: list[DatasetMags] = []
    indices: list[int] = []
    write = job.write
    for index, item in enumerate(items):
        if item.facts is None:
            continue
        facts = item.facts
        try:
            layer = facts.layer(job.layer)
            fallback = fallback_layer(facts.layers, write.fallback_segmentation, f"dataset {facts.name}") if write.tasks is None else None
            mags, _ = trainable_mags(layer.mags, ground_truth_layer(facts.layers, fallback))
            if not mags:
                raise InvalidInput(f"dataset {facts.name}: the ground-truth layer shares no mag with layer {layer.name}")
        except WkgtError as err:
            failed[index] = err
            continue
        candidates.append(DatasetMags(facts.name, facts.voxel_size_nm, mags))
        indices.append(index)
    if not candidates:
        return None, indices, failed
    plan = job.plan
    options = MagOptions(plan.model, plan.mag, plan.object_size_nm, plan.min_voxel_size_nm, plan.rule_set)
    return same_mags(candidates, options), indices, failed


def _preview_for(path: Path | None, facts: DatasetFacts) -> Path | None:
    """``round2.png`` → ``round2-<dataset>.png``: one picture per dataset."""
    if path is None:
        return None
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in facts.name)
    return path.with_name(f"{path.stem}-{safe}{path.suffix}")


def run_batch(
    job: BatchJob,
    *,
    connection: Connection | None = None,
    run_one: Callable[..., CreateBoxesResult] = create_boxes,
) -> BatchResult:
    """Run ``job.create`` on every dataset of ``job.selection`` (see the module's docstring)."""
    job = job.validate()
    connection = connection or Connection()
    target = _server_of(job.selection.names)
    config = connection.resolve(target=target)
    if not job.create.write.dry_run:
        config.require_token()
    session = Session(config, connection.retry)
    session.negotiate()
    items = survey(session, job.selection)
    choice, chosen, unusable = choose_same_mags(items, job.create) if job.same_mag else (None, [], {})
    mags = dict(zip(chosen, choice.mags)) if choice is not None else {}
    reasons = {index: choice.reason(i) for i, index in enumerate(chosen)} if choice is not None else {}
    budget = Budget(job.memory_budget_bytes or available_memory() // 2)
    stop = threading.Event()

    def run(index: int) -> DatasetOutcome:
        item = items[index]
        if item.error is not None or index in unusable:
            err = item.error or unusable[index]
            return DatasetOutcome(item.input, error=one_line(str(err)), exit_code=err.exit_code)
        facts = item.facts
        assert facts is not None and facts.id is not None
        single = job.job_for(mags.get(index))
        single = attrs.evolve(single, write=attrs.evolve(single.write, preview=_preview_for(single.write.preview, facts)))
        try:
            need = tissue_memory(facts, single)
        except WkgtError as err:
            return DatasetOutcome(item.input, error=one_line(str(err)), exit_code=err.exit_code, dataset_id=facts.id)
        if not budget.acquire(need, stop):
            return DatasetOutcome(item.input, error="interrupted before it started", exit_code=130, dataset_id=facts.id)
        try:
            result = run_one(f"{config.url}/datasets/{facts.id}/view", single, connection=connection)
            return DatasetOutcome(item.input, result, dataset_id=facts.id, same_mag_reason=reasons.get(index))
        except WkgtError as err:
            return DatasetOutcome(item.input, error=one_line(str(err)), exit_code=err.exit_code, dataset_id=facts.id)
        except Exception as err:  # noqa: BLE001 - a bug on one dataset must not stop the others
            message = f"unexpected {type(err).__name__}: {err} (a bug: please report it)"
            return DatasetOutcome(item.input, error=one_line(message), exit_code=INTERNAL_ERROR, dataset_id=facts.id)
        finally:
            budget.release(need)

    outcomes = _run_all(len(items), run, job.workers, stop)
    return BatchResult(tuple(outcomes), choice, config.url)


def _run_all(count: int, run: Callable[[int], DatasetOutcome], workers: int, stop: threading.Event) -> list[DatasetOutcome]:
    """``run`` over ``range(count)`` on up to ``workers`` threads, outcomes in input order;
    Ctrl-C starts no further dataset and waits for the running ones."""
    if workers <= 1 or count <= 1:
        return [run(index) for index in range(count)]
    pool = ThreadPoolExecutor(max_workers=min(workers, count), thread_name_prefix="wkgt-batch")
    futures: list[Future[DatasetOutcome]] = [pool.submit(run, index) for index in range(count)]
    try:
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
    except BaseException:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return [f.result() for f in futures]
