"""The same metrics run twice for the same days: the gold tables come out identical.

The second run is what an Airflow retry does when publish died after writing
gold but before recording the days as published: it recomputes the same days
from the same silver rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from brain import pipeline
from brain.ingest import kafka_io
from brain.lake.tables import is_delta, table_path
from tests.energy_data import SITES, meter
from tests.fault.ledger import assert_nothing_lost_or_doubled, send

pytestmark = [pytest.mark.slow, pytest.mark.fault]
GOLD = ("gold.energy_daily_site", "gold.energy_daily_site_kwh", "gold.energy_carbon_daily_site",
        "gold.energy_hourly_site", "gold.data_quality_daily")


def _contents(spark, cfg) -> dict[str, list]:
    """Every gold table's rows without computed_at (tables added later are compared too)."""
    out = {}
    for folder in sorted((cfg.path("lake.root") / "gold").iterdir()):
        if not is_delta(folder):
            continue
        name = f"gold.{folder.name}"
        df = spark.read.format("delta").load(str(table_path(cfg, name))).drop("computed_at")
        out[name] = sorted((tuple(r) for r in df.collect()), key=repr)
    return out


def test_publishing_the_same_days_twice_gives_identical_gold(broker, spark, isolated_cfg, tmp_path):
    from delta.tables import DeltaTable

    cfg = isolated_cfg
    # Noon of a day at least an hour past: readings up to 59 minutes before it stay in that day, so the
    # records fall on exactly three days at any time of day (an hour-ago anchor crossed midnight after 00:00).
    now = (datetime.now(timezone.utc) - timedelta(hours=13)).replace(hour=12, minute=0, second=0, microsecond=0)
    records = [meter(SITES[i % 2], (i + 1) / 1000, "MWh", day=now - timedelta(days=i % 3, minutes=i))
               if i % 4 == 0 else meter(SITES[i % 2], float(i + 1), day=now - timedelta(days=i % 3, minutes=i))
               for i in range(60)]
    ledger = tmp_path / "ledger.jsonl"
    send(cfg, [(kafka_io.record_key(r), kafka_io.encode(r)) for r in records], ledger)
    pipeline.run_cycle(cfg, ["energy"], log=lambda m: None)
    first = _contents(spark, cfg)
    assert all(first.get(name) for name in GOLD), {k: len(v) for k, v in first.items()}

    # Forget that the days were published, as if publish had died just before recording them.
    DeltaTable.forPath(spark, str(table_path(cfg, "quality.published_days"))).delete()
    again = pipeline.publish(cfg, "energy")
    recomputed = {r["table"]: len(r["days"]) for r in again}
    assert all(recomputed.get(name) == 3 for name in GOLD), again  # really recomputed, not a no-op
    assert _contents(spark, cfg) == first
    assert_nothing_lost_or_doubled(spark, cfg, ledger)
