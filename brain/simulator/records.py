"""Turning simulated values into contract records, fast.

Telemetry is most of the volume, so each telemetry stream gets a precomputed
%-template with everything constant baked in; the rarer record types are
built as dicts and dumped with the same separators. Timestamps are formatted
arithmetically (no datetime per record).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from random import Random

from brain.contracts.assets import SensorSpec

SCHEMA_VERSION = "1.0"
# Record types whose contract 1.1 adds the optional operator_id (personal information: bronze keeps
# it raw, silver only its pseudonym, docs/contracts.md); the simulator sends it with 1.1.
OPERATOR_VERSION = "1.1"
OPERATOR_TYPES = frozenset({"machine_state", "production", "quality_inspection"})
SHIFT_MS = 8 * 3_600_000
_UUID_MASK = ~((0xF << 76) | (0x3 << 62)) & ((1 << 128) - 1)
_UUID_BITS = (0x4 << 76) | (0x2 << 62)   # version 4, RFC 4122 variant


def dumps(record: dict) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def id_maker(rng: Random):
    """Seeded random (version 4) UUID strings: same seed, same ids."""
    bits = rng.getrandbits

    def event_id() -> str:
        h = "%032x" % ((bits(128) & _UUID_MASK) | _UUID_BITS)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return event_id


class TsFormat:
    """A site's event_ts style: RFC 3339 in its local offset, or epoch milliseconds."""

    def __init__(self, clock: str, utc_offset: str, utc_offset_s: int):
        self.epoch = clock == "epoch_ms"
        self.offset_s, self.suffix = utc_offset_s, utc_offset
        self._days: dict[int, str] = {}

    def value(self, ms: int) -> str | int:
        if self.epoch:
            return ms
        local = ms // 1000 + self.offset_s
        day, sod = divmod(local, 86400)
        date = self._days.get(day)
        if date is None:
            date = self._days[day] = time.strftime("%Y-%m-%d", time.gmtime(day * 86400))
        return f"{date}T{sod // 3600:02d}:{sod // 60 % 60:02d}:{sod % 60:02d}.{ms % 1000:03d}{self.suffix}"

    def json(self, ms: int) -> str:
        return str(ms) if self.epoch else '"' + self.value(ms) + '"'


@dataclass(frozen=True)
class Meta:
    """What the injector and sinks need to know about a record without parsing it."""

    topic: str
    key: bytes
    record_type: str
    spec: SensorSpec | None = None     # telemetry: the sensor (for out-of-range values)


def envelope(record_type: str, industry: str, enterprise: str, site: str, area: str, line: str,
             device: str) -> dict:
    version = OPERATOR_VERSION if record_type in OPERATOR_TYPES else SCHEMA_VERSION
    return {"schema_version": version, "event_id": None, "record_type": record_type,
            "industry": industry, "enterprise": enterprise, "site": site, "area": area, "line": line,
            "device": device, "event_ts": None, "quality": "GOOD"}


def operator_id(env: dict, ts: int) -> str:
    """The operator on duty at the record's line: one of three crews taking 8-hour shifts in turn."""
    return f"op-{env['site']}-{env['line']}-{'ABC'[(ts // SHIFT_MS) % 3]}"


def telemetry_template(env: dict, spec: SensorSpec) -> str:
    """A %-template taking (event_id, event_ts JSON token, quality, value).

    Field order and separators match ``dumps`` of the dict records; only the
    value is formatted with the sensor's fixed number of decimals.
    """
    fixed = {k: v for k, v in env.items() if k not in ("schema_version", "event_id", "event_ts", "quality")}
    middle = dumps(fixed)[1:-1].replace("%", "%%")
    tail = dumps({"sensor": spec.name})[1:-1].replace("%", "%%")
    unit = dumps({"unit": spec.unit})[1:-1].replace("%", "%%")
    return ('{"schema_version":"' + SCHEMA_VERSION + '","event_id":"%s",' + middle
            + ',"event_ts":%s,"quality":"%s",' + tail + ',"value":%.' + str(spec.decimals) + "f," + unit + "}")
