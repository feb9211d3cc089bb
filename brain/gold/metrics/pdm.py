"""Predictive maintenance: vibration RMS per device and hour, a health index, early-warning alerts.

Severity reference: ISO 10816-3 / ISO 20816-1 evaluate broadband vibration
velocity (mm/s RMS) in zones: A (newly commissioned), B (unrestricted
long-term operation), C (unsatisfactory for long-term operation: plan
maintenance), D (severe enough to cause damage). Adjacent zone boundaries
differ by a ratio of about 1.6 (e.g. 2.8 -> 4.5 -> 7.1 mm/s). The asset
registry's normal band of a vibration sensor is its healthy operating band,
so its top is taken as the B/C boundary and ``zone_d_ratio`` x top as C/D.

Health index (1 = as new, 0 = zone D), piecewise linear in the hourly RMS v
of a sensor with normal band [lo, hi] and D = zone_d_ratio x hi::

    v <= lo        -> 1
    lo < v <= hi   -> 1 - 0.5 (v - lo) / (hi - lo)      (zones A/B: 1 .. 0.5)
    hi < v < D     -> 0.5 (D - v) / (D - hi)            (zone C:  0.5 .. 0)
    v >= D         -> 0

Trend: least-squares slope of the hourly RMS against time over the same UTC
day's hours so far (``trend_min_points`` needed); the projected health is the
health of v + max(slope, 0) x ``horizon_h``. WARNING: health or projected
health below ``warning_health``; ALARM: health below ``alarm_health``.
Thresholds live in conf/defaults.yaml ``pdm:``.

Only readings taken while the device is RUNNING count (a stopped machine's
vibration is not a condition indicator); BAD readings are excluded and
counted, UNCERTAIN ones kept and counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from brain.config import Config
from brain.gold.metrics.device_state import with_device_state
from brain.lake.frames import local_frame

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

HOUR_KEYS = ("industry", "enterprise", "site", "line", "device", "sensor", "event_date", "hour_ts")
DAY_KEYS = ("industry", "enterprise", "site", "line", "device", "sensor", "event_date")
ALERT_COLUMNS = ("industry", "site", "line", "device", "sensor", "event_date", "alert_ts", "level",
                 "health_index", "vibration_rms", "reason")
LEVELS = ("WARNING", "ALARM")
PDM_ALERTS = "gold.pdm_alerts"


@dataclass(frozen=True)
class PdmSettings:
    zone_d_ratio: float
    warning_health: float
    alarm_health: float
    trend_min_points: int
    horizon_h: float


def settings(cfg: Config) -> PdmSettings:
    num = (int, float)
    s = PdmSettings(float(cfg.get("pdm.zone_d_ratio", type_=num)), float(cfg.get("pdm.warning_health", type_=num)),
                    float(cfg.get("pdm.alarm_health", type_=num)), int(cfg.get("pdm.trend_min_points", type_=int)),
                    float(cfg.get("pdm.horizon_h", type_=num)))
    if not (s.zone_d_ratio > 1 and 0 < s.alarm_health < s.warning_health <= 1 and s.trend_min_points >= 2):
        from brain.config import ConfigError

        raise ConfigError(f"pdm settings need zone_d_ratio > 1, 0 < alarm_health < warning_health <= 1 and "
                          f"trend_min_points >= 2; got {s} (set in {cfg.source_of('pdm')})")
    return s


def vibration_bands() -> dict[str, tuple[float, float]]:
    """Vibration sensor -> its normal band (lo, hi), from the asset registry."""
    from brain.contracts import load_registry

    return {n: s.normal for n, s in load_registry().sensors.items() if s.role == "vibration"}


def monitored(industry: str) -> bool:
    """Whether any device of the industry in the asset registry has a vibration sensor."""
    from brain.contracts import load_registry

    reg = load_registry()
    if industry not in reg.raw["industries"]:
        return False
    return any(s.role == "vibration" for site in reg.sites(industry) for line in site.lines
               for device in line.devices for s in reg.device_sensors(device))


def _bands_frame(spark: "SparkSession", bands: dict[str, tuple[float, float]]) -> "DataFrame":
    return local_frame(spark, [(k, float(lo), float(hi)) for k, (lo, hi) in sorted(bands.items())],
                       "sensor string, normal_min double, normal_max double")


def health_index(v: "Column", lo: "Column", hi: "Column", zone_d_ratio: float) -> "Column":
    """The piecewise-linear health index of the module docstring (null when v is null)."""
    from pyspark.sql import functions as F

    d = hi * zone_d_ratio
    return (F.when(v.isNull(), F.lit(None).cast("double"))
            .when(v <= lo, F.lit(1.0))
            .when(v <= hi, 1 - 0.5 * (v - lo) / (hi - lo))
            .when(v < d, 0.5 * (d - v) / (d - hi))
            .otherwise(F.lit(0.0)))


def hourly_health(telemetry: "DataFrame", machine_state: "DataFrame", bands: dict[str, tuple[float, float]],
                  s: PdmSettings) -> "DataFrame":
    """gold.<industry>_pdm_health_hourly_device: one row per device, vibration sensor and hour."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    col = F.col
    vib = with_device_state(telemetry.where(col("sensor").isin(*bands)), machine_state)
    good = col("quality") != "BAD"
    use = good & (col("device_state") == "RUNNING")
    hourly = (vib.withColumn("hour_ts", F.date_trunc("hour", "event_ts_utc"))
              .groupBy(*HOUR_KEYS)
              # RMS of RMS readings: the energy-equivalent level of the hour
              .agg(F.sqrt(F.avg(F.when(use, col("value") * col("value")))).alias("vibration_rms"),
                   F.first("unit", ignorenulls=True).alias("unit"),
                   F.count_if(use).alias("readings"),
                   F.count_if(good & ~F.coalesce(col("device_state") == "RUNNING", F.lit(False)))
                    .alias("readings_not_running"),
                   F.count_if(col("quality") == "UNCERTAIN").alias("records_uncertain"),
                   F.count_if(~good).alias("records_bad"),
                   F.max(F.when(use, col("event_ts_utc"))).alias("last_reading_ts")))
    hourly = hourly.join(F.broadcast(_bands_frame(telemetry.sparkSession, bands)), "sensor")
    hours = (F.unix_seconds("hour_ts") - F.unix_seconds(F.to_timestamp("event_date"))) / 3600.0
    day = (Window.partitionBy(*DAY_KEYS).orderBy("hour_ts")
           .rowsBetween(Window.unboundedPreceding, Window.currentRow))
    points = F.count("vibration_rms").over(day)
    slope = F.regr_slope(col("vibration_rms"), F.when(col("vibration_rms").isNotNull(), hours)).over(day)
    hourly = hourly.withColumn("trend_per_h", F.when(col("vibration_rms").isNotNull() & (points >= s.trend_min_points),
                                                     slope))
    lo, hi = col("normal_min"), col("normal_max")
    projected = col("vibration_rms") + F.greatest(F.coalesce(col("trend_per_h"), F.lit(0.0)), F.lit(0.0)) * s.horizon_h
    hourly = (hourly.withColumn("health_index", health_index(col("vibration_rms"), lo, hi, s.zone_d_ratio))
              .withColumn("projected_health", health_index(projected, lo, hi, s.zone_d_ratio))
              .withColumn("zone", F.when(col("vibration_rms").isNull(), F.lit(None))
                          .when(col("vibration_rms") <= hi, F.lit("A/B"))
                          .when(col("vibration_rms") < hi * s.zone_d_ratio, F.lit("C")).otherwise(F.lit("D")))
              .withColumn("level", F.when(col("health_index") < s.alarm_health, F.lit("ALARM"))
                          .when((col("health_index") < s.warning_health)
                                | (col("projected_health") < s.warning_health), F.lit("WARNING"))))
    return hourly.select(*HOUR_KEYS, "vibration_rms", "unit", "normal_min", "normal_max", "trend_per_h",
                         "health_index", "projected_health", "zone", "level", "readings", "readings_not_running",
                         "records_uncertain", "records_bad", "last_reading_ts")


