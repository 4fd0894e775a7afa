"""A picture of a plan: top (XY) and side (XZ) views in physical proportions (Pillow PNG).

Both views share one horizontal scale (x lines up); the top view is above, the side view
below, then a scale bar in µm. The background is the mean of the coarsest mag along the
hidden axis when a tissue map was read, with the outline of where the tissue mask covers at
least half of that axis; every box is drawn in its annotation colour and numbered as in the
table; boxes of earlier rounds are grey. With strata (``--strategy diverse``, ``--holdout``) a
box's colour is its stratum's and its label ends in ``s<stratum>``; evaluation boxes are white,
numbered ``E1``….
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from ..errors import InvalidInput
from ..planner.plan import Plan

DEFAULT_WIDTH = 1000
MARGIN = 40
GAP = 50
BAR_HEIGHT = 50
MAX_ASPECT = 4.0
BACKGROUND = (24, 24, 24)
EMPTY_REGION = (64, 64, 64)
OUTLINE = (0, 230, 120)
AVOIDED = (150, 150, 150)
HOLDOUT = (255, 255, 255)
TEXT = (240, 240, 240)


@attrs.frozen
class PreviewLayout:
    """Where things are in the picture: pixel = origin + (mag-1 coordinate − region start) × voxel nm × scale."""

    width: int
    height: int
    scale_px_per_nm: float
    xy_origin: tuple[int, int]
    xz_origin: tuple[int, int]
    region_topleft: tuple[int, int, int]
    voxel_size_nm: tuple[float, float, float]
    scale_bar_um: float = 1.0

    @property
    def scale_bar_px(self) -> int:
        return round(self.scale_bar_um * 1000 * self.scale_px_per_nm)

    @property
    def scale_bar_origin(self) -> tuple[int, int]:
        return MARGIN, self.height - BAR_HEIGHT + 20

    def xy(self, x: float, y: float) -> tuple[float, float]:
        """Pixel of mag-1 point (x, y) in the top view."""
        return (
            self.xy_origin[0] + (x - self.region_topleft[0]) * self.voxel_size_nm[0] * self.scale_px_per_nm,
            self.xy_origin[1] + (y - self.region_topleft[1]) * self.voxel_size_nm[1] * self.scale_px_per_nm,
        )

    def xz(self, x: float, z: float) -> tuple[float, float]:
        """Pixel of mag-1 point (x, z) in the side view."""
        return (
            self.xz_origin[0] + (x - self.region_topleft[0]) * self.voxel_size_nm[0] * self.scale_px_per_nm,
            self.xz_origin[1] + (z - self.region_topleft[2]) * self.voxel_size_nm[2] * self.scale_px_per_nm,
        )


def layout(plan: Plan, width: int = DEFAULT_WIDTH) -> PreviewLayout:
    """Scale and placement of both views for a picture ``width`` pixels wide."""
    if width < 200:
        raise InvalidInput(f"the preview must be at least 200 pixels wide, got {width}")
    extent = np.asarray(plan.region.size, dtype=float) * np.asarray(plan.voxel_size_nm)
    scale = (width - 2 * MARGIN) / extent[0]
    tall = extent[1] + extent[2]
    if tall * scale > MAX_ASPECT * width:  # very deep or long regions: keep the picture readable
        scale = MAX_ASPECT * width / tall
    xy_h, xz_h = round(extent[1] * scale), round(extent[2] * scale)
    height = MARGIN + xy_h + GAP + xz_h + BAR_HEIGHT
    left = MARGIN + round(((width - 2 * MARGIN) - extent[0] * scale) / 2)
    return PreviewLayout(
        width=width,
        height=int(height),
        scale_px_per_nm=float(scale),
        xy_origin=(left, MARGIN),
        xz_origin=(left, MARGIN + xy_h + GAP),
        region_topleft=tuple(int(v) for v in plan.region.topleft),  # type: ignore[arg-type]
        voxel_size_nm=tuple(float(v) for v in plan.voxel_size_nm),  # type: ignore[arg-type]
        scale_bar_um=_nice_length_um((width - 2 * MARGIN) / scale / 1000 / 4),
    )


def _box_color(index: int, count: int) -> tuple[int, int, int]:
    from .annotation import box_colors

    r, g, b, _ = box_colors(count)[index]
    return round(r * 255), round(g * 255), round(b * 255)


def _number(name: str, index: int) -> str:
    last = name.rsplit(" ", 1)[-1]
    return last if last.isdigit() else str(index + 1)


def _font(size: int) -> tuple[Any, bool]:
    """A font, and whether it has the µ sign (DejaVu Sans if installed; Pillow's own font has not)."""
    from PIL import ImageFont

    for name in ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "Arial.ttf"):
        try:
            return ImageFont.truetype(name, size), True
        except OSError:
            continue
    try:
        return ImageFont.load_default(size=size), False
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default(), False


def _nice_length_um(max_um: float) -> float:
    """The largest 1, 2 or 5 × 10^k µm not above ``max_um``."""
    if max_um <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(max_um))
    return max(step * power for step in (1, 2, 5) if step * power <= max_um)


