"""Plain values of the user's planning choices, light enough for the command line's start-up."""

from __future__ import annotations

from enum import Enum

DEFAULT_SEED = 0


class ModelKind(str, Enum):
    """What the lab is going to train."""

    NEURONS = "neurons"
    INSTANCES = "instances"
