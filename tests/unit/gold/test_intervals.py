"""Interval records count in the day (and hour) their interval covers, not in the day of their stamp.

Worked example, computed by hand (energy / hours for the mean demand, not the
gold code's mean of 15-minute windows): one electricity meter reporting every
6 h, each reading stamped at the END of its interval, demand = kWh / 6 h.

    stamp              covers                kWh   kW
    D   06:00          D 00:00-06:00          60   10
    D   12:00          D 06:00-12:00         120   20
    D   18:00          D 12:00-18:00         180   30
    D+1 00:00          D 18:00-24:00         240   40
    D+1 06:00          D+1 00:00-06:00        30    5
    D+1 12:00          D+1 06:00-12:00        60   10
    D+1 18:00          D+1 12:00-18:00        90   15
    D+2 00:00          D+1 18:00-24:00       180   30

    day D:   600 kWh over 24 h -> mean 25 kW, peak 40 kW, load factor 25 / 40 = 0.625
    day D+1: 360 kWh over 24 h -> mean 15 kW, peak 30 kW, load factor 15 / 30 = 0.5
    day D+2: nothing (counted by stamp date it was a one-reading day of 180 kWh, load factor 1.0)
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

D = date(2026, 11, 20)
D1, D2 = D + timedelta(days=1), D + timedelta(days=2)
STAMPS = ((D, 6, 60.0), (D, 12, 120.0), (D, 18, 180.0), (D1, 0, 240.0),
          (D1, 6, 30.0), (D1, 12, 60.0), (D1, 18, 90.0), (D2, 0, 180.0))
INTERVAL_S = 6 * 3600


def _at(day: date, hh: int) -> datetime:
    return datetime(day.year, day.month, day.day, hh)


def _meter(spark):
    """Silver-shaped rows: event_date is the stamp's date, as brain.clean writes it."""
    rows = [("acme", "site-a", f"e{i}", _at(day, hh), day, "GOOD", "electricity", kwh, "kWh", INTERVAL_S,
             kwh / 6.0, 0.9) for i, (day, hh, kwh) in enumerate(STAMPS)]
    return spark.createDataFrame(
        rows, "enterprise string, site string, event_id string, event_ts_utc timestamp, event_date date, "
              "quality string, carrier string, value double, unit string, interval_s int, demand_kw double, "
              "power_factor double")


def test_daily_energy_counts_the_midnight_reading_in_the_day_it_closes(spark):
    from brain.gold.kpi.columns import daily_site_energy_carbon
    from brain.industries.energy import daily_site_kwh

    carbon = {r.event_date: r for r in daily_site_energy_carbon(_meter(spark)).collect()}
    assert sorted(carbon) == [D, D1]  # no one-reading day D+2
    assert (carbon[D].electricity_kwh, carbon[D].peak_demand_kw, carbon[D].readings) == (600.0, 40.0, 4)
    assert carbon[D].load_factor == pytest.approx(0.625, rel=1e-12)
    assert (carbon[D1].electricity_kwh, carbon[D1].peak_demand_kw, carbon[D1].readings) == (360.0, 30.0, 4)
    assert carbon[D1].load_factor == pytest.approx(0.5, rel=1e-12)

    kwh = {r.event_date: (r.electricity_kwh, r.readings, r.peak_demand_kw)
           for r in daily_site_kwh(_meter(spark)).collect()}
    assert kwh == {D: (600.0, 4, 40.0), D1: (360.0, 4, 30.0)}


def test_hourly_energy_puts_the_midnight_reading_in_the_last_hour_of_the_day_before(spark):
    from brain.gold.kpi.columns import hourly_site_energy_carbon

    rows = {(r.event_date, r.hour_start): r.electricity_kwh
            for r in hourly_site_energy_carbon(_meter(spark)).collect()}
    assert rows[(D, _at(D, 23))] == 240.0 and rows[(D1, _at(D1, 23))] == 180.0
    assert all(hour.date() == day for day, hour in rows)  # an hour lies in its own day's partition
    assert sum(v for (day, _), v in rows.items() if day == D) == 600.0
    assert D2 not in {day for day, _ in rows}


def test_production_ending_at_midnight_counts_in_the_day_before(spark):
    from brain.gold.kpi.columns import hourly_line_oee
    from brain.industries.common import daily_line_production

    # Two reports of one line: 23:45-24:00 of D (stamped 00:00 of D+1) and 00:00-00:15 of D+1.
    prod = spark.createDataFrame(
        [("acme", "site-a", "line-1", "packer", D1, _at(D, 23) + timedelta(minutes=45), _at(D1, 0), "GOOD",
          90, 88, 2, 0, 10.0),
         ("acme", "site-a", "line-1", "packer", D1, _at(D1, 0), _at(D1, 0) + timedelta(minutes=15), "GOOD",
          80, 80, 0, 0, 10.0)],
        "enterprise string, site string, line string, device string, event_date date, start_ts_utc timestamp, "
        "end_ts_utc timestamp, quality string, produced long, good long, scrap long, rework long, "
        "planned_cycle_time_s double")
    daily = {r.event_date: (r.produced, r.good, r.records) for r in daily_line_production(prod).collect()}
    assert daily == {D: (90, 88, 1), D1: (80, 80, 1)}

    states = spark.createDataFrame(
        [("acme", "site-a", "line-1", "packer", "s0", _at(D, 23), D, "GOOD", "RUNNING", False)],
        "enterprise string, site string, line string, device string, event_id string, event_ts_utc timestamp, "
        "event_date date, quality string, state string, planned boolean")
    hourly = {(r.event_date, r.hour_start): r.produced for r in hourly_line_oee(prod, states).collect()
              if r.produced}
    assert hourly == {(D, _at(D, 23)): 90, (D1, _at(D1, 0)): 80}


def test_a_day_is_computed_from_the_next_silver_day_and_republished_when_a_reading_closes_it(spark):
    from brain.gold.intervals import days_before
    from brain.gold.publish import gold_days, source_days

    assert source_days("energy_meter", [D]) == {D, D1}
    assert source_days("production", [D]) == {D, D1}
    assert source_days("machine_state", [D1]) == {D, D1}
    # Of the silver rows above, those on D+1 and D+2 stamped 00:00 cover D and D+1.
    assert {r.event_date for r in days_before(_meter(spark), "energy_meter").collect()} == {D, D1}
    later = _meter(spark).where("hour(event_ts_utc) <> 0")
    assert days_before(later, "energy_meter").count() == 0
    assert gold_days("energy_meter", [D1], earlier={D}) == {D, D1}
    assert gold_days("energy_meter", [D1]) == {D1}
    assert gold_days("machine_state", [D]) == {D, D1}  # state changes reach forward instead


def test_every_record_type_whose_contract_has_an_interval_is_attributed_by_it():
    from brain import config
    from brain.contracts.specs import all_fields, record_specs
    from brain.gold.intervals import INTERVAL_END

    interval_fields = {"interval_s", "end_ts"}
    found = {rt for ind in config.load().industry_names()
             for rt, spec in record_specs(ind).items() if interval_fields & {f.name for f in all_fields(spec)}}
    assert found == set(INTERVAL_END)
