"""brain.gold.kpi.columns gives the same numbers as the pure brain.gold.kpi.formulas functions, on small frames."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from pyspark.testing import assertDataFrameEqual

from brain.gold.kpi import formulas as kpi
from brain.gold.kpi.columns import daily_line_oee, daily_site_energy_carbon, hourly_line_oee, hourly_site_energy_carbon

DAY = date(2026, 11, 20)
LOC = ("acme", "site-a", "line-1")


def _ts(hh: int, mm: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=timezone.utc)


def _states(spark, events):
    rows = [(*LOC, dev, f"e{i}", _ts(*hm, **kw).replace(tzinfo=None), _ts(*hm, **kw).date(), q, state, planned)
            for i, (dev, hm, kw, q, state, planned) in enumerate(events)]
    return spark.createDataFrame(
        rows, "enterprise string, site string, line string, device string, event_id string, "
              "event_ts_utc timestamp, event_date date, quality string, state string, planned boolean")


def _production(spark, rows, end=(14, 0)):
    """Reports ending at ``end`` (hh, mm) of DAY: they count in DAY."""
    stamp = _ts(*end).replace(tzinfo=None)
    return spark.createDataFrame(
        [(*LOC, "packer", DAY, stamp, *r) for r in rows],
        "enterprise string, site string, line string, device string, event_date date, end_ts_utc timestamp, "
        "quality string, produced long, good long, scrap long, rework long, planned_cycle_time_s double")


def test_daily_line_oee_reproduces_the_vorne_example(spark):
    # The oee.com / Vorne worked example (tests/unit/test_kpi.py) laid out as one
    # day of machine_state events of the counting device: shift 06:00-14:00
    # (480 min), breaks 15 + 30 + 15 min, 47 min unplanned down, 60 ppm,
    # 19,271 produced, 423 rejected.
    ev = [
        ("packer", (0, 0), {}, "GOOD", "IDLE", True),       # NO_SHIFT
        ("packer", (6, 0), {}, "GOOD", "RUNNING", False),
        ("packer", (8, 0), {}, "GOOD", "IDLE", True),       # BREAK 15
        ("packer", (8, 15), {}, "UNCERTAIN", "RUNNING", False),
        ("packer", (10, 0), {}, "GOOD", "DOWN", False),     # failure, 47 min
        ("packer", (10, 47), {}, "GOOD", "RUNNING", False),
        ("packer", (11, 0), {}, "GOOD", "IDLE", True),      # meal 30
        ("packer", (11, 30), {}, "GOOD", "RUNNING", False),
        ("packer", (12, 30), {}, "GOOD", "IDLE", True),     # BREAK 15
        ("packer", (12, 45), {}, "GOOD", "RUNNING", False),
        ("packer", (14, 0), {}, "GOOD", "IDLE", True),      # NO_SHIFT until midnight
        ("filler", (9, 0), {}, "GOOD", "DOWN", False),      # not the counting device: ignored
    ]
    prod = [("GOOD", 10000, 9800, 150, 50, 1.0), ("UNCERTAIN", 9271, 9048, 223, 0, 1.0),
            ("BAD", 5000, 5000, 0, 0, 1.0)]  # BAD: excluded, counted
    row = daily_line_oee(_production(spark, prod), _states(spark, ev)).collect()
    assert len(row) == 1
    r = row[0]

    pbt = kpi.planned_busy_time(86400, 86400 - 480 * 60 + 60 * 60)
    apt = pbt - 47 * 60
    a = kpi.availability(apt, pbt)
    e = kpi.effectiveness(1.0, 19271, apt)
    q = kpi.quality_ratio(18848, 19271)
    assert (r.pbt_s, r.apt_s, r.unplanned_down_s, r.failures) == (pbt, apt, 47 * 60, 1)
    assert (r.produced, r.good, r.scrap + r.rework) == (19271, 18848, 423)
    assert r.availability == pytest.approx(a, rel=1e-12)
    assert r.effectiveness == pytest.approx(e, rel=1e-12)
    assert r.quality_ratio == pytest.approx(q, rel=1e-12)
    assert r.oee == pytest.approx(kpi.oee(a, e, q), rel=1e-12)
    assert round(r.oee * 100, 1) == 74.8
    assert r.mtbf_s == kpi.mtbf(apt, 1) and r.mttr_s == kpi.mttr(47 * 60, 1)
    assert r.flags == [] and r.unknown_state_s == 0
    assert (r.uncertain_records, r.bad_records_excluded) == (2, 0 + 1)
    assert r.time_basis_devices == ["packer"]


def test_daily_line_oee_flags_impossible_inputs_and_carries_state_over_midnight(spark):
    prev = date(2026, 11, 19)
    ev = [("packer", (23, 0), {"day": prev}, "GOOD", "RUNNING", False),  # running into DAY
          ("packer", (1, 0), {}, "GOOD", "IDLE", True)]
    prod = [("GOOD", 100, 120, 0, 0, 1.0)]  # good > produced: impossible
    rows = {r.event_date: r for r in daily_line_oee(_production(spark, prod), _states(spark, ev)).collect()}
    r = rows[DAY]
    assert r.apt_s == 3600 and r.pot_s == 86400  # 00:00-01:00 RUNNING came from the day before
    assert r.quality_ratio is None and r.oee is None
    assert "good_exceeds_produced" in r.flags and "part_exceeds_produced" in r.flags
    assert rows[prev].apt_s == 3600 and rows[prev].unknown_state_s == 23 * 3600


def test_daily_site_energy_carbon_matches_pure_conversions(spark):
    f = kpi.load_energy_factors()
    rows = [
        ("electricity", 100.0, "GOOD", _ts(8, 0), 400.0, 0.95),
        ("electricity", 100.0, "UNCERTAIN", _ts(8, 0), 400.0, 0.85),
        ("electricity", 50.0, "GOOD", _ts(8, 15), 200.0, None),
        ("electricity", 50.0, "GOOD", _ts(8, 15), 200.0, None),
        ("electricity", 1e6, "BAD", _ts(8, 30), 9e6, None),
        ("natural_gas", 1000.0, "GOOD", _ts(9, 0), None, None),
        ("coal", 1.0, "GOOD", _ts(9, 0), None, None),
        ("steam", 2.0, "GOOD", _ts(9, 0), None, None),
    ]
    df = spark.createDataFrame(
        [("acme", "site-a", t.replace(tzinfo=None), DAY, c, v, q, d, pf) for c, v, q, t, d, pf in rows],
        "enterprise string, site string, event_ts_utc timestamp, event_date date, carrier string, value double, "
        "quality string, demand_kw double, power_factor double")
    r = daily_site_energy_carbon(df, f).collect()[0]
    amounts = {("electricity", "kWh"): 300.0, ("natural_gas", "m3"): 1000.0, ("coal", "t"): 1.0, ("steam", "t"): 2.0}
    assert (r.electricity_kwh, r.natural_gas_m3, r.coal_t, r.steam_t) == tuple(amounts.values())
    assert r.tce == pytest.approx(sum(kpi.to_tce(v, c, u, f) for (c, u), v in amounts.items()), rel=1e-12)
    assert r.tco2 == pytest.approx(sum(kpi.to_tco2(v, c, u, f) for (c, u), v in amounts.items()), rel=1e-12)
    assert (r.peak_demand_kw, r.avg_demand_kw) == (800.0, 600.0)
    assert r.load_factor == kpi.load_factor(600.0, 800.0) == 0.75
    assert r.power_factor == pytest.approx(0.90)
    assert (r.readings, r.uncertain_records, r.bad_records_excluded, r.flags) == (7, 1, 1, [])


def test_hourly_line_oee_splits_states_at_hours_and_puts_reports_in_the_hour_they_close(spark):
    # The Vorne day above, hour by hour: 09:00 all RUNNING, 10:00 47 min DOWN
    # (the failure), 11:00 half planned break (meal 11:00-11:30). A report
    # stamped 10:00 covers 09:00-10:00 and counts in hour 09:00.
    ev = [("packer", (0, 0), {}, "GOOD", "IDLE", True), ("packer", (8, 15), {}, "UNCERTAIN", "RUNNING", False),
          ("packer", (10, 0), {}, "GOOD", "DOWN", False), ("packer", (10, 47), {}, "GOOD", "RUNNING", False),
          ("packer", (11, 0), {}, "GOOD", "IDLE", True), ("packer", (11, 30), {}, "GOOD", "RUNNING", False),
          ("packer", (12, 0), {}, "GOOD", "IDLE", True)]
    reports = [(10, "GOOD", 3600, 3500), (11, "GOOD", 780, 780), (11, "BAD", 999, 999), (12, "GOOD", 1800, 1700)]
    prod = spark.createDataFrame(
        [(*LOC, "packer", DAY, _ts(h).replace(tzinfo=None), q, n, g, n - g, 0, 1.0) for h, q, n, g in reports],
        "enterprise string, site string, line string, device string, event_date date, end_ts_utc timestamp, "
        "quality string, produced long, good long, scrap long, rework long, planned_cycle_time_s double")
    cols = ["hour_start", "pbt_s", "apt_s", "failures", "produced", "good", "availability", "effectiveness",
            "quality_ratio", "oee", "uncertain_records", "bad_records_excluded"]
    got = hourly_line_oee(prod, _states(spark, ev)).where("hour(hour_start) BETWEEN 8 AND 11")
    h = lambda hh: _ts(hh).replace(tzinfo=None)  # noqa: E731
    expected = spark.createDataFrame([
        (h(8), 2700.0, 2700.0, 0, 0, 0, 1.0, 0.0, None, None, 1, 0),  # 00:00-08:15 planned IDLE
        (h(9), 3600.0, 3600.0, 0, 3600, 3500, 1.0, 1.0, 3500 / 3600, 3500 / 3600, 0, 0),
        (h(10), 3600.0, 780.0, 1, 780, 780, 780 / 3600, 1.0, 1.0, 780 / 3600, 0, 1),
        (h(11), 1800.0, 1800.0, 0, 1800, 1700, 1.0, 1.0, 17 / 18, 17 / 18, 0, 0),
    ], "hour_start timestamp, pbt_s double, apt_s double, failures long, produced long, good long, "
       "availability double, effectiveness double, quality_ratio double, oee double, uncertain_records long, "
       "bad_records_excluded long")
    assertDataFrameEqual(got.select(*cols), expected, rtol=1e-12)
    day = daily_line_oee(prod, _states(spark, ev)).collect()[0]
    hours = hourly_line_oee(prod, _states(spark, ev)).agg({"apt_s": "sum", "pbt_s": "sum"}).collect()[0]
    assert (hours["sum(apt_s)"], hours["sum(pbt_s)"]) == (day.apt_s, day.pbt_s)


def test_hourly_site_energy_puts_readings_in_the_hour_they_close(spark):
    rows = [("electricity", 100.0, "GOOD", _ts(8, 0), 400.0, 0.95),
            ("electricity", 100.0, "UNCERTAIN", _ts(8, 0), 400.0, 0.85),
            ("electricity", 50.0, "GOOD", _ts(8, 15), 200.0, None),
            ("electricity", 50.0, "GOOD", _ts(8, 15), 200.0, None),
            ("electricity", 1e6, "BAD", _ts(8, 30), 9e6, None),
            ("natural_gas", 1000.0, "GOOD", _ts(9, 0), None, None)]
    df = spark.createDataFrame(
        [("acme", "site-a", t.replace(tzinfo=None), DAY, c, v, q, d, pf) for c, v, q, t, d, pf in rows],
        "enterprise string, site string, event_ts_utc timestamp, event_date date, carrier string, value double, "
        "quality string, demand_kw double, power_factor double")
    f = kpi.load_energy_factors()
    got = hourly_site_energy_carbon(df, f).select(
        "hour_start", "electricity_kwh", "natural_gas_m3", "tce", "peak_demand_kw", "load_factor", "power_factor",
        "readings", "uncertain_records", "bad_records_excluded")
    h = lambda hh: _ts(hh).replace(tzinfo=None)  # noqa: E731
    expected = spark.createDataFrame([
        (h(7), 200.0, 0.0, kpi.to_tce(200, "electricity", "kWh", f), 800.0, 1.0, 0.90, 2, 1, 0),
        (h(8), 100.0, 1000.0, kpi.to_tce(100, "electricity", "kWh", f) + kpi.to_tce(1000, "natural_gas", "m3", f),
         400.0, 1.0, None, 3, 0, 1),
    ], "hour_start timestamp, electricity_kwh double, natural_gas_m3 double, tce double, peak_demand_kw double, "
       "load_factor double, power_factor double, readings long, uncertain_records long, bad_records_excluded long")
    assertDataFrameEqual(got, expected, rtol=1e-12)
