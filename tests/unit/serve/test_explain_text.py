"""brain explain's pure parts against hand-written answers: the --where grammar, Kafka offset
runs, state intervals of a day and the OEE formula written out with a row's numbers."""

from __future__ import annotations

import datetime as dt

import pytest

from brain.serve.explain_text import (
    WhereError,
    coordinates,
    energy_lines,
    formula_lines,
    offset_ranges,
    parse_where,
    state_intervals,
)

DAY = dt.date(2026, 11, 20)


def test_where_reads_and_ed_equalities():
    assert parse_where("site='S1' AND event_date='2026-11-20'") == {"site": "S1", "event_date": "2026-11-20"}
    assert parse_where(" line = 'it''s 3'  and  shift=2 AND x=1.5") == {"line": "it's 3", "shift": 2, "x": 1.5}
    assert parse_where("line='a AND b'") == {"line": "a AND b"}


@pytest.mark.parametrize("bad", ["", "site='S1' OR site='S2'", "oee > 0.5", "site=S1", "site='S1' AND",
                                 "site='S1'; DROP TABLE x", "site='S1' AND site='S2'", "lower(site)='s1'"])
def test_where_refuses_anything_else(bad):
    with pytest.raises(WhereError, match="col = 'value'"):
        parse_where(bad)


def test_offsets_become_contiguous_runs_per_topic_and_partition():
    assert offset_ranges([9, 3, 5, 4, 4]) == [(3, 5), (9, 9)]
    assert offset_ranges([]) == []
    got = coordinates([("t.a", 1, 7), ("t.a", 0, 2), ("t.a", 0, 3), ("t.a", 0, 10), ("t.b", 0, 0)])
    assert got == [
        {"topic": "t.a", "partition": 0, "records": 3, "first_offset": 2, "last_offset": 10,
         "ranges": [[2, 3], [10, 10]]},
        {"topic": "t.a", "partition": 1, "records": 1, "first_offset": 7, "last_offset": 7, "ranges": [[7, 7]]},
        {"topic": "t.b", "partition": 0, "records": 1, "first_offset": 0, "last_offset": 0, "ranges": [[0, 0]]}]


def _ev(day, hh, state, planned=False, quality="GOOD", eid="e"):
    return (dt.datetime.combine(day, dt.time(hh)), f"{eid}{hh}", state, planned, quality, None)


def test_state_intervals_start_from_the_day_befores_last_event_and_close_at_midnight():
    before = DAY - dt.timedelta(days=1)
    events = [_ev(before, 8, "RUNNING"), _ev(before, 22, "IDLE", True), _ev(DAY, 6, "RUNNING"),
              _ev(DAY, 10, "DOWN"), _ev(DAY, 11, "RUNNING")]
    got = [(s["from"].hour, s["to"] - dt.datetime.combine(DAY, dt.time()), s["state"], s["seconds"])
           for s in state_intervals(events, DAY)]
    h = dt.timedelta(hours=1)
    assert got == [(0, 6 * h, "IDLE", 21600.0), (6, 10 * h, "RUNNING", 14400.0), (10, 11 * h, "DOWN", 3600.0),
                   (11, 24 * h, "RUNNING", 46800.0)]


def test_a_device_whose_last_event_was_days_ago_has_no_state_until_its_next_event():
    old = DAY - dt.timedelta(days=3)
    got = state_intervals([_ev(old, 8, "RUNNING"), _ev(DAY, 6, "IDLE", True)], DAY)
    # 8:00 three days ago .. 06:00 today is one interval: gold reads only the day before, this
    # function gets only what it is given; given both, it covers 00-06 like the segment would.
    assert [(s["from"].hour, s["state"]) for s in got] == [(0, "RUNNING"), (6, "IDLE")]
    assert state_intervals([_ev(DAY, 6, "IDLE", True)], DAY)[0]["seconds"] == 18 * 3600


def test_oee_is_written_out_with_the_rows_numbers():
    # The worked example of tests/unit/industries/test_gold_tables.py: A = 7/8, E = 5/6, Q = 0.95.
    row = {"pot_s": 86400.0, "planned_down_s": 57600.0, "pbt_s": 28800.0, "apt_s": 25200.0,
           "ideal_run_s": 21000.0, "ideal_good_s": 19950.0, "produced": 700, "good": 665,
           "availability": 0.875, "effectiveness": 21000 / 25200, "quality_ratio": 0.95,
           "oee": 0.875 * 21000 / 25200 * 0.95, "flags": []}
    assert formula_lines(row) == [
        "OEE = A x E x Q (ISO 22400-2)",
        "  PBT  = POT - PDOT = 86,400 s - 57,600 s = 28,800 s",
        "  A    = APT / PBT = 25,200 s / 28,800 s = 0.8750",
        "  E    = PRU x PQ / APT = 30 s x 700 / 25,200 s = 21,000 s / 25,200 s = 0.8333",
        "  Q    = GQ / PQ = 665 / 700 = 0.9500",
        "  OEE  = 0.8750 x 0.8333 x 0.9500 = 0.6927 (69.3 %)"]


def test_a_rollup_uses_summed_ideal_times_and_energy_rows_their_sums():
    row = {"pbt_s": 100.0, "apt_s": 80.0, "ideal_run_s": 60.0, "ideal_good_s": 54.0, "availability": 0.8,
           "effectiveness": 0.75, "quality_ratio": 0.9, "oee": 0.54}
    assert formula_lines(row)[2:4] == ["  E    = sum(PRU x PQ) / APT = 60 s / 80 s = 0.7500",
                                       "  Q    = sum(PRU x GQ) / sum(PRU x PQ) = 54 s / 60 s = 0.9000"]
    energy = {"electricity_kwh": 300.0, "natural_gas_m3": 0.0, "tce": 300 * 0.000123, "tco2": 0.1,
              "avg_demand_kw": 500.0, "peak_demand_kw": 600.0, "load_factor": 500 / 600}
    assert formula_lines(energy) == ["load factor = mean / peak 15-min demand = 500 kW / 600 kW = 0.8333"]
    lines = energy_lines(energy, {"electricity": ("electricity_kwh", 0.000123, 0.0004),
                                  "natural_gas": ("natural_gas_m3", 0.0012, 0.002)})
    assert lines[0] == "tce  = sum(amount x tce per unit) (GB/T 2589) = 300 kwh x 0.000123 = 0.0369"
