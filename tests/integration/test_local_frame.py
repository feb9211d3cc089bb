"""brain.lake.frames.local_frame: the same rows and types as createDataFrame, without a Python worker."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

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
    ("sensor string, lsl double, usl double", [("t1", 1.0, 2.5), ("t2", -3.0, 1e300), ("t3", 0.1, -0.0)]),
    # What SQL text could break: quotes, backslashes, newlines, non-ASCII, SQL in a value.
    ("a string, b array<string>", [("it's \\ a \"q\"\n\t", ["x'); DROP TABLE t; --", None, "ü€😀"]),
                                   ("", [])]),
    ("f double, g float, n int, m bigint, s smallint, ok boolean",
     [(float("nan"), float("inf"), -2**31, 2**63 - 1, -7, False), (float("-inf"), 1.5, 0, -1, 0, True)]),
    ("at timestamp", [(datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),),
                      (datetime(1970, 1, 1, 0, 0, 0, 1),), (datetime(2026, 12, 6, 23, 59, 59, 999999),)]),
    ("b binary, d decimal(12,3), m map<string,bigint>, s struct<x:string,y:array<date>>",
     [(b"\x00\xffab", Decimal("-123456789.125"), {"k": 1, "it's": None}, ("v", [date(2026, 1, 2)]))]),
]


@pytest.mark.parametrize("ddl,rows", CASES)
def test_same_rows_and_schema_as_create_data_frame(spark, ddl, rows):
    ours, theirs = local_frame(spark, rows, ddl), spark.createDataFrame(rows, ddl)
    assert ours.schema == theirs.schema
    assert repr(ours.collect()) == repr(theirs.collect())  # repr: NaN equals itself there


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


def test_one_round_trip_for_many_rows(spark, monkeypatch):
    """A cycle's validation results are a few thousand values: planning them must not cost a JVM
    round trip per value (a ``lit`` and a cast each took several)."""
    import py4j.clientserver

    rows = [("r1", "silver.x", datetime(2026, 1, 1), f"expect_{i}", "value", "warn", i % 2 == 0, 10, i,
             ["a", "b"], "suite") for i in range(300)]
    sent: list[str] = []
    send = py4j.clientserver.ClientServerConnection.send_command
    monkeypatch.setattr(py4j.clientserver.ClientServerConnection, "send_command",
                        lambda self, command: sent.append(command) or send(self, command))
    df = local_frame(spark, rows, RESULTS_SCHEMA)
    planned = [c for c in sent if not c.startswith("m\nd\n")]  # not py4j releasing garbage-collected proxies
    assert len(planned) < 40, len(planned)
    monkeypatch.undo()
    assert df.count() == 300 and df.where("success").count() == 150