def _background(view: str, lay: PreviewLayout, plan: Plan, tissue: Any, size: tuple[int, int], origin: tuple[int, int]) -> tuple[np.ndarray, np.ndarray] | None:
    """(grey image, outline mask) of a view's pixels, sampled from the tissue map's projections."""
    if tissue is None or f"image_{view}" not in tissue.projections:
        return None
    axes = (0, 1) if view == "xy" else (0, 2)
    w, h = size
    if w <= 0 or h <= 0:
        return None
    scale = lay.scale_px_per_nm
    u = plan.region.topleft[axes[0]] + (np.arange(w) + 0.5) / scale / plan.voxel_size_nm[axes[0]]
    v = plan.region.topleft[axes[1]] + (np.arange(h) + 0.5) / scale / plan.voxel_size_nm[axes[1]]
    image = tissue.projections[f"image_{view}"]
    mask = tissue.projections[f"mask_{view}"]
    iu = np.clip((u // tissue.mag[axes[0]]).astype(int) - tissue.origin[axes[0]], 0, image.shape[0] - 1)
    iv = np.clip((v // tissue.mag[axes[1]]).astype(int) - tissue.origin[axes[1]], 0, image.shape[1] - 1)
    grey = image[np.ix_(iu, iv)].T  # rows = v, columns = u
    lo, hi = np.percentile(image, (1, 99)) if image.size else (0, 1)
    grey = np.clip((grey - lo) / max(hi - lo, 1e-9) * 255, 0, 255).astype(np.uint8)
    inside = mask[np.ix_(iu, iv)].T >= 0.5
    edge = np.zeros_like(inside)
    edge[:-1, :] |= inside[:-1, :] != inside[1:, :]
    edge[:, :-1] |= inside[:, :-1] != inside[:, 1:]
    return grey, edge


def render_preview(plan: Plan, path: Path | str, tissue: Any | None = None, *, width: int = DEFAULT_WIDTH) -> PreviewLayout:
    """Draw ``plan`` (and the :class:`~wkgt.tissue.TissueMap` ``tissue``, if read) to a PNG at ``path``."""
    from PIL import Image, ImageDraw

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise InvalidInput(f"--preview must name a .png file, got {path}")
    lay = layout(plan, width)
    picture = Image.new("RGB", (lay.width, lay.height), BACKGROUND)
    draw = ImageDraw.Draw(picture)
    (label_font, has_mu), (small_font, _) = _font(14), _font(12)
    views = (("xy", lay.xy_origin, lay.xy, 1), ("xz", lay.xz_origin, lay.xz, 2))
    for view, origin, to_px, axis in views:
        end = to_px(plan.region.end[0], plan.region.end[axis])
        size = (round(end[0]) - origin[0], round(end[1]) - origin[1])
        draw.rectangle([origin[0], origin[1], origin[0] + size[0] - 1, origin[1] + size[1] - 1], fill=EMPTY_REGION)
        found = _background(view, lay, plan, tissue, size, origin)
        if found is not None:
            grey, edge = found
            rgb = np.repeat(grey[:, :, None], 3, axis=2)
            rgb[edge] = OUTLINE
            picture.paste(Image.fromarray(rgb, "RGB"), origin)
        title = "top view (XY)" if view == "xy" else "side view (XZ)"
        draw.text((origin[0], origin[1] - 18), title, fill=TEXT, font=label_font)
    _draw_boxes(draw, plan, lay, small_font)
    _draw_scale_bar(draw, lay, label_font, "µm" if has_mu else "um")
    picture.save(path, format="PNG")
    return lay


def _draw_boxes(draw: Any, plan: Plan, lay: PreviewLayout, font: Any) -> None:
    for box in plan.avoided:
        for to_px, axis in ((lay.xy, 1), (lay.xz, 2)):
            a = to_px(box.topleft[0], box.topleft[axis])
            b = to_px(box.topleft[0] + box.size[0], box.topleft[axis] + box.size[axis])
            draw.rectangle([round(a[0]), round(a[1]), round(b[0]) - 1, round(b[1]) - 1], outline=AVOIDED, width=1)
    count = len(plan.boxes)
    strata = max((box.stratum or 0 for box in plan.boxes + plan.holdout), default=0)
    for i, planned in enumerate(plan.boxes + plan.holdout):
        held = i >= count
        color = _box_color(planned.stratum - 1, strata) if strata and planned.stratum else _box_color(i % max(count, 1), count)
        label = ("E" if held else "") + _number(planned.name, i if not held else i - count)
        label += f" s{planned.stratum}" if strata and planned.stratum else ""
        for to_px, axis in ((lay.xy, 1), (lay.xz, 2)):
            a = to_px(planned.topleft[0], planned.topleft[axis])
            b = to_px(planned.topleft[0] + planned.size[0], planned.topleft[axis] + planned.size[axis])
            rect = [round(a[0]), round(a[1]), max(round(b[0]) - 1, round(a[0])), max(round(b[1]) - 1, round(a[1]))]
            draw.rectangle(rect, outline=HOLDOUT if held else color, width=2)
            draw.text((rect[0] + 3, rect[1] + 2), label, fill=HOLDOUT if held else color, font=font)


def _draw_scale_bar(draw: Any, lay: PreviewLayout, font: Any, unit: str) -> None:
    length_px = lay.scale_bar_px
    x0, y0 = lay.scale_bar_origin
    draw.rectangle([x0, y0, x0 + length_px - 1, y0 + 5], fill=TEXT)
    label = f"{lay.scale_bar_um:g} {unit}"
    draw.text((x0 + length_px + 8, y0 - 5), label, fill=TEXT, font=font)

