"""Simulated plants -> real Kafka -> bronze/silver/gold -> gold.enterprise_brain, and a late record."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timezone

import pytest
from jsonschema import Draft202012Validator

from brain import pipeline
from brain.config import project_root
from brain.gold.enterprise import COLUMNS, ENTERPRISE_BRAIN, ENTERPRISE_BRAIN_HOURLY, columns
from brain.gold.kpi import formulas as kpi
from brain.gold.rollup import enterprise_oee, registered_lines, site_oee
from brain.ingest import kafka_io
from brain.lake.tables import is_delta, table_path
from brain.serve import metrics_topic
from brain.simulator import run_simulation
from tests.energy_data import meter, send
from tests.sim_dates import recent_monday

pytestmark = pytest.mark.integration
INDUSTRY = "equipment_manufacturing"


def _df(spark, cfg, table):
    return spark.read.format("delta").load(str(table_path(cfg, table)))


def _rows(spark, cfg) -> dict:
    return {(r["site"], r["event_date"]): r.asDict() for r in _df(spark, cfg, ENTERPRISE_BRAIN).collect()}


def test_enterprise_brain_rolls_up_two_sites_and_a_late_record_changes_only_its_day(broker, spark, isolated_cfg):
    cfg = isolated_cfg
    start = recent_monday(at_least_days_ago=3)  # Monday and Tuesday: both lines on shift
    # Two machining sites (one line, two machines each) and the site meters of the fleet.
    run_simulation(cfg, industry=[INDUSTRY, "energy"], sites=2, lines=1, devices=2, days=2, records=1500, seed=11,
                   start=start.isoformat())
    report = pipeline.run_cycle(cfg, [INDUSTRY, "energy"], log=lambda m: None)
    assert report.enterprise[0]["rows"] > 0

    rows = _rows(spark, cfg)
    assert [(f.name, f.dataType.simpleString().replace("bigint", "long")) for f in
            _df(spark, cfg, ENTERPRISE_BRAIN).schema.fields][:len(COLUMNS)] == list(COLUMNS)
    lines = _df(spark, cfg, f"gold.{INDUSTRY}_oee_daily_line").collect()
    # The publish rolls site and enterprise OEE up from the line rows it has just computed.
    line_rows = _df(spark, cfg, f"gold.{INDUSTRY}_oee_daily_line").drop("computed_at")
    for table, expect in ((f"gold.{INDUSTRY}_oee_daily_site", site_oee(line_rows, registered_lines(INDUSTRY))),
                          (f"gold.{INDUSTRY}_oee_daily_enterprise", enterprise_oee(line_rows))):
        got = _df(spark, cfg, table).select(*expect.columns).collect()
        assert sorted(map(tuple, got)) == sorted(map(tuple, expect.collect())), table
    energy = {(r["site"], r["event_date"]): r for r in _df(spark, cfg, "gold.energy_carbon_daily_site").collect()}
    scores = defaultdict(list)
    for r in _df(spark, cfg, "gold.data_quality_daily").collect():
        if r["overall"] is not None:
            scores[(r["site"], r["event_date"])].append(r["overall"])
    by_site = defaultdict(list)
    for r in lines:
        by_site[(r["site"], r["event_date"])].append(r)
    assert {s for s, _ in by_site} == {"em-stuttgart", "em-chongqing"}
    assert set(rows) == set(by_site) | set(energy)  # one row per site and day with any KPI source

    for key, ls in by_site.items():
        row = rows[key]
        ok = [r for r in ls if not r["flags"]]
        sums = [sum(r[c] for r in ok) for c in ("pbt_s", "apt_s", "ideal_run_s", "ideal_good_s")]
        assert row["oee"] == pytest.approx(kpi.rolled_up_oee(*sums), rel=1e-9)
        assert row["produced_count"] == sum(r["produced"] for r in ls)
        assert row["good_count"] == sum(r["good"] for r in ls)
    for key, e in energy.items():
        row = rows[key]
        assert (row["energy_kwh"], row["energy_tce"], row["co2_t"], row["peak_demand_kw"]) == (
            e["electricity_kwh"], e["tce"], e["tco2"], e["peak_demand_kw"])
        assert row["energy_tce"] == pytest.approx(
            sum(kpi.to_tce(e[f"{c}_{u.lower()}"], c, u) for c, u in
                (("electricity", "kWh"), ("natural_gas", "m3"), ("coal", "t"), ("steam", "t"))), rel=1e-9)
    for key, row in rows.items():
        if scores[key]:
            assert row["dq_score"] == pytest.approx(sum(scores[key]) / len(scores[key]))
        else:
            assert row["dq_score"] is None
        assert (row["pdm_alerts"] is None) == (not is_delta(table_path(cfg, "gold.pdm_alerts")))
    # The hourly rows add up to the day's, lie in their day, and each went out on brain.metrics.
    hourly = _df(spark, cfg, ENTERPRISE_BRAIN_HOURLY)
    assert [(f.name, f.dataType.simpleString().replace("bigint", "long")) for f in
            hourly.schema.fields][:len(columns(True))] == list(columns(True))
    hours = defaultdict(list)
    for h in hourly.collect():
        hours[(h["site"], h["event_date"])].append(h)
        assert h["hour_start"].date() == h["event_date"]
    assert set(hours) == set(rows)
    for key, row in rows.items():
        if row["energy_kwh"] is not None:
            assert sum(h["energy_kwh"] or 0.0 for h in hours[key]) == pytest.approx(row["energy_kwh"], rel=1e-9)
        if row["produced_count"] is not None:
            assert sum(h["produced_count"] or 0 for h in hours[key]) == row["produced_count"]
    validator = Draft202012Validator(json.loads((project_root() / "conf/contracts/metrics.schema.json").read_text()))
    sent = [json.loads(m.value) for m in kafka_io.consume_all(cfg, metrics_topic.topic(cfg))]
    for m in sent:
        validator.validate(m)
    assert sorted((m["site"], m["hour_start"]) for m in sent if m["granularity"] == "hour") == sorted(
        (h["site"], metrics_topic.message(h.asDict())["hour_start"]) for hs in hours.values() for h in hs)
    assert len([m for m in sent if m["granularity"] == "day"]) == len(rows)

    assert pipeline.publish_enterprise(cfg)[0]["days"] == []  # nothing new: nothing rebuilt

    # A late meter reading for the oldest day the site has energy data for.
    old = min(d for (site, d), r in rows.items() if site == "em-stuttgart" and r["energy_kwh"] is not None)
    late = meter("em-stuttgart", 5.0, day=datetime(old.year, old.month, old.day, 12, tzinfo=timezone.utc),
                 enterprise="acme-industrial", area="machining", line="housing-1", device="em-main")
    send(cfg, [(None, kafka_io.encode(late))])
    again = pipeline.run_cycle(cfg, ["energy"], log=lambda m: None)
    assert again.enterprise[0]["days"] == [old.isoformat()]
    after = _rows(spark, cfg)
    assert set(after) == set(rows)
    changed = {k for k in rows if after[k] != rows[k]}
    assert changed == {k for k in rows if k[1] == old}  # that day's rows, rebuilt; no other day touched
    key = ("em-stuttgart", old)
    assert after[key]["energy_kwh"] == pytest.approx(rows[key]["energy_kwh"] + 5.0)
    assert after[key]["oee"] == rows[key]["oee"]
