"""gold.data_quality_daily: each dimension against a small hand-computed example."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from brain.quality import scorecard as sc

DAY = date(2025, 1, 6)
T0 = datetime(2025, 1, 6, 8, 0, 0)


def _telemetry_silver(spark, cfg, rows) -> None:
    """silver.raw_materials_telemetry with just the columns the scorecard reads."""
    from brain.lake.tables import table_path

    (spark.createDataFrame(rows, "event_id string, site string, line string, device string, sensor string, "
                                 "value double, event_date date, event_ts_utc timestamp, _ingest_ts timestamp, "
                                 "_kafka_ts timestamp")
     .write.format("delta").save(str(table_path(cfg, "silver.raw_materials_telemetry"))))


def _one(df) -> dict:
    rows = [r.asDict() for r in df.collect()]
    assert len(rows) == 1, rows
    return rows[0]


def test_completeness_issue_example_3000_of_3600_readings(spark):
    from pyspark.sql import functions as F

    # A device with a 1 s period, first reading 08:00:00, last 08:59:59, one in six seconds missing.
    readings = (spark.range(3600).where(F.col("id") % 6 != 3)
                .select(F.lit("s1").alias("site"), F.lit(DAY).alias("event_date"), F.lit("s1/l1/d1/x").alias("stream"),
                        F.timestamp_seconds(F.lit(int(T0.timestamp())) + F.col("id")).alias("event_ts_utc"),
                        F.lit(1.0).alias("period_s")))
    got = _one(sc.completeness(readings))
    assert (got["readings_received"], got["readings_expected"]) == (3000, 3600.0)
    assert got["completeness"] == pytest.approx(0.8333, abs=5e-5)


def test_completeness_sums_streams_and_caps_fast_senders(spark):
    rows = []
    for i in range(10):  # period 10 s over 90 s: 10 expected, 10 received
        rows.append(("s1", DAY, "a", T0 + timedelta(seconds=10 * i), 10.0))
    for i in range(5):   # period 60 s, readings at 0 and 240 s and three between: 5 of 5
        rows.append(("s1", DAY, "b", T0 + timedelta(seconds=60 * i), 60.0))
    for i in range(20):  # sends every 1 s but registered at 2 s: complete, not 2x
        rows.append(("s1", DAY, "c", T0 + timedelta(seconds=i), 2.0))
    for i in (0, 1, 9):  # period 1 s, first 0 last 9: 3 of 10
        rows.append(("s1", DAY, "d", T0 + timedelta(seconds=i), 1.0))
    df = spark.createDataFrame(rows, "site string, event_date date, stream string, event_ts_utc timestamp, "
                                     "period_s double")
    got = _one(sc.completeness(df))
    assert got["readings_expected"] == 10 + 5 + 10 + 10
    assert got["readings_received"] == 10 + 5 + 10 + 3
    assert got["completeness"] == pytest.approx(28 / 35)


def test_timeliness_share_within_latency_and_p95(spark):
    # Live rows: sent at their event time; the producer-to-ingest delay decides.
    delays = [10, 100, 900, 1000, 5000]
    rows = [("s1", DAY, T0, T0, T0 + timedelta(seconds=s)) for s in delays]
    df = spark.createDataFrame(rows, SCHEMA_T)
    got = _one(sc.timeliness(df, 900))
    assert (got["rows"], got["historical_rows"], got["on_time_rows"]) == (5, 0, 3)
    assert got["timeliness"] == pytest.approx(0.6)
    assert got["ingest_lag_p95_s"] == 5000.0


SCHEMA_T = "site string, event_date date, event_ts_utc timestamp, _kafka_ts timestamp, _ingest_ts timestamp"


def test_timeliness_is_producer_to_ingest_and_leaves_history_out(spark):
    sent_late = T0 + timedelta(seconds=1800)   # a device buffered 30 min: not the pipeline's delay
    history = T0 + timedelta(days=1)           # yesterday's readings loaded today
    rows = [("s1", DAY, T0, sent_late, sent_late + timedelta(seconds=60)),       # live, on time
            ("s1", DAY, T0, T0, T0 + timedelta(seconds=2000)),                    # live, late
            ("s1", DAY, T0, history, history + timedelta(seconds=5)),             # historical
            ("s2", DAY, T0, history, history + timedelta(seconds=5)),             # only history
            ("s2", DAY, T0, history, history + timedelta(seconds=99999))]
    got = {r["site"]: r.asDict() for r in sc.timeliness(spark.createDataFrame(rows, SCHEMA_T), 900, 3600).collect()}
    assert (got["s1"]["rows"], got["s1"]["historical_rows"], got["s1"]["on_time_rows"]) == (3, 1, 1)
    assert got["s1"]["timeliness"] == pytest.approx(0.5)
    assert got["s1"]["ingest_lag_p95_s"] == 2000.0           # live rows only: history's delay is not in it
    assert (got["s2"]["rows"], got["s2"]["historical_rows"]) == (2, 2)
    assert got["s2"]["timeliness"] is None and got["s2"]["ingest_lag_p95_s"] is None   # not 0: nothing to judge


def test_validity_and_uniqueness(spark):
    valid = spark.createDataFrame([("s1", DAY)] * 9 + [("s2", DAY)], "site string, event_date date")
    quarantined = spark.createDataFrame([("s1", DAY), (sc.UNKNOWN_SITE, DAY)], "site string, event_date date")
    got = {r["site"]: r.asDict() for r in sc.validity(valid, quarantined).collect()}
    assert got["s1"]["validity"] == pytest.approx(0.9)
    assert got["s2"]["validity"] == 1.0
    assert (got["unattributed"]["valid_records"], got["unattributed"]["validity"]) == (0, 0.0)

    kept = spark.createDataFrame([(f"e{i}", "s1", DAY) for i in range(4)], "event_id string, site string, "
                                                                           "event_date date")
    dups = spark.createDataFrame([("e0",), ("x-not-in-silver",)], "event_id string")
    got = _one(sc.uniqueness(kept, dups))
    assert got["duplicate_records"] == 1
    assert got["uniqueness"] == pytest.approx(1 - 1 / 5)


def test_quarantined_records_without_a_readable_key_are_unattributed(spark):
    from pyspark.sql import functions as F

    keys = [b"S1/L1/cnc-1", None, b"", b"\xff\xfe/x", b"garbage", b"S2/L1", b"/L1/d", b"S3/L9/dev-2"]
    df = spark.createDataFrame([(k,) for k in keys], "key binary")
    got = [r["site"] for r in df.select(sc.key_site(F.col("key")).alias("site")).collect()]
    assert got == ["S1", "unattributed", "unattributed", "unattributed", "unattributed", "unattributed",
                   "unattributed", "S3"]


def test_consistency_production_while_every_machine_is_down(spark):
    t = lambda m: T0 + timedelta(minutes=m)  # noqa: E731
    states = spark.createDataFrame([
        ("s1", "l1", "m1", t(0), "DOWN"), ("s1", "l1", "m2", t(0), "DOWN"),
        ("s1", "l1", "m2", t(20), "RUNNING"),  # m2 back up during report p2
        ("s1", "l1", "m2", t(40), "DOWN"),
    ], "site string, line string, device string, event_ts_utc timestamp, state string")
    production = spark.createDataFrame([
        ("p1", "s1", "l1", DAY, t(0), t(15), 5),    # both down the whole interval, 5 produced: inconsistent
        ("p2", "s1", "l1", DAY, t(15), t(30), 7),   # m2 restarted at 20: fine
        ("p3", "s1", "l1", DAY, t(45), t(60), 0),   # both down, nothing produced: fine
        ("p4", "s1", "l9", DAY, t(0), t(15), 3),    # no machine state known for the line: not checked
    ], "event_id string, site string, line string, event_date date, start_ts_utc timestamp, "
       "end_ts_utc timestamp, produced long")
    got = _one(sc.consistency(production, states))
    assert (got["production_checked"], got["production_inconsistent"]) == (3, 1)
    assert got["consistency"] == pytest.approx(2 / 3)


def test_scorecard_overall_is_mean_of_available_dimensions(spark):
    a = spark.createDataFrame([("s1", DAY, 0.8), ("s2", DAY, 1.0)], "site string, event_date date, completeness double")
    b = spark.createDataFrame([("s1", DAY, 0.6)], "site string, event_date date, timeliness double")
    got = {r["site"]: r.asDict() for r in sc.scorecard("energy", [a, b]).collect()}
    assert list(got["s1"]) == list(sc.COLUMNS)
    assert got["s1"]["industry"] == "energy"
    assert got["s1"]["overall"] == pytest.approx(0.7)
    assert got["s2"]["overall"] == 1.0 and got["s2"]["timeliness"] is None


def test_scorecard_keeps_every_site_day_of_any_dimension_as_an_outer_join_would(spark):
    a = spark.createDataFrame([("s1", DAY, 0.5)], "site string, event_date date, completeness double")
    b = spark.createDataFrame([("s2", DAY, 10, 4, 0.4)],
                              "site string, event_date date, valid_records long, quarantined_records long, "
                              "validity double")
    c = spark.createDataFrame([("s1", DAY, 1.0), ("s3", DAY, 0.0)], "site string, event_date date, uniqueness double")
    got = {r["site"]: r.asDict() for r in sc.scorecard("energy", [a, b, c]).collect()}
    assert sorted(got) == ["s1", "s2", "s3"]
    assert (got["s1"]["completeness"], got["s1"]["uniqueness"], got["s1"]["validity"]) == (0.5, 1.0, None)
    assert (got["s2"]["valid_records"], got["s2"]["quarantined_records"], got["s2"]["completeness"]) == (10, 4, None)
    assert got["s3"]["uniqueness"] == 0.0 and got["s3"]["overall"] == 0.0
    assert got["s1"]["overall"] == pytest.approx(0.75)
    with pytest.raises(ValueError, match="share a column"):
        sc.scorecard("energy", [a, a])


def test_publish_scorecard_replaces_only_its_industry_and_days(spark, isolated_cfg):

    cfg = isolated_cfg
    ingest = T0 + timedelta(seconds=30)
    # furnace_temp's normal band is [1480, 1540] degC: 1,600 is the one reading outside it.
    rows = [(f"e{i}", "s1", "l1", "d1", "furnace_temp", 1600.0 if i == 5 else 1500.0, DAY,
             T0 + timedelta(seconds=10 * i), ingest, ingest) for i in range(6)]
    _telemetry_silver(spark, cfg, rows)
    assert sc.publish_scorecard(spark, cfg, "raw_materials", [DAY]) == 1
    assert sc.publish_scorecard(spark, cfg, "raw_materials", [DAY]) == 1  # idempotent
    got = sc.read_scorecard(spark, cfg, "raw_materials", DAY)
    assert len(got) == 1
    row = got[0]
    assert (row["readings_received"], row["readings_expected"], row["completeness"]) == (6, 6.0, 1.0)
    assert row["validity"] == 1.0 and row["uniqueness"] == 1.0 and row["consistency"] is None
    assert (row["accuracy_checked"], row["readings_out_of_normal"]) == (6, 1)
    assert row["accuracy"] == pytest.approx(5 / 6)
    # s1 is not in the asset registry: no stream is expected of it, none is silent.
    assert row["silent_streams"] == 0
    # completeness 1, timeliness 1, validity 1, uniqueness 1, accuracy 5/6, weights 1: (4 + 5/6) / 5
    assert row["timeliness"] == 1.0 and row["overall"] == pytest.approx(29 / 30)


def test_validity_counts_the_quarantined_records_that_arrived_on_the_day_exactly(spark, isolated_cfg):
    """Quarantined rows are read by arrival day; the first and last instants of the day count, the
    instants either side do not (the read prunes quarantine's files by kafka_ts)."""
    from brain.clean.shared_tables import ensure_shared_tables
    from brain.lake.tables import QUARANTINE, table_path

    cfg = isolated_cfg
    ensure_shared_tables(spark, cfg)
    start = datetime(2025, 1, 6)
    arrivals = [start - timedelta(microseconds=1), start, start + timedelta(days=1) - timedelta(microseconds=1),
                start + timedelta(days=1)]
    for i, at in enumerate(arrivals):  # one file each, so file skipping has something to skip
        (spark.createDataFrame([("raw_materials", "telemetry", "malformed_json", None, b"x", "t", 0, i, at,
                                 b"s1/l1/d1", at)],
                               "industry string, record_type string, reason string, event_id string, payload binary, "
                               "topic string, partition int, offset long, kafka_ts timestamp, key binary, "
                               "quarantined_at timestamp")
         .write.format("delta").mode("append").save(str(table_path(cfg, QUARANTINE))))
    rows = [(f"e{i}", "s1", "l1", "d1", "furnace_temp", 1500.0, DAY, T0 + timedelta(seconds=10 * i), T0, T0)
            for i in range(3)]
    _telemetry_silver(spark, cfg, rows)
    sc.publish_scorecard(spark, cfg, "raw_materials", [DAY])
    row = sc.read_scorecard(spark, cfg, "raw_materials", DAY)[0]
    assert (row["valid_records"], row["quarantined_records"]) == (3, 2)
    assert row["validity"] == pytest.approx(3 / 5)


def test_publish_scorecard_adds_historical_rows_to_a_table_written_before_it(spark, isolated_cfg):
    from pyspark.sql import functions as F

    from brain.lake.tables import table_path

    cfg = isolated_cfg
    sent = T0 + timedelta(days=2)  # two days after the events: historical load
    rows = [(f"e{i}", "s1", "l1", "d1", "furnace_temp", 1500.0, DAY, T0 + timedelta(seconds=10 * i), sent, sent)
            for i in range(3)]
    _telemetry_silver(spark, cfg, rows)
    # The scorecard as an older version wrote it: no historical_rows column, another industry's row in it.
    old_day = DAY - timedelta(days=1)
    old = (spark.createDataFrame([("energy", "x", old_day, 5, 5, 1.0)],
                                 "industry string, site string, event_date date, rows long, on_time_rows long, "
                                 "timeliness double")
           .withColumn("computed_at", F.current_timestamp()))
    old.write.format("delta").partitionBy("event_date").save(str(table_path(cfg, sc.SCORECARD)))
    assert sc.publish_scorecard(spark, cfg, "raw_materials", [DAY]) == 1
    row = sc.read_scorecard(spark, cfg, "raw_materials", DAY)[0]
    assert (row["rows"], row["historical_rows"], row["timeliness"]) == (3, 3, None)
    kept = sc.read_scorecard(spark, cfg, "energy", old_day)[0]
    assert (kept["timeliness"], kept["historical_rows"]) == (1.0, None)           # older rows: null, not 0


def test_completeness_counts_a_registered_stream_that_sent_nothing(spark):
    STREAMS = "site string, event_date date, stream string, event_ts_utc timestamp, period_s double"
    day2 = DAY + timedelta(days=1)
    rows = [("s1", DAY, "a", T0 + timedelta(seconds=10 * i), 10.0) for i in range(10)]  # 0..90 s: 10 of 10
    rows += [("s1", DAY, "b", T0 + timedelta(seconds=s), 30.0) for s in (0, 30)]       # 0..30 s: 2 of 2
    rows += [("s1", day2, "a", T0 + timedelta(days=1), 10.0)]                            # one reading
    expected = spark.createDataFrame([("s1", "a", 10.0), ("s1", "b", 30.0), ("s1", "c", 5.0),
                                      ("s2", "z", 1.0)], "site string, stream string, period_s double")
    got = {r["event_date"]: r.asDict() for r in sc.completeness(spark.createDataFrame(rows, STREAMS), expected)
           .collect()}
    # Day 1: s1 reported from 0 to 90 s; c (every 5 s) sent nothing: 90 / 5 + 1 = 19 readings missing.
    # (10 + 2 + 0) / (10 + 2 + 19) = 12 / 31.
    d1 = got[DAY]
    assert (d1["readings_received"], d1["readings_expected"], d1["silent_streams"]) == (12, 31.0, 1)
    assert d1["completeness"] == pytest.approx(12 / 31)
    # Day 2: a single reading, so a span of 0 s: b and c each miss 1 reading: 1 / 3.
    d2 = got[day2]
    assert (d2["readings_received"], d2["readings_expected"], d2["silent_streams"]) == (1, 3.0, 2)
    # s2 sent nothing at all: no row (nothing says its day happened).
    assert {r["site"] for r in sc.completeness(spark.createDataFrame(rows, STREAMS), expected).collect()} == {"s1"}
    # Without the registry's list the silent stream is invisible, as before: 12 / 12.
    assert _one(sc.completeness(spark.createDataFrame(rows[:12], STREAMS)))["completeness"] == 1.0


def test_accuracy_normal_band_and_counts_that_add_up(spark):
    readings = spark.createDataFrame([
        ("s1", DAY, 9.9, 10.0, 20.0),    # below the band: fails
        ("s1", DAY, 10.0, 10.0, 20.0),   # the band includes its ends
        ("s1", DAY, 15.0, 10.0, 20.0),
        ("s1", DAY, 20.0, 10.0, 20.0),
        ("s1", DAY, 20.5, 10.0, 20.0),   # above: fails
        ("s1", DAY, 99.0, None, None),   # a sensor without a band: not checked
    ], "site string, event_date date, value double, normal_lo double, normal_hi double")
    production = spark.createDataFrame([
        ("s1", DAY, 10.0, 7.0, 2.0, 1.0),   # 7 + 2 + 1 = 10
        ("s1", DAY, 10.0, 7.0, 2.0, 0.0),   # 9 != 10: fails
        ("s1", DAY, 1.5, 1.2, 0.2, 0.1),    # tonnes: 1.2 + 0.2 + 0.1 is 1.5000000000000002 in floating point
    ], "site string, event_date date, produced double, good double, scrap double, rework double")
    inspections = spark.createDataFrame([("s1", DAY, 8, 8), ("s1", DAY, 8, 9), ("s1", DAY, 0, 0)],
                                        "site string, event_date date, inspected long, passed long")
    got = _one(sc.accuracy(readings, production, inspections))
    # 5 readings + 3 reports + 3 inspections checked; 2 + 1 + 1 failed: 1 - 4 / 11 = 7 / 11.
    assert (got["accuracy_checked"], got["readings_out_of_normal"], got["production_unbalanced"],
            got["inspections_overpassed"]) == (11, 2, 1, 1)
    assert got["accuracy"] == pytest.approx(7 / 11)
    only = _one(sc.accuracy(inspections=inspections))
    assert (only["accuracy_checked"], only["accuracy"]) == (3, pytest.approx(2 / 3))


def test_overall_weighs_the_dimensions_from_config(spark):
    from brain import config

    dims = spark.createDataFrame([("s1", DAY, 0.8, 0.6, 0.5)],
                                 "site string, event_date date, completeness double, timeliness double, "
                                 "accuracy double")
    # Equal weights: (0.8 + 0.6 + 0.5) / 3.
    assert _one(sc.scorecard("energy", [dims]))["overall"] == pytest.approx(1.9 / 3)
    cfg = config.load(environ={"BRAIN_ENV": "local", "BRAIN__QUALITY__SCORECARD_WEIGHTS__COMPLETENESS": "2",
                               "BRAIN__QUALITY__SCORECARD_WEIGHTS__ACCURACY": "0"})
    weights = sc.dimension_weights(cfg)
    assert weights["completeness"] == 2 and weights["accuracy"] == 0 and weights["validity"] == 1
    # (2 x 0.8 + 1 x 0.6) / (2 + 1): accuracy weighs nothing; validity has no value, so no weight either.
    assert _one(sc.scorecard("energy", [dims], weights))["overall"] == pytest.approx(2.2 / 3)


@pytest.mark.parametrize("key,value,match", [("SPEED", "1", "unknown dimension"), ("ACCURACY", "-1", ">= 0")])
def test_a_bad_weight_names_its_key(key, value, match):
    from brain import config
    from brain.config import ConfigError

    cfg = config.load(environ={"BRAIN_ENV": "local", f"BRAIN__QUALITY__SCORECARD_WEIGHTS__{key}": value})
    with pytest.raises(ConfigError, match=match):
        sc.dimension_weights(cfg)


def test_expected_streams_come_from_the_asset_registry():
    tele = sc.expected_streams("raw_materials", ["telemetry", "production"])
    baotou = sorted(s for site, s, _ in tele if site == "rm-baotou")
    # conf/assets.yaml: bf-1 and bf-2 each hold a blast_furnace (3 sensors), a blower (2), a cast_house (1).
    assert len(baotou) == 2 * (3 + 2 + 1)
    assert ("rm-baotou", "rm-baotou/bf-1/furnace/furnace_temp", 10.0) in tele
    energy = [(s, p) for site, s, p in sc.expected_streams("energy", ["energy_meter"]) if site == "rm-baotou"]
    # Two site meters (gas-main, coal-scale: hourly) and the em-main electricity meter of each line (15 min).
    assert sorted(energy) == [("rm-baotou/bf-1/em-main/electricity", 900.0),
                              ("rm-baotou/bf-2/em-main/electricity", 900.0),
                              ("rm-baotou/site-main/coal-scale/coal", 3600.0),
                              ("rm-baotou/site-main/gas-main/natural_gas", 3600.0)]
    assert sc.expected_streams("energy", ["telemetry"]) == []   # energy has no registered telemetry
