"""Energy: site and line meters for electricity, natural gas, coal and steam."""

from __future__ import annotations

from typing import TYPE_CHECKING

from brain.contracts.specs import record_specs

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

INDUSTRY = "energy"

RECORD_SPECS = record_specs(INDUSTRY)
ENERGY_METER = RECORD_SPECS["energy_meter"]


def daily_site_energy(meter: "DataFrame") -> "DataFrame":
    """gold.energy_daily_site: consumption per site, day and carrier.

    BAD readings are excluded from the totals and UNCERTAIN ones kept; each
    row says how many of each it saw, so an analyst can judge the number.
    A reading counts in the day its interval covers (brain.gold.intervals).
    """
    from pyspark.sql import functions as F

    from brain.gold.intervals import by_interval

    meter = by_interval(meter, "energy_meter")
    good = F.col("quality") != "BAD"
    return (meter.groupBy("enterprise", "site", "event_date", "carrier", "unit")
            .agg(F.sum(F.when(good, F.col("value"))).alias("consumption"),
                 F.count(F.when(good, 1)).alias("readings"),
                 F.count(F.when(F.col("quality") == "UNCERTAIN", 1)).alias("uncertain_readings"),
                 F.count(F.when(~good, 1)).alias("bad_readings_excluded"),
                 F.max(F.when(good & (F.col("carrier") == "electricity"), F.col("demand_kw")))
                  .alias("peak_demand_kw"))
            .withColumn("consumption", F.coalesce("consumption", F.lit(0.0))))


def daily_site_kwh(meter: "DataFrame") -> "DataFrame":
    """The headline of the thin slice: electricity kWh per site and day."""
    from pyspark.sql import functions as F

    return (daily_site_energy(meter).where(F.col("carrier") == "electricity")
            .select("enterprise", "site", "event_date", F.col("consumption").alias("electricity_kwh"),
                    "readings", "uncertain_readings", "bad_readings_excluded", "peak_demand_kw"))


def _carbon(meter: "DataFrame") -> "DataFrame":
    from brain.gold.kpi.columns import daily_site_energy_carbon

    return daily_site_energy_carbon(meter)


def _carbon_hourly(meter: "DataFrame") -> "DataFrame":
    from brain.gold.kpi.columns import hourly_site_energy_carbon

    return hourly_site_energy_carbon(meter)


# gold table -> (source record type(s), transform). Recomputed per event_date.
GOLD = {
    "gold.energy_daily_site": ("energy_meter", daily_site_energy),
    "gold.energy_daily_site_kwh": ("energy_meter", daily_site_kwh),
    "gold.energy_carbon_daily_site": ("energy_meter", _carbon),
    "gold.energy_hourly_site": ("energy_meter", _carbon_hourly),
}
