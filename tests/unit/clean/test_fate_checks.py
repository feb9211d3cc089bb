"""The check table itself (no Spark session: building the table makes no columns)."""

from __future__ import annotations

from brain.clean.fate import check_table


def test_the_table_is_written_in_priority_order_with_no_ties():
    # A tie would leave the reported reason to the sort's stability; writing the rows in
    # order keeps the table readable as the order docs/quarantine.md lists the reasons in.
    priorities = [c.priority for c in check_table()]
    assert priorities == sorted(set(priorities))