def alerts(hourly: "DataFrame", s: PdmSettings) -> "DataFrame":
    """gold.pdm_alerts rows from hourly health: per device, sensor and UTC day, the first
    hour that reached WARNING (or worse) and the first that reached ALARM.

    ``alert_ts`` is the last reading of that hour: when the hourly figure that
    raised the alert was complete.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    col = F.col
    reached = []
    for rank, level in enumerate(LEVELS):
        at_or_above = col("level").isin(*LEVELS[rank:])
        reached.append(hourly.where(at_or_above).withColumn("level", F.lit(level)))
    rows = reached[0].unionByName(reached[1])
    first = Window.partitionBy(*DAY_KEYS, "level").orderBy("hour_ts")
    rows = rows.withColumn("_n", F.row_number().over(first)).where(col("_n") == 1)
    band = F.format_string("normal band max %.2f %s, ISO 10816 zone %s", col("normal_max"), col("unit"), col("zone"))
    trend = F.format_string("trend %+.3f %s per h projects health %.2f in %.0f h", col("trend_per_h"), col("unit"),
                            col("projected_health"), F.lit(float(s.horizon_h)))
    now = F.format_string("vibration %.2f %s RMS, health %.3f", col("vibration_rms"), col("unit"), col("health_index"))
    below = F.format_string("below the alarm level %.2f", F.lit(float(s.alarm_health)))
    reason = (F.when(col("level") == "ALARM", F.concat_ws("; ", now, below, band))
              .when(col("health_index") < s.warning_health, F.concat_ws("; ", now, band))
              .otherwise(F.concat_ws("; ", now, trend)))
    return (rows.withColumn("reason", reason).withColumn("alert_ts", col("last_reading_ts"))
            .select(*ALERT_COLUMNS))


def gold_health(telemetry: "DataFrame", machine_state: "DataFrame") -> "DataFrame":
    """The gold transform: thresholds from conf/ (read when called), bands from the asset registry."""
    from brain import config

    return hourly_health(telemetry, machine_state, vibration_bands(), settings(config.load()))


def gold_alerts(telemetry: "DataFrame", machine_state: "DataFrame") -> "DataFrame":
    from brain import config

    s = settings(config.load())
    return alerts(hourly_health(telemetry, machine_state, vibration_bands(), s), s)


def gold_tables(industry: str) -> dict:
    """The PdM gold tables of an industry whose assets have vibration sensors (:func:`monitored`;
    none otherwise). gold.pdm_alerts is shared by the industries: each one replaces only its
    own rows of a day (publish option ``scope``; the table is partitioned by event_date and industry)."""
    if not monitored(industry):
        return {}
    sources = ("telemetry", "machine_state")
    return {f"gold.{industry}_pdm_health_hourly_device": (sources, gold_health),
            PDM_ALERTS: (sources, gold_alerts, {"scope": {"industry": industry}})}
