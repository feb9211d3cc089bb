"""Small silver-shaped frames the metric tests share: one day, one blast-furnace line."""

from __future__ import annotations

from datetime import date, datetime

DAY = date(2026, 11, 20)
LOC = ("acme", "rm-1", "bf-1")


def ts(hh: int, mm: int = 0) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hh, mm)


def telemetry(spark, sensor, unit, rows):
    """rows: (device, event_ts_utc, quality, value) of one sensor."""
    return spark.createDataFrame(
        [(*LOC, dev, f"t{i}", t, DAY, q, sensor, v, unit) for i, (dev, t, q, v) in enumerate(rows)],
        "enterprise string, site string, line string, device string, event_id string, event_ts_utc timestamp, "
        "event_date date, quality string, sensor string, value double, unit string")
