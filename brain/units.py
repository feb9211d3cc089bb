"""Unit normalisation: every accepted unit maps to one standard unit.

standard = value * factor + offset. Adding a unit is one line here; the silver
transform of every record type uses this table.
"""

from __future__ import annotations

from typing import NamedTuple


class Conversion(NamedTuple):
    standard: str
    factor: float
    offset: float = 0.0


CONVERSIONS: dict[str, Conversion] = {
    # energy
    "kWh": Conversion("kWh", 1.0),
    "MWh": Conversion("kWh", 1000.0),
    "Wh": Conversion("kWh", 0.001),
    "m3": Conversion("m3", 1.0),
    "t": Conversion("t", 1.0),
    "kg": Conversion("t", 0.001),
    # temperature
    "degC": Conversion("degC", 1.0),
    "degF": Conversion("degC", 5.0 / 9.0, -160.0 / 9.0),
    "K": Conversion("degC", 1.0, -273.15),
    # pressure
    "kPa": Conversion("kPa", 1.0),
    "psi": Conversion("kPa", 6.894757293168361),
    "bar": Conversion("kPa", 100.0),
    "MPa": Conversion("kPa", 1000.0),
    # the rest are already standard
    "mm/s": Conversion("mm/s", 1.0),
    "A": Conversion("A", 1.0),
    "ppm": Conversion("ppm", 1.0),
    "%": Conversion("%", 1.0),
    "m/min": Conversion("m/min", 1.0),
    "g": Conversion("g", 1.0),
    "kW": Conversion("kW", 1.0),
    "MW": Conversion("kW", 1000.0),
    "rpm": Conversion("rpm", 1.0),
    "count": Conversion("count", 1.0),
    "units/min": Conversion("units/min", 1.0),
}


def to_standard(value: float, unit: str) -> tuple[float, str]:
    conv = CONVERSIONS[unit]
    return value * conv.factor + conv.offset, conv.standard
