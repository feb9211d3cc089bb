"""Record specs: what the pipeline enforces of each record type, built from the JSON Schemas.

A RecordSpec names the envelope plus the record type's fields with their Spark
type, whether the key is required, allowed values and instrument ranges, and
how its value is converted to standard units. brain.clean.fate applies them.

The schema files in conf/contracts are the one source: ``record_spec(industry,
record_type)`` reads the field set, types, required keys, enums and
minimum/maximum from ``<record_type>.schema.json`` (envelope applied), so the
validator producers run and the Spark pipeline cannot disagree about them.

What JSON Schema cannot say is written in the same files as ``x-brain-...``
keywords rather than in a Python overlay: a second file per record type is
exactly the kind of copy that drifted, while a keyword sits next to the field
it describes, is ignored by every other validator (2020-12 allows unknown
keywords) and is refused by this builder when misspelt or unknown:

- ``x-brain-type`` on a property: a Spark type finer than the JSON type
  (``int`` for an ``integer``; ``timestamp`` on the envelope's ``$defs/timestamp``,
  so every field referring to it is a timestamp).
- ``x-brain-convert: {value_field, unit_field[, units_by]}``: the value
  converted to the standard unit of the unit (conf/contracts/units.yaml);
  ``units_by: carrier`` takes the units allowed per carrier from units.yaml's
  ``carriers:``, and the schema's if/then blocks must list the same.
- ``x-brain-range-by: sensor``: the converted value must lie in the named
  sensor's instrument range (conf/assets.yaml); the registry changes with the
  fleet, so only the rule is in the schema.
- ``x-brain-partition-by``: silver partition columns (default ``event_date``).

Keywords the builder does not translate are either checked only by the JSON
validator (``_VALIDATOR_ONLY``: patterns, lengths, formats, uniqueItems; fate
has its own id and sensor checks) or refused (exclusiveMinimum, multipleOf...),
so a schema edit the pipeline would silently ignore fails loudly instead.

Versions: a spec follows the newest contract file of a record type, and its
``schema_version`` field allows exactly the versions of that major that have a
file, so the pipeline accepts what the schema files declare and nothing more.
A minor version may only add optional fields (and widen enums and ranges): the
builder refuses any other change within a major, since the newest spec judges
the records of every minor and silver tables only ever gain columns
(brain.clean.schema_evolution).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from dataclasses import fields as dc_fields
from functools import lru_cache
from pathlib import Path

from brain.contracts.paths import contracts_dir

LOCATION = ("enterprise", "site", "area", "line", "device")
X_TYPE, X_CONVERT, X_RANGE_BY, X_PARTITION_BY = ("x-brain-type", "x-brain-convert", "x-brain-range-by",
                                                 "x-brain-partition-by")
SPARK_TYPES = ("string", "double", "long", "int", "boolean", "timestamp", "array<string>")
_JSON_TO_SPARK = {"string": "string", "number": "double", "integer": "long", "boolean": "boolean"}
_VALIDATOR_ONLY = frozenset({"description", "title", "$comment", "examples", "default", "pattern", "minLength",
                             "maxLength", "format", "uniqueItems"})
_TRANSLATED = frozenset({"type", "enum", "const", "minimum", "maximum", "items", "oneOf", X_TYPE})
_TOP_LEVEL = frozenset({"$schema", "$id", "title", "description", "$comment", "type", "properties", "required",
                        "additionalProperties", "allOf", X_CONVERT, X_RANGE_BY, X_PARTITION_BY})


class ContractSpecError(ValueError):
    """A schema file says something the pipeline cannot enforce, or contradicts units.yaml."""


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # string | double | long | int | boolean | timestamp | array<string>
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
    # The envelope as this record type's schema states it (its accepted schema_version values);
    # empty for a hand-made spec, which then gets the shared envelope.
    envelope: tuple[Field, ...] = ()

    @property
    def contract_major(self) -> str:
        return self.contract_version.split(".")[0]


# --- building from the schema files --------------------------------------------------------

def _folder(folder: Path | str | None) -> str:
    return str(folder or contracts_dir())


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def _types(node: dict) -> tuple[list[str], bool]:
    raw = node.get("type", [])
    types = [raw] if isinstance(raw, str) else list(raw)
    return [t for t in types if t != "null"], "null" in types


def _spark_type(where: str, node: dict) -> str:
    types, _ = _types(node)
    declared = node.get(X_TYPE)
    if declared is not None:
        if declared == "timestamp" and "oneOf" in node:
            return declared
        if declared == "int" and types == ["integer"]:
            return declared
        raise ContractSpecError(f"{where}: {X_TYPE} {declared!r} does not fit the property's JSON type")
    if "oneOf" in node:
        raise ContractSpecError(f"{where}: oneOf is understood only with {X_TYPE}: timestamp")
    if types == ["array"]:
        items = node.get("items") or {}
        if _types(items)[0] != ["string"] or set(items) - _VALIDATOR_ONLY - {"type"}:
            raise ContractSpecError(f"{where}: only arrays of strings are supported, not {items}")
        return "array<string>"
    if "items" in node:
        raise ContractSpecError(f"{where}: items without type array")
    if len(types) == 1 and types[0] in _JSON_TO_SPARK:
        return _JSON_TO_SPARK[types[0]]
    if not types:  # enum/const only: the values say the type
        values = [v for v in _values(node) or () if v is not None]
        if values and all(isinstance(v, str) for v in values):
            return "string"
    raise ContractSpecError(f"{where}: cannot map JSON type {node.get('type')!r} to one Spark type")


def _values(node: dict) -> tuple | None:
    if "const" in node:
        return (node["const"],)
    return tuple(node["enum"]) if "enum" in node else None


def _field(where: str, name: str, node: dict, required: bool) -> Field:
    unknown = set(node) - _VALIDATOR_ONLY - _TRANSLATED
    if unknown:
        raise ContractSpecError(f"{where}.{name}: the pipeline cannot enforce {sorted(unknown)}; use "
                                f"{sorted(_TRANSLATED - {X_TYPE})} or ask for a check in brain.clean.fate")
    _, nullable = _types(node)
    values = _values(node)
    return Field(name, _spark_type(f"{where}.{name}", node),
                 required=required and not nullable, nullable_present=required and nullable,
                 allowed=tuple(v for v in values if v is not None) if values else None,
                 min=node.get("minimum"), max=node.get("maximum"))


def _units_by(where: str, parts: list[dict], key: str, unit_field: str) -> dict[str, set[str]]:
    """The schema's ``if <key> is X then <unit_field> in [...]`` blocks as {X: units}."""
    out: dict[str, set[str]] = {}
    for part in parts:
        cond = (part.get("if") or {}).get("properties", {})
        then = (part.get("then") or {}).get("properties", {})
        if set(part) != {"if", "then"} or list(cond) != [key] or list(then) != [unit_field]:
            raise ContractSpecError(f"{where}: allOf entry {part} is not an if {key} / then {unit_field} "
                                    f"block, the only kind the pipeline enforces")
        for k in _values(cond[key]) or ():
            out[k] = set(_values(then[unit_field]) or ())
    return out


