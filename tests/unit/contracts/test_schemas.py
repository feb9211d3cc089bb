"""The record contracts: every schema with good and bad examples, units, the asset registry, checks."""

from __future__ import annotations

import copy
import json

import pytest

from brain import contracts
from brain.config import project_root
from brain.contracts import (
    HOST_INDUSTRIES,
    RECORD_TYPES,
    RegistryError,
    UnknownUnit,
    validate,
)

EXAMPLES = project_root() / "conf" / "contracts" / "examples"


def example(record_type: str) -> dict:
    return json.loads((EXAMPLES / f"{record_type}.json").read_text())


def with_(record: dict, **changes) -> dict:
    rec = copy.deepcopy(record)
    for k, v in changes.items():
        if v is DROP:
            rec.pop(k, None)
        else:
            rec[k] = v
    return rec


DROP = object()


# ---- schemas ---------------------------------------------------------------

def test_every_record_type_has_a_versioned_schema_and_an_example():
    known = contracts.contracts()
    for rt in RECORD_TYPES:
        c = known[(rt, "1.0")]
        assert c.schema["$id"].endswith(f"/{rt}/1.0")
        assert c.schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert (EXAMPLES / f"{rt}.json").is_file()
    assert ("envelope", "1.0") in known


@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_examples_are_valid_as_dicts_and_as_bytes(record_type):
    rec = example(record_type)
    assert validate(rec) == []
    assert validate(json.dumps(rec).encode()) == []
    assert contracts.is_valid(json.dumps(rec))


@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_every_required_field_is_required(record_type):
    rec = example(record_type)
    for field in contracts.contract(record_type).required:
        errors = validate(with_(rec, **{field: DROP}))
        assert errors and any(field in e for e in errors), (field, errors)


@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_envelope_rules_apply_to_every_type(record_type):
    rec = example(record_type)
    bad = {
        "unknown field": with_(rec, padding="x"),
        "event_id not a UUID": with_(rec, event_id="12345"),
        "timestamp without offset": with_(rec, event_ts="2026-11-20T08:00:00.000"),
        "timestamp with a space": with_(rec, event_ts="2026-11-20 08:00:00+08:00"),
        "fractional epoch": with_(rec, event_ts=1795133940000.5),
        "negative epoch": with_(rec, event_ts=-5),
        "quality lower case": with_(rec, quality="good"),
        "empty site": with_(rec, site=""),
        "site not a string": with_(rec, site=7),
        "unknown schema_version": with_(rec, schema_version="9.9"),
        "record_type of another contract": with_(rec, record_type="telemetry" if record_type != "telemetry"
                                                 else "energy_meter"),
    }
    for name, record in bad.items():
        assert validate(record), name
    assert validate(with_(rec, event_ts=1795133940000)) == []
    assert validate(with_(rec, event_ts="2026-11-20T00:00:00Z")) == []
    assert validate(with_(rec, event_ts="2026-11-20T08:00:00.123456789-05:30")) == []
    assert validate(with_(rec, quality="BAD")) == []   # a BAD reading is still a valid record


GOOD_AND_BAD = {
    "telemetry": (
        [{"unit": "degF", "value": 2783.66}, {"value": -3}, {"unit": "%", "sensor": "tool_wear", "value": 12.5}],
        [{"unit": "degR"}, {"unit": "°C"}, {"value": "1528.7"}, {"value": None}, {"sensor": "Furnace Temp"},
         {"industry": "energy"}]),
    "machine_state": (
        [{"state": "RUNNING", "reason_code": None, "planned": False}, {"state": "SETUP", "reason_code": "CHANGEOVER",
                                                                      "planned": True}],
        [{"state": "BROKEN"}, {"state": "running"}, {"planned": "yes"}, {"reason_code": 5}, {"planned": None}]),
    "production": (
        [{"produced": 0, "good": 0, "scrap": 0, "rework": 0}, {"count_unit": "t"}, {"start_ts": 1795132800000}],
        [{"produced": -1}, {"scrap": 1.5}, {"planned_cycle_time_s": 0}, {"good": "4316"}, {"count_unit": "kg"},
         {"end_ts": "yesterday"}, {"order_id": ""}]),
    "quality_inspection": (
        [{"defect_codes": []}, {"inspected": 0, "passed": 0}],
        [{"defect_codes": "DIMENSION_OVERSIZE"}, {"defect_codes": ["a-b"]}, {"defect_codes": ["X", "X"]},
         {"passed": -1}, {"inspected": 7.5}]),
    "material_genealogy": (
        [{"link_type": "batch_to_shipment", "unit": "pcs", "quantity": 29912}, {"unit": "t", "quantity": 7.5}],
        [{"industry": "energy"}, {"link_type": "lot_to_shipment"}, {"quantity": 0}, {"unit": "barrel"},
         {"quantity": "7500"}]),
    "energy_meter": (
        [{"unit": "MWh", "value": 2.242395}, {"carrier": "coal", "unit": "kg", "value": 350.0},
         {"carrier": "natural_gas", "unit": "m3", "value": 1500.0}, {"power_factor": 1.0, "demand_kw": 0}],
        [{"unit": "m3"}, {"carrier": "natural_gas", "unit": "kWh"}, {"carrier": "steam", "unit": "MWh"},
         {"carrier": "oil"}, {"value": -1.0}, {"power_factor": 1.2}, {"interval_s": 900.5},
         {"interval_s": 0}, {"industry": "raw_materials"}]),
}


