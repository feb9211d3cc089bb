"""The gold tables every producing industry shares.

Record specs are not here: brain.contracts.specs builds them from the JSON
Schemas in conf/contracts/, and each industry module takes its RECORD_SPECS
from there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

def gold_tables(industry: str) -> dict:
    """The gold tables every producing industry has: counts and OEE per line and day and
    hour, the ISA-95 roll-ups (site, enterprise), and, where the industry has the data,
    predictive maintenance (assets with vibration sensors, conf/assets.yaml), the defect
    Pareto and inspection first pass yield (its contracts admit quality_inspection). A
    dict the industry modules merge their own tables into: gold table -> (source record
    type(s), transform)."""
    from brain.contracts.specs import record_specs
    from brain.gold.kpi.columns import daily_line_oee, hourly_line_oee
    from brain.gold.metrics import defects, pdm
    from brain.gold.rollup import gold_transforms

    inspected = "quality_inspection" in record_specs(industry)
    return {
        f"gold.{industry}_daily_line_production": ("production", daily_line_production),
        f"gold.{industry}_oee_daily_line": (("production", "machine_state"), daily_line_oee),
        f"gold.{industry}_oee_hourly_line": (("production", "machine_state"), hourly_line_oee),
        **gold_transforms(industry),
        **pdm.gold_tables(industry),
        **(defects.gold_tables(industry) if inspected else {}),
    }


def daily_line_production(production_df: "DataFrame") -> "DataFrame":
    """Counts per line and day, and the ISO 22400 quality ratio GQ/PQ.

    BAD records are excluded (and counted); UNCERTAIN ones are kept and counted.
    A line whose every record was BAD still gets its row, with zero counts.
    Reports count in the day their interval covers (brain.gold.intervals).
    """
    from pyspark.sql import functions as F

    from brain.gold.intervals import by_interval
    from brain.gold.kpi import formulas as kpi
    from brain.gold.kpi.columns import kpi_column

    good_rec = F.col("quality") != "BAD"
    agg = [F.coalesce(F.sum(F.when(good_rec, F.col(c))), F.lit(0)).alias(c)
           for c in ("produced", "good", "scrap", "rework")]
    out = (by_interval(production_df, "production").groupBy("enterprise", "site", "line", "event_date")
           .agg(*agg, F.count(F.when(good_rec, 1)).alias("records"),
                F.count(F.when(F.col("quality") == "UNCERTAIN", 1)).alias("uncertain_records"),
                F.count(F.when(~good_rec, 1)).alias("bad_records_excluded")))
    q, _ = kpi_column(kpi.QUALITY_RATIO, F.col("good"), F.col("produced"))
    return out.withColumn("quality_ratio", q)
