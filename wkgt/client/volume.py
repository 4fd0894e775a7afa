"""Reading painted ground truth: an annotation with its volume data (server or ``.zip`` file),
its boxes, and a volume layer exported to a local dataset that the image readers can read."""

from __future__ import annotations

import tempfile
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from ..errors import InvalidInput, NotFound
from ..planner.mag_choice import finest_first
from ..planner.geometry import Region
from ..planner.plan import Box
from .annotations import PUBLIC_ANNOTATIONS, download_annotation
from .facts import LayerFacts
from .imagery import forget_open_datasets, local_reader
from .local import read_local_dataset
from .sdk import webknossos
from .session import Session

DEFAULT_VOLUME_LAYER = "ground_truth"


@attrs.frozen
class PaintedAnnotation:
    """An annotation read with its volume data: its boxes and the SDK object."""

    id: str | None
    name: str
    dataset_id: str | None
    dataset_name: str | None
    organization: str | None
    boxes: tuple[Box, ...]
    volume_layers: tuple[str, ...]
    sdk: Any = attrs.field(eq=False, repr=False)


def _painted(annotation: Any, annotation_id: str | None) -> PaintedAnnotation:
    boxes = [
        Box(getattr(b, "name", None) or f"box {i}", tuple(int(v) for v in b.topleft_xyz), tuple(int(v) for v in b.size_xyz))  # type: ignore[arg-type]
        for i, b in enumerate(annotation.user_bounding_boxes, start=1)
    ]
    if annotation.task_bounding_box is not None:
        b = annotation.task_bounding_box
        boxes.append(Box("task bounding box", tuple(int(v) for v in b.topleft_xyz), tuple(int(v) for v in b.size_xyz)))  # type: ignore[arg-type]
    return PaintedAnnotation(
        annotation_id, annotation.name, annotation.dataset_id, annotation.dataset_name, annotation.organization_id,
        tuple(boxes), tuple(annotation.get_volume_layer_names()), annotation,
    )


def download_painted(session: Session, annotation_id: str) -> PaintedAnnotation:
    """Download an annotation with its volume data (one request; ``Annotation.download``)."""
    try:
        annotation = download_annotation(session, annotation_id, f"downloading annotation {annotation_id} with its volume data")
    except NotFound:
        missing = NotFound(f"no annotation {annotation_id} on {session.config.url} (or not readable with this token)")
        raise session.not_found_or_refused(missing, visible=PUBLIC_ANNOTATIONS) from None
    return _painted(annotation, annotation_id)


