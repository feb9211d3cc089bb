"""The predicate that names the days (and scope) a derived table's publish replaces."""

from __future__ import annotations

from datetime import date

import pytest

from brain.lake.day_writes import replace_days, replace_where


def test_the_predicate_names_each_day_once_in_order_and_the_scope():
    days = [date(2026, 3, 2), date(2026, 3, 1), date(2026, 3, 2)]
    assert replace_where(days) == "event_date IN (DATE'2026-03-01', DATE'2026-03-02')"
    assert replace_where(days[:1], {"industry": "energy", "site": "s1"}) == (
        "event_date IN (DATE'2026-03-02') AND industry = 'energy' AND site = 's1'")


@pytest.mark.parametrize("value", ["o'brien", "a\\b"])
def test_a_scope_value_that_could_break_out_of_the_predicate_is_refused(value):
    with pytest.raises(ValueError, match="quotes or backslashes"):
        replace_where([date(2026, 3, 1)], {"site": value})


def test_an_unknown_merge_schema_mode_is_refused_before_spark_is_touched():
    with pytest.raises(ValueError, match="merge_schema must be one of always, overwrite, never"):
        replace_days(None, "/nowhere", [date(2026, 3, 1)], ["event_date"], merge_schema="sometimes")