@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_type_specific_good_and_bad_examples(record_type):
    goods, bads = GOOD_AND_BAD[record_type]
    rec = example(record_type)
    for change in goods:
        assert validate(with_(rec, **change)) == [], change
    for change in bads:
        assert validate(with_(rec, **change)), change


@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_fast_flattened_schemas_agree_with_the_files_as_written(record_type):
    reference = contracts.schemas.reference_validator(record_type)
    rec = example(record_type)
    goods, bads = GOOD_AND_BAD[record_type]
    cases = [rec, with_(rec, padding=1), with_(rec, event_ts="2026-11-20"), with_(rec, quality=None)]
    cases += [with_(rec, **c) for c in goods + bads]
    cases += [with_(rec, **{f: DROP}) for f in contracts.contract(record_type).required]
    for case in cases:
        assert reference.is_valid(case) == (validate(case) == []), case


def test_raw_messages_are_checked_for_size_encoding_and_syntax():
    rec = example("telemetry")
    raw = json.dumps(rec).encode()
    assert any("not UTF-8" in e for e in validate(raw.replace(b'"degC"', b'"\xb0C"')))
    assert any("malformed JSON" in e for e in validate(raw[:-5]))
    assert any("malformed JSON" in e for e in validate(raw.replace(b"1528.7", b"NaN")))
    assert any("JSON object" in e for e in validate(b"[1, 2]"))
    big = json.dumps(with_(rec, debug_dump="x" * contracts.MAX_RECORD_BYTES)).encode()
    assert any(e.startswith("oversized") for e in validate(big))
    assert all(len(e) <= 300 for e in validate(big))   # messages never echo a huge payload


def test_industry_record_types_and_topics_match_the_contracts(base_cfg):
    assert contracts.record_types(base_cfg, "energy") == ["energy_meter"]
    assert contracts.record_types(base_cfg, "consumer_goods")[-1] == "material_genealogy"
    topics = contracts.topics(base_cfg)
    assert len(topics) == 14
    for _topic, industry, rt in topics:
        allowed = contracts.schema(rt)["properties"]["industry"]
        assert industry in allowed.get("enum", [allowed.get("const")]), (industry, rt)


# ---- units -----------------------------------------------------------------

@pytest.mark.parametrize("value,unit,expected,standard", [
    (212.0, "degF", 100.0, "degC"), (32.0, "degF", 0.0, "degC"), (0.0, "K", -273.15, "degC"),
    (14.5037738, "psi", 100.0, "kPa"), (2.0, "bar", 200.0, "kPa"), (1.5, "MWh", 1500.0, "kWh"),
    (250.0, "Wh", 0.25, "kWh"), (500.0, "kg", 0.5, "t"), (1.0, "in/s", 25.4, "mm/s"),
    (600.0, "units/h", 10.0, "units/min"), (1.0, "oz", 28.349523125, "g"), (2500.0, "L", 2.5, "m3"),
])
def test_conversions_to_standard_units(value, unit, expected, standard):
    got, std = contracts.load_units().to_standard(value, unit)
    assert std == standard and got == pytest.approx(expected, abs=1e-6)


def test_conversion_round_trips_and_refuses_mixing_quantities():
    units = contracts.load_units()
    assert units.convert(units.convert(1528.7, "degC", "degF"), "degF", "degC") == pytest.approx(1528.7)
    with pytest.raises(UnknownUnit):
        units.convert(1.0, "kWh", "kg")
    with pytest.raises(UnknownUnit):
        units.get("furlong")
    for unit in units.units.values():
        assert all(units.get(a).standard == unit.standard for a in unit.alternates), unit.name


