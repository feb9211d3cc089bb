"""`brain reconcile` on the real broker and Delta: it proves a clean run, and it catches what it must."""

from __future__ import annotations

import json

import pytest

from brain import pipeline
from brain.cli import main as cli
from brain.lake.tables import table_path
from brain.ops.reconcile import reconcile
from tests.energy_data import batch, send
from tests.fault.ledger import stage_in_subprocess

pytestmark = pytest.mark.integration


def _path(cfg, table) -> str:
    return str(table_path(cfg, table))


def _df(spark, cfg, table):
    return spark.read.format("delta").load(_path(cfg, table))


def _coords(row, prefix: str = "_") -> tuple:
    return row[f"{prefix}topic"], row[f"{prefix}partition"], row[f"{prefix}offset"]


def test_reconcile_proves_a_clean_run_and_catches_lost_doubled_and_gaps(broker, spark, isolated_cfg, capsys):
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    cfg = isolated_cfg
    msgs, expected = batch()
    topic = send(cfg, msgs)

    # The pass died after its batch reached bronze, before the batch's fates: pending (the next
    # run replays that batch), which is not a loss.
    died = stage_in_subprocess("ingest", kill_at="pass.after_bronze")
    assert died.returncode == -9, died.stderr[-3000:]
    report = reconcile(cfg, ["energy"])
    assert report.ok, report.problems
    assert report.totals()["pending"] == report.totals()["bronze_rows"] == len(msgs)
    assert report.totals()["kafka_consumed"] == len(msgs)
    assert sum(p.kafka_end for p in report.partitions) == len(msgs)  # the broker agrees

    pipeline.ingest(cfg, "energy")
    report = reconcile(cfg, ["energy"], kafka=False)
    t = report.totals()
    assert report.ok, [p.problems for p in report.partitions]
    assert (t["kafka_consumed"], t["bronze_rows"]) == (len(msgs), len(msgs))
    assert (t["silver"], t["quarantine"], t["duplicates"]) == (4, 2, 1)
    assert (t["lost"], t["doubled"], t["orphans"], t["gaps"], t["pending"]) == (0, 0, 0, 0, 0)
    assert report.lost == report.doubled == []
    assert report.quarantine_by_reason == {"energy": expected["quarantine"]}
    assert report.quarantine_by_kind == {"energy": {"non_utf8": 1, "out_of_range": 1}}
    assert {p.topic for p in report.partitions} == {topic}

    silver = sorted(_df(spark, cfg, "silver.energy_meter").collect(), key=_coords)
    lost_row, doubled_row = silver[0], silver[1]

    # 1. A silver row disappears: lost.
    DeltaTable.forPath(spark, _path(cfg, "silver.energy_meter")).delete(
        (F.col("_partition") == lost_row["_partition"]) & (F.col("_offset") == lost_row["_offset"]))
    # 2. A silver row's coordinates also land in quarantine: doubled.
    bronze = _df(spark, cfg, "bronze.energy_meter")
    copy = bronze.where((F.col("partition") == doubled_row["_partition"])
                        & (F.col("offset") == doubled_row["_offset"])).select(
        F.lit("energy").alias("industry"), F.lit("energy_meter").alias("record_type"),
        F.lit("expectation:test").alias("reason"), F.lit(doubled_row["event_id"]).alias("event_id"), "payload",
        "topic", "partition", "offset", "kafka_ts", "key", F.current_timestamp().alias("quarantined_at"))
    copy.write.format("delta").mode("append").save(_path(cfg, "silver.quarantine"))

    report = reconcile(cfg, ["energy"], kafka=False)
    assert not report.ok
    assert (report.totals()["lost"], report.totals()["doubled"]) == (1, 1)
    assert report.lost == [{"topic": topic, "partition": lost_row["_partition"], "offset": lost_row["_offset"]}]
    assert report.doubled == [{"topic": topic, "partition": doubled_row["_partition"],
                               "offset": doubled_row["_offset"], "found_in": ["silver", "quarantine"]}]
    bad = {p.partition for p in report.mismatches()}
    assert bad == {lost_row["_partition"], doubled_row["_partition"]}

    # 3. A bronze row disappears: an offset gap (and its silver/quarantine row becomes an orphan).
    gone = sorted(_df(spark, cfg, "silver.quarantine").where(F.col("reason") == "non_utf8").collect(),
                  key=lambda r: _coords(r, ""))[0]
    DeltaTable.forPath(spark, _path(cfg, "bronze.energy_meter")).delete(
        (F.col("partition") == gone["partition"]) & (F.col("offset") == gone["offset"]))
    report = reconcile(cfg, ["energy"], kafka=False)
    row = next(p for p in report.partitions if p.partition == gone["partition"])
    assert row.gaps == 1 and row.bronze_rows == row.kafka_consumed - 1
    assert any("missing from bronze" in m for m in row.problems)
    assert {"topic": topic, "partition": gone["partition"], "offset": gone["offset"],
            "found_in": ["quarantine"]} in report.orphans

    # The CLI: exit 1 and a table naming the topic/partition; --json carries the same report.
    capsys.readouterr()
    assert cli.main(["reconcile", "--industry", "energy", "--no-kafka"]) == 1
    out = capsys.readouterr().out
    assert "MISMATCH" in out and topic in out and "lost" in out
    assert f"{topic}[{lost_row['_partition']}]" in out
    assert cli.main(["reconcile", "--industry", "energy", "--json", "--no-kafka"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False and data["totals"]["lost"] == 1 and data["totals"]["gaps"] == 1
