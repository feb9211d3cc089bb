"""Silver rows a `quarantine` expectation failed move to quarantine, the payload taken back from bronze:
by a DELETE naming their coordinates (a few rows) or by a MERGE (past quality.move_by_coordinates_max).
Both ways must leave the same lake: the rows out of silver, in quarantine once with bronze's bytes."""

from __future__ import annotations

import json

import pytest

from brain import config
from brain.clean.quarantine import coordinates_condition, move_to_quarantine
from brain.clean.shared_tables import ensure_shared_tables
from brain.clean.silver import process_batch
from brain.industries import energy
from brain.lake.tables import QUARANTINE, table_path
from tests.energy_data import SITES, meter

SPEC = energy.RECORD_SPECS["energy_meter"]
BRONZE, SILVER = "bronze.energy_meter", "silver.energy_meter"


def _bronze_rows(spark, cfg, records: list[dict]):
    """Kafka-shaped bronze rows for ``records``, two partitions of one topic, as the pass writes them."""
    import datetime as dt

    from brain.contracts import topic_names

    topic = topic_names.topic_for(cfg, "energy", "energy_meter")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows = [(json.dumps(r).encode(), r["event_id"].encode(), topic, i % 2, 100 + i // 2, now, None, now, now.date())
            for i, r in enumerate(records)]
    schema = ("payload binary, key binary, topic string, partition int, offset long, kafka_ts timestamp, "
              "headers array<struct<key:string,value:binary>>, ingest_ts timestamp, ingest_date date")
    return spark.createDataFrame(rows, schema)


@pytest.mark.parametrize("literal_max", [10000, 0], ids=["delete-by-coordinates", "merge"])
def test_moved_rows_leave_silver_and_reach_quarantine_with_bronze_payload(spark, isolated_cfg, monkeypatch,
                                                                          literal_max):
    from pyspark.sql import functions as F

    monkeypatch.setenv("BRAIN__QUALITY__MOVE_BY_COORDINATES_MAX", str(literal_max))
    cfg = config.load()
    ensure_shared_tables(spark, cfg)
    records = [meter(SITES[i % len(SITES)], float(i)) for i in range(12)]
    bronze = _bronze_rows(spark, cfg, records)
    bronze.write.format("delta").mode("append").partitionBy("ingest_date").save(str(table_path(cfg, BRONZE)))
    result = process_batch(spark, cfg, SPEC, SILVER, bronze, "run-1")
    assert (result.inserted, result.quarantined) == (12, 0)

    silver = spark.read.format("delta").load(str(table_path(cfg, SILVER)))
    failing_ids = [records[i]["event_id"] for i in (1, 4, 9)]  # both partitions
    failing = silver.where(F.col("event_id").isin(failing_ids)).withColumn("reason", F.lit("rule:value"))
    assert move_to_quarantine(spark, cfg, SPEC, SILVER, failing, BRONZE) == 3

    left = {r.event_id for r in spark.read.format("delta").load(str(table_path(cfg, SILVER))).collect()}
    assert left == {r["event_id"] for r in records} - set(failing_ids)
    moved = spark.read.format("delta").load(str(table_path(cfg, QUARANTINE))).collect()
    assert sorted(r.event_id for r in moved) == sorted(failing_ids)
    by_id = {r["event_id"]: r for r in records}
    for row in moved:
        assert row.reason == "expectation:rule:value"
        assert json.loads(row.payload) == by_id[row.event_id]  # bronze's bytes, not silver's typed row
    # A retry (a crash after the move) finds nothing left to move and doubles nothing.
    again = spark.read.format("delta").load(str(table_path(cfg, SILVER))).where(F.col("event_id").isin(failing_ids))
    assert move_to_quarantine(spark, cfg, SPEC, SILVER, again.withColumn("reason", F.lit("rule:value")), BRONZE) == 0
    assert spark.read.format("delta").load(str(table_path(cfg, QUARANTINE))).count() == 3


def test_coordinates_condition_names_each_row_once_per_topic_and_partition():
    cond = coordinates_condition([("a.b", 1, 7), ("a.b", 0, 3), ("a.b", 1, 5), ("it's", 0, 1)])
    assert cond == ("((_topic = 'a.b' AND _partition = 0 AND _offset IN (3)) OR "
                    "(_topic = 'a.b' AND _partition = 1 AND _offset IN (5, 7)) OR "
                    "(_topic = 'it\\'s' AND _partition = 0 AND _offset IN (1)))")
    assert coordinates_condition([]) == "false"
