"""Hostile and evolving input on the real stack: nothing crashes, nothing is lost."""

from __future__ import annotations

import json
import threading
import time

import pytest

from brain import pipeline
from brain.ingest import kafka_io
from brain.lake.tables import table_path
from tests.energy_data import meter, send

pytestmark = pytest.mark.integration


def _df(spark, cfg, table):
    return spark.read.format("delta").load(str(table_path(cfg, table)))


def _reasons(spark, cfg) -> dict:
    return {r["reason"]: r["count"] for r in _df(spark, cfg, "silver.quarantine").groupBy("reason").count().collect()}


def test_hostile_messages_end_in_quarantine_with_reasons(broker, spark, isolated_cfg):
    cfg = isolated_cfg
    good = meter("rm-baotou", 1.0)
    hostile = [
        (None, bytes(range(256)) * 4),                                            # binary garbage
        (None, json.dumps({**meter("rm-baotou", 1.0), "pad": "x" * (5 * 1024 * 1024)}).encode()),  # 5 MB
        (None, b'{"a":' * 3000 + b"1" + b"}" * 3000),                             # deeply nested
        (None, kafka_io.encode(good).replace(b'"value":1.0', b'"value":NaN')),   # not JSON
        (None, kafka_io.encode(meter("", 1.0))),                                  # empty string id
        (None, kafka_io.encode(meter("../../etc", 1.0))),                         # path characters
        (None, kafka_io.encode(meter("s1'; DROP TABLE x;--", 1.0))),              # SQL characters
        (None, b""),                                                              # empty message
        (None, kafka_io.encode(good)),
    ]
    send(cfg, hostile)
    report = pipeline.run_cycle(cfg, ["energy"], log=lambda m: None)
    clean = report.industries["energy"]["clean"][0]
    assert (clean["bronze_rows"], clean["inserted"], clean["quarantined"]) == (9, 1, 8)
    assert _reasons(spark, cfg) == {"non_utf8": 1, "oversized": 1, "malformed_json": 3,
                                    "missing_field:site": 1, "invalid_id:site": 2}


def test_additive_fields_are_accepted_and_versions_without_a_schema_file_are_quarantined(broker, spark, isolated_cfg):
    cfg = isolated_cfg
    send(cfg, [(None, kafka_io.encode({**meter("rm-baotou", 2.0), "firmware": "4.2", "phase": {"l1": 1}})),
               (None, kafka_io.encode({**meter("rm-baotou", 3.0), "schema_version": "1.3"})),
               (None, kafka_io.encode({**meter("rm-baotou", 4.0), "schema_version": "2.0"}))])
    pipeline.run_cycle(cfg, ["energy"], log=lambda m: None)
    # Extra keys on a declared version are dropped; 1.3 has no schema file in conf/contracts, 2.0 is a new major.
    assert sorted(r["value"] for r in _df(spark, cfg, "silver.energy_meter").collect()) == [2.0]
    assert _reasons(spark, cfg) == {"invalid_value:schema_version": 1, "schema_mismatch": 1}


def test_silver_properties_name_owner_industry_and_contract(broker, spark, isolated_cfg):
    cfg = isolated_cfg
    send(cfg, [(None, kafka_io.encode(meter("rm-baotou", 2.0)))])
    pipeline.run_cycle(cfg, ["energy"], log=lambda m: None)
    path = table_path(cfg, "silver.energy_meter")
    props = {r["key"]: r["value"] for r in spark.sql(f"SHOW TBLPROPERTIES delta.`{path}`").collect()}
    assert props["brain.industry"] == "energy" and props["brain.contract_version"] == "1.0"
    assert props["brain.owner"] == cfg.get("project.owner")
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{path}`").collect()[0]
    assert detail["partitionColumns"] == ["event_date"]


def test_backfill_restores_lost_silver_rows_without_doubling(broker, spark, isolated_cfg):
    from datetime import datetime, timezone

    from delta.tables import DeltaTable

    cfg = isolated_cfg
    send(cfg, [(None, kafka_io.encode(meter("rm-baotou", v))) for v in (1.0, 2.0, 3.0)] + [(None, b"junk")])
    pipeline.run_cycle(cfg, ["energy"], log=lambda m: None)
    DeltaTable.forPath(spark, str(table_path(cfg, "silver.energy_meter"))).delete("value = 2.0")

    today = datetime.now(timezone.utc).date().isoformat()  # ingest dates are UTC
    pipeline.backfill(cfg, "energy", today, today, "backfill_test")
    assert sorted(r["value"] for r in _df(spark, cfg, "silver.energy_meter").collect()) == [1.0, 2.0, 3.0]
    assert _df(spark, cfg, "silver.quarantine").count() == 1  # the junk, once

    pipeline.backfill(cfg, "energy", today, today, "backfill_again")
    assert _df(spark, cfg, "silver.energy_meter").count() == 3


def test_continuous_mode_keeps_ingesting_until_stopped(broker, spark, isolated_cfg, monkeypatch):
    from pyspark.errors import AnalysisException

    from brain import config

    monkeypatch.setenv("BRAIN__PIPELINE__TRIGGER", "continuous")
    monkeypatch.setenv("BRAIN__PIPELINE__PROCESSING_TIME", "1 second")
    cfg = config.load()
    send(cfg, [(None, kafka_io.encode(meter("rm-baotou", 1.0)))])
    errors = []

    def run():
        try:
            pipeline.stream(cfg, ["energy"], "stream_test", log=lambda m: None, report_every_s=1)
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    try:
        silver = table_path(cfg, "silver.energy_meter")
        deadline = time.monotonic() + 120
        sent_second = False
        while time.monotonic() < deadline and not errors:
            if (silver / "_delta_log").is_dir():
                try:
                    n = _df(spark, cfg, "silver.energy_meter").count()
                except AnalysisException:  # the first commit is still being written
                    n = 0
                if n == 1 and not sent_second:
                    send(cfg, [(None, kafka_io.encode(meter("rm-baotou", 2.0)))])  # arrives while running
                    sent_second = True
                if n == 2:
                    break
            time.sleep(1)
        assert not errors, errors
        assert _df(spark, cfg, "silver.energy_meter").count() == 2
    finally:
        for q in spark.streams.active:
            q.stop()
        worker.join(timeout=60)
    assert not errors
