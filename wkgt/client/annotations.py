"""Reading annotations through the SDK: an annotation's boxes (user boxes and task box), the
runs of a job among the caller's own annotations, and archiving one."""

from __future__ import annotations

import re
import warnings
import zipfile
from collections.abc import Callable
from typing import Any, TypeVar
from xml.etree.ElementTree import ParseError
from urllib.parse import urlsplit

import attrs

from ..errors import InvalidInput, NotFound, ServerError
from ..planner.plan import Box
from .dataset_ref import without_credentials
from .sdk import webknossos
from .session import Session

T = TypeVar("T")
RUN_KEY_LABEL = "wkgt-run-key"
RUN_KEY_PATTERN = re.compile(rf"{RUN_KEY_LABEL}: ([0-9a-f]{{16}})")
UPLOAD_LABEL = "wkgt-upload"
UPLOAD_PATTERN = re.compile(rf"{UPLOAD_LABEL}: ([0-9a-f]{{16}})")
COPY_LABEL = "wkgt-copy: --force-new"
"""Marks an annotation made with ``--force-new``: never the job's result, never archived as a duplicate."""
EVALUATION_LABEL = "wkgt-evaluation-of"
"""Marks a ``--holdout`` evaluation annotation with the run key of its job: history and undo count it in that run."""
EVALUATION_PATTERN = re.compile(rf"{EVALUATION_LABEL}: ([0-9a-f]{{16}})")
ANNOTATION_ID = re.compile(r"^[0-9a-f]{24}$")
ANNOTATION_PATH = re.compile(r"^/annotations/(?:[A-Za-z]+/)?(?P<id>[0-9a-f]{24})/?$")


@attrs.frozen
class AnnotationRefText:
    """An annotation id, and the server when it was given as a URL."""

    id: str
    server: str | None = None


@attrs.frozen
class AnnotationBoxes:
    """The boxes of an annotation and what it belongs to."""

    id: str
    name: str
    description: str
    dataset_id: str | None
    dataset_name: str | None
    organization: str | None
    user_boxes: tuple[Box, ...]
    task_box: Box | None
    volume_layers: tuple[str, ...]
    volume_fallbacks: tuple[str | None, ...] = ()
    """Each volume layer's fallback segmentation layer (None: none)."""

    @property
    def all_boxes(self) -> tuple[Box, ...]:
        return self.user_boxes + ((self.task_box,) if self.task_box else ())


def find_run_key(description: str | None) -> str | None:
    """The run key wkgt wrote into an annotation's description (``wkgt-run-key: <16 hex>``), if any."""
    match = RUN_KEY_PATTERN.search(description or "")
    return match.group(1) if match else None


def find_upload_id(description: str | None) -> str | None:
    """The id wkgt gave one upload (``wkgt-upload: <16 hex>``), to find exactly that upload again."""
    match = UPLOAD_PATTERN.search(description or "")
    return match.group(1) if match else None


def find_evaluation_of(description: str | None) -> str | None:
    """The run key of the job whose evaluation set (``--holdout``) this annotation is, if it is one."""
    match = EVALUATION_PATTERN.search(description or "")
    return match.group(1) if match else None


def is_copy(description: str | None) -> bool:
    """Whether wkgt made this annotation with ``--force-new`` (an extra copy of a job's result)."""
    return COPY_LABEL in (description or "")


@attrs.frozen
class JobRun:
    """One of the caller's annotations that carries a run key."""

    id: str
    state: str
    upload_id: str | None


def own_runs(session: Session, key: str) -> tuple[JobRun, ...]:
    """The caller's own annotations (``owner.id`` of each listed entry is the token's user) that
    carry run key ``key`` and are not ``--force-new`` copies, oldest first (ids grow with creation).
    Colleagues' annotations shared with the caller's teams are listed too, but never count.
    Costs ``GET /user`` once per session and one request per 1,000 listed annotations."""
    me = session.current_user().id
    runs = [
        JobRun(a.id, a.state, find_upload_id(a.description))
        for a in session.annotations()
        if a.owner.id == me and find_run_key(a.description) == key and not is_copy(a.description)
    ]
    return tuple(sorted(runs, key=lambda run: run.id))


