"""``wkgt datasets`` and ``wkgt info``: what is on the server, and which mag wkgt would pick there.

``datasets`` lists the readable datasets (by organization, folder, tags) and reads each one's
facts (the v16 list carries no voxel size), a few at a time. ``info`` shows one dataset's layers
and, for the layer wkgt would plan on, the mags a new ground-truth layer would offer and the
mag, box size and count each rule set picks (the planner's own choices: nothing is placed).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs

from ..client import Connection, DatasetFacts, LayerFacts, Session, parse_dataset_ref
from ..client.datasets import DatasetEntry, Folder, folder_name, folders, list_datasets, resolve_folder, with_suggestions
from ..errors import InvalidInput, NotFound, WkgtError
from ..planner.box_size import choose_box_size
from ..planner.ground_truth import GroundTruthLayer, fallback_layer, ground_truth_layer, trainable_mags
from ..planner.mag_choice import MagChoice, choose_mag
from ..planner.plan import PlanOptions, choose_count
from ..planner.rules import RULE_SETS, ModelKind
from ..planner.vectors import Vec3, format_mag

READERS = 8
"""Datasets read at once by ``wkgt datasets`` (each is one request)."""


def layer_dict(layer: LayerFacts, voxel_size_nm: Sequence[float]) -> dict[str, Any]:
    return {
        "name": layer.name,
        "category": layer.category,
        "dtype": layer.dtype,
        "mags": [format_mag(m) for m in layer.mags],
        "bbox": {"topleft": list(layer.bbox.topleft), "size": list(layer.bbox.size)},
        "size_um": [round(s * v / 1000, 3) for s, v in zip(layer.bbox.size, voxel_size_nm)],
    }


@attrs.frozen
class RuleAdvice:
    """What one rule set picks on a dataset: mag (with reason), box size and count."""

    rules: str
    mag: MagChoice
    box_size: Vec3
    box_size_reason: str
    count: int
    count_reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "rules": self.rules,
            "mag": format_mag(self.mag.mag),
            "mag_reason": self.mag.reason,
            "effective_voxel_size_nm": list(self.mag.effective_voxel_size_nm),
            "box_size": list(self.box_size),
            "box_size_mag1": [s * m for s, m in zip(self.box_size, self.mag.mag)],
            "box_size_reason": self.box_size_reason,
            "count": self.count,
            "count_reason": self.count_reason,
            "warnings": list(self.mag.warnings),
        }


@attrs.frozen
class MagAdvice:
    """The layer wkgt plans on, the ground-truth layer it would create, and each rule set's picks."""

    layer: LayerFacts
    ground_truth: GroundTruthLayer
    trainable: tuple[Vec3, ...]
    exclusions: tuple[str, ...]
    by_rules: tuple[RuleAdvice, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer.name,
            "ground_truth": {
                "mags": [format_mag(m) for m in self.ground_truth.mags],
                "source": self.ground_truth.source,
            },
            "trainable_mags": [format_mag(m) for m in self.trainable],
            "mag_exclusions": list(self.exclusions),
            "rules": [r.to_dict() for r in self.by_rules],
        }


@attrs.frozen
class InfoJob:
    """``wkgt info``: the layer (default: the first trainable color layer), the mag rule's inputs
    and the ground-truth layer's fallback segmentation (False: none; True: the only one; a name)."""

    layer: str | None = None
    organization: str | None = None
    plan: PlanOptions = PlanOptions()
    fallback_segmentation: bool | str = False


def advise(facts: DatasetFacts, job: InfoJob) -> MagAdvice:
    """The planner's choices on ``facts`` for every rule set (pure; raises like planning does)."""
    layer = facts.layer(job.layer)
    fallback = fallback_layer(facts.layers, job.fallback_segmentation, f"dataset {facts.name}")
    truth = ground_truth_layer(facts.layers, fallback)
    mags, exclusions = trainable_mags(layer.mags, truth)
    if not mags:
        raise InvalidInput(f"dataset {facts.name}: the ground-truth layer would share no mag with layer {layer.name}")
    advice = []
    for name in RULE_SETS:
        options = attrs.evolve(job.plan, rules=name)
        rules = options.rule_set
        mag = choose_mag(
            facts.voxel_size_nm, mags, options.model, mag=options.mag, object_size_nm=options.object_size_nm,
            min_voxel_size_nm=options.min_voxel_size_nm, rules=rules,
        )
        size = choose_box_size(
            mag.effective_voxel_size_nm, options.model, box_size=options.box_size, box_edge_nm=options.box_edge_nm,
            object_size_nm=options.object_size_nm, rules=rules,
        )
        box_voxels = size.size[0] * size.size[1] * size.size[2]
        count, count_reason = choose_count(box_voxels, options.request(facts.voxel_size_nm, mags, layer.bbox, truth))
        advice.append(RuleAdvice(name, mag, size.size, size.reason, count, count_reason))
    return MagAdvice(layer, truth, mags, exclusions, tuple(advice))


@attrs.frozen
class InfoResult:
    dataset: DatasetFacts
    advice: MagAdvice | None
    advice_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        facts = self.dataset
        return {
            "dataset": dataset_dict(facts),
            "layers": [layer_dict(layer, facts.voxel_size_nm) for layer in facts.layers],
            "advice": self.advice.to_dict() if self.advice is not None else None,
            "advice_error": self.advice_error,
        }


def dataset_dict(facts: DatasetFacts) -> dict[str, Any]:
    return {
        "id": facts.id,
        "name": facts.name,
        "organization": facts.organization,
        "server": facts.server,
        "voxel_size": list(facts.voxel_size),
        "voxel_size_unit": facts.voxel_size_unit,
        "voxel_size_nm": list(facts.voxel_size_nm),
        "url": f"{facts.server}/datasets/{facts.name}-{facts.id}/view" if facts.server and facts.id else None,
    }


