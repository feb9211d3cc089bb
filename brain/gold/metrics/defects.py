"""Defect Pareto per line and day, from quality_inspection defect codes.

An inspection record lists each defect code it found once (docs/contracts.md),
so ``defects`` counts the inspections that found the code. Codes are ranked by
count (ties: code name), ``share`` = defects / all defects of the line-day
(brain.gold.kpi.formulas.DEFECT_SHARE) and ``cumulative_share`` is the Pareto curve.
First pass yield and scrap per line and day are in gold.<industry>_oee_daily_line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from brain.gold.kpi import formulas as kpi

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

KEYS = ("enterprise", "site", "line", "event_date")


def daily_pareto(inspection: "DataFrame") -> "DataFrame":
    """gold.<industry>_defect_pareto_daily. BAD inspections are excluded; every row
    carries the line-day's records_bad and records_uncertain."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from brain.gold.kpi.columns import kpi_column

    col = F.col
    good = col("quality") != "BAD"
    seen = inspection.groupBy(*KEYS).agg(F.count_if(col("quality") == "UNCERTAIN").alias("records_uncertain"),
                                         F.count_if(~good).alias("records_bad"))
    codes = (inspection.where(good).select(*KEYS, F.explode("defect_codes").alias("defect_code"))
             .groupBy(*KEYS, "defect_code").agg(F.count("*").alias("defects")))
    line_day = Window.partitionBy(*KEYS)
    ranked = line_day.orderBy(col("defects").desc(), col("defect_code"))
    codes = (codes.withColumn("total_defects", F.sum("defects").over(line_day))
             .withColumn("rank", F.row_number().over(ranked).cast("int"))
             .withColumn("_cum", F.sum("defects").over(ranked.rowsBetween(Window.unboundedPreceding, 0))))
    share, _ = kpi_column(kpi.DEFECT_SHARE, col("defects"), col("total_defects"))
    cumulative, _ = kpi_column(kpi.DEFECT_SHARE, col("_cum"), col("total_defects"))
    return (codes.withColumn("share", share).withColumn("cumulative_share", cumulative)
            .join(seen, list(KEYS), "left")
            .select(*KEYS, "defect_code", col("defects").cast("long"), "share", "cumulative_share", "rank",
                    "total_defects", "records_uncertain", "records_bad"))
