"""A deleted checkpoint: ingestion refuses to guess (no silent restart from `latest` or from
the beginning), says what to do, and the documented recovery loses and doubles nothing, even
for a batch that crashed between its bronze and silver writes. A lake of the two-query layout
moves over to the one pass by itself."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from brain import pipeline
from brain.lake.tables import checkpoint_path, pass_checkpoint
from tests.fault.ledger import (
    BRAIN,
    assert_nothing_lost_or_doubled,
    count,
    energy_batch,
    send,
    sent_and_ingested,
    stage_in_subprocess,
)

pytestmark = [pytest.mark.slow, pytest.mark.fault]


def test_lost_checkpoint_stops_ingest_until_recovered(broker, spark, isolated_cfg, tmp_path):
    cfg = isolated_cfg
    ledger = tmp_path / "ledger.jsonl"
    sent_and_ingested(cfg, 30, ledger)
    shutil.rmtree(pass_checkpoint(cfg, "energy"))
    send(cfg, energy_batch(20, tag="after")[0], ledger)
    bronze_before = count(spark, cfg, "bronze.energy_meter")

    refused = subprocess.run([BRAIN, "ingest", "--industry", "energy"], env=os.environ.copy(),
                             capture_output=True, text=True, timeout=600)
    assert refused.returncode != 0
    assert "checkpoint" in refused.stderr and "brain ingest --recover-from-bronze" in refused.stderr, \
        refused.stderr[-3000:]
    assert count(spark, cfg, "bronze.energy_meter") == bronze_before, "it ingested anyway"

    pipeline.ingest(cfg, "energy", "run_2", recover=True)
    assert_nothing_lost_or_doubled(spark, cfg, ledger)


def test_recovery_cleans_a_batch_that_died_between_bronze_and_silver(broker, spark, isolated_cfg, tmp_path):
    cfg = isolated_cfg
    ledger = tmp_path / "ledger.jsonl"
    msgs, expected = energy_batch(30)
    send(cfg, msgs, ledger)
    died = stage_in_subprocess("ingest", kill_at="pass.after_bronze")
    assert died.returncode == -9, died.stderr[-3000:]
    assert count(spark, cfg, "bronze.energy_meter") == len(msgs)
    assert count(spark, cfg, "silver.energy_meter") == 0
    shutil.rmtree(pass_checkpoint(cfg, "energy"))  # and then the checkpoint is lost as well

    report = pipeline.ingest(cfg, "energy", "run_2", recover=True)
    # Resumed after bronze's offsets: Kafka's records were not read again, bronze's were cleaned.
    assert report["ingest"][0]["rows"] == 0
    assert report["clean"][0]["bronze_rows"] == len(msgs)
    assert_nothing_lost_or_doubled(spark, cfg, ledger)
    assert count(spark, cfg, "bronze.energy_meter") == len(msgs)
    assert count(spark, cfg, "silver.energy_meter") == expected["silver"]
    assert count(spark, cfg, "silver.quarantine") == expected["quarantine"]
    assert count(spark, cfg, "quality.duplicates") == expected["duplicates"]


def test_a_lake_of_the_two_query_layout_moves_over_by_itself(broker, spark, isolated_cfg, tmp_path):
    cfg = isolated_cfg
    ledger = tmp_path / "ledger.jsonl"
    _, expected = sent_and_ingested(cfg, 30, ledger)
    # What the old layout left: a checkpoint per topic (and per silver table), none for the pass.
    old = checkpoint_path(cfg, "bronze.energy_meter")
    shutil.move(pass_checkpoint(cfg, "energy"), old)
    after, more = energy_batch(20, tag="after")
    send(cfg, after, ledger)

    said: list[str] = []
    report = pipeline.ingest(cfg, "energy", "run_2", log=said.append)
    assert any("moving to one query per industry" in m for m in said), said
    assert report["ingest"][0]["rows"] == len(after)  # only the new records were read from Kafka
    assert not old.exists() and (cfg.path("lake.checkpoints") / "_retired" / old.name).is_dir()
    assert (pass_checkpoint(cfg, "energy") / "commits").is_dir()
    assert_nothing_lost_or_doubled(spark, cfg, ledger)
    assert count(spark, cfg, "silver.energy_meter") == expected["silver"] + more["silver"]
