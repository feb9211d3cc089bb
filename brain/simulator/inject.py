"""Bad-data injection: turn a share of the clean records into the faults real factories send.

Every message the simulator sends has exactly one kind: ``clean`` or one of
KINDS. A kind that cannot apply to a record type (no unit on machine_state,
say) leaves that record clean, and the summary counts what was actually sent.
"""

from __future__ import annotations

import json
from collections import deque
from datetime import datetime, timedelta
from random import Random

from brain.contracts.units import UnitTable
from brain.simulator.records import Meta, dumps

# Order matters: it is the order ratios are drawn in (and so part of the seed's output).
KINDS = ("malformed_json", "missing_field", "wrong_type", "out_of_range", "unknown_unit", "alternate_unit",
         "future_timestamp", "late_event", "duplicate", "oversized", "non_utf8")
# What a consumer should do with each kind:
INVALID = frozenset({"malformed_json", "missing_field", "wrong_type", "unknown_unit", "oversized", "non_utf8"})
DETECTABLE = frozenset({"out_of_range", "future_timestamp"})  # valid JSON Schema; caught by registry/clock checks
VALID = frozenset({"alternate_unit", "late_event", "duplicate"})  # must be accepted (convert / late / deduplicate)
_WITH_UNIT = frozenset({"telemetry", "energy_meter", "material_genealogy"})
APPLIES: dict[str, frozenset[str] | None] = {   # None: every record type
    "out_of_range": frozenset({"telemetry", "energy_meter", "production", "quality_inspection",
                               "material_genealogy"}),
    "unknown_unit": _WITH_UNIT,
    "alternate_unit": _WITH_UNIT,
}
UNKNOWN_UNITS = ("degR", "BTU", "mmHg", "furlong/fortnight", "kcal", "gal", "hp", "Rankine")
_NEGATIVE_FIELD = {"energy_meter": "value", "production": "scrap", "quality_inspection": "passed",
                   "material_genealogy": "quantity"}
_WRONG_TYPE = {"telemetry": ("value", "event_ts"), "machine_state": ("planned", "state"),
               "production": ("produced", "start_ts"), "quality_inspection": ("inspected", "defect_codes"),
               "material_genealogy": ("quantity", "link_type"), "energy_meter": ("value", "interval_s")}
MAX_PADDING = 64 * 1024
OVERSIZE_BASE = 1024 * 1024 + 1024


class BadRatioError(ValueError):
    pass


def parse_ratios(spec: str | None, bad_ratio: float = 0.0) -> dict[str, float]:
    """``--bad-ratio`` spread evenly over KINDS, then ``--bad kind=ratio,...`` overrides per kind."""
    if not 0 <= bad_ratio <= 1:
        raise BadRatioError(f"--bad-ratio must be between 0 and 1, got {bad_ratio}")
    ratios = {k: bad_ratio / len(KINDS) for k in KINDS} if bad_ratio else {}
    for part in filter(None, (p.strip() for p in (spec or "").split(","))):
        name, sep, value = part.partition("=")
        if not sep or name.strip() not in KINDS:
            raise BadRatioError(f"--bad expects kind=ratio with kind one of {', '.join(KINDS)}; got {part!r}")
        try:
            ratios[name.strip()] = float(value)
        except ValueError:
            raise BadRatioError(f"--bad {part!r}: {value!r} is not a number") from None
    if not all(0 <= r <= 1 for r in ratios.values()) or sum(ratios.values()) > 1:
        raise BadRatioError(f"bad-data ratios must be >= 0 and sum to at most 1, got {ratios}")
    return {k: ratios[k] for k in KINDS if ratios.get(k)}