@lru_cache(maxsize=64)
def _build(industry: str, record_type: str, folder: str) -> RecordSpec:
    from brain.contracts.schemas import ENVELOPE_FIELDS, contracts

    known = contracts(Path(folder))
    versions = sorted((v for rt, v in known if rt == record_type), key=_version_key)
    if not versions or record_type == "envelope":
        raise KeyError(f"no contract file for record_type={record_type!r} in {folder}")
    newest = versions[-1]
    accepted = tuple(v for v in versions if v.split(".")[0] == newest.split(".")[0])
    flat = known[(record_type, newest)].flat
    where = f"{record_type}.schema.json {newest}"
    for v in accepted:  # a file that refuses its own version would make the validator and pipeline disagree
        if v not in (_values(known[(record_type, v)].flat["properties"].get("schema_version", {})) or ()):
            raise ContractSpecError(f"{record_type}.schema.json {v}: its schema_version does not allow {v!r}")
    unknown = set(flat) - _TOP_LEVEL
    if unknown:
        raise ContractSpecError(f"{where}: unknown top-level keywords {sorted(unknown)}")
    props, required = flat["properties"], set(flat["required"])
    if _values(props.get("record_type", {})) != (record_type,):
        raise ContractSpecError(f"{where}: record_type must be const {record_type!r}")
    if industry not in (_values(props.get("industry", {})) or ()):
        raise ContractSpecError(f"{where}: industry {industry!r} is not in its industry enum; add it there "
                                f"before configuring the industry")

    envelope = []
    for name in ENVELOPE_FIELDS:
        f = _field(where, name, props[name], name in required)
        if name == "schema_version":
            f = Field(name, f.type, f.required, allowed=accepted)
        elif name in ("record_type", "industry"):
            # The topic check (wrong_topic) pins both to the spec's own values, stricter than any enum.
            f = Field(name, f.type, f.required)
        envelope.append(f)
    own = tuple(_field(where, n, node, n in required) for n, node in props.items() if n not in ENVELOPE_FIELDS)
    names = {f.name for f in own}
    for v in accepted[:-1]:
        _refuse_breaking_minor(record_type, v, newest, known[(record_type, v)].flat, own)

    convert = flat.get(X_CONVERT) or {}
    if set(convert) - {"value_field", "unit_field", "units_by"}:
        raise ContractSpecError(f"{where}: {X_CONVERT} takes value_field, unit_field and units_by, not {convert}")
    value_field, unit_field, units_key = convert.get("value_field"), convert.get("unit_field"), convert.get("units_by")
    if convert and not ({value_field, unit_field} <= names and (units_key is None or units_key in names)):
        raise ContractSpecError(f"{where}: {X_CONVERT} names fields the schema does not have: {convert}")
    rest = flat.get("allOf", [])
    if rest and not units_key:
        raise ContractSpecError(f"{where}: allOf blocks are enforced only as {X_CONVERT}.units_by")
    units_by = None
    if convert:
        units_by, own = _unit_rules(where, folder, own, unit_field, units_key, rest)

    range_by = None
    if (key := flat.get(X_RANGE_BY)) is not None:
        if key != "sensor" or key not in names or not convert:
            raise ContractSpecError(f"{where}: {X_RANGE_BY} supports 'sensor' (the asset registry's sensors) "
                                    f"on a record with {X_CONVERT}, not {key!r}")
        range_by = (key, sensor_ranges())

    return RecordSpec(industry=industry, record_type=record_type, contract_version=newest, fields=own,
                      value_field=value_field, unit_field=unit_field, units_by=units_by, range_by=range_by,
                      partition_by=tuple(flat.get(X_PARTITION_BY, ("event_date",))), envelope=tuple(envelope))


