"""One source per contract: the specs the Spark pipeline enforces are the JSON Schemas' own.

The drift checks here read the schema files independently of the builder
(brain.contracts.specs), then prove the builder's own ``drift`` reports a
schema edit on a copy of conf/contracts.
"""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import datetime, timezone

import pytest

from brain import industries
from brain.config import project_root
from brain.contracts import load_units
from brain.contracts.schemas import ENVELOPE_FIELDS, RECORD_TYPES, contracts
from brain.contracts.specs import (
    ENVELOPE,
    QUALITY_FLAGS,
    ContractSpecError,
    all_fields,
    drift,
    record_spec,
    record_specs,
    record_types,
)

CONTRACTS = project_root() / "conf" / "contracts"
# What a JSON type is in the pipeline's spec (brain.clean.fate types and casts by Field.type).
JSON_TYPE_OF = {"string": {"string"}, "double": {"number"}, "long": {"integer"}, "int": {"integer"},
                "boolean": {"boolean"}, "array<string>": {"array"}}
INT32_MAX = 2**31 - 1


def pipeline_specs(cfg):
    """Every spec the pipeline runs with: what brain.pipeline takes from the industry modules."""
    return [spec for ind in cfg.industry_names() for spec in industries.load(cfg, ind).RECORD_SPECS.values()]


def newest(record_type: str) -> str:
    return max((v for rt, v in contracts() if rt == record_type), key=lambda v: tuple(map(int, v.split("."))))


def _types(node: dict) -> set[str]:
    t = node.get("type", [])
    return {t} if isinstance(t, str) else set(t)


@pytest.fixture
def copy(tmp_path):
    """conf/contracts copied, and a way to edit one record type's schema files in the copy."""
    folder = tmp_path / "contracts"
    shutil.copytree(CONTRACTS, folder)

    def edit(record_type: str, change) -> None:
        # Every version's file (``<type>.schema.json``, ``<type>-1.1.schema.json``...), so the
        # spec, which follows the newest, sees the change and the minors still agree.
        for path in [folder / f"{record_type}.schema.json", *folder.glob(f"{record_type}-*.schema.json")]:
            schema = json.loads(path.read_text())
            change(schema)
            path.write_text(json.dumps(schema, indent=2))

    edit.folder = folder
    return edit


# ---- no drift today ---------------------------------------------------------------------------

def test_the_pipelines_specs_are_the_schema_files_specs(base_cfg):
    specs = pipeline_specs(base_cfg)
    assert {(s.industry, s.record_type) for s in specs} == {
        (ind, rt) for ind in base_cfg.industry_names() for rt in record_specs(ind)}
    assert drift(specs) == []
    for ind in base_cfg.industry_names():
        assert set(base_cfg.get(f"industries.{ind}.record_types")) == set(record_specs(ind)), ind


def test_every_schema_property_is_enforced_as_the_schema_states_it(base_cfg):
    """Read the flattened schema directly (not through the builder) and compare field by field:
    field set and order, JSON type, required, nullable-but-present, enums, minimum/maximum."""
    units = load_units()
    for spec in pipeline_specs(base_cfg):
        flat = contracts()[(spec.record_type, spec.contract_version)].flat
        props, required = flat["properties"], set(flat["required"])
        where = f"{spec.industry}.{spec.record_type}"
        assert [f.name for f in all_fields(spec)] == list(props), where
        assert {f.name for f in all_fields(spec) if f.required or f.nullable_present} == required, where
        for f in all_fields(spec):
            node, at = props[f.name], f"{where}.{f.name}"
            if f.type == "timestamp":
                assert {tuple(_types(o)) for o in node["oneOf"]} == {("string",), ("integer",)}, at
            elif "type" in node:
                assert _types(node) - {"null"} == JSON_TYPE_OF[f.type], at
            if f.type == "array<string>":
                assert node["items"]["type"] == "string", at
            if f.type == "int":
                assert node["maximum"] <= INT32_MAX, at
            assert f.nullable_present == (f.name in required and "null" in _types(node)), at
            assert f.required == (f.name in required and "null" not in _types(node)), at
            assert (f.min, f.max) == (node.get("minimum"), node.get("maximum")), at
            assert not {"exclusiveMinimum", "exclusiveMaximum", "multipleOf"} & set(node), at
            enum = node.get("enum", [node["const"]] if "const" in node else None)
            if f.name == "schema_version":
                # Every minor of the major that has a file, the newest (the spec's) last.
                assert list(f.allowed) == enum and enum[-1] == spec.contract_version, at
            elif f.name == "record_type":
                assert enum == [spec.record_type], at     # the topic check pins it (wrong_topic)
            elif f.name == "industry":
                assert spec.industry in enum, at
            elif f.name == spec.unit_field and f.allowed is None:
                # The pipeline checks the unit against units.yaml itself (unknown_unit).
                table = ({u for us in spec.units_by[1].values() for u in us} if spec.units_by
                         else set(units.units))
                assert set(enum) == table, at
            else:
                assert (list(f.allowed) if f.allowed else None) == enum, at
        assert not set(flat) - {"$schema", "$id", "title", "description", "type", "properties", "required",
                                "additionalProperties", "allOf", "x-brain-convert", "x-brain-range-by"}, where
        assert flat["additionalProperties"] is False, where


