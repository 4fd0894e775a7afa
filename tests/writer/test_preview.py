"""--preview: a valid PNG of the stated size, in physical proportions, with the boxes where the plan says."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from wkgt.planner import Plan
from wkgt.writer.preview import AVOIDED, EMPTY_REGION, OUTLINE, TEXT, layout, render_preview

from ..helpers import create_boxes_argv, run_json

PLAN = ["plan", "--voxel-size", "11.24,11.24,28", "--mags", "1,2-2-1,4-4-1", "--bbox", "100,200,50,2048,1024,512", "--json"]


def png_size(path: Path) -> tuple[int, int]:
    raw = path.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n" and raw[12:16] == b"IHDR"
    return struct.unpack(">II", raw[16:24])


def pixels(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def box_rgb(index: int, count: int) -> tuple[int, int, int]:
    from wkgt.writer.annotation import box_colors

    return tuple(round(c * 255) for c in box_colors(count)[index][:3])  # type: ignore[return-value]


def outline_share(image: np.ndarray, a: tuple[float, float], b: tuple[float, float], rgb: tuple[int, int, int]) -> float:
    """Share of a rectangle's outline pixels that have colour ``rgb``."""
    x0, y0, x1, y1 = round(a[0]), round(a[1]), round(b[0]) - 1, round(b[1]) - 1
    edge = np.concatenate([image[y0, x0 : x1 + 1], image[y1, x0 : x1 + 1], image[y0 : y1 + 1, x0], image[y0 : y1 + 1, x1]])
    return float(np.all(edge == rgb, axis=1).mean())


def test_plan_preview_is_a_png_with_boxes_where_the_plan_says(tmp_path, capsys):
    out = tmp_path / "plan.png"
    code, data, err = run_json(capsys, [*PLAN, "--preview", str(out)])
    assert code == 0, err
    plan = Plan.from_dict(data)
    lay = layout(plan)
    assert png_size(out) == (lay.width, lay.height) == (1000, lay.height)
    image = pixels(out)
    # the region in physical proportions: 2048×1024×512 voxels of 11.24×11.24×28 nm
    region_xy = np.all(image == EMPTY_REGION, axis=2)
    region_xy &= (region_xy.sum(axis=1) > 100)[:, None]  # not grey pixels of anti-aliased text (title, ticks)
    region_xy &= (region_xy.sum(axis=0) > 100)[None, :]
    rows, cols = np.nonzero(region_xy[: lay.xz_origin[1] - 20])
    width_px, height_px = cols.max() - cols.min() + 1, rows.max() - rows.min() + 1
    assert height_px / width_px == pytest.approx(1024 / 2048, abs=0.01)
    assert (cols.min(), rows.min()) == lay.xy_origin
    rows, cols = np.nonzero(region_xy[lay.xz_origin[1] :])
    assert (rows.max() - rows.min() + 1) / width_px == pytest.approx(512 * 28 / (2048 * 11.24), abs=0.01)
    assert (cols.min(), rows.min() + lay.xz_origin[1]) == lay.xz_origin
    # every box outlined in its colour in both views, at the plan's coordinates mapped onto the
    # region rectangles found in the picture (a later box may hide part of an earlier one where
    # they overlap in projection)
    def mapper(top: int, bottom: int, axis: int):
        part = region_xy[top:bottom] & (region_xy[top:bottom].sum(axis=1) > 100)[:, None]  # not anti-aliased text
        rows, cols = np.nonzero(part)
        left, up = cols.min(), rows.min() + top
        sx = (cols.max() + 1 - left) / plan.region.size[0]
        sy = (rows.max() + 1 + top - up) / plan.region.size[axis]
        return lambda u, v: (left + (u - plan.region.topleft[0]) * sx, up + (v - plan.region.topleft[axis]) * sy)

    top_px, side_px = mapper(0, lay.xz_origin[1] - 20, 1), mapper(lay.xz_origin[1] - 20, lay.height - 40, 2)
    n = len(plan.boxes)
    shares = []
    for i, box in enumerate(plan.boxes):
        (x0, y0, z0), (x1, y1, z1) = box.topleft, tuple(np.add(box.topleft, box.size))
        shares.append(outline_share(image, top_px(x0, y0), top_px(x1, y1), box_rgb(i, n)))
        shares.append(outline_share(image, side_px(x0, z0), side_px(x1, z1), box_rgb(i, n)))
    assert min(shares) >= 0.25 and np.median(shares) > 0.9
    # and not somewhere else: the box colour does not appear far from every box
    first = box_rgb(0, n)
    ys, xs = np.nonzero(np.all(image == first, axis=2))
    a, b = lay.xy(plan.boxes[0].topleft[0], plan.boxes[0].topleft[1]), lay.xy(plan.boxes[0].topleft[0] + plan.boxes[0].size[0], plan.boxes[0].topleft[1] + plan.boxes[0].size[1])
    in_xy = (xs >= a[0] - 2) & (xs <= b[0] + 2) & (ys >= a[1] - 2) & (ys <= b[1] + 2)
    a, b = lay.xz(plan.boxes[0].topleft[0], plan.boxes[0].topleft[2]), lay.xz(plan.boxes[0].topleft[0] + plan.boxes[0].size[0], plan.boxes[0].topleft[2] + plan.boxes[0].size[2])
    in_xz = (xs >= a[0] - 2) & (xs <= b[0] + 2) & (ys >= a[1] - 2) & (ys <= b[1] + 2)
    assert np.all(in_xy | in_xz)
    # the scale bar: white, as long as its length in µm says
    x, y = lay.scale_bar_origin
    bar = np.all(image[y + 2] == (240, 240, 240), axis=1)
    assert bar[x : x + lay.scale_bar_px].all() and not bar[x + lay.scale_bar_px + 2]
    assert lay.scale_bar_px == round(lay.scale_bar_um * 1000 * lay.scale_px_per_nm)


