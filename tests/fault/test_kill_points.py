"""The clean stage SIGKILLed at exact points, then rerun: nothing lost, nothing doubled.

One bronze -> silver micro-batch writes four tables (silver, quarantine,
duplicates, touched days) and then the streaming checkpoint's commit. Here
the process dies first between silver and quarantine, then - on the replay
of the same batch - after every table committed but before the checkpoint
commit. The rerun must finish the batch without writing any row twice.
"""

from __future__ import annotations

import pytest

from brain import pipeline
from brain.lake.tables import checkpoint_path
from tests.fault.ledger import assert_nothing_lost_or_doubled, count, sent_and_ingested, stage_in_subprocess

pytestmark = [pytest.mark.slow, pytest.mark.fault]


def test_clean_killed_between_tables_and_before_checkpoint_commit(broker, spark, isolated_cfg, tmp_path):
    cfg = isolated_cfg
    ledger = tmp_path / "ledger.jsonl"
    msgs, expected = sent_and_ingested(cfg, 120, ledger)
    commits = checkpoint_path(cfg, "silver.energy_meter") / "commits"

    first = stage_in_subprocess("clean", kill_at="silver.between_tables")
    assert first.returncode == -9, first.stderr[-3000:]
    # The kill landed where intended: silver committed, quarantine not, and the batch not.
    assert count(spark, cfg, "silver.energy_meter") == expected["silver"]
    assert count(spark, cfg, "silver.quarantine") == 0
    assert not any(commits.glob("[0-9]*"))

    second = stage_in_subprocess("clean", kill_at="silver.before_checkpoint_commit")
    assert second.returncode == -9, second.stderr[-3000:]
    assert count(spark, cfg, "silver.quarantine") == expected["quarantine"]
    assert not any(commits.glob("[0-9]*")), "the checkpoint commit was written despite the kill"

    pipeline.clean(cfg, "energy", "run_rerun")
    assert any(commits.glob("[0-9]*"))
    assert_nothing_lost_or_doubled(spark, cfg, ledger)
    assert count(spark, cfg, "silver.energy_meter") == expected["silver"]
    assert count(spark, cfg, "silver.quarantine") == expected["quarantine"]
    assert count(spark, cfg, "quality.duplicates") == expected["duplicates"]
