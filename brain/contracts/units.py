"""Units accepted in records and linear conversion between them (conf/contracts/units.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from brain.contracts.paths import contracts_dir


class UnknownUnit(ValueError):
    pass


@dataclass(frozen=True)
class Unit:
    name: str
    quantity: str
    scale: float   # base = value * scale + offset
    offset: float
    alternates: tuple[str, ...]


@dataclass(frozen=True)
class UnitTable:
    units: dict[str, Unit]
    bases: dict[str, str]              # quantity -> base unit
    carriers: dict[str, tuple[str, ...]]  # energy carrier -> allowed units, canonical first

    def get(self, name: str) -> Unit:
        try:
            return self.units[name]
        except KeyError:
            raise UnknownUnit(f"unknown unit {name!r}") from None

    def convert(self, value: float, from_unit: str, to_unit: str) -> float:
        """``value`` in ``from_unit`` expressed in ``to_unit`` (same quantity only)."""
        if from_unit == to_unit:
            return value
        a, b = self.get(from_unit), self.get(to_unit)
        if a.quantity != b.quantity:
            raise UnknownUnit(f"cannot convert {from_unit} ({a.quantity}) to {to_unit} ({b.quantity})")
        return ((value * a.scale + a.offset) - b.offset) / b.scale

    def to_base(self, value: float, unit: str) -> tuple[float, str]:
        u = self.get(unit)
        return value * u.scale + u.offset, self.bases[u.quantity]

    def rows(self) -> list[dict]:
        """Flat rows (unit, quantity, base_unit, scale, offset), e.g. for a Spark lookup table."""
        return [{"unit": u.name, "quantity": u.quantity, "base_unit": self.bases[u.quantity],
                 "scale": u.scale, "offset": u.offset} for u in self.units.values()]


def load_units(path: Path | None = None) -> UnitTable:
    return _load(str(path or contracts_dir() / "units.yaml"))


@lru_cache(maxsize=4)
def _load(path: str) -> UnitTable:
    raw = yaml.safe_load(Path(path).read_text())
    units = {name: Unit(name, spec["quantity"], float(spec["scale"]), float(spec.get("offset", 0)),
                        tuple(spec.get("alternates", ())))
             for name, spec in raw["units"].items()}
    bases = {q: spec["base"] for q, spec in raw["quantities"].items()}
    carriers = {c: tuple(u) for c, u in raw["carriers"].items()}
    return UnitTable(units, bases, carriers)
