"""Units accepted in records and their conversion to standard units (conf/contracts/units.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import yaml

from brain.contracts.paths import contracts_dir


class UnknownUnit(ValueError):
    pass


@dataclass(frozen=True)
class Unit:
    name: str
    quantity: str
    standard: str
    scale: float   # standard = value * scale + offset
    offset: float
    alternates: tuple[str, ...]


@dataclass(frozen=True)
class UnitTable:
    units: dict[str, Unit]
    carriers: dict[str, tuple[str, ...]]  # energy carrier -> allowed units, standard first

    def get(self, name: str) -> Unit:
        try:
            return self.units[name]
        except (KeyError, TypeError):
            raise UnknownUnit(f"unknown unit {name!r}") from None

    def to_standard(self, value: float, unit: str) -> tuple[float, str]:
        u = self.get(unit)
        return value * u.scale + u.offset, u.standard

    def convert(self, value: float, from_unit: str, to_unit: str) -> float:
        """``value`` in ``from_unit`` expressed in ``to_unit``; both must share a standard unit."""
        if from_unit == to_unit:
            return value
        a, b = self.get(from_unit), self.get(to_unit)
        if a.standard != b.standard:
            raise UnknownUnit(f"cannot convert {from_unit} to {to_unit} (standard units {a.standard}, {b.standard})")
        return ((value * a.scale + a.offset) - b.offset) / b.scale

    def rows(self) -> list[dict]:
        """(unit, quantity, standard, scale, offset) rows, e.g. for a Spark lookup table."""
        return [{"unit": u.name, "quantity": u.quantity, "standard": u.standard, "scale": u.scale,
                 "offset": u.offset} for u in self.units.values()]


def load_units(path: Path | None = None) -> UnitTable:
    return _load(str(path or contracts_dir() / "units.yaml"))


@lru_cache(maxsize=4)
def _load(path: str) -> UnitTable:
    raw = yaml.safe_load(Path(path).read_text())
    units = {name: Unit(name, spec["quantity"], spec["standard"], float(spec["scale"]),
                        float(spec.get("offset", 0)), tuple(spec.get("alternates", ())))
             for name, spec in raw["units"].items()}
    return UnitTable(units, {c: tuple(u) for c, u in raw["carriers"].items()})


# The same table reshaped for the Spark transforms: standard = value * factor + offset.
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
