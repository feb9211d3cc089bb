"""The record contracts: JSON Schema (draft 2020-12) files in conf/contracts, and validation.

One file per record type and version, ``<record_type>.schema.json`` (a later
version next to it, e.g. ``<record_type>-1.1.schema.json``), each applying the
shared ``envelope.schema.json``. ``$id`` ends in ``<record_type>/<version>``,
which names the contract whatever the file is called, so a record is checked
against the schema for its own ``schema_version``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from brain.contracts.paths import contracts_dir

RECORD_TYPES = ("telemetry", "machine_state", "production", "quality_inspection",
                "material_genealogy", "energy_meter")
INDUSTRIES = ("raw_materials", "equipment_manufacturing", "consumer_goods", "energy")
ENVELOPE_FIELDS = ("schema_version", "event_id", "record_type", "industry", "enterprise", "site",
                   "area", "line", "device", "event_ts", "quality")
CURRENT_VERSION = "1.0"
# Larger records are refused by the contract: a broker accepts up to 8 MiB, but
# a telemetry record is a few hundred bytes and a megabyte means a broken sender.
MAX_RECORD_BYTES = 1024 * 1024
_MAX_MESSAGE = 300  # characters of one error message; instances can be huge


@dataclass(frozen=True)
class Contract:
    record_type: str
    version: str
    schema: dict                     # as written in the file
    validator: Draft202012Validator  # over the flattened equivalent (see _flatten)
    flat: dict = field(default_factory=dict, repr=False)  # that flattened schema; record specs are built from it

    @property
    def required(self) -> list[str]:
        return list(ENVELOPE_FIELDS) + list(self.schema.get("required", []))

    @property
    def fields(self) -> dict[str, Any]:
        """Type-specific properties (the envelope's are in ENVELOPE_FIELDS)."""
        return {k: v for k, v in self.schema["properties"].items() if k not in ENVELOPE_FIELDS}


def _version_of(schema: dict) -> str:
    return schema["$id"].rstrip("/").rsplit("/", 1)[-1]


def _name_of(schema: dict) -> str:
    return schema["$id"].rstrip("/").rsplit("/", 2)[-2]


@lru_cache(maxsize=4)
def _load(folder: str) -> dict[tuple[str, str], Contract]:
    files = sorted(Path(folder).glob("*.schema.json"))
    schemas = [json.loads(f.read_text()) for f in files]
    by_id = {s["$id"]: s for s in schemas}
    out = {}
    for f, schema in zip(files, schemas):
        name = _name_of(schema)
        if (name, _version_of(schema)) in out:
            raise ValueError(f"{f}: a second file for contract {name} {_version_of(schema)}")
        Draft202012Validator.check_schema(schema)
        flat = _flatten(schema, by_id)
        out[(name, _version_of(schema))] = Contract(
            name, _version_of(schema), schema, Draft202012Validator(flat), flat)
    return out


def reference_validator(record_type: str, version: str = CURRENT_VERSION) -> Draft202012Validator:
    """A validator over the schema files exactly as written ($ref, unevaluatedProperties).

    About ten times slower than ``validate``; tests use it to show the flattened
    schemas accept and refuse the same records.
    """
    files = contracts()
    registry = Registry().with_resources(
        (c.schema["$id"], Resource.from_contents(c.schema)) for c in files.values())
    return Draft202012Validator(files[(record_type, version)].schema, registry=registry)


def _flatten(schema: dict, by_id: dict[str, dict]) -> dict:
    """The same contract without references: the envelope's properties merged in and
    ``additionalProperties: false`` in place of ``unevaluatedProperties: false``.

    Resolving references and tracking evaluated properties dominates jsonschema's
    run time; the flat form validates several times faster, and a record is
    checked per message in the pipeline and tests.
    """
    props: dict = {}
    required: list[str] = []
    rest: list[dict] = []
    for part in schema.get("allOf", []):
        base = by_id.get(part.get("$ref", ""))
        if base is None:
            rest.append(_inline(part, by_id, schema))
            continue
        props.update({k: _inline(v, by_id, base) for k, v in base.get("properties", {}).items()})
        required += base.get("required", [])
    props.update({k: _inline(v, by_id, schema) for k, v in schema.get("properties", {}).items()})
    flat = {k: v for k, v in schema.items() if k not in ("allOf", "properties", "required", "$defs",
                                                          "unevaluatedProperties")}
    flat.update(properties=props, required=list(dict.fromkeys(required + schema.get("required", []))))
    if rest:
        flat["allOf"] = rest
    if schema.get("unevaluatedProperties") is False:
        flat["additionalProperties"] = False   # every allowed property is now listed in properties
    return flat


def _inline(node, by_id: dict[str, dict], home: dict):
    """``node`` with every $ref replaced by its target (targets are $defs of our own files)."""
    if isinstance(node, list):
        return [_inline(x, by_id, home) for x in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        where, _, pointer = node["$ref"].partition("#")
        doc = by_id[where] if where else home
        target = doc
        for part in filter(None, pointer.split("/")):
            target = target[part]
        merged = {**_inline(target, by_id, doc), **{k: v for k, v in node.items() if k != "$ref"}}
        return _inline(merged, by_id, doc)
    return {k: _inline(v, by_id, home) for k, v in node.items()}


def contracts(folder: Path | None = None) -> dict[tuple[str, str], Contract]:
    """Every contract by (record_type, version); the envelope is under ("envelope", version)."""
    return _load(str(folder or contracts_dir()))


def contract(record_type: str, version: str = CURRENT_VERSION, folder: Path | None = None) -> Contract:
    try:
        return contracts(folder)[(record_type, version)]
    except KeyError:
        raise KeyError(f"no contract for record_type={record_type!r} version={version!r}") from None


def schema(record_type: str, version: str = CURRENT_VERSION) -> dict:
    return contract(record_type, version).schema


def parse(raw: bytes | str) -> tuple[Any, list[str]]:
    """Decode and parse one message; returns (object or None, errors)."""
    errors = []
    if isinstance(raw, (bytes, bytearray)):
        if len(raw) > MAX_RECORD_BYTES:
            errors.append(f"oversized: {len(raw)} bytes > {MAX_RECORD_BYTES}")
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            return None, errors + [f"not UTF-8: {exc.reason} at byte {exc.start}"]
    elif len(raw) > MAX_RECORD_BYTES and len(raw.encode()) > MAX_RECORD_BYTES:
        errors.append(f"oversized: {len(raw.encode())} bytes > {MAX_RECORD_BYTES}")
    try:
        return json.loads(raw, parse_constant=_reject_constant), errors
    except (ValueError, RecursionError) as exc:
        return None, errors + [f"malformed JSON: {exc}"[:_MAX_MESSAGE]]


def _reject_constant(name: str):
    # NaN and Infinity are Python extensions, not JSON.
    raise ValueError(f"{name} is not valid JSON")


def validate(record: dict | bytes | str, folder: Path | None = None) -> list[str]:
    """Contract violations of one record (a dict, or the raw message bytes/text).

    Empty list = valid. Raw input is also checked for size, UTF-8 and JSON
    syntax. Range checks against the asset registry and clock checks are in
    brain.contracts.checks, since they need the registry and "now".
    """
    errors: list[str] = []
    if not isinstance(record, dict):
        record, errors = parse(record)
        if record is None:
            return errors
        if not isinstance(record, dict):
            return errors + [f"record must be a JSON object, not {type(record).__name__}"]
    rtype, version = record.get("record_type"), record.get("schema_version")
    known = contracts(folder)
    chosen = known.get((rtype, version)) if isinstance(rtype, str) and isinstance(version, str) else None
    if chosen is None:
        # Still report what the envelope says is wrong (missing fields, bad types).
        chosen = known[("envelope", CURRENT_VERSION)]
        if (rtype, version) not in known and rtype in RECORD_TYPES and isinstance(version, str):
            errors.append(f"schema_version {version!r} of {rtype} is not a known contract version")
    for err in sorted(chosen.validator.iter_errors(record), key=lambda e: list(map(str, e.absolute_path))):
        where = "/".join(map(str, err.absolute_path)) or "(record)"
        errors.append(f"{where}: {err.message}"[:_MAX_MESSAGE])
    return errors


def is_valid(record: dict | bytes | str) -> bool:
    return not validate(record)
