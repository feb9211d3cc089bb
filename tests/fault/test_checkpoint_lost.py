"""A deleted checkpoint: ingestion refuses to guess (no silent restart from `latest` or from
the beginning), says what to do, and the documented recovery loses and doubles nothing."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from brain import pipeline
from brain.lake.tables import checkpoint_path
from tests.fault.ledger import BRAIN, assert_nothing_lost_or_doubled, count, energy_batch, send, sent_and_ingested

pytestmark = [pytest.mark.slow, pytest.mark.fault]


def test_lost_bronze_checkpoint_stops_ingest_until_recovered(broker, spark, isolated_cfg, tmp_path):
    cfg = isolated_cfg
    ledger = tmp_path / "ledger.jsonl"
    sent_and_ingested(cfg, 30, ledger)
    pipeline.clean(cfg, "energy", "run_1")
    shutil.rmtree(checkpoint_path(cfg, "bronze.energy_meter"))
    send(cfg, energy_batch(20, tag="after")[0], ledger)
    bronze_before = count(spark, cfg, "bronze.energy_meter")

    refused = subprocess.run([BRAIN, "ingest", "--industry", "energy"], env=os.environ.copy(),
                             capture_output=True, text=True, timeout=600)
    assert refused.returncode != 0
    assert "checkpoint" in refused.stderr and "brain ingest --recover-from-bronze" in refused.stderr, \
        refused.stderr[-3000:]
    assert count(spark, cfg, "bronze.energy_meter") == bronze_before, "it ingested anyway"

    pipeline.ingest(cfg, "energy", recover=True)
    pipeline.clean(cfg, "energy", "run_2")
    assert_nothing_lost_or_doubled(spark, cfg, ledger)


def test_lost_silver_checkpoint_reprocesses_bronze_without_doubling(broker, spark, isolated_cfg, tmp_path):
    cfg = isolated_cfg
    ledger = tmp_path / "ledger.jsonl"
    msgs, expected = sent_and_ingested(cfg, 30, ledger)
    pipeline.clean(cfg, "energy", "run_1")
    shutil.rmtree(checkpoint_path(cfg, "silver.energy_meter"))

    pipeline.clean(cfg, "energy", "run_2")  # the whole of bronze again
    assert_nothing_lost_or_doubled(spark, cfg, ledger)
    assert count(spark, cfg, "silver.quarantine") == expected["quarantine"]
    assert count(spark, cfg, "quality.duplicates") == expected["duplicates"]
