"""Parsing and formatting of the small integer/float triples the planner works with.

Mags are parsed and written in the SDK's notation (``webknossos.Mag``: ``"2-2-1"``, ``"1"``)
without importing the SDK, whose import costs about a second, so ``wkgt plan`` and
``import wkgt`` stay fast; ``Box.to_bounding_box`` converts to the SDK's types on demand.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import InvalidInput

Vec3 = tuple[int, int, int]
Vec3f = tuple[float, float, float]


def _split(text: str, what: str, n: int) -> list[str]:
    parts = [p.strip() for p in text.replace("x", ",").replace("×", ",").split(",")]
    if len(parts) != n or any(p == "" for p in parts):
        raise InvalidInput(f"{what} must be {n} comma-separated numbers, got {text!r}")
    return parts


def parse_floats(text: str, what: str, n: int = 3) -> tuple[float, ...]:
    """Parse ``"11.24,11.24,30"`` into positive floats."""
    try:
        values = tuple(float(p) for p in _split(text, what, n))
    except ValueError:
        raise InvalidInput(f"{what} must be {n} comma-separated numbers, got {text!r}") from None
    if any(not v > 0 or v == float("inf") for v in values):
        raise InvalidInput(f"{what} must be positive and finite, got {text!r}")
    return values


def parse_ints(text: str, what: str, n: int = 3, *, positive: bool = True) -> tuple[int, ...]:
    """Parse ``"0,0,0,4096,4096,1024"`` into integers (``positive``: all > 0)."""
    try:
        values = tuple(int(p) for p in _split(text, what, n))
    except ValueError:
        raise InvalidInput(f"{what} must be {n} comma-separated integers, got {text!r}") from None
    if positive and any(v <= 0 for v in values):
        raise InvalidInput(f"{what} must be positive, got {text!r}")
    return values


def parse_mag(text: str) -> Vec3:
    """Parse a WEBKNOSSOS mag: ``"2"``, ``"2-2-1"`` or ``"2,2,1"``; each factor a power of two."""
    raw = text.strip().replace(",", "-")
    parts = raw.split("-")
    try:
        factors = tuple(int(p) for p in parts)
    except ValueError:
        raise InvalidInput(f"mag must look like 1, 2-2-1 or 4-4-2, got {text!r}") from None
    if len(factors) == 1:
        factors = factors * 3
    if len(factors) != 3:
        raise InvalidInput(f"mag must have 1 or 3 factors, got {text!r}")
    if any(f <= 0 or f & (f - 1) for f in factors):
        raise InvalidInput(f"mag factors must be powers of two, got {text!r}")
    return factors  # type: ignore[return-value]


def to_mag(value: Any) -> Vec3:
    """A mag given any way the Python API accepts one: ``2``, ``"2-2-1"``, ``(2, 2, 1)`` or a
    ``webknossos.Mag`` (anything with ``to_tuple()``); each factor a power of two."""
    if hasattr(value, "to_tuple"):
        value = value.to_tuple()
    if isinstance(value, str):
        return parse_mag(value)
    if isinstance(value, bool) or not isinstance(value, (int, Iterable)):
        raise InvalidInput(f"mag must be a number, text like 2-2-1, 3 numbers or a webknossos.Mag, got {value!r}")
    factors = (value,) * 3 if isinstance(value, int) else tuple(value)
    if len(factors) == 1:
        factors = factors * 3
    if len(factors) != 3 or any(isinstance(f, bool) or not isinstance(f, int) and not str(f).isdigit() for f in factors):
        raise InvalidInput(f"mag must have 1 or 3 integer factors, got {value!r}")
    return parse_mag("-".join(str(int(f)) for f in factors))


def to_mags(values: Any) -> tuple[Vec3, ...]:
    """Several mags (see :func:`to_mag`); text is a comma-separated list: ``"1,2-2-1"``."""
    if isinstance(values, str):
        return tuple(parse_mags(values))
    return tuple(to_mag(v) for v in values)


def parse_mags(text: str) -> list[Vec3]:
    """Parse a comma-separated list of mags in dash notation: ``"1,2-2-1,4-4-1"``."""
    items = [t for t in text.split(",") if t.strip()]
    if not items:
        raise InvalidInput("--mags needs at least one mag, e.g. 1,2-2-1,4-4-1")
    return [parse_mag(t) for t in items]


def format_mag(mag: Sequence[int]) -> str:
    """WEBKNOSSOS notation: ``(1,1,1)`` → ``"1"``, ``(2,2,1)`` → ``"2-2-1"``."""
    x, y, z = mag
    return str(x) if x == y == z else f"{x}-{y}-{z}"


def format_vec(values: Sequence[float], sep: str = "×") -> str:
    """``(89, 89, 34)`` → ``"89×89×34"``; floats keep up to 2 decimals."""
    return sep.join(f"{v:g}" if isinstance(v, int) else f"{v:.4g}" for v in values)