def _refuse_breaking_minor(record_type: str, old_version: str, newest: str, old_flat: dict,
                           own: tuple[Field, ...]) -> None:
    """A minor version may only add optional fields (and widen enums and ranges): every record of an
    older minor must stay valid under the newest, which the pipeline enforces for the whole major,
    and every silver column keep its type. Anything else is a new major version."""
    from brain.contracts.schemas import ENVELOPE_FIELDS

    where = f"{record_type}.schema.json {old_version} -> {newest}"
    new = {f.name: f for f in own}
    props, required = old_flat["properties"], set(old_flat["required"])
    problems = []
    for name, node in props.items():
        if name in ENVELOPE_FIELDS:
            continue
        was = _field(where, name, node, name in required)
        now = new.get(name)
        if now is None:
            problems.append(f"{name!r} removed")
            continue
        if now.type != was.type:
            problems.append(f"{name!r} changes type {was.type} -> {now.type}")
        if (now.required or now.nullable_present) and not (was.required or was.nullable_present):
            problems.append(f"{name!r} becomes required")
        if now.allowed is not None and (was.allowed is None or not set(was.allowed) <= set(now.allowed)):
            problems.append(f"{name!r} allows fewer values")
        if (now.min is not None and (was.min is None or now.min > was.min)) or \
                (now.max is not None and (was.max is None or now.max < was.max)):
            problems.append(f"{name!r} has a narrower range")
    problems += [f"{n!r} is added as required" for n, f in new.items()
                 if n not in props and (f.required or f.nullable_present)]
    if problems:
        raise ContractSpecError(f"{where}: a minor version may only add optional fields, but "
                                f"{'; '.join(problems)}; that is a new major version")


def _unit_rules(where: str, folder: str, own: tuple[Field, ...], unit_field: str, units_key: str | None,
                rest: list[dict]):
    """(units_by, fields) for a converted record; the unit enum must be units the table can convert."""
    from brain.contracts import units as unit_table

    default = Path(folder) == contracts_dir()
    table = unit_table.load_units(None if default else Path(folder) / "units.yaml")
    # The module's own carrier table for the default folder: the pipeline's conversions and an
    # operator's change to them (a new unit) are then one object, not a copy taken at import.
    carriers = unit_table.CARRIER_UNITS if default else dict(table.carriers)
    units_by = None
    accepted = set(table.units)
    if units_key:
        if units_key != "carrier":
            raise ContractSpecError(f"{where}: units_by supports 'carrier' (units.yaml carriers), not {units_key!r}")
        stated = _units_by(where, rest, units_key, unit_field)
        key_values = next(f.allowed for f in own if f.name == units_key) or ()
        if stated != {k: set(v) for k, v in carriers.items()} or set(key_values) != set(carriers):
            raise ContractSpecError(f"{where}: units per {units_key} ({stated}, {units_key} enum {key_values}) "
                                    f"differ from units.yaml carriers ({dict(carriers)})")
        units_by = (units_key, carriers)
        accepted = {u for us in carriers.values() for u in us}
    unit = next(f for f in own if f.name == unit_field)
    listed = set(unit.allowed or ())
    if listed - set(table.units):
        raise ContractSpecError(f"{where}: {unit_field} enum has units units.yaml cannot convert: "
                                f"{sorted(listed - set(table.units))}")
    if listed == accepted:
        # The enum restates the unit table, which the pipeline checks itself (unknown_unit).
        own = tuple(Field(f.name, f.type, f.required, f.nullable_present, None, f.min, f.max)
                    if f.name == unit_field else f for f in own)
    return units_by, own


