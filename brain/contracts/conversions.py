"""Unit normalisation for the Spark transforms.

The one table of units lives in conf/contracts/units.yaml (read by
brain.contracts.units); this module only reshapes it for Spark:
standard = value * factor + offset.
"""

from __future__ import annotations

from typing import NamedTuple

from brain.contracts.units import load_units


class Conversion(NamedTuple):
    standard: str
    factor: float
    offset: float = 0.0


CONVERSIONS: dict[str, Conversion] = {
    u.name: Conversion(u.standard, u.scale, u.offset) for u in load_units().units.values()
}

# Energy carrier -> accepted units (the first is the standard one).
CARRIER_UNITS: dict[str, tuple[str, ...]] = dict(load_units().carriers)


def to_standard(value: float, unit: str) -> tuple[float, str]:
    conv = CONVERSIONS[unit]
    return value * conv.factor + conv.offset, conv.standard
