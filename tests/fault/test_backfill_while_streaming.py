"""A backfill reprocessing the same bronze rows while the stream cleans them, batch by batch:
each record still ends up exactly once (the writers take the silver table's lock, brain.lake.writers)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from brain import config, pipeline
from brain.lake.tables import QUARANTINE
from tests.fault.ledger import assert_nothing_lost_or_doubled, count, energy_batch, send

pytestmark = [pytest.mark.slow, pytest.mark.fault]


def test_backfill_while_stream_cleans_the_same_rows(broker, spark, isolated_cfg, tmp_path, monkeypatch):
    # Many small stream batches, so the backfills land between (and would land inside) them.
    monkeypatch.setenv("BRAIN__PIPELINE__MAX_BYTES_PER_BATCH", "8k")
    cfg = config.load()
    ledger = tmp_path / "ledger.jsonl"
    msgs, expected = energy_batch(150)
    send(cfg, msgs, ledger)
    monkeypatch.setenv("BRAIN__PIPELINE__MAX_OFFSETS_PER_TRIGGER", "25")  # many small bronze files
    pipeline.ingest(cfg, "energy")
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
    streamed = pipeline.clean(cfg, "energy", "run_stream")
    backfiller.join(timeout=900)
    assert not backfiller.is_alive(), "the backfills never finished (a writer lock held forever?)"
    assert not errors, errors
    assert len(backfills) == 3

    assert_nothing_lost_or_doubled(spark, cfg, ledger)
    assert count(spark, cfg, "silver.energy_meter") == expected["silver"]
    assert count(spark, cfg, "quality.duplicates") == expected["duplicates"]
    assert count(spark, cfg, QUARANTINE) == expected["quarantine"]
    # Both writers did real work: the stream saw every bronze row, and some backfill inserted rows
    # the stream had not reached yet, or found everything already there.
    assert sum(c["bronze_rows"] for c in streamed) == len(msgs)
    assert sum(b["bronze_rows"] for run in backfills for b in run) == 3 * len(msgs)
