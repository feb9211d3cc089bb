"""Which days gold must recompute: touched after their last publish, even within one long run."""

from __future__ import annotations

import time
from datetime import date, datetime

import pytest

pytestmark = pytest.mark.integration

TABLE = "silver.energy_energy_meter"
D1, D2 = date(2026, 11, 1), date(2026, 11, 2)


def test_a_continuous_run_touching_a_published_day_makes_it_pending_again(spark, isolated_cfg):
    from brain.clean.writes import record_touched as _record_touched
    from brain.gold import publish as gold

    cfg = isolated_cfg
    # Streaming batches append their touched days (idempotent per batch: txnAppId/txnVersion).
    _record_touched(spark, cfg, TABLE, [D1, D2], "run_stream", ("stream-query", 0))
    assert gold.pending_days(spark, cfg, TABLE) == [D1, D2]

    time.sleep(0.01)
    gold._mark_published(spark, cfg, TABLE, [D1, D2], datetime.now())
    assert gold.pending_days(spark, cfg, TABLE) == []

    time.sleep(0.01)
    _record_touched(spark, cfg, TABLE, [D2], "run_stream", ("stream-query", 1))  # a later batch, same run
    assert gold.pending_days(spark, cfg, TABLE) == [D2]

    # A publish that started before that batch was recorded does not cover it.
    gold._mark_published(spark, cfg, TABLE, [D2], datetime(2000, 1, 1))
    assert gold.pending_days(spark, cfg, TABLE) == [D2]
