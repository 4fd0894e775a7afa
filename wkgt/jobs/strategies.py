"""The strategies' reading: every layer of a dataset as a :class:`~wkgt.planner.strategy_placer.LayerSource`
over the readers of :mod:`wkgt.client.imagery`, and the placer a job hands to the planner."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from ..client.facts import DatasetFacts, LayerFacts
from ..errors import WkgtError
from ..planner.plan import PlanOptions
from ..planner.strategy_placer import LayerSource, strategy_placer
from ..planner.strategy import Placer
from ..planner.vectors import Vec3, format_mag

OpenReader = Callable[[LayerFacts, Vec3], Any]
"""``open_reader(layer, mag)`` → a reader ``reader(start, size)`` of that mag (e.g. ``remote_reader``)."""


@attrs.frozen
class _GridRead:
    """Reads one layer at any mag; failures of the SDK or the server become one line."""

    layer: LayerFacts
    open_reader: OpenReader = attrs.field(eq=False, repr=False)

    def __call__(self, mag: Vec3, start: Vec3, shape: Vec3) -> np.ndarray:
        try:
            return np.asarray(self.open_reader(self.layer, mag)(start, shape))
        except WkgtError:
            raise
        except Exception as err:  # noqa: BLE001 - SDK and tensorstore failures of many kinds
            from ..client.imagery import read_error

            raise read_error(f"reading mag {format_mag(mag)} of layer {self.layer.name} for the strategy", err) from None


def layer_sources(facts: DatasetFacts, open_reader: OpenReader) -> dict[str, LayerSource]:
    return {
        layer.name: LayerSource(layer.name, layer.category, layer.mags, _GridRead(layer, open_reader))
        for layer in facts.layers
    }


def placer_for(options: PlanOptions, facts: DatasetFacts, image: LayerFacts, open_reader: OpenReader, *, tissue_check: bool) -> Placer | None:
    """The planner's placer for the job's strategy (None for the plain spread without holdout)."""
    strategy = options.strategy.validate()
    if strategy.name == "spread" and not strategy.holdout:
        return None
    sources = layer_sources(facts, open_reader)
    return strategy_placer(strategy, sources[image.name], sources, tissue_check=tissue_check)
