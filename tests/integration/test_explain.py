"""`brain explain` on a real cycle: a hand-written day of one line through Kafka, Spark and Delta,
then the OEE row explained back to the records sent, checked against the hand computation
(the worked example of tests/unit/industries/test_gold_tables.py: A = 7/8, E = 5/6, Q = 0.95)."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from brain import pipeline
from brain.cli.main import main
from brain.contracts.topic_names import industry_topics, topic_for
from brain.ingest import kafka_io
from tests.unit.industries.test_gold_tables import STATES

pytestmark = pytest.mark.integration

INDUSTRY = "equipment_manufacturing"
DAY = dt.date.today() - dt.timedelta(days=1)  # recent: older than the late horizon would be quarantined


# A registered place (conf/assets.yaml): records from anywhere else are quarantined unknown_asset.
PLACE = {"enterprise": "acme-industrial", "site": "em-stuttgart", "area": "machining", "line": "housing-1",
         "device": "press-1"}


def _at(hh: int) -> str:
    return f"{DAY.isoformat()}T{hh:02d}:00:00Z"


def _record(record_type: str, hh: int, **fields) -> dict:
    return {"schema_version": "1.0", "event_id": str(uuid.uuid4()), "record_type": record_type,
            "industry": INDUSTRY, **PLACE, "event_ts": _at(hh), "quality": "GOOD", **fields}


def _report(start: int, end: int, produced, good: int, scrap: int, rework: int) -> dict:
    return _record("production", end, order_id="o-1", batch_id="b-1", product="p-1", planned_cycle_time_s=30.0,
                   produced=produced, good=good, scrap=scrap, rework=rework, start_ts=_at(start), end_ts=_at(end),
                   count_unit="pcs")


def _send(cfg, record_type: str, records: list[dict]) -> None:
    topic = topic_for(cfg, INDUSTRY, record_type)
    # Every topic of the industry (the ingest pass reads them all); one partition: offsets are the send order.
    kafka_io.create_topics(cfg, industry_topics(cfg, INDUSTRY), partitions=1)
    kafka_io.produce(cfg, [(topic, b"housing-1", json.dumps(r).encode()) for r in records])


def test_explain_walks_an_oee_row_back_to_its_records(broker, spark, isolated_cfg, capsys):
    cfg = isolated_cfg
    states = [_record("machine_state", hh, state=s, planned=p, reason_code=None if s == "RUNNING" else
                      ("NO_SHIFT" if p else "JAM")) for hh, s, p in STATES]
    first, second = _report(6, 10, 400, 380, 12, 8), _report(11, 14, 300, 285, 8, 7)
    broken = _report(14, 15, "many", 0, 0, 0)  # fails the contract: quarantined, keys still readable
    _send(cfg, "machine_state", states)                           # offsets 0-4
    _send(cfg, "production", [first, second, first, broken])      # 0, 1; 2 = a resent copy; 3 = quarantined
    pipeline.run_cycle(cfg, [INDUSTRY], log=lambda m: None)

    table = f"gold.{INDUSTRY}_oee_daily_line"
    assert main(["explain", table, "--where", f"line='housing-1' AND event_date='{DAY}'", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    (row,) = result["rows"]
    g = row["row"]
    # Hand computation: PBT 24 h - 16 h planned idle = 8 h; APT 4 h + 3 h = 7 h; 700 made at 30 s, 665 good.
    assert (g["pbt_s"], g["apt_s"], g["ideal_run_s"], g["produced"], g["good"]) == (28800, 25200, 21000, 700, 665)
    assert g["oee"] == pytest.approx(7 / 8 * 5 / 6 * 0.95)
    assert "  OEE  = 0.8750 x 0.8333 x 0.9500 = 0.6927 (69.3 %)" in row["formula"]

    src = {s["record_type"]: s for s in row["sources"]}
    assert src["machine_state"]["silver_rows"] == 5
    assert src["machine_state"]["kafka"] == [{"topic": topic_for(cfg, INDUSTRY, "machine_state"), "partition": 0,
                                              "records": 5, "first_offset": 0, "last_offset": 4,
                                              "ranges": [[0, 4]]}]
    prod = src["production"]
    assert prod["silver_rows"] == 2 and prod["kafka"][0]["ranges"] == [[0, 1]]
    assert prod["duplicates"] == 1
    assert prod["quarantined"]["matched"] == 1 and prod["quarantined"]["unattributed"] == 0
    assert [(r["produced"], r["good"]) for r in prod["reports"]] == [(400, 380), (300, 285)]
    assert [(s["state"], s["seconds"]) for s in row["state_intervals"]["press-1"]] == [
        ("IDLE", 21600), ("RUNNING", 14400), ("DOWN", 3600), ("RUNNING", 10800), ("IDLE", 36000)]

    # The readable form says the same, and a filter outside the grammar is refused with the form it takes.
    assert main(["explain", table, "--where", f"line='housing-1' AND event_date='{DAY}'"]) == 0
    text = capsys.readouterr().out
    assert "A    = APT / PBT = 25,200 s / 28,800 s = 0.8750" in text and "offsets 0-1" in text
    assert main(["explain", table, "--where", "oee < 0.7"]) == 2
    assert "col = 'value'" in capsys.readouterr().err
