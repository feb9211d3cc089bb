"""The energy slice on the real broker and real Delta: Kafka -> bronze -> silver -> GX -> gold."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from brain import pipeline
from brain.ingest import kafka_io
from brain.ingest.bronze import CheckpointLost
from brain.lake.tables import table_path
from tests.energy_data import batch, meter, send

pytestmark = pytest.mark.integration


def _df(spark, cfg, table):
    return spark.read.format("delta").load(str(table_path(cfg, table)))


def _kwh(spark, cfg) -> dict:
    return {(r["site"], str(r["event_date"])): r["electricity_kwh"]
            for r in _df(spark, cfg, "gold.energy_daily_site_kwh").collect()}


def test_cycle_accounts_for_every_record_and_builds_gold(broker, spark, isolated_cfg):
    cfg = isolated_cfg
    msgs, expected = batch()
    send(cfg, msgs)

    report = pipeline.run_cycle(cfg, ["energy"], log=lambda m: None)
    clean = report.industries["energy"]["clean"][0]
    assert (clean["bronze_rows"], clean["inserted"], clean["duplicates"]) == (len(msgs), 4, 1)
    assert clean["quarantined"] == sum(expected["quarantine"].values())

    reasons = {r["reason"]: r["count"] for r in _df(spark, cfg, "silver.quarantine").groupBy("reason").count()
               .collect()}
    assert reasons == expected["quarantine"]
    validated = report.industries["energy"]["validate"][0]
    assert validated["validated"] and validated["success"] and validated["rows"] == 4
    results = _df(spark, cfg, "quality.validation_results").where(f"run_id = '{report.run_id}'")
    assert results.count() == validated["expectations"]

    gold = {site: kwh for (site, _), kwh in _kwh(spark, cfg).items()}
    assert gold == pytest.approx(expected["kwh"])  # the BAD reading at site-02 is excluded

    # Nothing lost: bronze = silver + quarantine + duplicates.
    bronze = _df(spark, cfg, "bronze.energy_meter").count()
    parts = [_df(spark, cfg, t).count() for t in ("silver.energy_meter", "silver.quarantine", "quality.duplicates")]
    assert bronze == len(msgs) == sum(parts)


def test_rerun_and_full_replay_change_nothing_but_duplicate_counts(broker, spark, isolated_cfg):
    cfg = isolated_cfg
    msgs, expected = batch()
    send(cfg, msgs)
    pipeline.run_cycle(cfg, ["energy"], log=lambda m: None)
    silver_v = _df(spark, cfg, "silver.energy_meter").count()
    gold_before = _kwh(spark, cfg)

    again = pipeline.run_cycle(cfg, ["energy"], log=lambda m: None)
    assert again.totals()["records_in"] == 0
    # Nothing new: neither query is even started (checkpoints say they are caught up).
    assert again.industries["energy"]["ingest"][0]["skipped"]
    assert again.industries["energy"]["clean"][0]["skipped"]

    send(cfg, msgs)  # the factory resends the whole batch
    replay = pipeline.run_cycle(cfg, ["energy"], log=lambda m: None)
    ingested = replay.industries["energy"]["ingest"][0]
    assert ingested["skipped"] == "" and ingested["rows"] == len(msgs)
    clean = replay.industries["energy"]["clean"][0]
    assert clean["skipped"] == "" and clean["bronze_rows"] == len(msgs)
    valid_in_batch = len(msgs) - sum(expected["quarantine"].values())
    assert (clean["inserted"], clean["duplicates"]) == (0, valid_in_batch)
    assert _df(spark, cfg, "silver.energy_meter").count() == silver_v
    assert _kwh(spark, cfg) == gold_before


def test_late_record_changes_only_its_day(broker, spark, isolated_cfg):
    cfg = isolated_cfg
    today = datetime.now(timezone.utc) - timedelta(minutes=30)
    old_day = today - timedelta(days=3)
    send(cfg, [(None, kafka_io.encode(meter("rm-baotou", 10.0, day=today))),
               (None, kafka_io.encode(meter("rm-baotou", 7.0, day=old_day)))])
    pipeline.run_cycle(cfg, ["energy"], log=lambda m: None)
    before = _kwh(spark, cfg)
    computed_before = {str(r["event_date"]): r["computed_at"]
                       for r in _df(spark, cfg, "gold.energy_daily_site_kwh").collect()}

    send(cfg, [(None, kafka_io.encode(meter("rm-baotou", 3.0, day=old_day)))])
    report = pipeline.run_cycle(cfg, ["energy"], log=lambda m: None)
    published = report.industries["energy"]["publish"]
    assert all(p["days"] == [old_day.date().isoformat()] for p in published)
    after = _kwh(spark, cfg)
    old_key, today_key = ("rm-baotou", old_day.date().isoformat()), ("rm-baotou", today.date().isoformat())
    assert after[old_key] == pytest.approx(before[old_key] + 3.0)
    assert after[today_key] == before[today_key]
    computed_after = {str(r["event_date"]): r["computed_at"]
                      for r in _df(spark, cfg, "gold.energy_daily_site_kwh").collect()}
    assert computed_after[today_key[1]] == computed_before[today_key[1]]  # today's partition untouched


def test_a_late_reading_stamped_midnight_changes_the_day_it_closes(broker, spark, isolated_cfg):
    cfg = isolated_cfg
    day = (datetime.now(timezone.utc) - timedelta(days=3)).date()
    midnight = datetime(day.year, day.month, day.day, tzinfo=timezone.utc) + timedelta(days=1)
    send(cfg, [(None, kafka_io.encode(meter("rm-baotou", 10.0, day=midnight - timedelta(minutes=15))))])
    pipeline.run_cycle(cfg, ["energy"], log=lambda m: None)
    assert _kwh(spark, cfg) == {("rm-baotou", day.isoformat()): 10.0}

    # 23:45-24:00 of ``day``, stamped 00:00 the day after, arriving in a later cycle.
    send(cfg, [(None, kafka_io.encode(meter("rm-baotou", 4.0, day=midnight)))])
    report = pipeline.run_cycle(cfg, ["energy"], log=lambda m: None)
    published = report.industries["energy"]["publish"]
    energy = [p for p in published if p["table"].startswith("gold.energy_")]
    assert energy and all(p["days"] == [day.isoformat(), midnight.date().isoformat()] for p in energy)
    # The scorecard scores silver days: the reading arrived on the day of its stamp.
    assert [p["days"] for p in published if p["table"] == "gold.data_quality_daily"] == [[midnight.date().isoformat()]]
    assert _kwh(spark, cfg) == {("rm-baotou", day.isoformat()): 14.0}  # and no one-reading day after it

    # A later reading of the day after, in its own cycle, does not republish ``day`` again.
    send(cfg, [(None, kafka_io.encode(meter("rm-baotou", 2.0, day=midnight + timedelta(minutes=30))))])
    later = pipeline.run_cycle(cfg, ["energy"], log=lambda m: None)
    assert all(p["days"] == [midnight.date().isoformat()] for p in later.industries["energy"]["publish"])
    assert _kwh(spark, cfg) == {("rm-baotou", day.isoformat()): 14.0, ("rm-baotou", midnight.date().isoformat()): 2.0}


def test_lost_checkpoint_refuses_to_start_and_says_what_to_do(broker, spark, isolated_cfg):
    import shutil

    cfg = isolated_cfg
    send(cfg, [(None, kafka_io.encode(meter("rm-baotou", 1.0)))])
    pipeline.ingest(cfg, "energy")
    shutil.rmtree(cfg.path("lake.checkpoints") / "pass.energy")
    with pytest.raises(CheckpointLost, match="recover-from-bronze"):
        pipeline.ingest(cfg, "energy")

    send(cfg, [(None, kafka_io.encode(meter("rm-baotou", 2.0)))])
    pipeline.ingest(cfg, "energy", recover=True)  # resumes after the last offset bronze holds
    assert _df(spark, cfg, "bronze.energy_meter").count() == 2