@lru_cache(maxsize=1)
def sensor_ranges() -> dict[str, tuple[float, float, str]]:
    """sensor -> (instrument min, instrument max, standard unit), from the asset registry."""
    from brain.contracts.assets import load_registry

    return {name: (float(s.instrument[0]), float(s.instrument[1]), s.unit)
            for name, s in load_registry().sensors.items()}


def record_spec(industry: str, record_type: str, folder: Path | str | None = None) -> RecordSpec:
    """The spec the pipeline enforces for ``record_type`` sent by ``industry``, from the schema files
    in ``folder`` (default conf/contracts). KeyError for an unknown record type."""
    return _build(industry, record_type, _folder(folder))


def record_types(folder: Path | str | None = None) -> tuple[str, ...]:
    """Record types the contracts define: the envelope's record_type enum."""
    from brain.contracts.schemas import CURRENT_VERSION, contracts

    env = contracts(Path(_folder(folder)))[("envelope", CURRENT_VERSION)].flat
    return tuple(env["properties"]["record_type"]["enum"])


def record_specs(industry: str, folder: Path | str | None = None) -> dict[str, RecordSpec]:
    """Every record type whose contract admits ``industry`` (its ``industry`` enum), by record type."""
    from brain.contracts.schemas import contracts

    known = contracts(Path(_folder(folder)))
    out = {}
    for rt in record_types(folder):
        newest = max((v for r, v in known if r == rt), key=_version_key, default=None)
        if newest and industry in (_values(known[(rt, newest)].flat["properties"]["industry"]) or ()):
            out[rt] = record_spec(industry, rt, folder)
    return out


def _envelope(folder: Path | str | None = None) -> tuple[Field, ...]:
    from brain.contracts.schemas import CURRENT_VERSION, ENVELOPE_FIELDS, contracts

    env = contracts(Path(_folder(folder)))[("envelope", CURRENT_VERSION)].flat
    out = tuple(_field("envelope.schema.json", n, env["properties"][n], n in env["required"])
                for n in ENVELOPE_FIELDS)
    return tuple(Field(f.name, f.type, f.required) if f.name in ("record_type", "industry") else f for f in out)


# The shared envelope, for hand-made specs; built specs carry their own (``RecordSpec.envelope``).
ENVELOPE: tuple[Field, ...] = _envelope()
QUALITY_FLAGS: tuple[str, ...] = next(f.allowed for f in ENVELOPE if f.name == "quality")


def all_fields(spec: RecordSpec) -> tuple[Field, ...]:
    return (spec.envelope or ENVELOPE) + spec.fields


# --- drift --------------------------------------------------------------------------------

def drift(specs: Iterable[RecordSpec], folder: Path | str | None = None) -> list[str]:
    """Every difference between ``specs`` (what the pipeline enforces) and the specs the schema
    files in ``folder`` state; [] when they agree. A schema the builder refuses is a difference too."""
    problems: list[str] = []
    for spec in specs:
        who = f"{spec.industry}.{spec.record_type}"
        try:
            truth = record_spec(spec.industry, spec.record_type, folder)
        except (KeyError, ContractSpecError) as exc:
            problems.append(f"{who}: {exc}")
            continue
        problems += [f"{who}: {p}" for p in _diff(spec, truth)]
    return problems


def _diff(spec: RecordSpec, truth: RecordSpec) -> list[str]:
    out = []
    for attr in ("contract_version", "value_field", "unit_field", "units_by", "range_by", "partition_by"):
        mine, theirs = getattr(spec, attr), getattr(truth, attr)
        if mine != theirs:
            out.append(f"{attr} is {_short(mine)} in the spec, {_short(theirs)} in the schema")
    have, want = {f.name: f for f in all_fields(spec)}, {f.name: f for f in all_fields(truth)}
    out += [f"field {n!r} is in the schema, not in the spec" for n in want if n not in have]
    out += [f"field {n!r} is in the spec, not in the schema" for n in have if n not in want]
    for name in have.keys() & want.keys():
        for attr in (a.name for a in dc_fields(Field) if a.name != "name"):
            mine, theirs = getattr(have[name], attr), getattr(want[name], attr)
            if mine != theirs:
                out.append(f"{name}.{attr} is {mine!r} in the spec, {theirs!r} in the schema")
    if not out and [f.name for f in all_fields(spec)] != [f.name for f in all_fields(truth)]:
        out.append("fields are in another order than the schema's (silver column order)")
    return sorted(out)


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