def test_schemas_accept_exactly_the_unit_table():
    units = contracts.load_units()
    assert set(contracts.schema("telemetry")["properties"]["unit"]["enum"]) == set(units.units)
    energy = contracts.schema("energy_meter")
    for rule in energy["allOf"][1:]:
        carriers = rule["if"]["properties"]["carrier"]
        for carrier in carriers.get("enum", [carriers.get("const")]):
            assert set(rule["then"]["properties"]["unit"]["enum"]) == set(units.carriers[carrier])
    assert set(contracts.schema("material_genealogy")["properties"]["unit"]["enum"]) <= set(units.units)


# ---- the asset registry ----------------------------------------------------

def test_registry_sensors_use_standard_units_and_sane_ranges():
    reg, units = contracts.load_registry(), contracts.load_units()
    assert reg.enterprise
    for s in reg.sensors.values():
        u = units.get(s.unit)
        assert u.standard == s.unit and u.quantity == s.quantity, s.name
        assert s.instrument[0] <= s.normal[0] <= s.normal[1] <= s.instrument[1], s.name
        assert s.period_s > 0
    for cls in reg.classes.values():
        assert all(n in reg.sensors for n in cls.sensors)


def test_registry_covers_the_host_industries_with_a_full_hierarchy():
    reg = contracts.load_registry()
    for industry in HOST_INDUSTRIES:
        sites = reg.sites(industry)
        assert sites and all(s.lines and s.utc_offset and s.clock in ("rfc3339", "epoch_ms") for s in sites)
        for site in sites:
            for line in site.lines:
                assert line.area and line.devices and line.meter and line.product in reg.products
                assert len({d.id for d in line.devices}) == len(line.devices)
                assert all(reg.device_sensors(d) for d in line.devices)
    with pytest.raises(RegistryError):
        reg.sites("energy")   # meters live on the host sites


def test_fleet_scales_by_taking_and_cloning():
    reg = contracts.load_registry()
    small = reg.sites("equipment_manufacturing", sites=1, lines=1, devices=2)
    assert [(s.id, [(ln.id, [d.id for d in ln.devices]) for ln in s.lines]) for s in small] == [
        ("em-stuttgart", [("housing-1", ["mill-1", "mill-2"])])]
    big = reg.sites("consumer_goods", sites=3, lines=3, devices=4)
    assert [s.id for s in big] == ["cg-guangzhou", "cg-lyon", "cg-guangzhou-2"]
    assert [ln.id for ln in big[2].lines] == ["bottling-1", "bottling-2", "bottling-1-2"]
    assert [d.id for d in big[2].lines[2].devices] == ["filler", "capper", "case-packer", "filler-2"]
    assert big[2].lines[2].devices[3].device_class == "filler"
    with pytest.raises(RegistryError):
        reg.sites("consumer_goods", sites=0)


def test_site_offsets_parse():
    reg = contracts.load_registry()
    offsets = {s.id: s.utc_offset_s for s in reg.fleet()}
    assert offsets["rm-baotou"] == 8 * 3600 and offsets["em-stuttgart"] == 3600


# ---- checks a schema cannot make -------------------------------------------

def test_out_of_range_uses_the_instrument_range_after_unit_conversion():
    reg, units = contracts.load_registry(), contracts.load_units()
    rec = example("telemetry")   # furnace_temp, instrument 0..1800 degC
    assert contracts.out_of_range(rec, reg, units) is None
    assert contracts.out_of_range(with_(rec, value=3000.0, unit="degF"), reg, units) is None   # 1648.9 degC
    assert "outside instrument range" in contracts.out_of_range(with_(rec, value=2500.0), reg, units)
    assert "outside instrument range" in contracts.out_of_range(with_(rec, value=-10.0), reg, units)
    assert "not in the asset registry" in contracts.out_of_range(with_(rec, sensor="nope"), reg, units)
    assert contracts.out_of_range(example("energy_meter"), reg, units) is None


def test_timestamps_parse_to_the_same_instant_and_future_is_flagged():
    assert contracts.event_ts_ms("2026-11-20T08:00:00.123+08:00") == contracts.event_ts_ms(
        "2026-11-20T00:00:00.123Z") == 1795132800123
    assert contracts.event_ts_ms(1795132800123) == 1795132800123
    now = 1795132800000
    assert contracts.in_future({"event_ts": now + 301_000}, now)
    assert not contracts.in_future({"event_ts": now + 299_000}, now)
    assert not contracts.in_future({"event_ts": "garbage"}, now)
