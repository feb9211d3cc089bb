"""Predictive maintenance transforms on small hand-computed frames (gold.metrics.pdm and device_state)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from pyspark.testing import assertDataFrameEqual

from brain.gold.metrics import pdm

DAY = date(2026, 11, 20)
PREV = date(2026, 11, 19)
BANDS = {"fan_vibration_rms": (0.5, 4.5)}   # zone D from 1.6 x 4.5 = 7.2 mm/s
S = pdm.PdmSettings(zone_d_ratio=1.6, warning_health=0.5, alarm_health=0.25, trend_min_points=3, horizon_h=10)
LOC = ("raw_materials", "acme", "rm-1", "bf-1")


def _ts(hh: int, mm: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm)


def _telemetry(spark, rows):
    return spark.createDataFrame(
        [(*LOC, dev, f"t{i}", ts, ts.date(), q, "fan_vibration_rms", v, "mm/s")
         for i, (dev, ts, q, v) in enumerate(rows)],
        "industry string, enterprise string, site string, line string, device string, event_id string, "
        "event_ts_utc timestamp, event_date date, quality string, sensor string, value double, unit string")


def _states(spark, rows):
    return spark.createDataFrame(
        [(*LOC, dev, f"s{i}", ts, ts.date(), q, state, False) for i, (dev, ts, q, state) in enumerate(rows)],
        "industry string, enterprise string, site string, line string, device string, event_id string, "
        "event_ts_utc timestamp, event_date date, quality string, state string, planned boolean")


@pytest.fixture(scope="module")
def frames(spark):
    telemetry = _telemetry(spark, [
        # blower: RUNNING since yesterday 23:00, degrading; DOWN at 05:00
        ("blower", _ts(0, 10), "GOOD", 2.5), ("blower", _ts(0, 20), "UNCERTAIN", 2.5),
        ("blower", _ts(0, 30), "BAD", 40.0),                       # excluded, counted
        ("blower", _ts(1, 10), "GOOD", 3.0),
        ("blower", _ts(2, 10), "GOOD", 3.5), ("blower", _ts(2, 40), "GOOD", 3.5),
        ("blower", _ts(3, 10), "GOOD", 6.39),
        ("blower", _ts(5, 10), "GOOD", 0.1),                       # DOWN: not a condition reading
        # fan-2: healthy and steady
        *[("fan-2", _ts(h, 5), "GOOD", 1.0) for h in range(4)],
    ])
    states = _states(spark, [("blower", _ts(23, 0, PREV), "GOOD", "RUNNING"), ("blower", _ts(5, 0), "GOOD", "DOWN"),
                             ("fan-2", _ts(23, 30, PREV), "GOOD", "RUNNING")])
    return telemetry, states


def test_health_index_follows_the_iso_10816_zones(spark):
    df = spark.createDataFrame([(v,) for v in (0.2, 0.5, 2.5, 4.5, 5.85, 7.2, 9.0)], "v double")
    out = df.select(pdm.health_index(df["v"], df["v"] * 0 + 0.5, df["v"] * 0 + 4.5, 1.6).alias("h"))
    # band [0.5, 4.5]: 1 at the bottom, 0.5 at the top (B/C), 0 at 7.2 (C/D)
    assert [r.h for r in out.collect()] == pytest.approx([1.0, 1.0, 0.75, 0.5, 0.25, 0.0, 0.0])


def test_hourly_health_rms_trend_and_levels(spark, frames):
    telemetry, states = frames
    out = pdm.hourly_health(telemetry, states, BANDS, S)
    cols = ["device", "hour_ts", "vibration_rms", "trend_per_h", "health_index", "zone", "level", "readings",
            "readings_not_running", "records_uncertain", "records_bad"]
    h = lambda v: 1 - 0.5 * (v - 0.5) / 4.0  # noqa: E731  (zones A/B)
    expected = spark.createDataFrame([
        ("blower", _ts(0), 2.5, None, h(2.5), "A/B", None, 2, 0, 1, 1),
        ("blower", _ts(1), 3.0, None, h(3.0), "A/B", None, 1, 0, 0, 0),
        # 3 points, slope 0.5 mm/s per h: 3.5 + 10 h x 0.5 = 8.5 is past zone D -> early WARNING;
        # 4 points: least-squares slope 6.085 / 5 = 1.217
        ("blower", _ts(2), 3.5, 0.5, h(3.5), "A/B", "WARNING", 2, 0, 0, 0),
        ("blower", _ts(3), 6.39, 1.217, 0.5 * (7.2 - 6.39) / 2.7, "C", "ALARM", 1, 0, 0, 0),
        ("blower", _ts(5), None, None, None, None, None, 0, 1, 0, 0),
        *[("fan-2", _ts(hh), 1.0, None if hh < 2 else 0.0, h(1.0), "A/B", None, 1, 0, 0, 0) for hh in range(4)],
    ], "device string, hour_ts timestamp, vibration_rms double, trend_per_h double, health_index double, "
       "zone string, level string, readings long, readings_not_running long, records_uncertain long, "
       "records_bad long")
    assertDataFrameEqual(out.select(*cols), expected, atol=1e-3)


def test_hourly_rms_is_the_energy_mean_of_the_readings(spark):
    telemetry = _telemetry(spark, [("blower", _ts(0, 10), "GOOD", 3.0), ("blower", _ts(0, 20), "GOOD", 4.0)])
    states = _states(spark, [("blower", _ts(0, 0), "GOOD", "RUNNING")])
    [row] = pdm.hourly_health(telemetry, states, BANDS, S).collect()
    assert row.vibration_rms == pytest.approx((12.5) ** 0.5)


def test_readings_after_a_bad_state_event_have_no_state(spark):
    telemetry = _telemetry(spark, [("blower", _ts(1, 10), "GOOD", 3.0), ("blower", _ts(2, 10), "GOOD", 3.0)])
    states = _states(spark, [("blower", _ts(0, 0), "GOOD", "RUNNING"), ("blower", _ts(2, 0), "BAD", "RUNNING")])
    rows = {r.hour_ts.hour: (r.readings, r.readings_not_running)
            for r in pdm.hourly_health(telemetry, states, BANDS, S).collect()}
    assert rows == {1: (1, 0), 2: (0, 1)}


def test_alerts_first_warning_and_first_alarm_per_device_day(spark, frames):
    telemetry, states = frames
    out = pdm.alerts(pdm.hourly_health(telemetry, states, BANDS, S), S)
    assert tuple(out.columns) == pdm.ALERT_COLUMNS
    expected = spark.createDataFrame([
        ("raw_materials", "rm-1", "bf-1", "blower", "fan_vibration_rms", DAY, _ts(2, 40), "WARNING", 0.625, 3.5),
        ("raw_materials", "rm-1", "bf-1", "blower", "fan_vibration_rms", DAY, _ts(3, 10), "ALARM", 0.15, 6.39),
    ], "industry string, site string, line string, device string, sensor string, event_date date, "
       "alert_ts timestamp, level string, health_index double, vibration_rms double")
    assertDataFrameEqual(out.drop("reason"), expected, atol=1e-9)
    reasons = {r.level: r.reason for r in out.collect()}
    assert "trend +0.500 mm/s per h" in reasons["WARNING"]
    assert "below the alarm level 0.25" in reasons["ALARM"] and "zone C" in reasons["ALARM"]


def test_settings_reject_inverted_levels():
    from brain import config
    from brain.config import ConfigError

    cfg = config.load(environ={"BRAIN__PDM__ALARM_HEALTH": "0.6"})
    with pytest.raises(ConfigError, match="alarm_health < warning_health"):
        pdm.settings(cfg)
    assert pdm.settings(config.load(environ={})).zone_d_ratio == 1.6
