"""Listing the datasets a token can read: by organization, folder and tags; and close names.

WEBKNOSSOS lists datasets with ``GET /api/v{N}/datasets`` (``DatasetController.list``:
``isActive``, ``organizationId``, ``folderId``, ``searchQuery``, ...); from API v16 each entry is
compact (``id, name, owningOrganization, folderId, tags, colorLayerNames, ...``, no voxel size).
Tags are not a server filter: wkgt keeps the entries that carry every tag asked for. Folders
are named by ``GET /api/v{N}/folders/tree`` (the token's organization only); another
organization's folder by ``GET /api/v{N}/folders/{id}``, where the server allows it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any

import attrs

from ..errors import NotFound, NotVisibleToToken, WkgtError
from .dataset_ref import DatasetRef
from .session import Session

FOLDER_ID = re.compile(r"^[0-9a-f]{24}$")
MAX_SUGGESTIONS = 3
SUGGESTION_CUTOFF = 0.6


@attrs.frozen
class Folder:
    """A dataset folder: its id, name, and path from the organization's root (``root/a/b``)."""

    id: str
    name: str
    path: str


@attrs.frozen
class DatasetEntry:
    """One dataset as the list shows it (no voxel size on API v16: read the dataset for that)."""

    id: str
    name: str
    organization: str | None
    folder_id: str | None
    tags: tuple[str, ...]
    is_active: bool
    color_layers: tuple[str, ...] = ()
    segmentation_layers: tuple[str, ...] = ()
    directory_name: str | None = None

    def ref(self) -> DatasetRef:
        return DatasetRef(id=self.id, name=self.name, organization=self.organization)


def _ready(session: Session) -> Session:
    """The session with its API version known (the SDK's client must not guess the server)."""
    if session.api_version is None:
        session.negotiate()
    return session


def _names(layers: Any, category: str) -> tuple[str, ...]:
    return tuple(str(x.get("name")) for x in layers or () if x.get("category") == category)


def _entry(raw: dict[str, Any]) -> DatasetEntry:
    """A list entry, compact (v16) or full (older servers, with ``dataSource``)."""
    layers = (raw.get("dataSource") or {}).get("dataLayers")
    colors = raw.get("colorLayerNames")
    segmentations = raw.get("segmentationLayerNames")
    return DatasetEntry(
        id=str(raw["id"]),
        name=str(raw["name"]),
        organization=raw.get("owningOrganization"),
        folder_id=raw.get("folderId"),
        tags=tuple(str(t) for t in raw.get("tags") or ()),
        is_active=bool(raw.get("isActive", True)),
        color_layers=tuple(colors) if colors is not None else _names(layers, "color"),
        segmentation_layers=tuple(segmentations) if segmentations is not None else _names(layers, "segmentation"),
        directory_name=raw.get("directoryName"),
    )


def folders(session: Session) -> list[Folder]:
    """Every folder of the token's organization, with its path (1 request)."""
    from webknossos.client.api_client.models import ApiFolderWithParent

    _ready(session)
    tree = session.read("listing folders", lambda: session.api()._get_json("/folders/tree", list[ApiFolderWithParent]))
    by_id = {f.id: f for f in tree}

    def path(folder: Any) -> str:
        parts, seen = [folder.name], {folder.id}
        while folder.parent and folder.parent in by_id and folder.parent not in seen:
            folder = by_id[folder.parent]
            seen.add(folder.id)
            parts.append(folder.name)
        return "/".join(reversed(parts))

    return [Folder(f.id, f.name, path(f)) for f in tree]


def folder_name(session: Session, folder_id: str) -> str | None:
    """The name of a folder outside the token's organization (``GET /api/folders/{id}``: newer
    servers answer for a folder above a dataset you can read), or None when the server does not say."""
    from webknossos.client.api_client.models import ApiFolder

    _ready(session)
    try:
        return str(session.read("reading a folder", lambda: session.api()._get_json(f"/folders/{folder_id}", ApiFolder)).name)
    except WkgtError:
        return None


def resolve_folder(session: Session, text: str) -> Folder:
    """``--folder``: a folder id, a path from the root (``a/b``, the root's name optional) or a
    name that only one folder has. NotFound names the folders there are (or close ones)."""
    known = folders(session)
    if FOLDER_ID.match(text):
        for folder in known:
            if folder.id == text:
                return folder
    wanted = text.strip("/")
    exact = [f for f in known if f.path == wanted or f.path.split("/", 1)[-1] == wanted] if "/" in wanted else []
    exact = exact or [f for f in known if f.name == wanted]
    if len(exact) == 1:
        return exact[0]
    if len(exact) > 1:
        raise NotFound(f"folder name {text!r} is ambiguous: {', '.join(sorted(f.path for f in exact))}; pass its path or id")
    close = difflib.get_close_matches(wanted, [f.name for f in known] + [f.path for f in known], MAX_SUGGESTIONS, SUGGESTION_CUTOFF)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}?" if close else f"folders: {', '.join(sorted(f.path for f in known)) or 'none'}"
    raise NotFound(f"no folder {text!r} on {session.config.url}; {hint}")


def list_datasets(
    session: Session,
    *,
    organization: str | None = None,
    folder_id: str | None = None,
    tags: Sequence[str] = (),
    search: str | None = None,
    active_only: bool = True,
) -> list[DatasetEntry]:
    """The datasets the token can read (1 request), filtered on the server by organization,
    folder and name, and here by ``tags`` (an entry needs every one), sorted by name."""
    query: dict[str, Any] = {
        "isActive": True if active_only else None,
        "organizationId": organization,
        "folderId": folder_id,
        "searchQuery": search,
    }
    _ready(session)
    raw = session.read(
        "listing datasets", lambda: session.api()._get_json("/datasets", list[dict[str, Any]], query=query)
    )
    entries = [_entry(item) for item in raw]
    wanted = set(tags)
    return sorted((e for e in entries if wanted <= set(e.tags)), key=lambda e: (e.name.lower(), e.organization or "", e.id))


def close_names(session: Session, name: str, organization: str | None = None) -> list[str]:
    """Names of readable datasets close to ``name`` (``l4_sampel`` → ``l4_sample``), best first."""
    entries = list_datasets(session, organization=organization)
    names = sorted({e.name for e in entries} | {e.directory_name for e in entries if e.directory_name})
    return difflib.get_close_matches(name, names, MAX_SUGGESTIONS, SUGGESTION_CUTOFF)


def with_suggestions(err: NotFound, session: Session, ref: DatasetRef) -> NotFound:
    """``err`` (a dataset name not found) with the close names the token can list, if any; unchanged
    when a dataset of that very name is readable (then something else was not found), or when the
    token is why (the names it lists would be the public ones only)."""
    if ref.name is None or ref.id is not None or "ambiguous" in str(err) or isinstance(err, NotVisibleToToken):
        return err
    try:
        close = close_names(session, ref.name, ref.organization)
    except Exception:  # noqa: BLE001 - a hint must never hide the original error
        return err
    if not close or ref.name in close:  # the name exists: ``err`` is about something else (a layer, a project)
        return err
    return NotFound(f"{err}; did you mean {' or '.join(repr(c) for c in close)}?")
