"""The asset registry (conf/assets.yaml): ISA-95 hierarchy, sensors and their ranges.

``Registry.sites(industry, sites=, lines=, devices=)`` expands the hierarchy to
a fleet of a chosen size: the first N entries at each level, cloned with a
``-2``, ``-3`` ... suffix past the end, so a fleet of any size keeps the
registry's device classes, ranges and naming.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import yaml

from brain.contracts.paths import assets_file

T = TypeVar("T")
HOST_INDUSTRIES = ("raw_materials", "equipment_manufacturing", "consumer_goods")
SITE_METER_AREA, SITE_METER_LINE = "utilities", "site-main"
# Energy records come from the meters of the host industries' sites, not from sites of their own.
METERED_INDUSTRY = "energy"


class RegistryError(ValueError):
    pass


@dataclass(frozen=True)
class SensorSpec:
    name: str
    quantity: str
    unit: str
    normal: tuple[float, float]
    instrument: tuple[float, float]
    period_s: float
    role: str
    idle: float | None = None
    decimals: int = 2

    def in_instrument_range(self, value: float) -> bool:
        return self.instrument[0] <= value <= self.instrument[1]


@dataclass(frozen=True)
class DeviceClass:
    name: str
    sensors: tuple[str, ...]
    rated_kw: float
    idle_kw: float
    inertia_s: float
    mtbf_h: float | None = None       # None: does not wear out (still trips on process upsets)
    repair_h: float = 2.0
    failure_reason: str = "EQUIPMENT_FAILURE"
    tool_life_units: int | None = None


@dataclass(frozen=True)
class Device:
    id: str
    device_class: str


@dataclass(frozen=True)
class Meter:
    device: str
    carrier: str
    unit: str
    interval_s: int
    per_unit: float = 0.0
    base_per_h: float = 0.0


@dataclass(frozen=True)
class Line:
    id: str
    area: str
    product: str
    devices: tuple[Device, ...]
    meter: Meter | None


@dataclass(frozen=True)
class Site:
    industry: str
    id: str
    name: str
    utc_offset: str
    clock: str  # "rfc3339" or "epoch_ms": how this site's gateways write event_ts
    lines: tuple[Line, ...]
    meters: tuple[Meter, ...]

    @property
    def utc_offset_s(self) -> int:
        sign = -1 if self.utc_offset.startswith("-") else 1
        hours, minutes = self.utc_offset.lstrip("+-").split(":")
        return sign * (int(hours) * 3600 + int(minutes) * 60)


@dataclass(frozen=True)
class Registry:
    raw: dict[str, Any]
    enterprise: str
    sensors: dict[str, SensorSpec]
    classes: dict[str, DeviceClass]

    def sensor(self, name: str) -> SensorSpec:
        try:
            return self.sensors[name]
        except KeyError:
            raise RegistryError(f"sensor {name!r} is not in the asset registry") from None

    def industry(self, name: str) -> dict[str, Any]:
        try:
            return self.raw["industries"][name]
        except KeyError:
            raise RegistryError(f"industry {name!r} has no sites in the asset registry "
                                f"(known: {', '.join(self.raw['industries'])})") from None

    @property
    def products(self) -> dict[str, dict]:
        return self.raw["products"]

    @property
    def reporting(self) -> dict[str, Any]:
        return self.raw["reporting"]

    def calendar(self, industry: str) -> dict[str, Any]:
        return self.raw["calendars"][self.industry(industry)["calendar"]]

    def defect_codes(self, industry: str) -> dict[str, list[str]]:
        return self.raw["defect_codes"][industry]

    def sites(self, industry: str, sites: int | None = None, lines: int | None = None,
              devices: int | None = None) -> list[Site]:
        """The hierarchy of one industry, scaled to sites x lines-per-site x devices-per-line."""
        base = [_site(industry, s) for s in self.industry(industry)["sites"]]
        out = []
        for site in _take(base, sites, _clone_site):
            kept = [replace(ln, devices=tuple(_take(list(ln.devices), devices, _clone_device)))
                    for ln in _take(list(site.lines), lines, _clone_line)]
            out.append(replace(site, lines=tuple(kept)))
        return out

    def locations(self, industry: str) -> tuple[tuple[str, str, str, str, str], ...]:
        """Every (enterprise, site, area, line, device) a record of ``industry`` may name: the
        registered devices of its lines, or for energy the registered meters (a line's electricity
        meter, a site's fuel meters on ``SITE_METER_AREA``/``SITE_METER_LINE``), as the simulator
        and the edge bridge address them. Only the registry's own entries: the simulator's clones
        past its end (``sites(..., sites=N)``) are not registered assets. An industry the registry
        has no sites for has none."""
        ent, out = self.enterprise, []
        if industry == METERED_INDUSTRY:
            for host in self.raw["industries"]:
                for site in self.sites(host):
                    out += [(ent, site.id, ln.area, ln.id, ln.meter.device) for ln in site.lines if ln.meter]
                    out += [(ent, site.id, SITE_METER_AREA, SITE_METER_LINE, m.device) for m in site.meters]
        elif industry in self.raw["industries"]:
            out = [(ent, site.id, ln.area, ln.id, d.id) for site in self.sites(industry) for ln in site.lines
                   for d in ln.devices]
        return tuple(sorted(set(out)))

    def fleet(self, industries: Iterable[str] = HOST_INDUSTRIES, **counts: int | None) -> list[Site]:
        return [s for ind in industries for s in self.sites(ind, **counts)]

    def device_sensors(self, device: Device) -> list[SensorSpec]:
        return [self.sensors[n] for n in self.classes[device.device_class].sensors]


def _take(items: Sequence[T], n: int | None, clone: Callable[[T, int], T]) -> list[T]:
    if n is None:
        return list(items)
    if n < 1:
        raise RegistryError(f"counts must be at least 1, got {n}")
    return [items[i % len(items)] if i < len(items) else clone(items[i % len(items)], i // len(items) + 1)
            for i in range(n)]


def _clone_site(site: Site, k: int) -> Site:
    return replace(site, id=f"{site.id}-{k}", name=f"{site.name} #{k}")


def _clone_line(line: Line, k: int) -> Line:
    return replace(line, id=f"{line.id}-{k}")


def _clone_device(device: Device, k: int) -> Device:
    return replace(device, id=f"{device.id}-{k}")


def _meter(spec: dict) -> Meter:
    return Meter(device=spec["device"], carrier=spec.get("carrier", "electricity"),
                 unit=spec.get("unit", "kWh"), interval_s=int(spec["interval_s"]),
                 per_unit=float(spec.get("per_unit", 0)), base_per_h=float(spec.get("base_per_h", 0)))


def _site(industry: str, spec: dict) -> Site:
    lines = tuple(
        Line(id=ln["id"], area=area["id"], product=ln["product"],
             devices=tuple(Device(d["id"], d["class"]) for d in ln["devices"]),
             meter=_meter(ln["meter"]) if ln.get("meter") else None)
        for area in spec["areas"] for ln in area["lines"])
    return Site(industry, spec["id"], spec.get("name", spec["id"]), str(spec.get("utc_offset", "+00:00")),
                spec.get("clock", "rfc3339"), lines, tuple(_meter(m) for m in spec.get("meters", ())))


def load_registry(path: Path | None = None) -> Registry:
    return _load(str(path or assets_file()))


@lru_cache(maxsize=4)
def _load(path: str) -> Registry:
    raw = yaml.safe_load(Path(path).read_text())
    sensors = {}
    for name, s in raw["sensors"].items():
        sensors[name] = SensorSpec(name, s["quantity"], s["unit"], tuple(map(float, s["normal"])),
                                   tuple(map(float, s["instrument"])), float(s["period_s"]), s["role"],
                                   None if s.get("idle") is None else float(s["idle"]), int(s.get("decimals", 2)))
    classes = {name: DeviceClass(name=name, sensors=tuple(c["sensors"]), rated_kw=float(c["rated_kw"]),
                                 idle_kw=float(c["idle_kw"]), inertia_s=float(c.get("inertia_s", 300)),
                                 mtbf_h=c.get("mtbf_h"), repair_h=float(c.get("repair_h", 2)),
                                 failure_reason=c.get("failure_reason", "EQUIPMENT_FAILURE"),
                                 tool_life_units=c.get("tool_life_units"))
               for name, c in raw["device_classes"].items()}
    reg = Registry(raw, raw["enterprise"], sensors, classes)
    _check(reg)
    return reg


def _check(reg: Registry) -> None:
    """Fail at load on dangling references, so a typo names itself."""
    for cls in reg.classes.values():
        for s in cls.sensors:
            if s not in reg.sensors:
                raise RegistryError(f"device class {cls.name} lists unknown sensor {s!r}")
    for ind, spec in reg.raw["industries"].items():
        if spec["calendar"] not in reg.raw["calendars"]:
            raise RegistryError(f"industry {ind} uses unknown calendar {spec['calendar']!r}")
        for site in spec["sites"]:
            for ln in (ln for area in site["areas"] for ln in area["lines"]):
                _check_line(reg, f"{site['id']}/{ln['id']}", ln)
    for s in reg.sensors.values():
        if not (s.instrument[0] <= s.normal[0] <= s.normal[1] <= s.instrument[1]):
            raise RegistryError(f"sensor {s.name}: normal range {s.normal} must lie inside "
                                f"instrument range {s.instrument}")


def _check_line(reg: Registry, where: str, line: dict) -> None:
    if line["product"] not in reg.products:
        raise RegistryError(f"line {where} makes unknown product {line['product']!r}")
    for d in line["devices"]:
        if d["class"] not in reg.classes:
            raise RegistryError(f"device {where}/{d['id']} has unknown class {d['class']!r}")