def test_create_boxes_preview_shows_tissue_outline_and_background(sandbox, tmp_path, capsys):
    out = tmp_path / "boxes.png"
    code, data, err = run_json(capsys, create_boxes_argv(sandbox, "partial_tissue", "--dry-run", "--json", "--count", "6", "--preview", str(out)))
    assert code == 0, err
    assert data["preview"] == str(out)
    plan = Plan.from_dict(data)
    lay = layout(plan, slices=len(plan.boxes))
    assert png_size(out) == (lay.width, lay.height)
    image = pixels(out).astype(int)
    views = image[: lay.sheet_top]
    assert np.all(views == OUTLINE, axis=2).sum() > 200  # the tissue outline
    # tissue (x small) is bright, the black background (x large, y large) dark
    tissue_px = image[round(lay.xy(100, 1000)[1]), round(lay.xy(100, 1000)[0])]
    empty_px = image[round(lay.xy(1950, 1950)[1]), round(lay.xy(1950, 1950)[0])]
    assert tissue_px.mean() > 150 and empty_px.mean() < 30
    for i, box in enumerate(plan.boxes):
        a, b = lay.xy(box.topleft[0], box.topleft[1]), lay.xy(box.topleft[0] + box.size[0], box.topleft[1] + box.size[1])
        assert outline_share(image, a, b, box_rgb(i, len(plan.boxes))) >= 0.25
    # the title (text in the band above the legend) and the legend's swatch of the tissue outline (no earlier boxes here)
    assert np.all(image[4:30] == TEXT, axis=2).sum() > 150
    legend = image[lay.legend_top : lay.legend_top + 16]
    assert not has_swatch(legend, AVOIDED) and np.all(legend == OUTLINE, axis=2).sum() >= 24


