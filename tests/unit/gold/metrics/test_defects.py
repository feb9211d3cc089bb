"""Defect Pareto per line and day on a small hand-computed frame."""

from __future__ import annotations

from datetime import date

from pyspark.testing import assertDataFrameEqual

DAY = date(2026, 11, 20)


def test_daily_pareto_ranks_codes_with_shares(spark):
    from brain.gold.metrics.defects import daily_pareto

    rows = [("bottling-1", "GOOD", ["A", "B"]), ("bottling-1", "GOOD", ["A"]), ("bottling-1", "GOOD", ["A", "C"]),
            ("bottling-1", "GOOD", ["B"]), ("bottling-1", "UNCERTAIN", ["C"]),
            ("bottling-1", "BAD", ["C", "D"]),                    # excluded, counted
            ("bottling-2", "GOOD", [])]                           # nothing found: no Pareto rows
    inspection = spark.createDataFrame(
        [("acme", "cg-1", line, f"i{i}", DAY, q, codes) for i, (line, q, codes) in enumerate(rows)],
        "enterprise string, site string, line string, event_id string, event_date date, quality string, "
        "defect_codes array<string>")
    expected = spark.createDataFrame([
        ("cg-1", "bottling-1", DAY, "A", 3, 3 / 7, 3 / 7, 1, 1, 1),
        ("cg-1", "bottling-1", DAY, "B", 2, 2 / 7, 5 / 7, 2, 1, 1),   # tie with C: by code
        ("cg-1", "bottling-1", DAY, "C", 2, 2 / 7, 1.0, 3, 1, 1),
    ], "site string, line string, event_date date, defect_code string, defects long, share double, "
       "cumulative_share double, rank int, records_uncertain long, records_bad long")
    assertDataFrameEqual(daily_pareto(inspection).select(*expected.columns), expected, rtol=1e-12)
