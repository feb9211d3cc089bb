"""OPTIMIZE running again and again while the industry's pass writes the same tables: Delta
commit conflicts are retried, and every record still ends up exactly once."""

from __future__ import annotations

import threading

import pytest

from brain import config, pipeline
from brain.lake.maintenance import maintain
from tests.fault.ledger import assert_nothing_lost_or_doubled, count, energy_batch, send, sent_and_ingested

pytestmark = [pytest.mark.slow, pytest.mark.fault]


def test_optimize_while_the_pass_writes(broker, spark, isolated_cfg, tmp_path, monkeypatch):
    monkeypatch.setenv("BRAIN__PIPELINE__MAX_OFFSETS_PER_TRIGGER", "30")  # many small commits to race with
    cfg = config.load()
    ledger = tmp_path / "ledger.jsonl"
    _, expected = sent_and_ingested(cfg, 60, ledger)
    second, more = energy_batch(150, tag="second")
    send(cfg, second, ledger)

    stop, errors, passes = threading.Event(), [], []

    def optimize_until_stopped():
        while not stop.is_set():
            try:
                maintain(spark, cfg, vacuum=False, expire=False)  # OPTIMIZE races here; retention: test_retention
                passes.append(1)
            except Exception as exc:  # noqa: BLE001 - asserted on below
                errors.append(exc)
                return

    optimizer = threading.Thread(target=optimize_until_stopped, daemon=True)
    optimizer.start()
    try:
        pipeline.ingest(cfg, "energy", "run_2")
    finally:
        stop.set()
        optimizer.join(timeout=600)
    assert not errors, errors
    assert passes, "OPTIMIZE never completed a pass while the pipeline wrote"

    assert_nothing_lost_or_doubled(spark, cfg, ledger)
    assert count(spark, cfg, "silver.energy_meter") == expected["silver"] + more["silver"]
    assert count(spark, cfg, "quality.duplicates") == expected["duplicates"] + more["duplicates"]
