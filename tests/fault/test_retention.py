"""Kafka deleting offsets bronze never read: a loud stop naming the way out, and a recovery
that reports exactly which offsets are gone (never a silent gap)."""

from __future__ import annotations

import shutil

import pytest

from brain import pipeline
from brain.ingest import kafka_io
from brain.ingest.bronze import KafkaDataLost
from brain.lake.tables import pass_checkpoint
from brain.ops.reconcile import reconcile, reconcile_ledger, render
from brain.simulator.sinks import read_ledger
from tests.fault.ledger import energy_batch, send

pytestmark = [pytest.mark.slow, pytest.mark.fault]


def test_unread_offsets_deleted_by_kafka_fail_loudly(broker, spark, isolated_cfg, tmp_path, capsys):
    from kafka import TopicPartition

    cfg = isolated_cfg
    ledger = tmp_path / "ledger.jsonl"
    first, _ = energy_batch(30)
    topic = send(cfg, first, ledger, partitions=1)
    pipeline.ingest(cfg, "energy", "run_1")
    read_up_to = len(first)
    send(cfg, energy_batch(30, tag="late")[0], ledger)
    # What retention does to an unread segment, made exact: the log start moves past unread offsets.
    cut = read_up_to + 15
    client = kafka_io.admin(cfg)
    try:
        client.delete_records({TopicPartition(topic, 0): cut})
    finally:
        client.close()
    assert kafka_io.beginning_offsets(cfg, topic) == {0: cut}

    with pytest.raises(KafkaDataLost, match="recover-from-bronze") as lost:
        pipeline.ingest(cfg, "energy")
    assert topic in str(lost.value)

    # The operator's way out, as the message says: checkpoint aside, recover from bronze.
    shutil.move(pass_checkpoint(cfg, "energy"), tmp_path / "old-checkpoint")
    capsys.readouterr()
    pipeline.ingest(cfg, "energy", "run_2", recover=True)
    said = capsys.readouterr().out
    assert f"offsets {read_up_to}..{cut - 1} are gone from Kafka (15 records never ingested)" in said, said

    # The ledger proves exactly the deleted offsets are missing, and reconcile reports the gap.
    acked = read_ledger(ledger)
    check = reconcile_ledger(cfg, acked)
    assert (check.lost, check.doubled, check.silver_repeats) == (15, 0, 0), check.render()
    assert sorted(s["offset"] for s in check.samples["lost"]) == list(range(read_up_to, cut))
    report = reconcile(cfg, ["energy"])
    assert not report.ok and report.totals()["gaps"] == 15, render(report)


