"""A picture of a plan that explains itself (Pillow PNG).

From top to bottom: a title (dataset, mag, boxes, seed, date) and a legend (new boxes, earlier
boxes when drawn, tissue outline); the top (XY) and side (XZ) views in physical proportions, sharing one
horizontal scale, with axes in mag-1 voxels; a scale bar in µm; and, when the job can read image
data, a contact sheet with one slice of every box at the training mag.

The views' background is the mean of the coarsest mag along the hidden axis (a mean projection)
where the tissue check read it, resampled smoothly (bicubic over the coarse grid: no blocks, no seams),
with the outline of where the tissue mask covers at least half of that axis. Every box is drawn
in its annotation colour and labelled with its number on a dark tag placed clear of the other
labels, so overlapping boxes stay readable; boxes of earlier rounds are grey.

With strata (``--strategy diverse``, ``--holdout``) a box's colour is its stratum's and its
label ends in ``s<stratum>``; evaluation boxes are white, numbered ``E01``…; a second legend
line says so.
"""

from __future__ import annotations

import colorsys
import datetime as dt
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from ..errors import InvalidInput
from ..planner.plan import Plan
from ..planner.vectors import Vec3, format_mag, format_vec
from .progress import SILENT, Progress

DEFAULT_WIDTH = 1000
LEFT = 80
RIGHT = 30
TITLE_HEIGHT = 66
VIEW_LABEL = 24
GAP = 20
AXIS_HEIGHT = 40
BAR_HEIGHT = 40
MAX_ASPECT = 4.0
THUMB = 100
CELL = (120, 126)
SHEET_TITLE = 30
MAX_SLICES = 100

BACKGROUND = (24, 24, 24)
EMPTY_REGION = (64, 64, 64)
OUTLINE = (0, 230, 120)
AVOIDED = (150, 150, 150)
HOLDOUT = (255, 255, 255)
TEXT = (240, 240, 240)
MUTED = (170, 170, 170)
TAG = (10, 10, 10)
NO_IMAGE = (48, 32, 32)

SliceReaders = Callable[[Vec3], Callable[[Vec3, Vec3], np.ndarray]]
"""``readers(mag)`` → a reader of that mag (``reader(start, size)``, both in voxels of the mag)."""


@attrs.frozen
class PreviewRequest:
    """A preview to draw: the ``path`` (a ``.png``), the ``dataset`` named in the title, how to
    read image slices of each box (``slices``: a reader per mag; None: no contact sheet), and
    where to report the reading."""

    path: Path = attrs.field(converter=Path)
    dataset: str = ""
    slices: SliceReaders | None = None
    progress: Progress = SILENT
    max_slices: int = MAX_SLICES


