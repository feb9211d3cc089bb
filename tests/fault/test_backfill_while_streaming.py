"""A backfill reprocessing bronze again and again while the industry's pass writes new records
to bronze and cleans them, batch by batch: each record still ends up exactly once (the writers
take the silver table's lock, brain.lake.writers)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from brain import config, pipeline
from brain.lake.tables import QUARANTINE
from tests.fault.ledger import assert_nothing_lost_or_doubled, count, energy_batch, send, sent_and_ingested

pytestmark = [pytest.mark.slow, pytest.mark.fault]


def test_backfill_while_the_pass_cleans_the_same_rows(broker, spark, isolated_cfg, tmp_path, monkeypatch):
    cfg = config.load()
    ledger = tmp_path / "ledger.jsonl"
    _, expected = sent_and_ingested(cfg, 60, ledger)
    second, more = energy_batch(150, tag="second")
    send(cfg, second, ledger)
    # Many small batches, so the backfills land between (and would land inside) them.
    monkeypatch.setenv("BRAIN__PIPELINE__MAX_OFFSETS_PER_TRIGGER", "25")
    cfg = config.load()
    today = datetime.now(timezone.utc).date()
    first, last = str(today - timedelta(days=1)), str(today + timedelta(days=1))

    errors: list[BaseException] = []
    backfills: list[list[dict]] = []

    def backfill_again_and_again():
        try:
            for i in range(3):
                backfills.append(pipeline.backfill(cfg, "energy", first, last, f"run_backfill_{i}"))
        except BaseException as exc:  # noqa: BLE001 - asserted on below
            errors.append(exc)

    backfiller = threading.Thread(target=backfill_again_and_again, daemon=True)
    backfiller.start()
    streamed = pipeline.ingest(cfg, "energy", "run_stream")
    backfiller.join(timeout=900)
    assert not backfiller.is_alive(), "the backfills never finished (a writer lock held forever?)"
    assert not errors, errors
    assert len(backfills) == 3

    assert_nothing_lost_or_doubled(spark, cfg, ledger)
    assert count(spark, cfg, "silver.energy_meter") == expected["silver"] + more["silver"]
    assert count(spark, cfg, "quality.duplicates") == expected["duplicates"] + more["duplicates"]
    assert count(spark, cfg, QUARANTINE) == expected["quarantine"] + more["quarantine"]
    # Both writers did real work: the pass read every new record in several batches, and every
    # backfill went over at least the bronze rows that were there before the pass started.
    assert sum(i["rows"] for i in streamed["ingest"]) == len(second)
    assert sum(i["batches"] for i in streamed["ingest"]) >= 2
    assert sum(c["bronze_rows"] for c in streamed["clean"]) == len(second)
    assert all(sum(b["bronze_rows"] for b in run) >= 60 for run in backfills)
