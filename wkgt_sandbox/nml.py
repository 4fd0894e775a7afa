"""Annotation files: parse uploaded NML/zip files and build downloads, using the webknossos SDK."""

from __future__ import annotations

import io
import warnings
import zipfile
from dataclasses import dataclass
from typing import Any

JsonDict = dict[str, Any]


@dataclass
class ParsedAnnotation:
    """What the sandbox keeps of an uploaded annotation file."""

    name: str
    description: str
    dataset_id: str | None
    dataset_name: str
    organization: str | None
    user_bounding_boxes: list[JsonDict]
    task_bounding_box: JsonDict | None
    volume_layers: list[JsonDict]
    edit_position: tuple[int, int, int]
    volume_data: dict[str, bytes]
    annotation: Any
    """The parsed `webknossos.Annotation` (used to write the download NML)."""


def _box_json(box: Any, box_id: int) -> JsonDict:
    return {
        "id": box_id,
        "name": box.name,
        "color": list(box.color) if box.color is not None else None,
        "isVisible": bool(box.is_visible),
        "topLeft": list(box.topleft.to_tuple()),
        "size": list(box.size.to_tuple()),
    }


def parse_annotation_file(filename: str, content: bytes) -> ParsedAnnotation:
    """Parse an uploaded `.zip` (NML + volume data zips) or `.nml` file.

    Raises ValueError if the file cannot be parsed.
    """
    import webknossos as wk

    try:
        with warnings.catch_warnings():
            # the SDK warns about volume layers without data; uploads of empty layers are normal
            warnings.simplefilter("ignore")
            if content[:2] == b"PK":
                annotation = wk.Annotation._load_from_zip(io.BytesIO(content))
            else:
                stem = filename.rsplit("/", 1)[-1].removesuffix(".nml")
                annotation = wk.Annotation._load_from_nml(stem, io.BytesIO(content))
            # each volume layer's data zip, whatever its name in the upload, under the name the server writes
            volume_data = {data_zip_name(v.id, v.name): v.zip.read_bytes() for v in annotation._volume_layers if v.zip is not None}
    except Exception as e:  # the SDK raises assorted errors for malformed files
        raise ValueError(f"{type(e).__name__}: {e}") from e
    layers: list[JsonDict] = [
        {
            "id": v.id,
            "name": v.name,
            "fallbackLayer": v.fallback_layer_name,
            "largestSegmentId": v.largest_segment_id,
            "hasData": v.zip is not None,
        }
        for v in annotation._volume_layers
    ]
    task_box = annotation.task_bounding_box
    return ParsedAnnotation(
        name=annotation.name,
        description=annotation.description or "",
        dataset_id=annotation.dataset_id,
        dataset_name=annotation.dataset_name,
        organization=annotation.organization_id,
        user_bounding_boxes=[_box_json(b, i) for i, b in enumerate(annotation.user_bounding_boxes)],
        task_bounding_box=None if task_box is None else _box_json(task_box, -1),
        volume_layers=layers,
        edit_position=tuple(annotation.edit_position or (0, 0, 0)),  # type: ignore[arg-type]
        volume_data=volume_data,
        annotation=annotation,
    )


def build_nml(
    parsed: ParsedAnnotation,
    *,
    annotation_id: str,
    dataset_id: str | None,
    organization: str,
    owner_name: str,
    user_bounding_boxes: list[JsonDict],
    with_volume_data: bool,
) -> str:
    """The NML text the server writes for a stored annotation."""
    import webknossos as wk
    from webknossos.annotation._nml_conversion import annotation_to_nml

    ann = parsed.annotation
    ann.annotation_id = annotation_id
    ann.dataset_id = dataset_id
    ann.organization_id = organization
    ann.owner_name = owner_name
    ann.task_bounding_box = None
    boxes = []
    for b in user_bounding_boxes:
        box = wk.BoundingBox(b["topLeft"], b["size"]).with_name(b["name"]).with_is_visible(b["isVisible"])
        boxes.append(box if b["color"] is None else box.with_color(tuple(b["color"])))
    ann.user_bounding_boxes = boxes
    nml = annotation_to_nml(ann)
    volumes = [v._replace(location=data_zip_name(v.id, v.name) if with_volume_data else None) for v in nml.volumes]
    nml = nml._replace(volumes=volumes)
    buffer = io.BytesIO()
    nml.write(buffer)
    return buffer.getvalue().decode("utf-8")


def data_zip_name(layer_id: int, layer_name: str | None) -> str:
    """Name of a volume layer's data zip inside an annotation zip."""
    return f"data_{layer_id}_{layer_name or 'Volume'}.zip"


def _empty_zip() -> bytes:
    buffer = io.BytesIO()
    zipfile.ZipFile(buffer, "w").close()
    return buffer.getvalue()


def download_file(
    name: str, nml: str, volume_data: dict[str, bytes] | None, volume_layers: list[JsonDict]
) -> tuple[str, bytes]:
    """(filename, body) of `/annotations/{id}/download`: a plain NML for skeleton-only annotations,
    otherwise a zip with the NML and, unless `volume_data` is None (skipVolumeData), one data zip per
    volume layer (an empty one for layers without data, as the server does)."""
    if not volume_layers:
        return f"{name}.nml", nml.encode("utf-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{name}.nml", nml)
        for layer in [] if volume_data is None else volume_layers:
            location = data_zip_name(layer["id"], layer["name"])
            zf.writestr(location, (volume_data or {}).get(location) or _empty_zip())
    return f"{name}.zip", buffer.getvalue()
