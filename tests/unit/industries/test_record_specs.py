"""Record specs of the producing industries: typed, converted and range-checked from the registry."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pytest

from brain.clean.fate import Limits, classify, decode, parse, to_silver
from brain.industries import consumer_goods, equipment_manufacturing, raw_materials

INGEST = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
LIMITS = Limits(max_payload_bytes=100_000, future_tolerance_s=300, late_horizon_days=30)


def envelope(industry: str, record_type: str, **fields) -> dict:
    rec = {"schema_version": "1.0", "event_id": str(uuid.uuid4()), "record_type": record_type,
           "industry": industry, "enterprise": "acme", "site": "site-01", "area": "a1", "line": "line-01",
           "device": "dev-01", "event_ts": "2026-11-28T08:00:00Z", "quality": "GOOD"}
    rec.update(fields)
    return rec


def run(spark, spec, records):
    rows = [(json.dumps(r).encode(), None, "t", 0, i, INGEST, INGEST) for i, r in enumerate(records)]
    df = spark.createDataFrame(rows, "payload binary, key binary, topic string, partition int, offset long, "
                                     "kafka_ts timestamp, ingest_ts timestamp")
    classified = classify(parse(decode(df), spec), spec, LIMITS).orderBy("offset")
    return [r["reason"] for r in classified.select("reason").collect()], to_silver(classified, spec)


def test_telemetry_converts_units_and_checks_the_sensors_instrument_range(spark):
    spec = raw_materials.RECORD_SPECS["telemetry"]
    t = lambda **f: envelope("raw_materials", "telemetry", **f)  # noqa: E731
    reasons, silver = run(spark, spec, [
        t(sensor="furnace_temp", value=2732.0, unit="degF"),  # 1500 degC: fine
        t(sensor="furnace_temp", value=3500.0, unit="degF"),  # 1926.7 degC > 1800 instrument max
        t(sensor="furnace_temp", value=12.0, unit="ppm"),     # a concentration unit for a temperature
        t(sensor="no_such_sensor", value=1.0, unit="degC"),
        t(sensor="hot_blast_pressure", value=58.0, unit="psi"),
    ])
    assert reasons == [None, "out_of_range:value", "unknown_unit", "invalid_value:sensor", None]
    rows = {r["sensor"]: r for r in silver.collect()}
    assert rows["furnace_temp"]["value"] == pytest.approx(1500.0)
    assert (rows["furnace_temp"]["unit"], rows["furnace_temp"]["source_unit"]) == ("degC", "degF")
    assert rows["hot_blast_pressure"]["value"] == pytest.approx(399.9, abs=0.1)


def test_production_parses_both_timestamp_formats(spark):
    spec = equipment_manufacturing.RECORD_SPECS["production"]
    p = lambda **f: envelope("equipment_manufacturing", "production", order_id="o1", batch_id="b1",  # noqa: E731
                             product="gear", planned_cycle_time_s=30.0, produced=100, good=95, scrap=3,
                             rework=2, **f)
    start_ms = int(datetime(2026, 11, 28, 7, 0, tzinfo=timezone.utc).timestamp() * 1000)
    reasons, silver = run(spark, spec, [
        p(start_ts=start_ms, end_ts="2026-11-28T16:00:00+08:00"),
        p(start_ts="07:00", end_ts="2026-11-28T08:00:00Z"),
        {**p(start_ts=start_ms, end_ts=start_ms), "produced": 12.5},
    ])
    assert reasons == [None, "bad_timestamp:start_ts", "wrong_type:produced"]
    row = silver.collect()[0]
    assert (row["start_ts_utc"], row["end_ts_utc"]) == (datetime(2026, 11, 28, 7), datetime(2026, 11, 28, 8))


def test_quality_inspection_defect_codes_must_be_a_list(spark):
    spec = consumer_goods.RECORD_SPECS["quality_inspection"]
    q = lambda codes: envelope("consumer_goods", "quality_inspection", batch_id="b1", inspected=10,  # noqa: E731
                               passed=9, defect_codes=codes)
    reasons, silver = run(spark, spec, [q(["SEAL_LEAK"]), q("SEAL_LEAK")])
    assert reasons == [None, "wrong_type:defect_codes"]
    assert silver.collect()[0]["defect_codes"] == ["SEAL_LEAK"]


def test_genealogy_and_machine_state(spark):
    g = consumer_goods.RECORD_SPECS["material_genealogy"]
    reasons, silver = run(spark, g, [
        envelope("consumer_goods", "material_genealogy", link_type="lot_to_batch", parent_id="LOT-1",
                 child_id="B-1", quantity=250.0, unit="kg"),
        envelope("consumer_goods", "material_genealogy", link_type="batch_to_lot", parent_id="B-1",
                 child_id="S-1", quantity=1.0, unit="pcs"),
    ])
    assert reasons == [None, "invalid_value:link_type"]
    assert (silver.collect()[0]["quantity"], silver.collect()[0]["unit"]) == (pytest.approx(0.25), "t")

    m = raw_materials.RECORD_SPECS["machine_state"]
    reasons, _ = run(spark, m, [
        envelope("raw_materials", "machine_state", state="DOWN", reason_code="BEARING_FAILURE", planned=False),
        envelope("raw_materials", "machine_state", state="RUNNING", reason_code=None, planned=False),
        envelope("raw_materials", "machine_state", state="EXPLODED", reason_code=None, planned=False),
        envelope("raw_materials", "machine_state", state="IDLE", reason_code=None, planned="maybe"),
        envelope("raw_materials", "machine_state", state="RUNNING", planned=False),  # reason_code absent
    ])
    assert reasons == [None, None, "invalid_value:state", "wrong_type:planned", "missing_field:reason_code"]


def test_every_contract_required_field_is_checked_by_the_record_spec(base_cfg):
    """A record missing a field its contract requires must be quarantined, never land in silver
    (found by the week-long e2e: machine_state without reason_code passed). Field sets, types,
    enums and ranges are compared in full by tests/unit/contracts/test_specs.py."""
    from brain import industries
    from brain.contracts.schemas import contract
    from brain.contracts.specs import all_fields, drift

    for ind in base_cfg.industry_names():
        specs = industries.load(base_cfg, ind).RECORD_SPECS
        assert drift(specs.values()) == [], ind
        for rt, spec in specs.items():
            checked = {f.name for f in all_fields(spec) if f.required or f.nullable_present}
            assert set(contract(rt).required) == checked, (ind, rt, set(contract(rt).required) ^ checked)
