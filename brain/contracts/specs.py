"""Record specs: what the pipeline enforces of each record type, field by field.

A RecordSpec names the envelope plus the record type's fields with their Spark
type, whether the key is required, allowed values and instrument ranges, and
how its value is converted to standard units. brain.clean.fate applies them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

QUALITY_FLAGS = ("GOOD", "UNCERTAIN", "BAD")
LOCATION = ("enterprise", "site", "area", "line", "device")

@dataclass(frozen=True)
class Field:
    name: str
    type: str  # string | double | long | int | boolean | timestamp
    required: bool = True
    # Contract "required" with type [..., "null"]: the key must be present, its value may be null
    # (machine_state.reason_code is null while RUNNING but never absent).
    nullable_present: bool = False
    allowed: tuple[str, ...] | None = None
    min: float | None = None  # instrument range: outside it the reading is impossible
    max: float | None = None


@dataclass(frozen=True)
class RecordSpec:
    industry: str
    record_type: str
    contract_version: str
    fields: tuple[Field, ...]
    # Unit handling: ``value_field`` is converted to the standard unit of
    # ``unit_field``; ``units_by`` restricts which units are valid per value of
    # another field (e.g. carrier=electricity allows kWh, MWh, Wh).
    value_field: str | None = None
    unit_field: str | None = None
    units_by: tuple[str, dict[str, tuple[str, ...]]] | None = None
    # Per-key instrument range and standard unit of the converted value, e.g.
    # ("sensor", {"furnace_temp": (0, 1800, "degC")}) from the asset registry.
    range_by: tuple[str, dict[str, tuple[float, float, str]]] | None = None
    partition_by: tuple[str, ...] = ("event_date",)
    extra: dict = field(default_factory=dict)

    @property
    def contract_major(self) -> str:
        return self.contract_version.split(".")[0]


ENVELOPE: tuple[Field, ...] = (
    Field("schema_version", "string"),
    Field("event_id", "string"),
    Field("record_type", "string"),
    Field("industry", "string"),
    Field("enterprise", "string"),
    Field("site", "string"),
    Field("area", "string"),
    Field("line", "string"),
    Field("device", "string"),
    Field("event_ts", "timestamp"),
    Field("quality", "string", allowed=QUALITY_FLAGS),
)


def all_fields(spec: RecordSpec) -> tuple[Field, ...]:
    return ENVELOPE + spec.fields