def check_preview_path(path: Path | str) -> Path:
    """``--preview`` must name a ``.png`` file (checked before any work)."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise InvalidInput(f"--preview must name a .png file, got {path}")
    return path


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
    region_size: tuple[int, int, int] = (0, 0, 0)
    slices: int = 0
    """Boxes on the contact sheet."""
    labels: tuple[tuple[str, tuple[int, int, int, int]], ...] = ()
    """Each box label drawn in the views: its text and tag rectangle (x0, y0, x1, y1)."""
    legend: tuple[str, ...] = ()
    """The legend's entries, in the order drawn."""

    @property
    def views_bottom(self) -> int:
        return round(self.xz(0, self.region_topleft[2] + self.region_size[2])[1]) if self.region_size[2] else self.xz_origin[1]

    @property
    def scale_bar_px(self) -> int:
        return round(self.scale_bar_um * 1000 * self.scale_px_per_nm)

    @property
    def scale_bar_origin(self) -> tuple[int, int]:
        return LEFT, self.views_bottom + AXIS_HEIGHT + 14

    @property
    def legend_top(self) -> int:
        return 36

    @property
    def sheet_top(self) -> int:
        """Top of the contact sheet (its title), below the scale bar."""
        return self.views_bottom + AXIS_HEIGHT + BAR_HEIGHT

    @property
    def sheet_columns(self) -> int:
        return max(1, (self.width - LEFT - RIGHT) // CELL[0])

    def sheet_cell(self, index: int) -> tuple[int, int]:
        """Top-left pixel of the thumbnail area of the ``index``-th box on the contact sheet."""
        row, column = divmod(index, self.sheet_columns)
        return LEFT + column * CELL[0], self.sheet_top + SHEET_TITLE + row * CELL[1]

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


def layout(plan: Plan, width: int = DEFAULT_WIDTH, slices: int = 0) -> PreviewLayout:
    """Scale and placement of everything for a picture ``width`` pixels wide with ``slices``
    boxes on the contact sheet."""
    if width < 300:
        raise InvalidInput(f"the preview must be at least 300 pixels wide, got {width}")
    extent = np.asarray(plan.region.size, dtype=float) * np.asarray(plan.voxel_size_nm)
    inner = width - LEFT - RIGHT
    scale = inner / extent[0]
    tall = extent[1] + extent[2]
    if tall * scale > MAX_ASPECT * width:  # very deep or long regions: keep the picture readable
        scale = MAX_ASPECT * width / tall
    xy_h, xz_h = round(extent[1] * scale), round(extent[2] * scale)
    left = LEFT + round((inner - extent[0] * scale) / 2)
    xy_top = TITLE_HEIGHT + VIEW_LABEL
    xz_top = xy_top + xy_h + GAP + VIEW_LABEL
    height = xz_top + xz_h + AXIS_HEIGHT + BAR_HEIGHT
    columns = max(1, inner // CELL[0])
    if slices:
        height += SHEET_TITLE + math.ceil(slices / columns) * CELL[1] + 10
    return PreviewLayout(
        width=width,
        height=int(height),
        scale_px_per_nm=float(scale),
        xy_origin=(left, xy_top),
        xz_origin=(left, xz_top),
        region_topleft=tuple(int(v) for v in plan.region.topleft),  # type: ignore[arg-type]
        voxel_size_nm=tuple(float(v) for v in plan.voxel_size_nm),  # type: ignore[arg-type]
        scale_bar_um=_nice_length_um(inner / scale / 1000 / 4),
        region_size=tuple(int(v) for v in plan.region.size),  # type: ignore[arg-type]
        slices=slices,
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


def _nice_step(at_least: float) -> int:
    """The smallest 1, 2 or 5 × 10^k (an integer ≥ 1) not below ``at_least``."""
    if at_least <= 1:
        return 1
    power = 10 ** math.floor(math.log10(at_least))
    return int(min(step * power for step in (1, 2, 5, 10) if step * power >= at_least))


def _resampled(values: np.ndarray, mag: Sequence[int], origin: Sequence[int], axes: tuple[int, int], plan: Plan, size: tuple[int, int]) -> np.ndarray:
    """A coarse projection (indexed [u, v]) over the region, resampled bicubically to ``size`` pixels (rows = v)."""
    from PIL import Image

    start = [plan.region.topleft[a] / mag[a] - origin[a] for a in axes]
    end = [plan.region.end[a] / mag[a] - origin[a] for a in axes]
    image = Image.fromarray(np.ascontiguousarray(values.T, dtype=np.float32))
    resized = image.resize(size, Image.Resampling.BICUBIC, box=(start[0], start[1], end[0], end[1]))
    return np.asarray(resized)


def _background(view: str, plan: Plan, tissue: Any, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray] | None:
    """(grey image, outline mask) of a view's pixels from the tissue map's mean projections."""
    if tissue is None or f"image_{view}" not in tissue.projections:
        return None
    w, h = size
    if w <= 0 or h <= 0:
        return None
    axes = (0, 1) if view == "xy" else (0, 2)
    image = tissue.projections[f"image_{view}"]
    mean = _resampled(image, tissue.mag, tissue.origin, axes, plan, size)
    lo, hi = np.percentile(image, (1, 99)) if image.size else (0, 1)
    grey = np.clip((mean - lo) / max(hi - lo, 1e-9) * 255, 0, 255).astype(np.uint8)
    inside = _resampled(tissue.projections[f"mask_{view}"], tissue.mag, tissue.origin, axes, plan, size) >= 0.5
    edge = np.zeros_like(inside)
    edge[:-1, :] |= inside[:-1, :] != inside[1:, :]
    edge[:, :-1] |= inside[:, :-1] != inside[:, 1:]
    return grey, edge


def render_preview(
    plan: Plan, target: Path | str | PreviewRequest, tissue: Any | None = None, *, width: int = DEFAULT_WIDTH, today: dt.date | None = None
) -> PreviewLayout:
    """Draw ``plan`` (over the :class:`~wkgt.planner.tissue.TissueMap` ``tissue``, if read) into a
    PNG; ``target`` is its path or a :class:`PreviewRequest` (title, slices of the boxes)."""
    from PIL import Image, ImageDraw

    request = target if isinstance(target, PreviewRequest) else PreviewRequest(Path(target))
    path = check_preview_path(request.path)
    shown = plan.boxes[: request.max_slices] if request.slices is not None else ()
    lay = layout(plan, width, len(shown))
    picture = Image.new("RGB", (lay.width, lay.height), BACKGROUND)
    draw = ImageDraw.Draw(picture)
    fonts = Fonts()
    legend = _draw_title(draw, plan, request, lay, fonts, tissue, today or dt.date.today())
    views = (("xy", lay.xy_origin, lay.xy, 1), ("xz", lay.xz_origin, lay.xz, 2))
    for view, origin, to_px, axis in views:
        end = to_px(plan.region.end[0], plan.region.end[axis])
        size = (round(end[0]) - origin[0], round(end[1]) - origin[1])
        draw.rectangle([origin[0], origin[1], origin[0] + size[0] - 1, origin[1] + size[1] - 1], fill=EMPTY_REGION)
        found = _background(view, plan, tissue, size)
        if found is not None:
            grey, edge = found
            rgb = np.repeat(grey[:, :, None], 3, axis=2)
            rgb[edge] = OUTLINE
            picture.paste(Image.fromarray(np.ascontiguousarray(rgb)), origin)
        hidden = "z" if view == "xy" else "y"
        title = "top view (XY)" if view == "xy" else "side view (XZ)"
        if found is not None:
            title += f", mean along {hidden}"
        draw.text((origin[0], origin[1] - VIEW_LABEL + 4), title, fill=TEXT, font=fonts.label)
        _draw_axes(draw, lay, view, size, fonts)
    labels = _draw_boxes(draw, plan, lay, fonts.small)
    _draw_scale_bar(draw, lay, fonts.label, fonts.unit)
    if shown:
        _draw_contact_sheet(picture, draw, plan, shown, request, lay, fonts)
    picture.save(path, format="PNG")
    return attrs.evolve(lay, labels=labels, legend=legend)


class Fonts:
    """The picture's fonts: title, labels, small print, and the unit of lengths (µm if the font has µ)."""

    def __init__(self) -> None:
        self.title, has_mu = _font(16)
        self.label, _ = _font(13)
        self.small, _ = _font(11)
        self.unit = "µm" if has_mu else "um"


def _text_width(draw: Any, text: str, font: Any) -> int:
    left, _, right, _ = draw.textbbox((0, 0), text, font=font)
    return int(right - left)


def _draw_title(
    draw: Any, plan: Plan, request: PreviewRequest, lay: PreviewLayout, fonts: Fonts, tissue: Any, today: dt.date
) -> tuple[str, ...]:
    """Title line (what, where, how, when), then the legend line (and one for strata and
    evaluation boxes when the plan has them); returns the legend's entries."""
    dataset = request.dataset or "facts from the command line"
    size = format_vec(plan.box_size)
    earlier = f" (+ {len(plan.avoided)} earlier)" if plan.avoided else ""
    earlier += f" + {len(plan.holdout)} for evaluation" if plan.holdout else ""
    title = (
        f"{dataset} · mag {plan.mag} · {len(plan.boxes)} boxes of {size} voxels{earlier} · seed {plan.seed} · {today.isoformat()}"
    )
    draw.text((LEFT, 10), title, fill=TEXT, font=fonts.title)
    y = lay.legend_top
    x = LEFT
    for index in range(4):  # a row of softer hues: "many colours", never a box's own colour
        r, g, b = colorsys.hsv_to_rgb(index / 4, 0.55, 0.95)
        draw.rectangle([x + index * 7, y + 2, x + index * 7 + 12, y + 14], outline=(round(r * 255), round(g * 255), round(b * 255)), width=2)
    x += 40
    items = [("new boxes (numbered as in the table)", None)]
    for text, _ in items:
        draw.text((x, y), text, fill=TEXT, font=fonts.small)
        x += _text_width(draw, text, fonts.small) + 18
    legend = ["new boxes (numbered as in the table)"]
    if plan.avoided:  # only when the views draw some
        draw.rectangle([x, y + 2, x + 14, y + 14], outline=AVOIDED, width=1)
        x += 20
        text = "earlier boxes"
        draw.text((x, y), text, fill=TEXT, font=fonts.small)
        x += _text_width(draw, text, fonts.small) + 18
        legend.append(text)
    draw.line([x, y + 8, x + 16, y + 8], fill=OUTLINE, width=2)
    x += 22
    text = "tissue outline"
    draw.text((x, y), text, fill=TEXT, font=fonts.small)
    x += _text_width(draw, text, fonts.small) + 18
    if tissue is not None:
        note = f"background: mean projection of mag {format_mag(tissue.mag)}"
    else:
        note = "background: not read (no image)"
    draw.text((x, y), note + " · axes in mag-1 voxels", fill=MUTED, font=fonts.small)
    legend.append("tissue outline")
    y, x = y + 15, LEFT + 40
    if any(box.stratum for box in plan.boxes + plan.holdout):
        text = "“12 s3”: box 12, stratum 3 (one colour per stratum)"
        draw.text((x, y), text, fill=TEXT, font=fonts.small)
        x += _text_width(draw, text, fonts.small) + 18
        legend.append(text)
    if plan.holdout:
        draw.rectangle([x, y + 2, x + 14, y + 14], outline=HOLDOUT, width=2)
        x += 20
        text = f"evaluation boxes E01–E{len(plan.holdout):02d} (a separate annotation, not for training)"
        draw.text((x, y), text, fill=TEXT, font=fonts.small)
        legend.append(text)
    return tuple(legend)


def _draw_axes(draw: Any, lay: PreviewLayout, view: str, size: tuple[int, int], fonts: Fonts) -> None:
    """Ticks in mag-1 voxels: y (top view) or z (side view) on the left, x below the side view."""
    axis = 1 if view == "xy" else 2
    origin = lay.xy_origin if view == "xy" else lay.xz_origin
    to_px = lay.xy if view == "xy" else lay.xz
    px_per_voxel = [v * lay.scale_px_per_nm for v in lay.voxel_size_nm]
    start, extent = lay.region_topleft, lay.region_size
    step = _nice_step(60 / px_per_voxel[axis])
    for value in range(-(-start[axis] // step) * step, start[axis] + extent[axis] + 1, step):
        py = round(to_px(start[0], value)[1])
        draw.line([origin[0] - 5, py, origin[0] - 1, py], fill=MUTED)
        text = f"{value:,}"
        draw.text((origin[0] - 8 - _text_width(draw, text, fonts.small), py - 7), text, fill=MUTED, font=fonts.small)
    draw.text((origin[0] - 18, origin[1] - VIEW_LABEL + 4), "y" if view == "xy" else "z", fill=MUTED, font=fonts.small)
    if view != "xz":
        return
    bottom = origin[1] + size[1]
    step = _nice_step(90 / px_per_voxel[0])
    for value in range(-(-start[0] // step) * step, start[0] + extent[0] + 1, step):
        px = round(to_px(value, start[2])[0])
        draw.line([px, bottom + 1, px, bottom + 5], fill=MUTED)
        text = f"{value:,}"
        draw.text((px - _text_width(draw, text, fonts.small) // 2, bottom + 7), text, fill=MUTED, font=fonts.small)
    caption = "x (mag-1 voxels)"
    draw.text((origin[0] + size[0] - _text_width(draw, caption, fonts.small), bottom + 22), caption, fill=MUTED, font=fonts.small)


def _rect(to_px: Callable[[float, float], tuple[float, float]], topleft: Sequence[int], size: Sequence[int], axis: int) -> list[int]:
    a = to_px(topleft[0], topleft[axis])
    b = to_px(topleft[0] + size[0], topleft[axis] + size[axis])
    return [round(a[0]), round(a[1]), max(round(b[0]) - 1, round(a[0])), max(round(b[1]) - 1, round(a[1]))]


def _overlaps(a: Sequence[int], b: Sequence[int]) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _place_label(rect: Sequence[int], w: int, h: int, placed: list[tuple[int, int, int, int]], bounds: tuple[int, int]) -> tuple[int, int, int, int]:
    """A tag of w × h pixels beside or inside ``rect`` that overlaps no placed tag (or, failing
    that, the first free place below the box's corner)."""
    x0, y0, x1, y1 = rect
    candidates = [
        (x0 + 2, y0 + 2), (x0, y0 - h - 1), (x1 - w - 1, y1 - h - 1), (x0, y1 + 2),
        (x0 - w - 2, y0), (x1 + 2, y0), (x1 + 2, y1 - h), (x0 - w - 2, y1 - h),
    ]
    candidates += [(x0 + 2, y0 + 2 + k * (h + 1)) for k in range(1, 40)]
    for cx, cy in candidates:
        tag = (cx, cy, cx + w, cy + h)
        if tag[0] >= 0 and tag[1] >= 0 and tag[2] < bounds[0] and tag[3] < bounds[1] and not any(_overlaps(tag, p) for p in placed):
            return tag
    return (x0 + 2, y0 + 2, x0 + 2 + w, y0 + 2 + h)


def _draw_boxes(draw: Any, plan: Plan, lay: PreviewLayout, font: Any) -> tuple[tuple[str, tuple[int, int, int, int]], ...]:
    """Earlier boxes grey, then the plan's in their colours; then every number on a dark tag
    placed clear of the others (labels are drawn last, so no outline crosses them)."""
    for box in plan.avoided:
        for to_px, axis in ((lay.xy, 1), (lay.xz, 2)):
            draw.rectangle(_rect(to_px, box.topleft, box.size, axis), outline=AVOIDED, width=1)
    count = len(plan.boxes)
    strata = max((box.stratum or 0 for box in plan.boxes + plan.holdout), default=0)
    pending = []
    for i, planned in enumerate(plan.boxes + plan.holdout):
        held = i >= count
        if held:
            color = HOLDOUT
        elif strata and planned.stratum:
            color = _box_color(planned.stratum - 1, strata)
        else:
            color = _box_color(i, count)
        label = ("E" if held else "") + _number(planned.name, i if not held else i - count)
        label += f" s{planned.stratum}" if strata and planned.stratum else ""
        for to_px, axis in ((lay.xy, 1), (lay.xz, 2)):
            rect = _rect(to_px, planned.topleft, planned.size, axis)
            draw.rectangle(rect, outline=color, width=2)
            pending.append((label, rect, color))
    placed: list[tuple[int, int, int, int]] = []
    labels = []
    for text, rect, color in pending:
        w, h = _text_width(draw, text, font) + 4, 13
        tag = _place_label(rect, w, h, placed, (lay.width, lay.height))
        placed.append(tag)
        draw.rectangle(tag, fill=TAG)
        draw.text((tag[0] + 2, tag[1]), text, fill=color, font=font)
        labels.append((text, tag))
    return tuple(labels)


def _draw_scale_bar(draw: Any, lay: PreviewLayout, font: Any, unit: str) -> None:
    length_px = lay.scale_bar_px
    x0, y0 = lay.scale_bar_origin
    draw.rectangle([x0, y0, x0 + length_px - 1, y0 + 5], fill=TEXT)
    label = f"{lay.scale_bar_um:g} {unit}"
    draw.text((x0 + length_px + 8, y0 - 5), label, fill=TEXT, font=font)


def read_slices(plan: Plan, boxes: Sequence[Any], readers: SliceReaders, progress: Progress = SILENT) -> tuple[list[np.ndarray | None], str | None]:
    """The middle z section of each box at the plan's mag (one small read per box, [x, y]), and
    why the rest are missing if a read failed (then no more are tried)."""
    mag = plan.mag_vec
    progress.step(f"reading one slice of each of {len(boxes)} boxes at mag {plan.mag} for the preview")
    out: list[np.ndarray | None] = []
    try:
        reader = readers(mag)
    except Exception as err:  # noqa: BLE001 - no image data at that mag, a datastore that refuses: no sheet
        return [None] * len(boxes), _reason(err)
    for index, box in enumerate(boxes):
        start = (box.topleft[0] // mag[0], box.topleft[1] // mag[1], (box.topleft[2] + box.size[2] // 2) // mag[2])
        size = (max(1, box.size[0] // mag[0]), max(1, box.size[1] // mag[1]), 1)
        try:
            data = np.asarray(reader(start, size))
        except Exception as err:  # noqa: BLE001 - see above
            return out + [None] * (len(boxes) - index), _reason(err)
        progress.advance(int(data.nbytes))
        out.append(data.reshape(data.shape[0], data.shape[1], -1)[:, :, 0])
    return out, None


def _reason(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:120]


def _draw_contact_sheet(
    picture: Any, draw: Any, plan: Plan, boxes: Sequence[Any], request: PreviewRequest, lay: PreviewLayout, fonts: Fonts
) -> None:
    """One thumbnail per box: its middle z section at the training mag, framed in its colour."""
    from PIL import Image

    assert request.slices is not None
    slices, failure = read_slices(plan, boxes, request.slices, request.progress)
    read = [s for s in slices if s is not None and s.size]
    values = np.concatenate([s.ravel().astype(np.float64) for s in read]) if read else np.zeros(1)
    lo, hi = np.percentile(values, (1, 99))
    more = f" (the first {len(boxes)} of {len(plan.boxes)} boxes)" if len(boxes) < len(plan.boxes) else ""
    title = f"one slice per box: its middle z section at mag {plan.mag}, the training mag{more}"
    if failure:
        title += f"; image not readable: {failure}"
    draw.text((LEFT, lay.sheet_top + 8), title, fill=TEXT, font=fonts.label)
    ex, ey = plan.effective_voxel_size_nm[0], plan.effective_voxel_size_nm[1]
    count = len(plan.boxes)
    for index, (box, section) in enumerate(zip(boxes, slices)):
        x, y = lay.sheet_cell(index)
        color = _box_color(index, count)
        if section is None or not section.size:
            draw.rectangle([x, y, x + THUMB - 1, y + THUMB - 1], fill=NO_IMAGE, outline=color, width=2)
            draw.text((x + 6, y + THUMB // 2 - 7), "no image", fill=MUTED, font=fonts.small)
        else:
            w_nm, h_nm = section.shape[0] * ex, section.shape[1] * ey
            fit = (THUMB - 4) / max(w_nm, h_nm)
            size = (max(1, round(w_nm * fit)), max(1, round(h_nm * fit)))
            grey = np.clip((section.T.astype(np.float64) - lo) / max(hi - lo, 1e-9) * 255, 0, 255).astype(np.uint8)
            thumb = Image.fromarray(np.ascontiguousarray(grey)).resize(size, Image.Resampling.BILINEAR)
            draw.rectangle([x, y, x + size[0] + 3, y + size[1] + 3], outline=color, width=2)
            picture.paste(thumb.convert("RGB"), (x + 2, y + 2))
        draw.text((x, y + THUMB + 4), box.name, fill=TEXT, font=fonts.small)
