"""The industry's pass SIGKILLed at exact points, then rerun: nothing lost, nothing doubled.

One micro-batch writes bronze, then silver, then the shared tables
(quarantine, duplicates, touched days), and then the streaming checkpoint's
commit. Here the process dies after bronze, then - on the replay of the same
batch - between silver and quarantine, then after every table committed but
before the checkpoint commit. The rerun must finish the batch without writing
any row twice.
"""

from __future__ import annotations

import pytest

from brain import pipeline
from brain.lake.tables import pass_checkpoint
from tests.fault.ledger import assert_nothing_lost_or_doubled, count, energy_batch, send, stage_in_subprocess

pytestmark = [pytest.mark.slow, pytest.mark.fault]


def test_pass_killed_after_bronze_between_tables_and_before_checkpoint_commit(broker, spark, isolated_cfg,
                                                                               tmp_path):
    cfg = isolated_cfg
    ledger = tmp_path / "ledger.jsonl"
    msgs, expected = energy_batch(120)
    send(cfg, msgs, ledger)
    commits = pass_checkpoint(cfg, "energy") / "commits"

    first = stage_in_subprocess("ingest", kill_at="pass.after_bronze")
    assert first.returncode == -9, first.stderr[-3000:]
    assert count(spark, cfg, "bronze.energy_meter") == len(msgs)
    assert count(spark, cfg, "silver.energy_meter") == 0
    assert not any(commits.glob("[0-9]*"))

    second = stage_in_subprocess("ingest", kill_at="silver.between_tables")
    assert second.returncode == -9, second.stderr[-3000:]
    # The kill landed where intended: the replayed batch skipped bronze (already committed),
    # silver committed, quarantine not, and the batch not.
    assert count(spark, cfg, "bronze.energy_meter") == len(msgs)
    assert count(spark, cfg, "silver.energy_meter") == expected["silver"]
    assert count(spark, cfg, "silver.quarantine") == 0
    assert not any(commits.glob("[0-9]*"))

    third = stage_in_subprocess("ingest", kill_at="silver.before_checkpoint_commit")
    assert third.returncode == -9, third.stderr[-3000:]
    assert count(spark, cfg, "silver.quarantine") == expected["quarantine"]
    assert not any(commits.glob("[0-9]*")), "the checkpoint commit was written despite the kill"

    pipeline.ingest(cfg, "energy", "run_rerun")
    assert any(commits.glob("[0-9]*"))
    assert_nothing_lost_or_doubled(spark, cfg, ledger)
    assert count(spark, cfg, "bronze.energy_meter") == len(msgs)
    assert count(spark, cfg, "silver.energy_meter") == expected["silver"]
    assert count(spark, cfg, "silver.quarantine") == expected["quarantine"]
    assert count(spark, cfg, "quality.duplicates") == expected["duplicates"]