class Injector:
    def __init__(self, ratios: dict[str, float], seed: int, units: UnitTable):
        self.rng = Random(f"{seed}/bad")
        self.units = units
        self.total = sum(ratios.values())
        self._bounds, acc = [], 0.0
        for kind in KINDS:
            if ratios.get(kind):
                acc += ratios[kind]
                self._bounds.append((acc, kind))
        self.recent: deque = deque(maxlen=512) if "duplicate" in ratios else deque(maxlen=0)
        # Newest event time sent per topic, so a late event is late for that topic's stream
        # (a watermark), not just older than its own sample time. Kept only when needed.
        self.newest: dict[str, int] | None = {} if "late_event" in ratios else None

    def pick(self, r: float) -> str:
        for bound, kind in self._bounds:
            if r < bound:
                return kind
        return "clean"

    def inject(self, meta: Meta, payload: str, r: float, ts: int = 0) -> list[tuple[Meta, bytes, str]]:
        """The message(s) to send instead of ``payload`` (event time ``ts``), given uniform draw ``r`` < total."""
        kind = self.pick(r)
        applies = APPLIES.get(kind)
        if applies is not None and meta.record_type not in applies:
            kind = "clean"
        if kind == "duplicate":
            if not self.recent:
                return [(meta, payload.encode(), "clean")]
            old_meta, old_value = self.recent[self.rng.randrange(len(self.recent))]
            return [(old_meta, old_value, "duplicate"), (meta, payload.encode(), "clean")]
        if kind == "clean":
            return [(meta, payload.encode(), "clean")]
        out = self._late_event(meta, payload, ts) if kind == "late_event" else getattr(self, "_" + kind)(meta, payload)
        if out is None:     # e.g. a unit without alternates
            return [(meta, payload.encode(), "clean")]
        return [(meta, out, kind)]

    # ---- one method per kind: the faulty bytes, or None if not possible ----
    def _malformed_json(self, meta: Meta, payload: str) -> bytes:
        cut = int(len(payload) * self.rng.uniform(0.3, 0.95))   # an object cut short is never valid JSON
        return payload[:cut].encode()

    def _missing_field(self, meta: Meta, payload: str) -> bytes:
        from brain.contracts.schemas import contract

        rec = json.loads(payload)
        required = [f for f in contract(meta.record_type).required if f in rec]
        del rec[required[self.rng.randrange(len(required))]]
        return dumps(rec).encode()

    def _wrong_type(self, meta: Meta, payload: str) -> bytes:
        rec = json.loads(payload)
        field = self.rng.choice(_WRONG_TYPE[meta.record_type])
        value = rec[field]
        # Numbers and booleans arrive quoted; strings and lists arrive as numbers.
        rec[field] = str(value).lower() if isinstance(value, (int, float, bool)) else 12345.5
        return dumps(rec).encode()

    def _out_of_range(self, meta: Meta, payload: str) -> bytes:
        rec = json.loads(payload)
        if meta.record_type == "telemetry":
            lo, hi = meta.spec.instrument
            span = hi - lo
            rec["value"] = round(hi + span * self.rng.uniform(0.1, 2.0) if self.rng.random() < 0.6
                                 else lo - span * self.rng.uniform(0.1, 1.0), meta.spec.decimals)
        else:
            field = _NEGATIVE_FIELD[meta.record_type]
            rec[field] = -abs(rec[field]) - self.rng.randint(1, 100)
        return dumps(rec).encode()

    def _unknown_unit(self, meta: Meta, payload: str) -> bytes:
        rec = json.loads(payload)
        rec["unit"] = UNKNOWN_UNITS[self.rng.randrange(len(UNKNOWN_UNITS))]
        return dumps(rec).encode()

    def _alternate_unit(self, meta: Meta, payload: str) -> bytes | None:
        rec = json.loads(payload)
        unit = rec.get("unit")
        alternates = self.units.units[unit].alternates if unit in self.units.units else ()
        if not alternates:
            return None
        alt = alternates[self.rng.randrange(len(alternates))]
        value_key = "quantity" if meta.record_type == "material_genealogy" else "value"
        rec[value_key] = round(self.units.convert(rec[value_key], unit, alt), 6)
        rec["unit"] = alt
        if meta.record_type == "material_genealogy" and rec[value_key] <= 0:
            return None
        return dumps(rec).encode()

    def _future_timestamp(self, meta: Meta, payload: str) -> bytes:
        return self._shifted(payload, timedelta(days=self.rng.uniform(365, 3650)))

    def _late_event(self, meta: Meta, payload: str, ts: int) -> bytes | None:
        newest = (self.newest or {}).get(meta.topic)
        if newest is None:      # nothing sent on this topic yet: nothing to be late behind
            return None
        behind = timedelta(milliseconds=newest - ts) - timedelta(hours=self.rng.uniform(1, 72))
        return self._shifted(payload, min(behind, timedelta(0)))

    def _shifted(self, payload: str, delta: timedelta) -> bytes:
        rec = json.loads(payload)
        for field in ("event_ts", "start_ts", "end_ts"):
            if field in rec:
                rec[field] = shift_ts(rec[field], delta)
        return dumps(rec).encode()

    def _oversized(self, meta: Meta, payload: str) -> bytes:
        # A gateway that attaches a debug dump: just over the 1 MiB contract limit, far below Kafka's 8 MiB.
        size = OVERSIZE_BASE + self.rng.randrange(MAX_PADDING)
        return (payload[:-1] + ',"debug_dump":"' + ("0123456789abcdef" * (size // 16 + 1))[:size] + '"}').encode()

    def _non_utf8(self, meta: Meta, payload: str) -> bytes:
        # Latin-1 text from an old gateway: degree sign or an accented device name.
        data = payload.encode()
        if b'"unit":"degC"' in data:
            return data.replace(b'"unit":"degC"', b'"unit":"\xb0C"', 1)
        return data.replace(b'"device":"', b'"device":"\xc9', 1)

    def remember(self, meta: Meta, value: bytes) -> None:
        self.recent.append((meta, value))


def shift_ts(value: str | int, delta: timedelta) -> str | int:
    """An event_ts moved by ``delta``, in the same format it came in."""
    if isinstance(value, int):
        return value + round(delta.total_seconds() * 1000)
    shifted = datetime.fromisoformat(value) + delta
    return shifted.isoformat(timespec="milliseconds")