def _session(connection: Connection | None, target: str | None = None) -> Session:
    connection = connection or Connection()
    session = Session(connection.resolve(target=target), connection.retry)
    session.negotiate()
    return session


def dataset_info(dataset: str, job: InfoJob = InfoJob(), *, connection: Connection | None = None) -> InfoResult:
    """Read ``dataset`` (name, id or viewer URL) and say which mag wkgt would pick, and why."""
    job.plan.validate()
    ref = parse_dataset_ref(dataset, job.organization)
    if ref.local_path is not None:
        from ..client import read_local_dataset

        facts = read_local_dataset(ref.local_path)
    else:
        session = _session(connection, ref.server)
        try:
            facts = session.dataset(ref)
        except NotFound as err:
            raise with_suggestions(err, session, ref) from None
    try:
        return InfoResult(facts, advise(facts, job))
    except (InvalidInput, NotFound) as err:
        if job.layer is not None or job.fallback_segmentation or job.plan != PlanOptions():
            raise  # the user asked for this layer, mag or model: its error is the answer
        return InfoResult(facts, None, str(err))


@attrs.frozen
class DatasetsJob:
    """``wkgt datasets``: filters (organization, folder name/path/id, tags: all of them)."""

    organization: str | None = None
    folder: str | None = None
    tags: tuple[str, ...] = attrs.field(default=(), converter=tuple)


@attrs.frozen
class ListedDataset:
    """One listed dataset, with its facts (None when they could not be read) and the neuron mag."""

    entry: DatasetEntry
    folder: Folder | None
    facts: DatasetFacts | None
    mag: MagChoice | None = None
    problem: str | None = None
    folder_name: str | None = None
    """The folder's name when it is not one of yours (another organization's), if the server says."""

    def to_dict(self, server: str) -> dict[str, Any]:
        e, facts = self.entry, self.facts
        return {
            "id": e.id,
            "name": e.name,
            "organization": e.organization,
            "folder": {"id": e.folder_id, "path": self.folder.path if self.folder else None, "name": self.folder.name if self.folder else self.folder_name},
            "tags": list(e.tags),
            "is_active": e.is_active,
            "voxel_size_nm": list(facts.voxel_size_nm) if facts else None,
            "layers": [layer_dict(layer, facts.voxel_size_nm) for layer in facts.layers] if facts else None,
            "mag": format_mag(self.mag.mag) if self.mag else None,
            "mag_reason": self.mag.reason if self.mag else None,
            "problem": self.problem,
            "url": f"{server}/datasets/{e.name}-{e.id}/view",
        }


@attrs.frozen
class DatasetsResult:
    server: str
    datasets: tuple[ListedDataset, ...]
    folder: Folder | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "folder": {"id": self.folder.id, "path": self.folder.path} if self.folder else None,
            "count": len(self.datasets),
            "datasets": [d.to_dict(self.server) for d in self.datasets],
        }


def _neuron_mag(facts: DatasetFacts) -> tuple[MagChoice | None, str | None]:
    if not any(layer.category == "color" for layer in facts.layers):
        names = ", ".join(f"{layer.name} ({layer.category})" for layer in facts.layers) or "none"
        return None, f"no color layer to pick a mag for (layers: {names}); create-boxes and info take --layer LAYER"
    try:
        layer = facts.layer()
        mags, _ = trainable_mags(layer.mags, ground_truth_layer(facts.layers))
        return choose_mag(facts.voxel_size_nm, mags, ModelKind.NEURONS), None
    except WkgtError as err:
        return None, str(err)


def _check_organization(session: Session, organization: str) -> None:
    """An organization none of the readable datasets belongs to is NotFound, naming those that
    are there (a typo in ``--organization`` would otherwise list nothing, silently; 1 request)."""
    import difflib

    known = sorted({e.organization for e in list_datasets(session) if e.organization})
    if organization in known:
        return
    close = difflib.get_close_matches(organization, known, n=2, cutoff=0.6)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}?" if close else f"organizations: {', '.join(known) or 'none'}"
    raise NotFound(f"no dataset of organization {organization!r} readable with this token on {session.config.url}; {hint}")


def list_datasets_job(job: DatasetsJob = DatasetsJob(), *, connection: Connection | None = None) -> DatasetsResult:
    """The readable datasets matching ``job``, each read once (``READERS`` at a time)."""
    session = _session(connection)
    chosen = resolve_folder(session, job.folder) if job.folder is not None else None
    entries = list_datasets(session, organization=job.organization, folder_id=chosen.id if chosen else None, tags=job.tags)
    if not entries and job.organization is not None:
        _check_organization(session, job.organization)
    try:
        paths = {f.id: f for f in folders(session)} if entries and session.config.token else {}
    except WkgtError:
        paths = {}  # folders need a user; the list is still useful without their paths

    others = {e.folder_id for e in entries if e.folder_id and e.folder_id not in paths and session.config.token}
    names = {folder_id: folder_name(session, folder_id) for folder_id in sorted(others)}  # 1 request each

    def read(entry: DatasetEntry) -> ListedDataset:
        folder, name = paths.get(entry.folder_id or ""), names.get(entry.folder_id or "")
        try:
            facts = session.dataset(parse_dataset_ref(entry.id))
        except WkgtError as err:
            return ListedDataset(entry, folder, None, problem=str(err), folder_name=name)
        mag, problem = _neuron_mag(facts)
        return ListedDataset(entry, folder, facts, mag, problem, folder_name=name)

    with ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="wkgt-datasets") as pool:
        listed = tuple(pool.map(read, entries))
    return DatasetsResult(session.config.url, listed, chosen)