def find_upload(session: Session, upload_id: str) -> str | None:
    """The id of the caller's annotation made by the upload ``upload_id``, if it is listed."""
    me = session.current_user().id
    return next(
        (a.id for a in session.annotations() if a.owner.id == me and find_upload_id(a.description) == upload_id), None
    )


def parse_annotation_ref(text: str) -> AnnotationRefText:
    """``<id>``, ``<server>/annotations/<id>`` or ``<server>/annotations/<type>/<id>`` (+ ``#...``)."""
    text = without_credentials(text.strip())
    if ANNOTATION_ID.match(text):
        return AnnotationRefText(text)
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        parts = urlsplit("")
    match = ANNOTATION_PATH.match(parts.path)
    if parts.scheme in ("http", "https") and parts.netloc and match:
        return AnnotationRefText(match["id"], f"{parts.scheme}://{parts.netloc}")
    raise InvalidInput(f"not an annotation id or URL: {text[:200]!r} (expected <server>/annotations/<24 hex id>)")


def _box(bbox: object, fallback_name: str) -> Box:
    topleft = tuple(int(v) for v in bbox.topleft_xyz)  # type: ignore[attr-defined]
    size = tuple(int(v) for v in bbox.size_xyz)  # type: ignore[attr-defined]
    return Box(getattr(bbox, "name", None) or fallback_name, topleft, size)  # type: ignore[arg-type]


def _quietly(call: Callable[[], T]) -> T:
    """Run an SDK call without its informational warnings (e.g. skipped volume data)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call()


PUBLIC_ANNOTATIONS = "annotations shared with anyone who has the link"
"""What a request without a token may read of annotations (for the not-found message)."""

UNREADABLE_DOWNLOAD = (AssertionError, zipfile.BadZipFile, ParseError, UnicodeDecodeError, ValueError, KeyError)
"""What the SDK's ``Annotation.download`` raises on an answer that is no annotation file (an HTML
page answers without a ``.zip``/``.nml`` file name: an assertion; a broken zip or NML: the others)."""


def download_annotation(session: Session, annotation_id: str, what: str, **options: Any) -> Any:
    """``Annotation.download`` once per attempt (retried like every read); an answer that is no
    annotation file is a :class:`ServerError`, as any unreadable answer."""
    wk = webknossos()

    def call() -> Any:
        try:
            return _quietly(lambda: wk.Annotation.download(annotation_id, retry_count=0, **options))
        except UNREADABLE_DOWNLOAD:
            raise ServerError(
                f"{what}: {session.config.url} gave an answer wkgt cannot read (no annotation file); is it a WEBKNOSSOS server?"
            ) from None

    return session.read(what, call)


def read_annotation(session: Session, annotation_id: str) -> AnnotationBoxes:
    """Download an annotation without volume data (one request) and keep its boxes."""
    try:
        annotation = download_annotation(session, annotation_id, f"reading annotation {annotation_id}", skip_volume_data=True)
    except NotFound:
        missing = NotFound(f"no annotation {annotation_id} on {session.config.url} (or not readable with this token)")
        raise session.not_found_or_refused(missing, visible=PUBLIC_ANNOTATIONS) from None
    return annotation_boxes(annotation, annotation_id)


def annotation_boxes(annotation: Any, annotation_id: str) -> AnnotationBoxes:
    """The boxes of an SDK ``Annotation`` and what it belongs to."""
    user_boxes = tuple(_box(b, f"box {i}") for i, b in enumerate(annotation.user_bounding_boxes, start=1))
    task_box = _box(annotation.task_bounding_box, "task bounding box") if annotation.task_bounding_box else None
    return AnnotationBoxes(
        id=annotation_id,
        name=annotation.name,
        description=annotation.description or "",
        dataset_id=annotation.dataset_id,
        dataset_name=annotation.dataset_name,
        organization=annotation.organization_id,
        user_boxes=user_boxes,
        task_box=task_box,
        volume_layers=tuple(annotation.get_volume_layer_names()),
        volume_fallbacks=tuple(
            annotation.get_volume_layer(volume_layer_name=name).fallback_layer_name
            for name in annotation.get_volume_layer_names()
        ),
    )
