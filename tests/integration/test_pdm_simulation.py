"""Predictive maintenance on the simulator's physics: bearing wear is caught before the failure.

The simulator (brain/simulator/physics.py) wears rotating devices while they
run; their vibration rises with wear to 1.5x the normal band's top at failure
(unplanned DOWN, reason BEARING_FAILURE for blowers). Seed 0 over these
5.5 days gives blast-furnace line bf-2's blower a failure on day 5 after a
healthy start, while bf-1's blower stays healthy; no planned maintenance
(Tuesdays 08:00 local) falls inside the window to reset the wear.

The records take the real path from JSON to silver rows (brain.clean.fate parse,
classify, to_silver) and the real Spark transforms; only Kafka is skipped.
Also here: gold.publish with a ``scope`` keeps other industries' rows of a
shared table (gold.pdm_alerts) when one industry recomputes a day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from brain.clean.fate import classify, decode, parse, to_silver
from brain.clean.silver import limits
from brain.contracts import topic_names
from brain.gold.metrics import pdm
from brain.industries import raw_materials

pytestmark = pytest.mark.integration

START = "2026-11-04"                     # a Wednesday, 00:00 UTC
INGESTED = datetime(2026, 11, 10)        # the records reach the lake after the window


def _silver(spark, cfg, folder, record_type):
    from pyspark.sql import functions as F

    spec = raw_materials.RECORD_SPECS[record_type]
    path = folder / f"{topic_names.topic_for(cfg, 'raw_materials', record_type)}.jsonl"
    bronze = (spark.read.text(str(path))
              .select(F.col("value").cast("binary").alias("payload"), F.lit(None).cast("binary").alias("key"),
                      F.lit(path.stem).alias("topic"), F.lit(0).alias("partition"),
                      F.monotonically_increasing_id().alias("offset"), F.lit(INGESTED).alias("kafka_ts"),
                      F.lit(INGESTED).alias("ingest_ts")))
    classified = classify(parse(decode(bronze), spec), spec, limits(cfg))
    assert classified.where(F.col("reason").isNotNull()).count() == 0  # a clean history: nothing quarantined
    return to_silver(classified, spec).cache()


def test_simulated_bearing_wear_is_caught_before_the_failure(spark, base_cfg, tmp_path):
    from brain.simulator import run_simulation

    run_simulation(base_cfg, industry="raw_materials", sites=1, lines=2, records=45_000, days=5.5, start=START,
                   seed=0, out=tmp_path)
    telemetry = _silver(spark, base_cfg, tmp_path, "telemetry")
    states = _silver(spark, base_cfg, tmp_path, "machine_state")

    failures = {(r.line, r.device): r.event_ts_utc for r in
                states.where("state = 'DOWN' AND reason_code = 'BEARING_FAILURE'")
                .groupBy("line", "device").agg({"event_ts_utc": "min"}).withColumnRenamed("min(event_ts_utc)",
                                                                                           "event_ts_utc").collect()}
    assert list(failures) == [("bf-2", "blower")]  # the seeded story: one bearing failure, on bf-2
    failed_at = failures[("bf-2", "blower")]

    s = pdm.settings(base_cfg)
    hourly = pdm.hourly_health(telemetry, states, pdm.vibration_bands(), s).cache()
    alerts = pdm.alerts(hourly, s).collect()
    blower_2 = sorted((a.alert_ts, a.level) for a in alerts if a.line == "bf-2")
    assert blower_2, "no alert for the blower that failed"
    first_warning = min(ts for ts, _ in blower_2)
    first_alarm = min((ts for ts, level in blower_2 if level == "ALARM"), default=None)
    # An early warning worth having: more than a day ahead; the alarm still before the failure.
    assert first_warning < failed_at - timedelta(hours=24), (first_warning, failed_at)
    assert first_alarm is not None and first_alarm < failed_at, (first_alarm, failed_at)
    # The healthy blower: no alert at all, and its health stays in zones A/B.
    assert [a for a in alerts if a.line == "bf-1"] == []
    healthy = hourly.where("line = 'bf-1' AND vibration_rms IS NOT NULL")
    assert healthy.count() > 100 and healthy.where("health_index < 0.5").count() == 0


def test_publish_with_scope_keeps_other_industries_rows(spark, isolated_cfg):
    from pyspark.sql import functions as F

    from brain.gold.publish import publish
    from brain.lake.tables import table_path

    cfg = isolated_cfg
    day, other_day = date(2026, 11, 20), date(2026, 11, 21)
    source = "silver.scope_source"
    spark.createDataFrame([(day,), (other_day,)], "event_date date").write.format("delta").save(
        str(table_path(cfg, source)))

    def rows(industry, devices):
        def transform(df):
            alerts = spark.createDataFrame([(industry, d) for d in devices], "industry string, device string")
            return df.crossJoin(alerts)
        return transform

    def table():
        return sorted((r.industry, r.device, str(r.event_date)) for r in
                      spark.read.format("delta").load(str(table_path(cfg, "gold.shared"))).collect())

    for industry, devices in (("raw_materials", ["blower"]), ("equipment_manufacturing", ["mill-1"])):
        publish(spark, cfg, "gold.shared", {"x": source}, rows(industry, devices), [day, other_day],
                scope={"industry": industry})
    # raw_materials recomputes one day and finds nothing to alert: only its rows of that day go.
    publish(spark, cfg, "gold.shared", {"x": source}, lambda df: rows("raw_materials", [])(df), [day],
            scope={"industry": "raw_materials"})
    assert table() == [("equipment_manufacturing", "mill-1", "2026-11-20"),
                       ("equipment_manufacturing", "mill-1", "2026-11-21"),
                       ("raw_materials", "blower", "2026-11-21")]
    parts = spark.sql(f"DESCRIBE DETAIL delta.`{table_path(cfg, 'gold.shared')}`").select(
        F.col("partitionColumns")).first()[0]
    assert parts == ["event_date", "industry"]
