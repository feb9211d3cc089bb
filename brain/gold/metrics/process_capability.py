"""Process stability: Cp and Cpk of key process variables per device, sensor and day.

Key process variables are the sensors with ``role: process`` in the asset
registry; their specification limits default to the sensor's normal band and
can be overridden per sensor in conf/defaults.yaml ``process_capability.limits``.
Formulas are brain.gold.kpi.formulas.CPK and brain.gold.kpi.formulas.CP (ISO 22514-2 / AIAG SPC manual),
evaluated on Spark Columns by brain.gold.kpi.columns.kpi_column.

sigma is the standard deviation of all of the day's readings taken while the
device was RUNNING (readings during start-up, idle or stops describe no
process). That is the overall ("long-term") sigma, i.e. the estimator ISO
22514-2 and the AIAG manual call Ppk; without rational subgroups a daily
overall sigma is what the data supports. Readings are autocorrelated, so read
the index as a stability trend, not as a certified capability study.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from brain.config import Config, ConfigError
from brain.gold.kpi import formulas as kpi
from brain.gold.metrics.device_state import with_device_state
from brain.lake.frames import local_frame

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

KEYS = ("enterprise", "site", "line", "device", "sensor", "event_date")
TOO_FEW_SAMPLES = "too_few_samples"


def limits(cfg: Config) -> dict[str, tuple[float, float]]:
    """Process sensor -> (LSL, USL): the registry's normal band unless conf/ overrides it."""
    from brain.contracts import load_registry

    sensors = load_registry().sensors
    out = {n: s.normal for n, s in sensors.items() if s.role == "process"}
    for name, pair in (cfg.get("process_capability.limits", {}, type_=dict) or {}).items():
        if name not in sensors or not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise ConfigError(f"process_capability.limits.{name} must name a registry sensor and be [LSL, USL] "
                              f"(set in {cfg.source_of('process_capability.limits')})")
        out[name] = (float(pair[0]), float(pair[1]))
    return out


def daily_capability(telemetry: "DataFrame", machine_state: "DataFrame", spec_limits: dict[str, tuple[float, float]],
                     min_samples: int) -> "DataFrame":
    """gold.raw_materials_process_capability_daily: mean, sigma, Cp and Cpk per device, sensor and day.

    BAD readings are excluded and counted (records_bad), UNCERTAIN ones kept and
    counted (records_uncertain). Fewer than ``min_samples`` RUNNING readings:
    no Cp/Cpk and the flag ``too_few_samples``.
    """
    from pyspark.sql import functions as F

    from brain.gold.kpi.columns import kpi_column

    col = F.col
    proc = with_device_state(telemetry.where(col("sensor").isin(*spec_limits)), machine_state)
    good = col("quality") != "BAD"
    use = good & (col("device_state") == "RUNNING")
    day = (proc.groupBy(*KEYS)
           .agg(F.count_if(use).alias("samples"),
                F.avg(F.when(use, col("value"))).alias("mean"),
                F.stddev_samp(F.when(use, col("value"))).alias("stdev"),
                F.min(F.when(use, col("value"))).alias("min_value"),
                F.max(F.when(use, col("value"))).alias("max_value"),
                F.first("unit", ignorenulls=True).alias("unit"),
                F.count_if(good & ~F.coalesce(col("device_state") == "RUNNING", F.lit(False)))
                 .alias("readings_not_running"),
                F.count_if(col("quality") == "UNCERTAIN").alias("records_uncertain"),
                F.count_if(~good).alias("records_bad")))
    lims = local_frame(telemetry.sparkSession,
                       [(k, float(lo), float(hi)) for k, (lo, hi) in sorted(spec_limits.items())],
                       "sensor string, lsl double, usl double")
    day = day.join(F.broadcast(lims), "sensor")
    cpk, cpk_flags = kpi_column(kpi.CPK, col("mean"), col("stdev"), col("lsl"), col("usl"))
    cp, cp_flags = kpi_column(kpi.CP, col("stdev"), col("lsl"), col("usl"))
    enough = col("samples") >= min_samples
    few = F.when(~enough, F.array(F.lit(TOO_FEW_SAMPLES))).otherwise(F.array().cast("array<string>"))
    return (day.withColumn("cp", F.when(enough, cp)).withColumn("cpk", F.when(enough, cpk))
            .withColumn("flags", F.array_sort(F.array_distinct(F.concat(cpk_flags, cp_flags, few))))
            .select(*KEYS, "unit", "lsl", "usl", "samples", "mean", "stdev", "min_value", "max_value", "cp", "cpk",
                    "flags", "readings_not_running", "records_uncertain", "records_bad"))


def gold_capability(telemetry: "DataFrame", machine_state: "DataFrame") -> "DataFrame":
    """The gold transform: limits and minimum sample size from conf/ (read when called)."""
    from brain import config

    cfg = config.load()
    return daily_capability(telemetry, machine_state, limits(cfg),
                            int(cfg.get("process_capability.min_samples", type_=int)))
