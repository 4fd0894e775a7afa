"""Reading an annotation's ground-truth volume layer (its mags and box) and the user's organization.

The mags and the bounding box of a volume layer live in the tracing store, which fixed them
when the layer was created (:mod:`wkgt.planner.ground_truth` has the rule). The front end reads
them from the volume tracing (``fetch_annotation_infos.ts``); wkgt reads the same values as
JSON from the tracing store's zarr view of the layer,
``GET {tracingStore}/tracings/volume/zarr/{tracingId}/zarrSource``
(``VolumeTracingZarrStreamingController.zarrSource``: a segmentation layer with ``mags`` and
``boundingBox``), after ``GET /api/v{N}/annotations/{id}/info`` (layers, tracing store, the
task type's ``magRestrictions``): two requests, plus one per volume layer.

The token goes only to the configured server: a tracing store elsewhere is not asked, and the
layer is computed by the tracing store's own rule from the dataset instead.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from ..errors import AuthError, InvalidInput, NotFound, ServerError
from ..planner.ground_truth import GroundTruthLayer, MagRestrictions, fallback_layer, ground_truth_layer
from ..planner.placement import Region
from .annotations import AnnotationBoxes
from .facts import DatasetFacts
from .session import Session, _checked


def _same_origin(a: str, b: str) -> bool:
    x, y = urlsplit(a), urlsplit(b)
    return (x.scheme, x.netloc) == (y.scheme, y.netloc)


def _get_json(session: Session, url: str, what: str) -> Any:
    """One GET on the configured server (retried like every read), the token in its header."""
    headers = {"X-Auth-Token": session.config.token} if session.config.token else {}
    timeout = session.config.timeout_s
    response = session.read(what, lambda: _checked(httpx.get(url, headers=headers, timeout=timeout)))
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ServerError(f"{what}: {session.config.url} gave an answer wkgt cannot read (no JSON object); is it a WEBKNOSSOS server?")
    return data


def annotation_info(session: Session, annotation_id: str) -> dict[str, Any]:
    """``GET /api/v{N}/annotations/{id}/info`` as JSON (1 request)."""
    version = session.api_version or session.negotiate()
    return _get_json(session, f"{session.config.url}/api/v{version}/annotations/{annotation_id}/info", f"reading annotation {annotation_id}")  # type: ignore[no-any-return]


def _restrictions(info: dict[str, Any]) -> MagRestrictions:
    raw = ((info.get("settings") or {}).get("magRestrictions")) or {}
    return MagRestrictions(raw.get("min"), raw.get("max"))


def _from_tracing_store(source: dict[str, Any], name: str) -> GroundTruthLayer:
    mags = tuple(tuple(int(v) for v in m["mag"]) for m in source["mags"])
    box = source.get("boundingBox")
    bbox = (
        Region(tuple(box["topLeft"]), (box["width"], box["height"], box["depth"]))  # type: ignore[arg-type]
        if box
        else None
    )
    return GroundTruthLayer(mags, bbox, "the tracing store", name)  # type: ignore[arg-type]


def read_ground_truth(
    session: Session, boxes: AnnotationBoxes, facts: DatasetFacts, name: str | None = None
) -> GroundTruthLayer | None:
    """The annotation's ground-truth volume layer (``name``, default: its first volume layer;
    None if it has none): as the tracing store serves it, or computed by its rule."""
    if not boxes.volume_layers:
        if name is not None:
            raise NotFound(f"annotation {boxes.id} has no volume layer {name!r} (it has none)")
        return None
    if name is not None and name not in boxes.volume_layers:
        raise NotFound(f"annotation {boxes.id} has no volume layer {name!r}; its volume layers: {', '.join(boxes.volume_layers)}")
    chosen = name or boxes.volume_layers[0]
    info = annotation_info(session, boxes.id)
    store = ((info.get("tracingStore") or {}).get("url") or "").rstrip("/")
    tracing = next(
        (layer.get("tracingId") for layer in info.get("annotationLayers") or [] if layer.get("typ") == "Volume" and layer.get("name") == chosen),
        None,
    )
    if store and tracing and _same_origin(store, session.config.url):
        try:
            what = f"reading volume layer {chosen!r}"
            source = _get_json(session, f"{store}/tracings/volume/zarr/{tracing}/zarrSource", what)
            try:
                return _from_tracing_store(source, chosen)
            except (KeyError, TypeError, ValueError):
                raise ServerError(f"{what}: {store} gave an answer wkgt cannot read (no mags); is it a WEBKNOSSOS tracing store?") from None
        except NotFound:
            pass  # a tracing store without the zarr view: the rule gives the same
    fallbacks = dict(zip(boxes.volume_layers, boxes.volume_fallbacks))
    fallback_name = fallbacks.get(chosen)
    try:
        fallback = fallback_layer(facts.layers, fallback_name, f"dataset {facts.name}") if fallback_name else None
    except (NotFound, InvalidInput):
        fallback = None
    task_box = Region(boxes.task_box.topleft, boxes.task_box.size) if boxes.task_box is not None else None
    return ground_truth_layer(facts.layers, fallback, task_box=task_box, restrictions=_restrictions(info), name=chosen)


def user_organization(session: Session) -> str | None:
    """The organization of the token's user (``GET /user`` once per session); None without a token or when refused."""
    if not session.config.token:
        return None
    try:
        user = session.current_user()
    except (AuthError, NotFound):
        return None
    return str(user.organization)


def organization_warning(user_organization: str | None, facts: DatasetFacts) -> str | None:
    """WEBKNOSSOS trains only on datasets of the user's own organization."""
    if user_organization is None or facts.organization is None or user_organization == facts.organization:
        return None
    return (
        f"dataset {facts.name} belongs to organization {facts.organization}, you to {user_organization}: "
        "WEBKNOSSOS trains only on datasets of your own organization (ask for a copy in yours)"
    )
