"""Raw materials: comprehensive energy consumption per tonne of product, per site and day.

GB/T 2589-2020 "unit product comprehensive energy consumption" = the site's
comprehensive energy consumption (all carriers in tonnes of standard coal,
brain.gold.kpi.columns.daily_site_energy_carbon) / its output of qualified product
(``good`` tonnes of production records counted in ``t``), as kgce/t through
brain.gold.kpi.formulas.ENERGY_INTENSITY. Energy comes from the energy industry's meters,
which carry the site they measure (conf/assets.yaml), production from the
raw-materials lines of the same site.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from brain.gold.kpi import formulas as kpi

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

KEYS = ("enterprise", "site", "event_date")
GOLD_TABLE = "gold.raw_materials_energy_per_tonne_daily_site"


def sources(industry_names: list[str]) -> dict[str, str] | None:
    """Record type -> silver table, across two industries; None when either is not configured.

    Published with gold.enterprise_brain (brain.pipeline.publish_enterprise), after every
    industry's own gold: an industry's publish only sees its own pending days.
    """
    from brain.lake.tables import silver_table

    if not {"energy", "raw_materials"} <= set(industry_names):
        return None
    return {"energy_meter": silver_table("energy", "energy_meter"),
            "production": silver_table("raw_materials", "production")}


def daily_site_energy_per_tonne(energy_meter: "DataFrame", production: "DataFrame",
                                factors: kpi.EnergyFactors | None = None) -> "DataFrame":
    """gold.raw_materials_energy_per_tonne_daily_site. BAD records (meter readings or
    production) are excluded and counted, UNCERTAIN ones kept and counted; production
    counted in other units than tonnes is left out and counted (records_not_in_tonnes)."""
    from pyspark.sql import functions as F

    from brain.gold.intervals import by_interval
    from brain.gold.kpi.columns import daily_site_energy_carbon, kpi_column

    col = F.col
    energy = daily_site_energy_carbon(energy_meter, factors).select(
        *KEYS, "tce", "tco2", col("uncertain_records").alias("_e_unc"), col("bad_records_excluded").alias("_e_bad"))
    good = col("quality") != "BAD"
    tonnes = good & (col("count_unit") == "t")
    out = (by_interval(production, "production").groupBy(*KEYS)
           .agg(F.coalesce(F.sum(F.when(tonnes, col("good"))), F.lit(0)).cast("double").alias("good_t"),
                F.coalesce(F.sum(F.when(tonnes, col("produced"))), F.lit(0)).cast("double").alias("produced_t"),
                F.count_if(good & ~F.coalesce(col("count_unit") == "t", F.lit(False))).alias("records_not_in_tonnes"),
                F.count_if(col("quality") == "UNCERTAIN").alias("_p_unc"), F.count_if(~good).alias("_p_bad"))
           .join(energy, list(KEYS), "inner"))
    kgce, flags = kpi_column(kpi.ENERGY_INTENSITY, col("tce") * 1000.0, col("good_t"))
    return (out.withColumn("kgce_per_t", kgce).withColumn("flags", flags)
            .withColumn("records_uncertain", col("_e_unc") + col("_p_unc"))
            .withColumn("records_bad", col("_e_bad") + col("_p_bad"))
            .select(*KEYS, "tce", "tco2", "good_t", "produced_t", "kgce_per_t", "flags", "records_not_in_tonnes",
                    "records_uncertain", "records_bad"))
