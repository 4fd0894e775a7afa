"""Reading an annotation file you hold: the ``.zip`` that ``create-boxes --output`` writes, or an NML."""

from __future__ import annotations

from pathlib import Path

from ..errors import InvalidInput
from .annotations import AnnotationBoxes, _box, _quietly
from .sdk import webknossos

ANNOTATION_SUFFIXES = (".zip", ".nml")


def is_annotation_file(text: str) -> bool:
    """``text`` names a local annotation file (``.zip`` or ``.nml``) rather than an id or URL."""
    if "://" in text:
        return False
    return Path(text).suffix.lower() in ANNOTATION_SUFFIXES


def read_annotation_file(path: Path | str) -> AnnotationBoxes:
    """The boxes (user boxes and task box), volume layers and dataset of a local annotation file
    (``webknossos.Annotation.load``); its "id" is the file name."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise InvalidInput(f"--annotation {path}: no such file")
    try:
        annotation = _quietly(lambda: webknossos().Annotation.load(path))
    except Exception as err:  # noqa: BLE001 - the SDK raises many kinds on files that are not annotations
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise InvalidInput(f"--annotation {path}: not a WEBKNOSSOS annotation ({first[:200]})") from None
    user_boxes = tuple(_box(b, f"box {i}") for i, b in enumerate(annotation.user_bounding_boxes, start=1))
    task_box = _box(annotation.task_bounding_box, "task bounding box") if annotation.task_bounding_box else None
    names = tuple(annotation.get_volume_layer_names())
    return AnnotationBoxes(
        id=path.name,
        name=annotation.name or path.stem,
        description=annotation.description or "",
        dataset_id=getattr(annotation, "dataset_id", None),
        dataset_name=annotation.dataset_name,
        organization=annotation.organization_id,
        user_boxes=user_boxes,
        task_box=task_box,
        volume_layers=names,
        volume_fallbacks=tuple(annotation.get_volume_layer(volume_layer_name=name).fallback_layer_name for name in names),
    )