def test_unit_rules_restate_units_yaml():
    meter = record_spec("energy", "energy_meter")
    stated = {}
    for block in contracts()[("energy_meter", "1.0")].flat["allOf"]:
        cond = block["if"]["properties"]["carrier"]
        for carrier in cond.get("enum") or [cond["const"]]:
            stated[carrier] = tuple(block["then"]["properties"]["unit"]["enum"])
    assert stated == dict(load_units().carriers) == meter.units_by[1]
    assert meter.units_by[0] == "carrier"
    tel = record_spec("raw_materials", "telemetry")
    assert (tel.value_field, tel.unit_field, tel.range_by[0]) == ("value", "unit", "sensor")
    assert tel.range_by[1]["furnace_temp"] == (0.0, 1800.0, "degC")
    gen = record_spec("consumer_goods", "material_genealogy")
    assert (gen.value_field, gen.unit_field) == ("quantity", "unit")
    assert next(f for f in gen.fields if f.name == "unit").allowed == ("kg", "t", "lb", "g", "L", "m3", "pcs")


def test_envelope_constants_are_the_envelope_files():
    env = contracts()[("envelope", "1.0")].schema
    assert tuple(env["properties"]) == ENVELOPE_FIELDS == tuple(f.name for f in ENVELOPE)
    assert tuple(env["required"]) == ENVELOPE_FIELDS
    assert tuple(env["properties"]["record_type"]["enum"]) == RECORD_TYPES == record_types()
    assert tuple(env["properties"]["quality"]["enum"]) == QUALITY_FLAGS
    assert env["properties"]["schema_version"]["enum"] == ["1.0", "1.1"]


def test_a_record_type_refuses_an_industry_its_contract_does_not_name():
    with pytest.raises(ContractSpecError, match="industry 'energy'"):
        record_spec("energy", "telemetry")
    with pytest.raises(KeyError):
        record_spec("energy", "no_such_type")
    assert set(record_specs("energy")) == {"energy_meter"}


# ---- drift is reported -------------------------------------------------------------------------

def test_an_added_field_is_drift(base_cfg, copy):
    copy("telemetry", lambda s: s["properties"].update(firmware={"type": "string"}))
    problems = drift(pipeline_specs(base_cfg), copy.folder)
    assert problems == [f"{ind}.telemetry: field 'firmware' is in the schema, not in the spec"
                        for ind in ("raw_materials", "equipment_manufacturing", "consumer_goods")]


def test_a_removed_or_newly_required_field_is_drift(base_cfg, copy):
    def change(s):
        del s["properties"]["power_factor"]
        s["required"].append("demand_kw")
    copy("energy_meter", change)
    assert drift(pipeline_specs(base_cfg), copy.folder) == [
        "energy.energy_meter: demand_kw.required is False in the spec, True in the schema",
        "energy.energy_meter: field 'power_factor' is in the spec, not in the schema"]


def test_a_changed_enum_is_drift(base_cfg, copy):
    copy("machine_state", lambda s: s["properties"]["state"]["enum"].append("STARVED"))
    problems = drift(pipeline_specs(base_cfg), copy.folder)
    assert len(problems) == 3
    assert all("state.allowed is ('RUNNING', 'IDLE', 'DOWN', 'SETUP') in the spec, "
               "('RUNNING', 'IDLE', 'DOWN', 'SETUP', 'STARVED') in the schema" in p for p in problems)


def test_a_changed_type_is_drift(base_cfg, copy):
    def change(s):
        del s["properties"]["interval_s"]["x-brain-type"]
        s["properties"]["interval_s"]["type"] = "number"
    copy("energy_meter", change)
    assert drift(pipeline_specs(base_cfg), copy.folder) == [
        "energy.energy_meter: interval_s.type is 'int' in the spec, 'double' in the schema"]


def test_a_changed_range_and_a_shared_definition_are_drift(base_cfg, copy):
    copy("envelope", lambda s: s["$defs"]["count"].update(maximum=1000))
    copy("production", lambda s: s["properties"]["planned_cycle_time_s"].update(maximum=3600))
    problems = drift(pipeline_specs(base_cfg), copy.folder)
    prod = [p for p in problems if p.startswith("raw_materials.production")]
    assert "raw_materials.production: planned_cycle_time_s.max is 86400 in the spec, 3600 in the schema" in prod
    assert "raw_materials.production: produced.max is 4294967295 in the spec, 1000 in the schema" in prod
    assert any(p.startswith("consumer_goods.quality_inspection: inspected.max") for p in problems)