def test_contact_sheet_shows_a_slice_of_every_box_at_the_training_mag(sandbox, tmp_path, capsys):
    """One thumbnail per box: framed in the box's colour, and showing the image data inside the box
    (partial_tissue: boxes lie on tissue, so each slice has texture; the padding beside it is black)."""
    out = tmp_path / "sheet.png"
    code, data, err = run_json(capsys, create_boxes_argv(sandbox, "partial_tissue", "--dry-run", "--json", "--count", "6", "--preview", str(out)))
    assert code == 0, err
    plan = Plan.from_dict(data)
    lay = layout(plan, slices=len(plan.boxes))
    image = pixels(out).astype(int)
    assert image[lay.sheet_top :].std() > 10
    for i, box in enumerate(plan.boxes):
        x, y = lay.sheet_cell(i)
        frame = image[y, x : x + 90]
        assert np.all(frame == box_rgb(i, len(plan.boxes)), axis=1).mean() > 0.9
        inside = image[y + 4 : y + 90, x + 4 : x + 90]
        assert inside.std() > 8, f"box {box.name}: the slice is flat"
        assert inside.mean() > 60, f"box {box.name}: the slice is dark (not the tissue the box lies on)"
    # the slices were read at mag 1, one small read per box
    reads = [e.path for e in sandbox.state.request_log if "/color/1/" in e.path]
    assert reads and all("/color/1/" in path for path in reads)


def test_labels_of_boxes_that_overlap_in_projection_do_not_overlap(tmp_path):
    """Thirty boxes in a thin slab overlap in the side view; every label gets its own place."""
    from wkgt.planner import PlanOptions
    from wkgt.planner.placement import Region
    from wkgt.planner.plan import make_plan

    plan = make_plan(PlanOptions(count=30).request((10.0, 10.0, 25.0), ((1, 1, 1),), Region((0, 0, 0), (3000, 3000, 200))))
    lay = render_preview(plan, tmp_path / "crowded.png")
    tags = [tag for _, tag in lay.labels]
    assert len(tags) == 2 * len(plan.boxes)
    overlapping = [(a, b) for i, a in enumerate(tags) for b in tags[i + 1 :] if a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]]
    assert overlapping == []
    assert all(0 <= t[0] and t[2] < lay.width and 0 <= t[1] and t[3] < lay.height for t in tags)
    image = pixels(tmp_path / "crowded.png")
    text, tag = lay.labels[0]
    assert np.all(image[tag[1] : tag[3], tag[0] : tag[2]] == box_rgb(0, len(plan.boxes)), axis=2).any()


def test_background_is_resampled_smoothly_without_blocks(tmp_path):
    """A coarse grid of 16 columns drawn 900 pixels wide: a gradient stays a gradient (hundreds of
    grey levels, never falling), not 16 blocks of one grey each."""
    from wkgt.planner import PlanOptions
    from wkgt.planner.placement import Region
    from wkgt.planner.plan import make_plan
    from wkgt.planner.tissue import TissueMap

    plan = make_plan(PlanOptions(count=2).request((10.0, 10.0, 10.0), ((1, 1, 1), (16, 16, 16)), Region((0, 0, 0), (256, 256, 256))))
    ramp = np.repeat(np.arange(16, dtype=float)[:, None], 16, axis=1)
    tissue = TissueMap(
        (16, 16, 16), (0, 0, 0), np.ones((16, 16, 16), dtype=bool),
        projections={"image_xy": ramp, "image_xz": ramp, "mask_xy": np.ones((16, 16)), "mask_xz": np.ones((16, 16))},
    )
    lay = render_preview(plan, tmp_path / "smooth.png", tissue)
    covered = {y for _, tag in lay.labels for y in range(tag[1] - 2, tag[3] + 3)}
    for box in plan.boxes:
        top, bottom = lay.xy(0, box.topleft[1])[1], lay.xy(0, box.topleft[1] + box.size[1])[1]
        covered |= set(range(round(top) - 3, round(bottom) + 4))
    y = next(y for y in range(lay.xy_origin[1] + 2, round(lay.xy(0, 256)[1]) - 2) if y not in covered)
    row = pixels(tmp_path / "smooth.png")[y, :, 0].astype(int)
    x0, x1 = round(lay.xy(0, 0)[0]), round(lay.xy(256, 0)[0])
    inner = row[x0 + 30 : x1 - 30]  # away from the clipped ends of the 1–99 % stretch
    assert np.all(np.diff(inner) >= 0)
    assert len(np.unique(inner)) > 150


def test_preview_must_be_png(tmp_path, capsys):
    code, _, err = run_json(capsys, [*PLAN, "--preview", str(tmp_path / "plan.jpg")])
    assert code == 2 and "--preview" in err


