"""The brain.metrics payload (brain.serve.metrics_topic.message): contract, nulls, determinism."""

import datetime as dt
import json

from jsonschema import Draft202012Validator, FormatChecker

from brain.config import project_root
from brain.serve import metrics_topic

SCHEMA = json.loads((project_root() / "conf/contracts/metrics.schema.json").read_text())
ROW = {"enterprise": "ACME", "site": "S1", "event_date": dt.date(2026, 3, 3), "oee": 0.612, "availability": 0.9,
       "performance": 0.85, "quality_ratio": 0.8, "produced_count": 8000, "good_count": 6400, "energy_kwh": 4800.0,
       "energy_tce": 0.59, "co2_t": 2.74, "peak_demand_kw": 240.0, "dq_score": 0.95, "pdm_alerts": 2,
       "safety_exceedances": 0, "records_bad": 1, "records_uncertain": 2,
       "computed_at": dt.datetime(2026, 3, 4, 1, 0, 0)}


def test_message_matches_the_published_schema():
    msg = metrics_topic.message(ROW)
    Draft202012Validator(SCHEMA, format_checker=FormatChecker()).validate(msg)
    assert (msg["site"], msg["event_date"], msg["computed_at"]) == ("S1", "2026-03-03", "2026-03-04T01:00:00.000Z")
    assert msg["kpis"]["oee"] == 0.612 and msg["counts"]["pdm_alerts"] == 2


def test_missing_and_nan_values_become_null_and_still_validate():
    row = {k: v for k, v in ROW.items() if k not in ("co2_t", "pdm_alerts")} | {"dq_score": float("nan")}
    msg = metrics_topic.message(row)
    Draft202012Validator(SCHEMA).validate(msg)
    assert (msg["kpis"]["co2_t"], msg["kpis"]["dq_score"], msg["counts"]["pdm_alerts"]) == (None, None, None)


def test_same_row_same_bytes_and_new_computation_new_id():
    a = metrics_topic.encode(metrics_topic.message(ROW))
    assert a == metrics_topic.encode(metrics_topic.message(dict(ROW)))
    later = metrics_topic.message(ROW | {"computed_at": dt.datetime(2026, 3, 5)})
    assert later["message_id"] != json.loads(a)["message_id"]


def test_schema_rejects_a_message_without_site():
    msg = metrics_topic.message(ROW)
    del msg["site"]
    assert not Draft202012Validator(SCHEMA).is_valid(msg)


def test_topic_gets_the_deployment_prefix(base_cfg):
    assert metrics_topic.topic(base_cfg) == (base_cfg.get("kafka.topic_prefix", "") or "") + "brain.metrics"


HOUR_ROW = {k: v for k, v in ROW.items() if k not in ("dq_score", "safety_exceedances")} | {
    "hour_start": dt.datetime(2026, 3, 3, 9, 0), "oee": 0.5, "energy_kwh": 200.0, "pdm_alerts": 1}


def test_hour_message_is_the_same_family_with_its_hour():
    msg = metrics_topic.message(HOUR_ROW)
    Draft202012Validator(SCHEMA, format_checker=FormatChecker()).validate(msg)
    assert (msg["granularity"], msg["source"], msg["schema_version"]) == ("hour", "gold.enterprise_brain_hourly", "1.1")
    assert (msg["event_date"], msg["hour_start"]) == ("2026-03-03", "2026-03-03T09:00:00.000Z")
    assert (msg["kpis"]["oee"], msg["kpis"]["dq_score"], msg["counts"]["safety_exceedances"]) == (0.5, None, None)
    assert set(msg) - set(metrics_topic.message(ROW)) == {"hour_start"}
    # Two hours of a site-day are two messages, distinct from the day's.
    other = metrics_topic.message(HOUR_ROW | {"hour_start": dt.datetime(2026, 3, 3, 10, 0)})
    assert len({msg["message_id"], other["message_id"], metrics_topic.message(ROW)["message_id"]}) == 3


def test_day_message_is_unchanged_by_hours_and_still_schema_1_0():
    msg = metrics_topic.message(ROW)
    assert (msg["schema_version"], msg["granularity"], "hour_start" in msg) == ("1.0", "day", False)


def test_schema_refuses_an_hour_message_without_its_hour_or_a_day_message_with_one():
    hour = metrics_topic.message(HOUR_ROW)
    del hour["hour_start"]
    assert not Draft202012Validator(SCHEMA).is_valid(hour)
    day = metrics_topic.message(ROW) | {"hour_start": "2026-03-03T09:00:00.000Z"}
    assert not Draft202012Validator(SCHEMA).is_valid(day)
