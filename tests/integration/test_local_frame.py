"""brain.lake.frames.local_frame: the same rows and types as createDataFrame, without a Python worker."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from brain.gold.publish import PUBLISHED_DAYS  # noqa: F401  (the ledgers below write these schemas)
from brain.lake.frames import local_frame
from brain.quality.results import SCHEMA as RESULTS_SCHEMA

pytestmark = pytest.mark.integration

CASES = [
    ("table string, event_date date, run_id string, published_at timestamp",
     [("silver.x", date(2026, 11, 1), "run_1", datetime(2026, 11, 2, 3, 4, 5, 678000)),
      ("silver.y", date(2026, 12, 31), None, None)]),
    (RESULTS_SCHEMA,
     [("r1", "silver.x", datetime(2026, 1, 1), "expect_x", "value", "fail", True, 10, 0, [], "suite"),
      ("r1", "silver.x", datetime(2026, 1, 1), "expect_y", None, "warn", False, 10, 2, ["a", "it's"], "suite")]),
    ("sensor string, lsl double, usl double", [("t1", 1.0, 2.5), ("t2", -3.0, 1e300)]),
]


@pytest.mark.parametrize("ddl,rows", CASES)
def test_same_rows_and_schema_as_create_data_frame(spark, ddl, rows):
    ours, theirs = local_frame(spark, rows, ddl), spark.createDataFrame(rows, ddl)
    assert ours.schema == theirs.schema
    assert ours.collect() == theirs.collect()


def test_no_rows_and_wrong_widths(spark):
    assert local_frame(spark, [], "a string, b long").collect() == []
    assert local_frame(spark, [], "a string, b long").schema == spark.createDataFrame([], "a string, b long").schema
    with pytest.raises(ValueError, match="has 1 values; the schema"):
        local_frame(spark, [("only one",)], "a string, b long")


def test_plans_literals_not_a_python_rdd(spark):
    """No RDD of pickled rows in the plan: no Python worker runs to read them."""
    def plan(df):
        return df._jdf.queryExecution().optimizedPlan().toString()

    assert "LogicalRDD" in plan(spark.createDataFrame([("x", 1)], "a string, b long"))
    assert "LogicalRDD" not in plan(local_frame(spark, [("x", 1)], "a string, b long"))