def has_swatch(band: np.ndarray, rgb: tuple[int, int, int]) -> bool:
    """A legend swatch of colour ``rgb``: a square outline, i.e. a column of at least 12 such pixels
    in a row (text, antialiased, has no such runs)."""
    hits = np.all(band == rgb, axis=2)
    return bool(any(hits[i : i + 12, :].all(axis=0).any() for i in range(hits.shape[0] - 11)))


def test_render_preview_draws_avoided_boxes_grey(tmp_path):
    import attrs

    from wkgt.planner import PlanOptions
    from wkgt.planner.placement import Region
    from wkgt.planner.plan import AvoidedBox, make_plan

    request = PlanOptions(count=4).request((10.0, 10.0, 25.0), ((1, 1, 1),), Region((0, 0, 0), (1000, 1000, 200)))
    old = AvoidedBox("0" * 24, "GT 01", (400, 400, 80), (100, 100, 40))
    plan = attrs.evolve(make_plan(request, occupied=[(old.topleft, old.size)], gap=10), avoided=(old,))
    out = tmp_path / "p.png"
    lay = render_preview(plan, out)
    image = pixels(out)
    a, b = lay.xy(400, 400), lay.xy(500, 500)
    assert outline_share(image, a, b, (150, 150, 150)) > 0.9
    assert "earlier boxes" in lay.legend and has_swatch(image[lay.legend_top : lay.legend_top + 16], AVOIDED)


def test_the_legend_names_earlier_boxes_only_when_some_are_drawn(tmp_path):
    from wkgt.planner import PlanOptions
    from wkgt.planner.placement import Region
    from wkgt.planner.plan import make_plan

    plan = make_plan(PlanOptions(count=4).request((10.0, 10.0, 25.0), ((1, 1, 1),), Region((0, 0, 0), (1000, 1000, 200))))
    lay = render_preview(plan, tmp_path / "p.png")
    legend = pixels(tmp_path / "p.png")[lay.legend_top : lay.legend_top + 16]
    assert "earlier boxes" not in lay.legend and "tissue outline" in lay.legend
    assert not has_swatch(legend, AVOIDED) and np.all(legend == OUTLINE, axis=2).sum() >= 24


def test_strata_and_evaluation_boxes_are_labelled_coloured_and_explained(tmp_path):
    """--strategy diverse / --holdout: each label ends in its stratum, a stratum has one colour,
    evaluation boxes are white E-boxes, and the legend says what "s3" and "E01" mean."""
    import attrs

    from wkgt.planner import PlanOptions
    from wkgt.planner.placement import Region
    from wkgt.planner.plan import Box, make_plan
    from wkgt.writer.preview import HOLDOUT

    base = make_plan(PlanOptions(count=4).request((10.0, 10.0, 25.0), ((1, 1, 1),), Region((0, 0, 0), (2000, 2000, 400))))
    boxes = tuple(attrs.evolve(b, stratum=1 + i % 2) for i, b in enumerate(base.boxes))
    held = (Box("EVAL 01", (1800, 1800, 300), base.box_size_mag1, stratum=2),)
    plan = attrs.evolve(base, boxes=boxes, holdout=held)
    out = tmp_path / "strata.png"
    lay = render_preview(plan, out)
    texts = [text for text, _ in lay.labels]
    assert texts == [f"{i:02d} s{1 + (i - 1) % 2}" for i in range(1, 5) for _ in range(2)] + ["E01 s2"] * 2
    assert any("stratum" in entry for entry in lay.legend) and any("evaluation boxes E01" in entry for entry in lay.legend)
    image = pixels(out)

    def outline(box):
        return [image[round(lay.xy(*box.topleft[:2])[1]), round(lay.xy(*box.topleft[:2])[0]) + k] for k in range(3, 8)]

    first, _, third, _ = (tuple(int(c) for c in outline(b)[0]) for b in boxes)
    assert first == third != tuple(int(c) for c in outline(boxes[1])[0])  # boxes 1 and 3 share stratum 1, box 2 is stratum 2
    assert all(tuple(int(c) for c in px) == HOLDOUT for px in outline(held[0]))
    plain = render_preview(base, tmp_path / "plain.png")
    assert [text for text, _ in plain.labels][0] == "01" and not any("stratum" in entry for entry in plain.legend)