def load_painted(path: Path) -> PaintedAnnotation:
    """An annotation ``.zip`` (or ``.nml``) file with its volume data (``Annotation.load``)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            annotation = webknossos().Annotation.load(path)
    except FileNotFoundError:
        raise NotFound(f"no annotation file {path}") from None
    except Exception as err:  # noqa: BLE001 - the SDK raises many kinds on bad files
        raise InvalidInput(f"cannot read annotation {path}: {err}".splitlines()[0]) from None
    return _painted(annotation, None)


def choose_volume_layer(annotation: PaintedAnnotation, name: str | None) -> str:
    """The named volume layer, else ``ground_truth``, else the only one."""
    names = annotation.volume_layers
    if name is not None:
        if name not in names:
            raise NotFound(f"annotation {annotation.name} has no volume layer {name!r} (it has: {', '.join(names) or 'none'})")
        return name
    if DEFAULT_VOLUME_LAYER in names:
        return DEFAULT_VOLUME_LAYER
    if len(names) == 1:
        return names[0]
    raise InvalidInput(
        f"annotation {annotation.name} has {len(names)} volume layers ({', '.join(names) or 'none'}): choose one with --volume-layer"
    )


def export_volume(annotation: PaintedAnnotation, volume_layer: str, directory: Path) -> tuple[Path, LayerFacts]:
    """Write the painted voxels of ``volume_layer`` into a dataset in ``directory``; its path and layer."""
    wk = webknossos()
    path = directory / "ground_truth"
    dataset = wk.Dataset(path, voxel_size=annotation.sdk.voxel_size)
    volume = annotation.sdk.get_volume_layer(volume_layer_name=volume_layer)
    largest = volume.largest_segment_id
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # a known largest segment id spares the SDK's scan of every painted voxel (ids unused here)
            volume.largest_segment_id = 0 if largest is None else largest
            annotation.sdk.export_volume_layer_to_dataset(dataset, "ground_truth", volume_layer_name=volume_layer)
    except Exception as err:  # noqa: BLE001 - empty or unreadable volume data
        raise InvalidInput(f"volume layer {volume_layer} of {annotation.name} holds no readable painted data ({err})".splitlines()[0]) from None
    finally:
        volume.largest_segment_id = largest
    facts = read_local_dataset(path)
    layer = facts.layer("ground_truth")
    if not layer.mags:
        raise InvalidInput(f"volume layer {volume_layer} of {annotation.name} holds no painted voxels")
    return path, layer


VOLUME_METADATA = frozenset({"datasource-properties.json", "zarr.json", "header.wkw"})
"""Files of a volume data zip that hold no voxels (the SDK's ``_VOLUME_METADATA_FILE_NAMES``)."""


def has_volume_data(annotation: PaintedAnnotation, volume_layer: str) -> bool:
    """Whether ``volume_layer`` came with voxel data: a layer nothing was painted in has no data
    zip (from the server) or one without chunks (a file the SDK wrote)."""
    data = annotation.sdk.get_volume_layer(volume_layer_name=volume_layer).zip
    if data is None:
        return False
    try:
        with data.open(mode="rb") as file, zipfile.ZipFile(file) as archive:
            names = archive.namelist()
    except (OSError, zipfile.BadZipFile) as err:
        raise InvalidInput(f"volume layer {volume_layer} of {annotation.name}: its data zip is unreadable ({err})".splitlines()[0]) from None
    return any(not name.endswith("/") and name.rsplit("/", 1)[-1] not in VOLUME_METADATA for name in names)


def painted_fractions(
    annotation: PaintedAnnotation, volume_layer: str, boxes: Sequence[Box], mag: Sequence[int] | None = None
) -> tuple[float, ...]:
    """Per box, the fraction of its voxels labelled non-zero in ``volume_layer``, read from the
    annotation's own volume data (no request) at ``mag`` (the training mag) when the data holds
    it, else at its finest mag. Only the chunks written to disk are read, each box's part of
    them once (an unwritten chunk holds nothing painted), so the cost follows the painted data,
    not the box volume. A layer without data (nothing painted yet) is 0 everywhere. Only voxels
    written into the annotation count, not a fallback layer's. Unreadable volume data is
    InvalidInput."""
    if not has_volume_data(annotation, volume_layer):
        return tuple(0.0 for _ in boxes)
    with tempfile.TemporaryDirectory(prefix="wkgt-painted-") as directory:
        path, layer = export_volume(annotation, volume_layer, Path(directory))
        chosen = tuple(mag) if mag is not None and tuple(mag) in layer.mags else finest_first(list(layer.mags))[0]
        read = local_reader(path, layer, chosen)  # type: ignore[arg-type]
        wk = webknossos()
        view = wk.Dataset.open(path).get_layer("ground_truth").get_mag(wk.Mag(chosen))
        chunks = [
            Region(tuple(int(v) for v in b.topleft_xyz), tuple(int(v) for v in b.size_xyz))  # type: ignore[arg-type]
            for b in view.get_bounding_boxes_on_disk()
        ]
        fractions = []
        for box in boxes:
            grid = box.region.in_mag(chosen)
            parts = [part for chunk in chunks if (part := grid.intersection(chunk.in_mag(chosen))) is not None]
            painted = sum(int(np.count_nonzero(np.asarray(read(part.topleft, part.size)))) for part in parts)
            fractions.append(painted / grid.volume if grid.volume else 0.0)
        forget_open_datasets()
    return tuple(fractions)
