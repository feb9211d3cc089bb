"""Checks a schema cannot make: values against the asset registry, timestamps against a clock.

A record can satisfy its contract and still be wrong: a temperature beyond
what the transmitter can report, or an event_ts in the future. The pipeline
uses these (or their Spark equivalents) to quarantine such records.
"""

from __future__ import annotations

from datetime import datetime

from brain.contracts.assets import Registry
from brain.contracts.units import UnitTable, UnknownUnit


def event_ts_ms(value: str | int) -> int:
    """An event_ts (RFC 3339 with offset, or epoch milliseconds) as epoch milliseconds."""
    if isinstance(value, bool):
        raise TypeError("event_ts must be a string or an integer")
    if isinstance(value, int):
        return value
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"event_ts {value!r} has no UTC offset")
    return round(parsed.timestamp() * 1000)


def out_of_range(record: dict, registry: Registry, units: UnitTable) -> str | None:
    """Why a telemetry value is outside its sensor's instrument range (None if it is not)."""
    if record.get("record_type") != "telemetry":
        return None
    spec = registry.sensors.get(record.get("sensor"))
    if spec is None:
        return f"sensor {record.get('sensor')!r} is not in the asset registry"
    try:
        value = units.convert(float(record["value"]), record["unit"], spec.unit)
    except (UnknownUnit, KeyError, TypeError, ValueError) as exc:
        return f"cannot compare with the registry: {exc}"
    lo, hi = spec.instrument
    if not lo <= value <= hi:
        return f"{spec.name} = {value:g} {spec.unit} outside instrument range [{lo:g}, {hi:g}]"
    return None


def in_future(record: dict, now_ms: int, tolerance_s: float = 300) -> bool:
    """True when event_ts is later than now + tolerance (a device clock or encoding error)."""
    try:
        return event_ts_ms(record["event_ts"]) > now_ms + tolerance_s * 1000
    except (KeyError, ValueError, TypeError, AttributeError):
        return False
