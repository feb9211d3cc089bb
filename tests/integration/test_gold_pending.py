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
    _record_touched(spark, cfg, {TABLE: [D1, D2]}, "run_stream", ("stream-query", 0))
    assert gold.pending_days(spark, cfg, TABLE) == [D1, D2]

    time.sleep(0.01)
    gold.stamp_published(spark, cfg, gold.published_marks(cfg, TABLE, [D1, D2], datetime.now()))
    assert gold.pending_days(spark, cfg, TABLE) == []

    time.sleep(0.01)
    _record_touched(spark, cfg, {TABLE: [D2]}, "run_stream", ("stream-query", 1))  # a later batch, same run
    assert gold.pending_days(spark, cfg, TABLE) == [D2]

    # A publish that started before that batch was recorded does not cover it.
    gold.stamp_published(spark, cfg, gold.published_marks(cfg, TABLE, [D2], datetime(2000, 1, 1)))
    assert gold.pending_days(spark, cfg, TABLE) == [D2]


def test_an_enterprise_day_without_rows_is_built_once_not_every_cycle(spark, isolated_cfg):
    """A day only the scorecard has (its only records were quarantined, or feed no KPI) yields no
    gold.enterprise_brain row; the build is still stamped, so later cycles do not rebuild it."""
    from brain.gold import enterprise
    from brain.lake.frames import local_frame
    from brain.lake.tables import table_path

    cfg = isolated_cfg

    def scorecard(days, at):
        rows = [("acme", "site-1", d, 0.5, at) for d in days]
        (local_frame(spark, rows, "enterprise string, site string, event_date date, overall double, "
                                  "computed_at timestamp")
         .write.format("delta").mode("append").save(str(table_path(cfg, enterprise.SCORECARD))))

    lines = {"energy": "gold.energy_line_oee_never_written"}
    scorecard([D1, D2], datetime(2026, 11, 3, 8))
    assert enterprise.pending_days(spark, cfg, lines) == [D1, D2]
    assert enterprise.publish_enterprise(spark, cfg, lines)["rows"] == 0
    assert enterprise.pending_days(spark, cfg, lines) == [], "built, though without rows: not pending again"
    time.sleep(0.01)
    scorecard([D2], datetime.now())  # D2's scorecard recomputed after that build
    assert enterprise.pending_days(spark, cfg, lines) == [D2]
