"""Retention horizons from config: per industry and layer, the cutoff day, each topic's retention.ms,
and what `brain maintain` would delete (brain.lake.retention, brain.lake.maintenance.expiry_targets)."""

from __future__ import annotations

from datetime import date

import pytest

from brain import config
from brain.config import ConfigError
from brain.lake.maintenance import expiry_targets
from brain.lake.retention import horizons, industry_of_topic, topic_retention_ms


def _cfg(**env):
    return config.load(environ={"BRAIN_ENV": "local", **env})


def test_an_industry_overrides_single_layers_and_keeps_the_rest():
    cfg = _cfg(BRAIN__RETENTION__BRONZE_DAYS="20", BRAIN__RETENTION__SILVER_DAYS="300",
               BRAIN__INDUSTRIES__ENERGY__RETENTION__SILVER_DAYS="1000")
    energy, raw = horizons(cfg, "energy"), horizons(cfg, "raw_materials")
    assert (energy.bronze_days, energy.silver_days) == (20, 1000)
    assert (raw.bronze_days, raw.silver_days) == (20, 300)
    # 30 days back from 2026-12-31 is 2026-12-01: the first day kept.
    assert _cfg(BRAIN__RETENTION__BRONZE_DAYS="30").get("retention.bronze_days") == 30
    assert horizons(_cfg(BRAIN__RETENTION__BRONZE_DAYS="30"), "raw_materials").cutoff(
        "bronze", date(2026, 12, 31)) == date(2026, 12, 1)


def test_bronze_is_the_shortest_layer_in_the_shipped_config():
    cfg = _cfg()
    for ind in cfg.industry_names():
        h = horizons(cfg, ind)
        assert h.bronze_days < h.silver_days <= h.gold_days, h


@pytest.mark.parametrize("value", ["0", "-3", "abc", "1.5"])
def test_a_bad_horizon_names_its_key(value):
    cfg = _cfg(BRAIN__INDUSTRIES__ENERGY__RETENTION__BRONZE_DAYS=value)
    with pytest.raises(ConfigError, match=r"industries\.energy\.retention\.bronze_days"):
        horizons(cfg, "energy")


def test_an_unknown_key_is_refused():
    cfg = _cfg(BRAIN__INDUSTRIES__ENERGY__RETENTION__BRONZE_HOURS="3")
    with pytest.raises(ConfigError, match="bronze_hours"):
        horizons(cfg, "energy")


def test_topic_retention_follows_the_topics_industry_behind_the_prefix():
    cfg = _cfg(BRAIN__KAFKA__TOPIC_PREFIX="t1.", BRAIN__RETENTION__KAFKA_DAYS="7",
               BRAIN__INDUSTRIES__ENERGY__RETENTION__KAFKA_DAYS="2")
    assert industry_of_topic(cfg, "t1.energy.energy_meter") == "energy"
    assert industry_of_topic(cfg, "energy.energy_meter") is None  # another deployment's topic
    assert topic_retention_ms(cfg, "t1.energy.energy_meter") == 2 * 86_400_000
    assert topic_retention_ms(cfg, "t1.raw_materials.telemetry") == 7 * 86_400_000
    assert topic_retention_ms(cfg, "t1.brain.metrics") == 7 * 86_400_000


def test_the_plan_deletes_each_layer_by_its_own_date_and_horizon():
    cfg = _cfg(BRAIN__RETENTION__BRONZE_DAYS="30", BRAIN__RETENTION__SILVER_DAYS="365",
               BRAIN__INDUSTRIES__ENERGY__RETENTION__SILVER_DAYS="1095")
    plan = {(t["table"], t["industry"]): t for t in expiry_targets(cfg, date(2026, 12, 5))}
    assert plan[("bronze.energy_meter", "energy")]["where"] == "ingest_date < DATE'2026-11-05'"
    assert plan[("silver.energy_meter", "energy")]["where"] == "event_date < DATE'2023-12-06'"
    assert plan[("silver.raw_materials_telemetry", "raw_materials")]["where"] == "event_date < DATE'2025-12-05'"
    q = plan[("silver.quarantine", "energy")]["where"]
    assert q.startswith("industry = 'energy' AND ") and q.endswith("< DATE'2023-12-06'")
    assert plan[("quality.duplicates", "raw_materials")]["where"] == \
        "industry = 'raw_materials' AND to_date(counted_at) < DATE'2025-12-05'"


def test_offset_runs_store_deleted_coordinates_as_runs(spark):
    from brain.lake.maintenance import offset_runs

    coords = [("t", 0, o) for o in (0, 1, 2, 2, 5, 6, 9)] + [("t", 1, 3), ("u", 0, 4)]
    rows = spark.createDataFrame(coords, "_topic string, _partition int, _offset long")
    got = sorted(tuple(r) for r in offset_runs(rows, ("_topic", "_partition", "_offset"))
                 .select("topic", "partition", "first_offset", "last_offset", "rows").collect())
    # 0..2 (the repeated 2 once), 5..6, 9; another partition and another topic are runs of their own.
    assert got == [("t", 0, 0, 2, 3), ("t", 0, 5, 6, 2), ("t", 0, 9, 9, 1), ("t", 1, 3, 3, 1), ("u", 0, 4, 4, 1)]
