"""Viewer URLs that open WEBKNOSSOS centred on a box, zoomed so all of it is in view."""

from __future__ import annotations

from collections.abc import Sequence

from ..planner.plan import Box

VIEWPORT_PX = 384  # a plane viewport of WEBKNOSSOS's default layout, roughly
MARGIN = 1.25


def zoom_for_box(size_mag1: Sequence[int], voxel_size_nm: Sequence[float]) -> float:
    """WEBKNOSSOS zoom step that fits the box in a viewport (1 = one finest voxel per pixel)."""
    finest = min(voxel_size_nm)
    extent = max(s * v / finest for s, v in zip(size_mag1, voxel_size_nm))
    return round(max(extent * MARGIN / VIEWPORT_PX, 0.01), 3)


def _position(box: Box, voxel_size_nm: Sequence[float]) -> str:
    x, y, z = box.center
    return f"{x},{y},{z},0,{zoom_for_box(box.size, voxel_size_nm):g}"


def dataset_view_url(server: str, dataset_name: str, dataset_id: str, box: Box, voxel_size_nm: Sequence[float]) -> str:
    """``{server}/datasets/{name}-{id}/view#x,y,z,0,zoom`` for a dry-run."""
    return f"{server}/datasets/{dataset_name}-{dataset_id}/view#{_position(box, voxel_size_nm)}"


def annotation_url(server: str, annotation_id: str, box: Box | None = None, voxel_size_nm: Sequence[float] = ()) -> str:
    """``{server}/annotations/{id}`` (with ``#x,y,z,0,zoom`` when centred on a box)."""
    base = f"{server}/annotations/{annotation_id}"
    return base if box is None else f"{base}#{_position(box, voxel_size_nm)}"
