"""Quality from inspections: the defect Pareto and first pass yield per line and day.

Defect Pareto (``daily_pareto``). An inspection record lists each defect code
it found once (docs/contracts.md), so ``defects`` counts the inspections that
found the code. Codes are ranked by count (ties: code name), ``share`` =
defects / all defects of the line-day (brain.gold.kpi.formulas.DEFECT_SHARE)
and ``cumulative_share`` is the Pareto curve.

First pass yield (``daily_first_pass_yield``): ISO 22400-2 FPY = GP / IP, the
parts that passed inspection the first time over the parts inspected
(brain.gold.kpi.formulas.FIRST_PASS_YIELD), from the inspections' ``passed``
and ``inspected``; next to it the ratio the production counts give (good /
produced, as in gold.<industry>_oee_daily_line). An inspection record carries
no retest marker, so every inspection is taken as a first inspection.
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


def daily_first_pass_yield(inspection: "DataFrame", production: "DataFrame") -> "DataFrame":
    """gold.<industry>_first_pass_yield_daily_line: per line and day, ``first_pass_yield`` from
    inspections (GP / IP) and ``first_pass_yield_production`` from production counts.

    A line-day with only one of the two sources still gets its row (the other ratio null).
    BAD records are excluded and counted, UNCERTAIN ones kept and counted, per source.
    Production reports count in the day their interval covers (brain.gold.intervals).
    """
    from pyspark.sql import functions as F

    from brain.gold.intervals import by_interval
    from brain.gold.kpi.columns import kpi_column

    col = F.col
    good = col("quality") != "BAD"
    total = lambda c: F.coalesce(F.sum(F.when(good, col(c))), F.lit(0)).cast("long")  # noqa: E731
    inspected = (inspection.groupBy(*KEYS)
                 .agg(total("inspected").alias("inspected"), total("passed").alias("passed"),
                      F.count_if(good).alias("inspection_records"),
                      F.count_if(col("quality") == "UNCERTAIN").alias("inspection_records_uncertain"),
                      F.count_if(~good).alias("inspection_records_bad")))
    produced = (by_interval(production, "production").groupBy(*KEYS)
                .agg(total("produced").alias("produced"), total("good").alias("good"),
                     F.count_if(good).alias("production_records"),
                     F.count_if(col("quality") == "UNCERTAIN").alias("production_records_uncertain"),
                     F.count_if(~good).alias("production_records_bad")))
    counts = ["inspected", "passed", "inspection_records", "inspection_records_uncertain", "inspection_records_bad",
              "produced", "good", "production_records", "production_records_uncertain", "production_records_bad"]
    out = inspected.join(produced, list(KEYS), "full_outer").fillna(0, subset=counts)
    fpy, fpy_flags = kpi_column(kpi.FIRST_PASS_YIELD, col("passed"), col("inspected"))
    fpy_p, fpy_p_flags = kpi_column(kpi.FIRST_PASS_YIELD, col("good"), col("produced"))
    return (out.withColumns({"first_pass_yield": fpy, "first_pass_yield_production": fpy_p,
                             "flags": F.array_sort(F.array_distinct(F.concat(fpy_flags, fpy_p_flags))),
                             "records_uncertain": col("inspection_records_uncertain")
                             + col("production_records_uncertain"),
                             "records_bad": col("inspection_records_bad") + col("production_records_bad")})
            .select(*KEYS, "inspected", "passed", "first_pass_yield", "produced", "good",
                    "first_pass_yield_production", "flags", "inspection_records", "production_records",
                    "records_uncertain", "records_bad"))


def gold_tables(industry: str) -> dict:
    """The inspection KPI tables of an industry whose lines send quality_inspection records."""
    return {f"gold.{industry}_defect_pareto_daily": ("quality_inspection", daily_pareto),
            f"gold.{industry}_first_pass_yield_daily_line": (("quality_inspection", "production"),
                                                             daily_first_pass_yield)}
