"""Ledgers read without Spark give the rows Spark reads from the same Delta files."""

from __future__ import annotations

from datetime import date, datetime

from brain.lake import ledger_reads
from brain.lake.tables import TOUCHED, table_path

ROWS = [("silver.a", date(2026, 11, 1), "run_1", datetime(2026, 11, 1, 8, 0, 0, 123456)),
        ("silver.a", date(2026, 11, 2), "run_1", datetime(2026, 11, 2, 9, 30)),
        ("silver.b", date(2026, 11, 2), "run_it's", datetime(2026, 11, 2, 10, 0))]


def _write(spark, cfg):
    spark.createDataFrame(ROWS, "table string, event_date date, run_id string, recorded_at timestamp") \
        .write.format("delta").mode("append").save(str(table_path(cfg, TOUCHED)))


def test_a_table_that_does_not_exist_yet_reads_as_none(isolated_cfg):
    assert ledger_reads.read_rows(isolated_cfg, TOUCHED, ["run_id"]) is None
    assert ledger_reads.column_names(isolated_cfg, TOUCHED) == []


def test_rows_match_what_spark_reads_including_timestamps_to_the_microsecond(spark, isolated_cfg):
    _write(spark, isolated_cfg)
    cols = ["table", "event_date", "run_id", "recorded_at"]
    mine = ledger_reads.read_rows(isolated_cfg, TOUCHED, cols)
    theirs = [tuple(r) for r in spark.read.format("delta").load(str(table_path(isolated_cfg, TOUCHED))).collect()]
    assert sorted(mine) == sorted(theirs) == sorted(ROWS)
    assert ledger_reads.column_names(isolated_cfg, TOUCHED) == cols


def test_where_filters_on_columns_not_selected_and_quotes_are_escaped(spark, isolated_cfg):
    _write(spark, isolated_cfg)
    quoted = ledger_reads.sql_list(["run_it's"])
    where = f'"table" IN ({ledger_reads.sql_list(["silver.b"])}) AND run_id = {quoted}'
    assert ledger_reads.read_rows(isolated_cfg, TOUCHED, ["event_date"], where) == [(date(2026, 11, 2),)]
    assert ledger_reads.sql_list([]) == "NULL"  # an empty IN list matches nothing instead of failing


def test_select_aggregates_over_the_scanned_columns(spark, isolated_cfg):
    _write(spark, isolated_cfg)
    sql = "SELECT event_date, max(recorded_at) FROM _ledger GROUP BY event_date ORDER BY event_date"
    assert ledger_reads.select(isolated_cfg, TOUCHED, sql, scan=["event_date", "recorded_at"]) == [
        (date(2026, 11, 1), datetime(2026, 11, 1, 8, 0, 0, 123456)),
        (date(2026, 11, 2), datetime(2026, 11, 2, 10, 0))]
