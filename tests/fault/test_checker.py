"""The fault suite's final check must itself fail when a record is lost or doubled.

Without this, a checker that always passes would make every scenario green.
"""

from __future__ import annotations

import json

import pytest

from brain.cli.main import main
from brain.lake.tables import table_path
from brain.ops.reconcile import reconcile, reconcile_ledger
from brain.simulator.sinks import read_ledger
from tests.fault.ledger import assert_nothing_lost_or_doubled, sent_and_ingested

pytestmark = [pytest.mark.slow, pytest.mark.fault]


def test_checker_catches_a_lost_and_a_doubled_record(broker, spark, isolated_cfg, tmp_path, capsys):
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    cfg = isolated_cfg
    ledger = tmp_path / "ledger.jsonl"
    sent_and_ingested(cfg, 20, ledger)
    assert_nothing_lost_or_doubled(spark, cfg, ledger)
    acked = read_ledger(ledger)

    silver_path = str(table_path(cfg, "silver.energy_meter"))
    silver = DeltaTable.forPath(spark, silver_path)
    victim = spark.read.format("delta").load(silver_path).orderBy("event_id").limit(1).localCheckpoint()
    victim_id = victim.first()["event_id"]

    # Lost: a silver row deleted.
    silver.delete(F.col("event_id") == victim_id)
    lost = reconcile_ledger(cfg, acked)
    assert (lost.ok, lost.lost, lost.doubled) == (False, 1, 0), lost.render()
    assert not reconcile(cfg, ["energy"]).ok
    with pytest.raises(AssertionError, match="lost 1"):
        assert_nothing_lost_or_doubled(spark, cfg, ledger)
    capsys.readouterr()
    assert main(["reconcile", "--industry", "energy", "--no-kafka", "--ledger", str(ledger)]) == 1
    assert "ledger: MISMATCH" in capsys.readouterr().out

    # Doubled: the row back, twice.
    victim.unionByName(victim).write.format("delta").mode("append").save(silver_path)
    doubled = reconcile_ledger(cfg, acked)
    assert (doubled.ok, doubled.lost, doubled.doubled, doubled.silver_repeats) == (False, 0, 1, 1), doubled.render()
    assert not reconcile(cfg, ["energy"]).ok
    with pytest.raises(AssertionError, match="doubled 1"):
        assert_nothing_lost_or_doubled(spark, cfg, ledger)

    # Back to one copy: the checker passes again, so it judged the rows, not the table's history.
    silver.delete(F.col("event_id") == victim_id)
    victim.write.format("delta").mode("append").save(silver_path)
    assert_nothing_lost_or_doubled(spark, cfg, ledger)
    capsys.readouterr()
    assert main(["reconcile", "--industry", "energy", "--no-kafka", "--ledger", str(ledger)]) == 0
    assert "ledger: OK" in capsys.readouterr().out

    # Doubled across tables: a quarantined record also counted as a duplicate.
    q = spark.read.format("delta").load(str(table_path(cfg, "silver.quarantine"))).limit(1)
    (q.select("industry", "record_type", "event_id", "topic", "partition", "offset",
              F.current_timestamp().alias("counted_at"))
     .write.format("delta").mode("append").save(str(table_path(cfg, "quality.duplicates"))))
    across = reconcile_ledger(cfg, acked)
    assert (across.ok, across.doubled) == (False, 1), across.render()
    assert across.samples["doubled"][0]["found_in"] == ["quarantine", "duplicates"] or sorted(
        across.samples["doubled"][0]["found_in"]) == ["duplicates", "quarantine"]

    # An acknowledged record that never reached the lake at all.
    ghost = {**acked[0], "offset": 10**9, "event_id": None}
    missing = reconcile_ledger(cfg, [*acked, ghost])
    assert missing.lost >= 1 and any(s["offset"] == 10**9 for s in missing.samples["lost"]), json.dumps(
        missing.samples)
