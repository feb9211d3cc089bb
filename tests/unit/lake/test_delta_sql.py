"""The SQL MERGE that serves both an in-process and a Spark Connect session."""

from __future__ import annotations

import pytest

from brain.lake.delta_sql import merge_sql, table_ref


def test_table_ref_quotes_the_path_and_doubles_backticks():
    assert table_ref("/lake/silver/energy_meter") == "delta.`/lake/silver/energy_meter`"
    assert table_ref("/odd`dir/t") == "delta.`/odd``dir/t`"


def test_merge_names_target_t_and_source_s_in_clause_order():
    sql = merge_sql("/l/q", "_v1", "t.k = s.k", ["WHEN MATCHED AND s.r IS NULL THEN DELETE",
                                                 "WHEN NOT MATCHED THEN INSERT *"])
    assert sql == ("MERGE INTO delta.`/l/q` AS t USING `_v1` AS s ON t.k = s.k "
                   "WHEN MATCHED AND s.r IS NULL THEN DELETE WHEN NOT MATCHED THEN INSERT *")


def test_a_merge_without_clauses_is_refused():
    with pytest.raises(ValueError):
        merge_sql("/l/q", "_v", "t.k = s.k", [])
