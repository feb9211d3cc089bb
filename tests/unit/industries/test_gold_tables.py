"""Every configured industry's GOLD transforms run on tiny real silver frames.

The frames come from hand-written JSON records sent through brain.clean.fate
(decode, parse, classify, to_silver), so a transform meets the columns and
types silver really has; a broken industry fails here in seconds instead of
in the end-to-end run. One table per industry is also checked against a
hand computation.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timezone

import pytest

from brain import config, industries
from brain.clean.fate import Limits, classify, decode, parse, to_silver
from brain.gold.kpi import formulas as kpi

DAY = date(2026, 11, 20)
INGEST = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
LIMITS = Limits(max_payload_bytes=100_000, future_tolerance_s=300, late_horizon_days=30)
BRONZE = ("payload binary, key binary, topic string, partition int, offset long, kafka_ts timestamp, "
          "ingest_ts timestamp")
COUNTER = "counter"  # the line's end-of-line device: its states are the OEE time basis

# Worked example, the same state sequence on every device of the line:
#   00-06 IDLE planned, 06-10 RUNNING, 10-11 DOWN unplanned (one failure),
#   11-14 RUNNING, 14-24 IDLE planned (the last state lasts to midnight).
#   POT 24 h, PDOT 16 h -> PBT 8 h; APT 7 h -> A = 7/8.
#   Production 400 + 300 units at 30 s planned cycle: PRU x PQ = 21000 s
#   -> E = 21000 / 25200 = 5/6; good 380 + 285 = 665 of 700 -> QR = 0.95.
STATES = ((0, "IDLE", True), (6, "RUNNING", False), (10, "DOWN", False), (11, "RUNNING", False),
          (14, "IDLE", True))
AVAILABILITY, EFFECTIVENESS, QUALITY = 7 / 8, 21000 / 25200, 665 / 700
OEE = AVAILABILITY * EFFECTIVENESS * QUALITY

# Readings while RUNNING; the vibration ones climb into ISO 10816 zone C (a PdM alert)
# and CO goes above its 35 ppm limit once (an exceedance).
TELEMETRY = {
    "raw_materials": (("furnace", "furnace_temp", "degC", (1500.0, 1510.0, 1520.0, 1510.0)),
                      ("furnace", "co_concentration", "ppm", (10.0, 40.0, 20.0, 5.0)),
                      ("blower", "fan_vibration_rms", "mm/s", (2.0, 3.0, 6.5, 7.0))),
    "equipment_manufacturing": (("cnc", "spindle_vibration_rms", "mm/s", (1.0, 1.5, 3.5, 4.0)),
                                ("cnc", "spindle_bearing_temp", "degC", (40.0, 45.0, 50.0, 48.0))),
    "consumer_goods": (("filler", "fill_weight", "g", (500.0, 502.0, 501.0, 503.0)),
                       ("filler", "filler_vibration_rms", "mm/s", (1.0, 1.5, 3.0, 3.5))),
}
READING_HOURS = (7, 8, 9, 12)


def _at(hh: int, mm: int = 0) -> str:
    return f"{DAY.isoformat()}T{hh:02d}:{mm:02d}:00Z"


def _record(industry: str, record_type: str, device: str, hh: int, mm: int = 0, **fields) -> dict:
    return {"schema_version": "1.0", "event_id": str(uuid.uuid4()), "record_type": record_type,
            "industry": industry, "enterprise": "acme", "site": "site-01", "area": "a1", "line": "line-01",
            "device": device, "event_ts": _at(hh, mm), "quality": "GOOD", **fields}


def _devices(industry: str) -> list[str]:
    return [COUNTER, *sorted({dev for dev, *_ in TELEMETRY.get(industry, ())})]


def _machine_state(industry: str) -> list[dict]:
    return [_record(industry, "machine_state", dev, hh, state=state, planned=planned,
                    reason_code=None if state == "RUNNING" else ("NO_SHIFT" if planned else "JAM"))
            for dev in _devices(industry) for hh, state, planned in STATES]


def _production(industry: str) -> list[dict]:
    report = lambda start, end, produced, good, scrap, rework: _record(  # noqa: E731
        industry, "production", COUNTER, end, order_id="o-1", batch_id="b-1", product="p-1",
        planned_cycle_time_s=30.0, produced=produced, good=good, scrap=scrap, rework=rework,
        start_ts=_at(start), end_ts=_at(end), count_unit="pcs")
    return [report(6, 10, 400, 380, 12, 8), report(11, 14, 300, 285, 8, 7)]


def _telemetry(industry: str) -> list[dict]:
    return [_record(industry, "telemetry", dev, hh, sensor=sensor, value=v, unit=unit)
            for dev, sensor, unit, values in TELEMETRY[industry] for hh, v in zip(READING_HOURS, values)]


def _quality_inspection(industry: str) -> list[dict]:
    inspect = lambda hh, passed, codes: _record(  # noqa: E731
        industry, "quality_inspection", COUNTER, hh, batch_id="b-1", inspected=50, passed=passed,
        defect_codes=codes, product="p-1")
    return [inspect(9, 47, ["D1", "D2"]), inspect(13, 49, ["D1"])]


def _energy_meter(industry: str) -> list[dict]:
    meter = lambda hh, mm, carrier, value, unit, interval_s, **f: _record(  # noqa: E731
        industry, "energy_meter", "em-main", hh, mm, carrier=carrier, value=value, unit=unit,
        interval_s=interval_s, **f)
    return [meter(8, 15, "electricity", 100.0, "kWh", 900, demand_kw=400.0, power_factor=0.9),
            meter(8, 30, "electricity", 150.0, "kWh", 900, demand_kw=600.0, power_factor=0.95),
            meter(9, 0, "natural_gas", 50.0, "m3", 3600)]


RECORDS = {"machine_state": _machine_state, "production": _production, "telemetry": _telemetry,
           "quality_inspection": _quality_inspection, "energy_meter": _energy_meter}


def _silver(spark, spec, records: list[dict]):
    """The silver rows fate makes of ``records``, as brain.clean.silver writes them (with ``_run_id``)."""
    from pyspark.sql import functions as F

    rows = [(json.dumps(r).encode(), None, "t", 0, i, INGEST, INGEST) for i, r in enumerate(records)]
    classified = classify(parse(decode(spark.createDataFrame(rows, BRONZE)), spec), spec, LIMITS).localCheckpoint()
    reasons = [r["reason"] for r in classified.select("reason").collect()]
    assert reasons == [None] * len(records), f"{spec.industry}.{spec.record_type} records rejected: {reasons}"
    return to_silver(classified, spec).withColumn("_run_id", F.lit("run-test"))


def _sources(spec) -> tuple[str, ...]:
    return (spec[0],) if isinstance(spec[0], str) else tuple(spec[0])


def _check_known_values(industry: str, rows: dict[str, list]) -> int:
    """Asserts the hand-computed tables the industry has; returns how many it checked."""
    checked = 0
    if (name := f"gold.{industry}_oee_daily_line") in rows:
        [line] = rows[name]
        assert (line.pbt_s, line.apt_s, line.failures, line.produced, line.good) == (28800.0, 25200.0, 1, 700, 665)
        assert line.availability == pytest.approx(AVAILABILITY)
        assert line.effectiveness == pytest.approx(EFFECTIVENESS)
        assert line.quality_ratio == pytest.approx(QUALITY)
        assert line.oee == pytest.approx(OEE)
        assert (line.flags, line.time_basis_devices) == ([], [COUNTER])
        checked += 1
    for level in ("site", "enterprise"):  # one line: the roll-up recomputes the line's OEE
        if (name := f"gold.{industry}_oee_daily_{level}") in rows:
            [row] = rows[name]
            assert (row.oee, row.lines, row.lines_flagged) == (pytest.approx(OEE), 1, 0)
            checked += 1
    if (name := f"gold.{industry}_first_pass_yield_daily_line") in rows:
        # inspections 47 + 49 passed of 50 + 50; production 665 good of 700
        [row] = rows[name]
        assert (row.inspected, row.passed, row.first_pass_yield) == (100, 96, 0.96)
        assert row.first_pass_yield_production == pytest.approx(QUALITY)
        checked += 1
    if "gold.energy_daily_site_kwh" in rows:
        [row] = rows["gold.energy_daily_site_kwh"]
        assert (row.electricity_kwh, row.readings, row.peak_demand_kw) == (250.0, 2, 600.0)
        checked += 1
    if "gold.energy_carbon_daily_site" in rows:
        [row] = rows["gold.energy_carbon_daily_site"]
        tce = kpi.to_tce(250.0, "electricity", "kWh") + kpi.to_tce(50.0, "natural_gas", "m3")
        assert row.tce == pytest.approx(tce, rel=1e-12)
        # 08:15 closes the 08:00-08:15 window, 08:30 the next one: two windows, 400 and 600 kW
        assert (row.peak_demand_kw, row.load_factor) == (600.0, pytest.approx(500 / 600))
        checked += 1
    return checked


@pytest.mark.parametrize("industry", config.load().industry_names())
def test_every_gold_table_of_the_industry_has_rows_of_the_day(spark, base_cfg, industry):
    module = industries.load(base_cfg, industry)
    silver = {}
    rows = {}
    outs = {}
    for name, spec in module.GOLD.items():
        for rt in _sources(spec):
            if rt not in silver:
                silver[rt] = _silver(spark, module.RECORD_SPECS[rt], RECORDS[rt](industry))
        outs[name] = out = spec[1](*[silver[rt] for rt in _sources(spec)])
        assert "event_date" in out.columns, name
        rows[name] = out.collect()
        assert rows[name], f"{name}: no rows"
        assert {r["event_date"] for r in rows[name]} == {DAY}, name
    assert _check_known_values(industry, rows) > 0
    for name, spec in module.GOLD.items():
        rows_of = (spec[2] if len(spec) > 2 else {}).get("rows_of")
        if rows_of:  # the publish rolls these up from the rows of a table it just computed: the same rows
            base, over = rows_of
            assert sorted(map(tuple, over(outs[base]).collect())) == sorted(map(tuple, rows[name])), name


def test_pdm_and_inspection_kpis_exist_for_every_industry_that_has_the_data(base_cfg):
    """conf/assets.yaml gives every producing industry vibration sensors (consumer goods: filler
    and capper) and the contracts let all three send quality_inspection records."""
    import yaml

    from brain.config import project_root

    assets = yaml.safe_load((project_root() / "conf/assets.yaml").read_text())
    vibration = {name for name, s in assets["sensors"].items() if s.get("role") == "vibration"}
    classes = {name for name, c in assets["device_classes"].items() if vibration & set(c["sensors"])}
    with_vibration = {ind for ind, spec in assets["industries"].items()
                      if any(d["class"] in classes for site in spec["sites"] for area in site["areas"]
                             for line in area["lines"] for d in line["devices"])}
    assert with_vibration == {"raw_materials", "equipment_manufacturing", "consumer_goods"}
    names = config.load().industry_names()
    gold = {ind: industries.load(base_cfg, ind).GOLD for ind in names}
    assert {i for i in names if f"gold.{i}_pdm_health_hourly_device" in gold[i]} == with_vibration
    assert {i for i in names if "gold.pdm_alerts" in gold[i]} == with_vibration
    inspected = {i for i in names if "quality_inspection" in industries.load(base_cfg, i).RECORD_SPECS}
    assert inspected == with_vibration  # the same three; energy has neither
    for kind in ("defect_pareto_daily", "first_pass_yield_daily_line"):
        assert {i for i in names if f"gold.{i}_{kind}" in gold[i]} == inspected
