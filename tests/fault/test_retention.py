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
