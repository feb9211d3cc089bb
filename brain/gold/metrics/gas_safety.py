"""Safety: gas concentration readings above occupational exposure limits, per device and day.

The gas sensors are those with ``role: gas`` in the asset registry; each needs
a limit in conf/defaults.yaml ``safety.gas_limits`` with its source (NIOSH
REL, OSHA PEL, ACGIH TLV...). Every GOOD or UNCERTAIN reading above the limit
is an exceedance, whatever the device's state: people breathe the gas whether
or not the furnace runs. Comparing single readings with a time-weighted limit
is deliberately conservative: it flags what needs a look, it does not prove
an 8-hour average was exceeded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from brain.config import Config, ConfigError
from brain.lake.frames import local_frame

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

KEYS = ("enterprise", "site", "line", "device", "sensor", "event_date")


def gas_limits(cfg: Config) -> dict[str, float]:
    """Gas sensor -> limit in the sensor's registry unit; every registry gas sensor needs one."""
    from brain.contracts import load_registry

    sensors = load_registry().sensors
    conf = cfg.get("safety.gas_limits", {}, type_=dict) or {}
    where = cfg.source_of("safety.gas_limits") if conf else "conf/defaults.yaml"
    missing = sorted(n for n, s in sensors.items() if s.role == "gas" and n not in conf)
    if missing:
        raise ConfigError(f"safety.gas_limits has no limit for gas sensor(s) {missing} (set them in {where})")
    out = {}
    for name, entry in conf.items():
        if name not in sensors or not isinstance(entry, dict) or not entry.get("source"):
            raise ConfigError(f"safety.gas_limits.{name} must name a registry sensor and give limit, unit and "
                              f"source (set in {where})")
        if entry.get("unit") != sensors[name].unit:
            raise ConfigError(f"safety.gas_limits.{name}.unit is {entry.get('unit')!r}; readings of {name} are in "
                              f"{sensors[name].unit!r} (set in {where})")
        out[name] = float(entry["limit"])
    return out


def daily_exceedances(telemetry: "DataFrame", limits: dict[str, float]) -> "DataFrame":
    """gold.raw_materials_safety_exceedances_daily: one row per gas sensor, device and day
    (exceedances 0 included, so "no exceedance" is a fact, not a missing row)."""
    from pyspark.sql import functions as F

    col = F.col
    lims = local_frame(telemetry.sparkSession, sorted(limits.items()), "sensor string, threshold double")
    gas = telemetry.join(F.broadcast(lims), "sensor")
    good = col("quality") != "BAD"
    over = good & (col("value") > col("threshold"))
    return (gas.groupBy(*KEYS)
            .agg(F.count_if(over).alias("exceedances"),
                 F.max(F.when(good, col("value"))).alias("max_value"),
                 F.first("threshold").alias("threshold"),
                 F.min(F.when(over, col("event_ts_utc"))).alias("first_ts"),
                 F.first("unit", ignorenulls=True).alias("unit"),
                 F.count_if(good).alias("readings"),
                 F.count_if(col("quality") == "UNCERTAIN").alias("records_uncertain"),
                 F.count_if(~good).alias("records_bad"))
            .select(*KEYS, col("exceedances").cast("long"), "max_value", "threshold", "first_ts", "unit",
                    "readings", "records_uncertain", "records_bad"))


def gold_exceedances(telemetry: "DataFrame") -> "DataFrame":
    """The gold transform: limits from conf/ (read when called)."""
    from brain import config

    return daily_exceedances(telemetry, gas_limits(config.load()))