def test_a_new_contract_version_is_drift(base_cfg, copy):
    schema = json.loads((CONTRACTS / "energy_meter.schema.json").read_text())
    schema["$id"] = schema["$id"].replace("/1.0", "/1.1")
    schema["properties"]["schema_version"] = {"enum": ["1.0", "1.1"]}
    (copy.folder / "energy_meter-1.1.schema.json").write_text(json.dumps(schema))
    assert drift(pipeline_specs(base_cfg), copy.folder) == [
        "energy.energy_meter: contract_version is '1.0' in the spec, '1.1' in the schema",
        "energy.energy_meter: schema_version.allowed is ('1.0',) in the spec, ('1.0', '1.1') in the schema"]


def test_a_minor_version_that_is_not_additive_is_refused(copy):
    from tests.contract_versions import add_meter_version

    breaking = {
        "'value' changes type number": lambda s: s["properties"]["value"].update(type="string"),
        "'demand_kw' removed": lambda s: s["properties"].pop("demand_kw"),
        "'power_factor' becomes required": lambda s: s["required"].append("power_factor"),
        "'carrier' allows fewer values": lambda s: s["properties"]["carrier"]["enum"].remove("coal"),
        "'value' has a narrower range": lambda s: s["properties"]["value"].update(maximum=10),
        "'meter_serial' is added as required": lambda s: s["required"].append("meter_serial"),
    }
    serial = {"meter_serial": {"type": "string"}}
    for i, (problem, change) in enumerate(breaking.items()):
        folder = copy.folder.parent / f"contracts-{i}"
        shutil.copytree(copy.folder, folder)
        add_meter_version(folder, "1.1", serial, change=change)
        with pytest.raises(ContractSpecError, match="a minor version may only add optional fields") as refused:
            record_spec("energy", "energy_meter", folder)
        assert problem.replace("number", "double") in str(refused.value)
    widened = copy.folder.parent / "contracts-widened"
    shutil.copytree(copy.folder, widened)
    add_meter_version(widened, "1.1", serial, change=lambda s: s["properties"]["value"].update(maximum=2e9))
    assert record_spec("energy", "energy_meter", widened).contract_version == "1.1"


def test_keywords_the_pipeline_cannot_enforce_are_refused_not_ignored(base_cfg, copy):
    copy("material_genealogy", lambda s: s["properties"]["quantity"].update(exclusiveMaximum=5))
    copy("telemetry", lambda s: s.update({"x-brain-ranges-by": "sensor"}))
    problems = drift(pipeline_specs(base_cfg), copy.folder)
    assert any(p.startswith("consumer_goods.material_genealogy:") and "cannot enforce ['exclusiveMaximum']" in p
               for p in problems)
    assert any(p.startswith("raw_materials.telemetry:") and "x-brain-ranges-by" in p for p in problems)


def test_units_per_carrier_must_agree_with_units_yaml(base_cfg, copy):
    copy("energy_meter", lambda s: s["allOf"][1]["then"]["properties"]["unit"]["enum"].append("L"))
    problems = drift(pipeline_specs(base_cfg), copy.folder)
    assert len(problems) == 1 and "differ from units.yaml carriers" in problems[0]


# ---- the pipeline accepts what the files declare -------------------------------------------------

INGEST = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)


def _next_minor(version: str) -> str:
    major, minor = version.split(".")
    return f"{major}.{int(minor) + 1}"


def test_examples_pass_and_schema_versions_are_exactly_the_declared_ones(spark):
    from brain.clean.fate import Limits, classify, decode, parse

    limits = Limits(max_payload_bytes=100_000, future_tolerance_s=300, late_horizon_days=100_000)
    for rt in RECORD_TYPES:
        example = json.loads((CONTRACTS / "examples" / f"{rt}.json").read_text())
        spec = record_spec(example["industry"], rt)
        records = [example] + [{**example, "schema_version": v, "event_id": str(uuid.uuid4())}
                               for v in (_next_minor(spec.contract_version), "1.01", "2.0", "1")]
        rows = [(json.dumps(r).encode(), None, "t", 0, i, INGEST, INGEST) for i, r in enumerate(records)]
        df = spark.createDataFrame(rows, "payload binary, key binary, topic string, partition int, offset long, "
                                         "kafka_ts timestamp, ingest_ts timestamp")
        got = [r["reason"] for r in classify(parse(decode(df), spec), spec, limits).orderBy("offset").collect()]
        assert got == [None, "invalid_value:schema_version", "invalid_value:schema_version", "schema_mismatch",
                       "invalid_value:schema_version"], rt
