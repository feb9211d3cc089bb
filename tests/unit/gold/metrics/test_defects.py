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


def test_first_pass_yield_from_inspections_next_to_the_production_ratio(spark):
    """Worked example, by hand. Line bottling-1 on DAY:
    inspections 50 (48 passed), 30 (27 passed), an UNCERTAIN one 20 (20 passed), a BAD one 40 (0 passed):
        IP = 50 + 30 + 20 = 100 inspected, GP = 48 + 27 + 20 = 95 -> FPY 95 %
    production: 1000 produced with 970 good (20 scrap, 10 rework), 500 with 490 good, both ending on DAY;
    a report ending 00:00 of DAY covers the day before and is not DAY's:
        1500 produced, 1460 good -> 97.33 % (= 1460 / 1500)
    Line bottling-2: inspections only, 10 of 10 passed -> FPY 100 %, no production ratio.
    """
    from datetime import datetime, timedelta

    from brain.gold.metrics.defects import daily_first_pass_yield

    rows = [("bottling-1", "GOOD", 50, 48), ("bottling-1", "GOOD", 30, 27), ("bottling-1", "UNCERTAIN", 20, 20),
            ("bottling-1", "BAD", 40, 0), ("bottling-2", "GOOD", 10, 10)]
    inspection = spark.createDataFrame(
        [("acme", "cg-1", line, f"i{i}", DAY, q, n, ok) for i, (line, q, n, ok) in enumerate(rows)],
        "enterprise string, site string, line string, event_id string, event_date date, quality string, "
        "inspected long, passed long")
    noon, midnight = datetime(2026, 11, 20, 12), datetime(2026, 11, 20)
    production = spark.createDataFrame(
        [("acme", "cg-1", "bottling-1", DAY, noon, "GOOD", 1000, 970),
         ("acme", "cg-1", "bottling-1", DAY, noon + timedelta(hours=1), "GOOD", 500, 490),
         ("acme", "cg-1", "bottling-1", DAY, midnight, "GOOD", 700, 100)],
        "enterprise string, site string, line string, event_date date, end_ts_utc timestamp, quality string, "
        "produced long, good long")
    got = {(r.line, r.event_date): r for r in daily_first_pass_yield(inspection, production).collect()}
    one = got[("bottling-1", DAY)]
    assert (one.inspected, one.passed, one.produced, one.good) == (100, 95, 1500, 1460)
    assert one.first_pass_yield == 0.95
    assert one.first_pass_yield_production == 1460 / 1500
    assert (one.records_uncertain, one.records_bad, one.flags) == (1, 1, [])
    two = got[("bottling-2", DAY)]
    assert (two.first_pass_yield, two.first_pass_yield_production, two.produced) == (1.0, None, 0)
    assert got[("bottling-1", DAY - timedelta(days=1))].produced == 700  # the interval before midnight
