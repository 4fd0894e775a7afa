#!/usr/bin/env python3
"""Strategy benchmark: what ``--strategy diverse`` and ``--focus`` buy over random and even placement.

Data made here (tests/synthetic.py), planned with the real planner (make_plan + the strategy's placer):

1. **Diversity.** A volume of four textures, one of them rare (5 % of the volume, a cube at a
   random place); 10 boxes of 32³ (mag 1) over a 224³ region, the texture read at mag 2 where a
   box spans 16 voxels. Per seed (the volume and the plan share it): is the rare texture covered
   (some box at least half rare)? For ``--strategy diverse``, wkgt's even spread, and uniform
   random placement (the WEBKNOSSOS dialog's method: random mag-aligned corners, overlaps rejected).
2. **Focus.** Voronoi cells (24 voxels) in a 160³ region and a "prediction" with 8 injected errors
   (4 merges, 4 splits); 10 boxes of 32³. The share of boxes that show an injected error (at
   least 2 % of the box is the error and it holds two of its pieces), for ``--focus`` on the
   prediction, the even spread and random placement, next to the error zones' volume share.

Targets: diverse covers the rare texture in ≥ 95 % of seeds (random ≈ 40–60 %); focus puts
≥ 80 % of boxes on errors (random ≈ the error zones' share and a bit more).

Usage: python scripts/bench_strategies.py [--diverse-seeds 100] [--focus-seeds 20]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("WEBKNOSSOS_SKIP_VERSION_CHECK", "True")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.synthetic import RARE, four_textures, inject_errors, shows_error, voronoi_cells  # noqa: E402
from wkgt.planner import ModelKind, PlanOptions, Region, make_plan  # noqa: E402
from wkgt.planner.strategy_placer import LayerSource, strategy_placer  # noqa: E402
from wkgt.planner.strategy import StrategyOptions  # noqa: E402

BOX = 32
COUNT = 10


def layer(name: str, category: str, data: np.ndarray, data_mag: int) -> LayerSource:
    def read(mag, start, shape):
        step = mag[0] // data_mag
        view = data[::step, ::step, ::step] if step >= 1 else data
        return view[tuple(slice(s, s + n) for s, n in zip(start, shape))]

    return LayerSource(name, category, ((data_mag,) * 3,), read)


def plan_corners(strategy: StrategyOptions | None, source: LayerSource | None, region: int, seed: int) -> np.ndarray:
    options = PlanOptions(model=ModelKind.INSTANCES, mag=(1, 1, 1), box_size=(BOX,) * 3, count=COUNT, seed=seed)
    request = options.request((10.0, 10.0, 10.0), ((1, 1, 1), (2, 2, 2)), Region((0, 0, 0), (region,) * 3))
    placer = strategy_placer(strategy, source, {source.name: source}) if strategy is not None and source is not None else None
    plan = make_plan(request, placer=placer)
    return np.array([b.topleft for b in plan.boxes])


def random_corners(region: int, seed: int, tries: int = 500) -> np.ndarray:
    """The dialog's method: uniform random corners, a box overlapping an earlier one is redrawn."""
    rng = np.random.default_rng(seed)
    boxes: list[np.ndarray] = []
    while len(boxes) < COUNT and tries:
        corner = rng.integers(0, region - BOX + 1, 3)
        if all(np.any(np.abs(corner - b) >= BOX) for b in boxes):
            boxes.append(corner)
        else:
            tries -= 1
    return np.array(boxes)


def diversity(seeds: int) -> None:
    region = 224
    hits = {"diverse": 0, "even spread": 0, "random": 0}
    started = time.perf_counter()
    for seed in range(seeds):
        image, texture = four_textures((region // 2,) * 3, seed)  # at mag 2
        source = layer("color", "color", image, 2)
        placements = {
            "diverse": plan_corners(StrategyOptions("diverse"), source, region, seed),
            "even spread": plan_corners(None, None, region, seed),
            "random": random_corners(region, seed),
        }
        for name, corners in placements.items():
            shares = [(texture[tuple(slice(c // 2, (c + BOX) // 2) for c in corner)] == RARE).mean() for corner in corners]
            hits[name] += max(shares) >= 0.5
    rare_share = float((texture == RARE).mean())
    print(f"1. diversity: 4 textures, the rare one {rare_share:.1%} of the volume; {COUNT} boxes; {seeds} seeds ({time.perf_counter() - started:.0f} s)")
    for name, count in hits.items():
        print(f"   rare texture covered  {name:<12} {count / seeds:6.1%}")
    print(f"   diverse ÷ random: {hits['diverse'] / max(hits['random'], 1):.2f}×  (target ≥ 95 % covered)")


def focus(seeds: int) -> None:
    region = 160
    truth = voronoi_cells((region,) * 3, 24, seed=0)
    shares = {"focus": [], "even spread": [], "random": []}
    zone = []
    started = time.perf_counter()
    for seed in range(seeds):
        prediction, parts, owner = inject_errors(truth, 4, 4, seed)
        zone.append(float((parts > 0).mean()))
        source = LayerSource("prediction", "segmentation", ((1, 1, 1), (2, 2, 2)), _strided(prediction))
        placements = {
            "focus": plan_corners(StrategyOptions("focus", focus="prediction"), source, region, seed),
            "even spread": plan_corners(None, None, region, seed),
            "random": random_corners(region, seed),
        }
        for name, corners in placements.items():
            shown = [shows_error(parts[tuple(slice(c, c + BOX) for c in corner)], owner) for corner in corners]
            shares[name].append(float(np.mean(shown)))
    print(f"2. focus: Voronoi cells, 4 merges + 4 splits injected; {COUNT} boxes; {seeds} seeds ({time.perf_counter() - started:.0f} s)")
    print(f"   error zones' volume share                {np.mean(zone):6.1%}")
    for name, values in shares.items():
        print(f"   boxes showing an error  {name:<12}    {np.mean(values):6.1%}  (worst seed {min(values):.0%})")
    print(f"   focus ÷ random: {np.mean(shares['focus']) / max(np.mean(shares['random']), 1e-9):.2f}×  (target ≥ 80 %)")


def _strided(data: np.ndarray):
    def read(mag, start, shape):
        view = data[:: mag[0], :: mag[1], :: mag[2]]
        return view[tuple(slice(s, s + n) for s, n in zip(start, shape))]

    return read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--diverse-seeds", type=int, default=100)
    parser.add_argument("--focus-seeds", type=int, default=20)
    args = parser.parse_args()
    if args.diverse_seeds:
        diversity(args.diverse_seeds)
    if args.focus_seeds:
        focus(args.focus_seeds)


if __name__ == "__main__":
    main()