def test_retention_expires_by_layer_and_reconcile_calls_it_expired(broker, spark, isolated_cfg, tmp_path,
                                                                   monkeypatch):
    """`brain maintain` deletes what the industry's retention says, layer by layer (silver by event date,
    bronze by ingest date, gold by event date); reconcile and the producer ledger still pass and count
    the deleted records as expired, not lost; ingest keeps going after bronze's old rows are gone."""
    from datetime import datetime, timedelta, timezone

    from kafka.admin import ConfigResource, ConfigResourceType

    from brain import config
    from brain.lake.maintenance import maintain
    from brain.lake.retention import EXPIRED
    from brain.lake.tables import bronze_table, silver_table, table_path
    from tests.energy_data import meter
    from tests.fault.ledger import count

    monkeypatch.setenv("BRAIN__RETENTION__KAFKA_DAYS", "2")
    monkeypatch.setenv("BRAIN__INDUSTRIES__ENERGY__RETENTION__BRONZE_DAYS", "3")
    monkeypatch.setenv("BRAIN__INDUSTRIES__ENERGY__RETENTION__SILVER_DAYS", "10")
    cfg = config.load()
    ledger = tmp_path / "ledger.jsonl"
    today = datetime.now(timezone.utc).date()
    now = datetime.now(timezone.utc)

    # 12 readings of an event day 20 days back (older than silver's 10 days, within the 30-day late
    # horizon, so they reach silver), and a fresh batch with its duplicates and quarantined messages.
    old = [meter("rm-baotou", float(i + 1), day=now - timedelta(days=20, minutes=i)) for i in range(12)]
    fresh, expected = energy_batch(20)
    topic = send(cfg, [(kafka_io.record_key(r), kafka_io.encode(r)) for r in old] + fresh, ledger)
    client = kafka_io.admin(cfg)
    try:
        described = client.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        client.close()
    by_topic = next(by_name[topic] for by_name in described.values() if topic in by_name)
    assert by_topic["retention.ms"]["value"] == str(2 * 86_400_000), described

    pipeline.ingest(cfg, "energy", "run_1")
    bronze, silver = bronze_table("energy", "energy_meter"), silver_table("energy", "energy_meter")
    total = len(old) + len(fresh)
    assert count(spark, cfg, bronze) == total
    assert count(spark, cfg, silver) == len(old) + expected["silver"]
    # A gold table with an industry column: energy's rows by energy's gold horizon (1825 days).
    probe = str(table_path(cfg, "gold.retention_probe"))
    spark.createDataFrame([("energy", today - timedelta(days=1826), 1), ("energy", today - timedelta(days=1825), 2)],
                          "industry string, event_date date, v int").write.format("delta").save(probe)

    # 1. Today: the old event day is past silver's horizon; bronze (ingested today) is not.
    entries = {e["table"]: e for e in maintain(spark, cfg, today=today)}
    assert entries[silver]["expired_rows"] == len(old)
    assert entries[bronze]["expired_rows"] == 0 and entries["gold.retention_probe"]["expired_rows"] == 1
    assert count(spark, cfg, silver) == expected["silver"]
    assert [r.v for r in spark.read.format("delta").load(probe).collect()] == [2]
    report = reconcile(cfg, ["energy"])
    t = report.totals()
    assert report.ok, render(report)
    assert (t["expired_downstream"], t["expired_bronze"], t["lost"], t["bronze_rows"]) == (len(old), 0, 0, total)
    assert report.expired_by_table == {silver: len(old)}
    assert "expired by retention (not lost)" in render(report)
    by_ledger = reconcile_ledger(cfg, read_ledger(ledger))
    assert by_ledger.ok and (by_ledger.expired, by_ledger.lost) == (len(old), 0), by_ledger.render()
    assert by_ledger.accounted + by_ledger.expired == by_ledger.acked == total

    # 2. Five days on: everything bronze holds was ingested more than 3 days before; silver, quarantine
    # and duplicates (fresh records, 10 days) stay.
    entries = {e["table"]: e for e in maintain(spark, cfg, today=today + timedelta(days=5), vacuum=False)}
    assert entries[bronze]["expired_rows"] == total and entries[silver]["expired_rows"] == 0
    assert count(spark, cfg, bronze) == 0
    report = reconcile(cfg, ["energy"])
    t = report.totals()
    assert report.ok, render(report)
    assert (t["expired_bronze"], t["expired_downstream"], t["bronze_rows"]) == (total, len(old), 0), render(report)
    assert (t["lost"], t["orphans"], t["gaps"], t["doubled"]) == (0, 0, 0, 0), render(report)
    # The line docs/retention.md shows: 12 + 26 offsets, 20 + 4 + 2 fates left and 12 expired.
    assert (f"Kafka consumed {total}, bronze 0 + expired {total} = silver {expected['silver']} + quarantine "
            f"{expected['quarantine']} + duplicates {expected['duplicates']} + expired {len(old)}") in render(report)
    expired_rows = spark.read.format("delta").load(str(table_path(cfg, EXPIRED)))
    assert expired_rows.where(f"`table` = '{bronze}'").groupBy().sum("rows").collect()[0][0] == total

    # 3. Ingest goes on after bronze's old rows are gone, and everything still reconciles.
    more, more_expected = energy_batch(10, tag="more")
    send(cfg, more, ledger)
    pipeline.ingest(cfg, "energy", "run_2")
    report = reconcile(cfg, ["energy"])
    t = report.totals()
    assert report.ok and t["bronze_rows"] == len(more) and t["lost"] == 0, render(report)
    by_ledger = reconcile_ledger(cfg, read_ledger(ledger))
    assert by_ledger.ok and by_ledger.expired == len(old), by_ledger.render()
    assert by_ledger.accounted + by_ledger.expired == by_ledger.acked == total + len(more)
