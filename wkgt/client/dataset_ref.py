"""What the user typed after ``--dataset``: an id, a name, a viewer URL, or a local path."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import attrs

from ..errors import InvalidInput

DATASET_ID = re.compile(r"^[0-9a-f]{24}$")
# /datasets/<name>-<id>/view  (also .../edit, .../sandbox/..., or no suffix)
VIEWER_PATH = re.compile(r"^/datasets/(?:(?P<name>.*)-)?(?P<id>[0-9a-f]{24})(?:/[a-z]+(?:/.*)?)?/?$")
# legacy /datasets/<organization>/<name>/view
LEGACY_PATH = re.compile(r"^/datasets/(?P<org>[^/]+)/(?P<name>[^/]+)(?:/view|/edit)?/?$")


@attrs.frozen
class DatasetRef:
    """A dataset on a server (by ``id``, or by ``name`` within ``organization``) or on disk."""

    id: str | None = None
    name: str | None = None
    organization: str | None = None
    server: str | None = None
    local_path: Path | None = None

    def describe(self) -> str:
        if self.local_path is not None:
            return str(self.local_path)
        if self.id is not None:
            return f"id {self.id}"
        return f"{self.organization}/{self.name}" if self.organization else repr(self.name)


def without_credentials(url: str) -> str:
    """``url`` without a ``user:password@`` part."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, path = rest.partition("/")
    return f"{scheme}{sep}{authority.rpartition('@')[2]}{slash}{path}"


def parse_dataset_ref(text: str, organization: str | None = None) -> DatasetRef:
    """Classify ``--dataset``. A URL also names the server."""
    text = text.strip()
    if not text:
        raise InvalidInput("--dataset is empty")
    if re.match(r"^[a-z][a-z0-9+.-]*://", text, re.I):
        return _parse_url(text, organization)
    if DATASET_ID.match(text):
        return DatasetRef(id=text)
    path = Path(text).expanduser()
    if is_path(text):
        if not path.exists():
            raise InvalidInput(f"no such folder: {text} (a path names a local dataset; a server dataset is named without ./ or /)")
        if not is_dataset_folder(path):
            raise InvalidInput(f"{text} is not a WEBKNOSSOS dataset folder (no datasource-properties.json)")
        return DatasetRef(local_path=path.resolve())
    return DatasetRef(name=text, organization=organization)


def is_path(text: str) -> bool:
    """A local path is written as one (``./name``, ``/abs``, ``~/name``, ``a/b``); a bare word is
    a dataset name on the server, even where a folder of that name exists."""
    return text.startswith((".", "/", "~")) or "/" in text or "\\" in text


def is_dataset_folder(path: Path) -> bool:
    return (path / "datasource-properties.json").is_file()


def local_folder_hint(ref: DatasetRef) -> str | None:
    """For a dataset name that is also a local dataset folder here: how to name the folder."""
    if ref.name is None or ref.id is not None or ref.server is not None or not is_dataset_folder(Path(ref.name)):
        return None
    return f"a local dataset folder {ref.name} is here: pass ./{ref.name} to use it"


def _parse_url(text: str, organization: str | None) -> DatasetRef:
    """A viewer URL; a user name and password in it are dropped, never echoed."""
    text = without_credentials(text)
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError as err:
        raise InvalidInput(f"not a WEBKNOSSOS dataset URL ({err}): {text[:200]!r}") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(f"not a WEBKNOSSOS dataset URL: {text[:200]!r}")
    server = f"{parts.scheme}://{parts.netloc}"
    path = unquote(parts.path)
    if match := VIEWER_PATH.match(path):
        return DatasetRef(id=match["id"], name=match["name"] or None, server=server)
    if match := LEGACY_PATH.match(path):
        if organization and organization != match["org"]:
            raise InvalidInput(f"--organization {organization} contradicts the URL's organization {match['org']}")
        return DatasetRef(name=match["name"], organization=match["org"], server=server)
    raise InvalidInput(
        f"not a WEBKNOSSOS dataset URL: {text[:200]!r} (expected {server}/datasets/<name>-<id>/view "
        "or /datasets/<organization>/<name>/view)"
    )
