"""Replacing days of a derived Delta table (brain.lake.day_writes): the rows counted while the write
runs, only the named days and scope replaced, a new table created and graded."""

from __future__ import annotations

from datetime import date

import pytest

from brain.contracts.classification import PROPERTY
from brain.lake import delta_sql
from brain.lake.day_writes import replace_days

pytestmark = pytest.mark.integration

D1, D2 = date(2026, 3, 1), date(2026, 3, 2)


def frame(spark, rows):
    return spark.createDataFrame(rows, "event_date DATE, industry STRING, kwh DOUBLE")


def held(spark, path):
    return sorted(tuple(r) for r in spark.read.format("delta").load(path).collect())


def test_days_of_one_scope_are_replaced_and_the_rows_written_are_counted(spark, tmp_path, caplog):
    path = str(tmp_path / "gold" / "energy_daily_site_kwh")
    first = [(D1, "energy", 1.0), (D1, "energy", 2.0), (D2, "energy", 3.0), (D1, "raw_materials", 4.0)]
    assert replace_days(frame(spark, first), path, [D1, D2], ["event_date", "industry"],
                        grades_as="gold.energy_daily_site_kwh") == 4
    assert held(spark, path) == sorted(first)
    assert "kwh" in delta_sql.properties(spark, path)[PROPERTY]  # graded when created

    # D1 of energy again, with other rows: D2 and raw_materials' D1 stay as they were.
    again = [(D1, "energy", 10.0)]
    assert replace_days(frame(spark, again), path, [D1], ["event_date", "industry"], {"industry": "energy"}) == 1
    assert held(spark, path) == sorted([(D1, "energy", 10.0), (D2, "energy", 3.0), (D1, "raw_materials", 4.0)])

    # A day recomputed to nothing: its rows go, and nothing is counted.
    assert replace_days(frame(spark, []), path, [D2], ["event_date", "industry"], {"industry": "energy"}) == 0
    assert held(spark, path) == sorted([(D1, "energy", 10.0), (D1, "raw_materials", 4.0)])
    # Counted by the write itself each time, not by the recount kept for a server that sends no metrics.
    assert "counting again" not in caplog.text
