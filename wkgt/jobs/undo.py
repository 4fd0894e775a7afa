"""The ``undo`` job (``wkgt undo``): take back what one run of wkgt made.

A run key (16 hex) names a job: its annotations are the caller's own annotations with that key
(the result, archived duplicates, ``--force-new`` copies), which are archived (owners cannot
delete an explorational annotation on WEBKNOSSOS; "Archive" is how they retire one). Its tasks
are those with the key in the projects the caller manages, which are deleted, except tasks
someone took or finished (deleting a task deletes their annotations). An annotation id or URL
names that one annotation of the caller's.

A run whose annotations are all archived is no longer a result: a rerun of the same job makes a
new annotation (see ``writer.upload.find_existing``); a run whose tasks are deleted likewise
gets new tasks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

import attrs

from ..client import Connection, Session
from ..client.annotations import PUBLIC_ANNOTATIONS, AnnotationRefText, find_run_key, parse_annotation_ref
from ..client.config import normalize_url
from ..client.history import WkgtTask, readable_projects, wkgt_annotations, wkgt_tasks
from ..errors import AuthError, Interrupted, InvalidInput, NotFound, WkgtError
from ..planner.vectors import format_vec
from ..writer.tasks import delete_task
from ..writer.upload import archive
from ..writer.urls import annotation_url

RUN_KEY = re.compile(r"^[0-9a-f]{16}$")
Status = Literal["dry-run", "done", "cancelled"]
Cause = Literal["rights", "in use", "failed"]
EXIT_REFUSED = AuthError.exit_code
EXIT_FAILED = 6


@attrs.frozen
class UndoJob:
    """An ``undo`` job: ``target`` is a run key (16 hex, as ``wkgt history`` and ``--json``'s
    ``run_key`` show it) or an annotation id or URL; ``dry_run`` changes nothing."""

    target: str
    dry_run: bool = False


@attrs.frozen
class Item:
    """An annotation or a task that undo archives or deletes."""

    kind: Literal["annotation", "task"]
    id: str
    label: str
    url: str | None = None

    def describe(self) -> str:
        return f"{self.kind} {self.id} ({self.label})"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "label": self.label, "url": self.url}


@attrs.frozen
class Refusal:
    """Something of the run that undo did not touch, and why: ``rights`` (the server or its rules
    forbid the caller), ``in use`` (someone took or finished the task), ``failed`` (the request failed)."""

    item: Item
    reason: str
    cause: Cause

    def line(self) -> str:
        return f"{self.item.describe()}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {**self.item.to_dict(), "reason": self.reason, "cause": self.cause}


@attrs.frozen
class UndoResult:
    """What undo did (``done``), would do (``dry-run``) or was told not to do (``cancelled``):
    annotations to archive, tasks to delete, annotations archived before, and refusals."""

    target: str
    run_key: str | None
    server: str
    status: Status
    archive: tuple[Item, ...] = ()
    delete: tuple[Item, ...] = ()
    already_archived: tuple[Item, ...] = ()
    refused: tuple[Refusal, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def changes(self) -> int:
        return len(self.archive) + len(self.delete)

    @property
    def exit_code(self) -> int:
        """0 when everything of the run is (or, for a dry run, would be) archived or deleted; 6 when
        a request failed; 4 when something was refused (rights, or a task someone works on)."""
        causes = {r.cause for r in self.refused}
        return EXIT_FAILED if "failed" in causes else EXIT_REFUSED if causes else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "target": self.target,
            "run_key": self.run_key,
            "server": self.server,
            "archived" if self.status == "done" else "to_archive": [i.to_dict() for i in self.archive],
            "deleted" if self.status == "done" else "to_delete": [i.to_dict() for i in self.delete],
            "already_archived": [i.to_dict() for i in self.already_archived],
            "refused": [r.to_dict() for r in self.refused],
            "notes": list(self.notes),
        }


Confirm = Callable[[UndoResult], bool]


def parse_target(text: str) -> tuple[str | None, AnnotationRefText | None]:
    """A run key, or an annotation id or URL; anything else is invalid input."""
    text = text.strip()
    if RUN_KEY.match(text.lower()):
        return text.lower(), None
    try:
        return None, parse_annotation_ref(text)
    except InvalidInput:
        raise InvalidInput(
            f"not a run key or an annotation: {text[:200]!r} (a run key is 16 hex digits, as `wkgt history` shows; "
            "an annotation is its 24-hex id or URL)"
        ) from None


def undo(job: UndoJob, *, connection: Connection | None = None, confirm: Confirm | None = None) -> UndoResult:
    """Archive the caller's annotations and delete the tasks of one run (``job.target``).

    First the plan: what would be archived and deleted, what is refused and why. Nothing found
    raises :class:`NotFound` (exit 3); nothing found while the caller could not look at tasks, or
    an annotation of someone else, raises :class:`AuthError` (exit 4). A dry run returns the plan;
    otherwise ``confirm(plan)`` (if given) is asked before anything changes. Requests: ``GET
    /user``, the annotation list (one per 1,000) or one annotation's info, for tasks ``GET
    /projects`` and one per managed project; then one per archive or delete."""
    key, ref = parse_target(job.target)
    connection = connection or Connection()
    config = connection.resolve(target=ref.server if ref is not None else None)
    config.require_token()
    session = Session(config, connection.retry)
    try:
        session.negotiate()
        plan = _plan_run(session, key) if key is not None else _plan_annotation(session, job.target, ref)  # type: ignore[arg-type]
    except KeyboardInterrupt:
        raise Interrupted("before anything was archived or deleted: nothing changed on the server") from None
    if job.dry_run:
        return plan
    if not plan.changes:
        return attrs.evolve(plan, status="done")
    if confirm is not None and not confirm(plan):
        return attrs.evolve(plan, status="cancelled")
    return _carry_out(session, plan)


def _annotation_item(server: str, annotation_id: str, name: str) -> Item:
    return Item("annotation", annotation_id, name, annotation_url(server, annotation_id))


def _task_item(task: WkgtTask) -> Item:
    box = task.task
    where = f"box {format_vec(box.topleft, ',')} size {format_vec(box.size)}" if box.topleft and box.size else "no box"
    return Item("task", task.id, f"project {task.project.name}, {where}")


def _plan_run(session: Session, key: str) -> UndoResult:
    server = session.config.url
    target = key
    own, colleagues = wkgt_annotations(session)
    mine = [a for a in own if a.of_run(key)]  # with the run's evaluation set (--holdout)
    theirs = [a for a in colleagues if a.of_run(key)]
    notes = (
        (f"{len(theirs)} annotation(s) of colleagues carry the same run key (their own runs of the same job); only they can undo them",)
        if theirs
        else ()
    )
    if mine:
        items = [(a, _annotation_item(server, a.id, a.name)) for a in mine]
        return UndoResult(
            target, key, server, "dry-run",
            archive=tuple(i for a, i in items if a.state == "Active"),
            already_archived=tuple(i for a, i in items if a.archived),
            refused=tuple(Refusal(i, f"its state is {a.state}; only active annotations can be archived", "rights")
                          for a, i in items if a.state not in ("Active", "Finished")),
            notes=notes,
        )  # fmt: skip
    projects = readable_projects(session)
    tasks = [t for t in wkgt_tasks(session, projects) if t.task.run_key == key]
    if tasks:
        started = [t for t in tasks if t.started]
        return UndoResult(
            target, key, server, "dry-run",
            delete=tuple(_task_item(t) for t in tasks if not t.started),
            refused=tuple(
                Refusal(_task_item(t), f"{t.started} instance(s) taken or finished; deleting the task would delete that work "
                        "(delete it in WEBKNOSSOS if you mean to)", "in use")
                for t in started
            ),
            notes=notes,
        )  # fmt: skip
    hidden = sorted(p.name for p in projects if not p.managed)
    nothing = f"no annotation of yours and no task in the projects you manage has run key {key} on {server}"
    if hidden:
        me = session.current_user()
        raise AuthError(
            f"{nothing}; the tasks of project(s) {', '.join(hidden)} can be listed and deleted only by team managers of "
            f"the project's team and admins, which {_name(me)} is not: ask one of them to run `wkgt undo {key}`"
        )
    raise NotFound(nothing + ("; " + notes[0] if notes else ""))


def _plan_annotation(session: Session, target: str, ref: AnnotationRefText) -> UndoResult:
    server = session.config.url
    if ref.server is not None and normalize_url(ref.server) != server:
        raise InvalidInput(f"annotation {ref.id} is on {ref.server}, the token is for {server}")
    try:
        info = session.read(f"reading annotation {ref.id}", lambda: session.api().annotation_info(annotation_id=ref.id))
    except NotFound:
        missing = NotFound(f"no annotation {ref.id} on {server} (or not readable with this token)")
        raise session.not_found_or_refused(missing, visible=PUBLIC_ANNOTATIONS) from None
    key = find_run_key(info.description)
    item = _annotation_item(server, ref.id, info.name)
    if key is None:
        raise NotFound(f"annotation {ref.id} carries no wkgt run key: wkgt did not make it, so there is no run to undo")
    if info.typ != "Explorational":
        raise InvalidInput(f"annotation {ref.id} is a task's annotation ({info.typ}); undo the task run: wkgt undo {key}")
    me = session.current_user()
    if info.owner.id != me.id:
        raise AuthError(
            f"annotation {ref.id} belongs to {_name(info.owner)}: wkgt undo archives only your own annotations "
            "(its owner can run wkgt undo)"
        )
    if info.state == "Finished":
        return UndoResult(target, key, server, "dry-run", already_archived=(item,))
    if info.state != "Active":
        return UndoResult(target, key, server, "dry-run", refused=(Refusal(item, f"its state is {info.state}", "rights"),))
    return UndoResult(target, key, server, "dry-run", archive=(item,))


def _carry_out(session: Session, plan: UndoResult) -> UndoResult:
    """Archive and delete as planned; each failure is a refusal of its own, the rest goes on."""
    archived: list[Item] = []
    deleted: list[Item] = []
    refused = list(plan.refused)
    notes = list(plan.notes)
    try:
        for item in plan.archive:
            try:
                archive(session, item.id)
            except WkgtError as err:
                refused.append(_refusal(item, err))
                continue
            archived.append(item)
        for item in plan.delete:
            try:
                existed = delete_task(session, item.id)
            except WkgtError as err:
                refused.append(_refusal(item, err))
                continue
            if existed:
                deleted.append(item)
            else:
                notes.append(f"task {item.id} was deleted already")
    except KeyboardInterrupt:
        done = f"{len(archived)} of {len(plan.archive)} annotation(s) archived, {len(deleted)} of {len(plan.delete)} task(s) deleted"
        raise Interrupted(
            f"during the undo of {plan.target}: {done}, and the request under way may have gone through too; "
            "rerun the same command to finish, it skips what is done (wkgt history shows the run's state)"
        ) from None
    return attrs.evolve(plan, status="done", archive=tuple(archived), delete=tuple(deleted), refused=tuple(refused), notes=tuple(notes))


def _refusal(item: Item, err: WkgtError) -> Refusal:
    if isinstance(err, AuthError):
        return Refusal(item, f"the server refused: {err}", "rights")
    return Refusal(item, f"failed: {err}", "failed")


def _name(user: Any) -> str:
    return f"{getattr(user, 'first_name', '')} {getattr(user, 'last_name', '')}".strip() or str(getattr(user, "id", "?"))
