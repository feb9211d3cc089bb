"""ISA-95 roll-ups (brain.gold.rollup) and gold.enterprise_brain (brain.gold.enterprise) on small frames."""

from __future__ import annotations

from datetime import date

import pytest
from pyspark.testing import assertDataFrameEqual

from brain.gold.enterprise import COLUMNS, enterprise_brain
from brain.gold.kpi import formulas as kpi
from brain.gold.rollup import enterprise_oee, site_oee

DAY = date(2026, 11, 20)
LINE_SCHEMA = ("industry string, enterprise string, site string, line string, event_date date, flags array<string>, "
               "pot_s double, planned_down_s double, pbt_s double, apt_s double, setup_s double, "
               "unplanned_down_s double, ideal_run_s double, ideal_good_s double, failures long, produced long, "
               "good long, scrap long, rework long, uncertain_records long, bad_records_excluded long")


def _line(industry, site, line, pbt, apt, ideal_run, ideal_good, produced, good, flags=(), failures=0, bad=0, unc=0):
    return (industry, "acme", site, line, DAY, list(flags), pbt, 0.0, pbt, apt, 0.0, pbt - apt, ideal_run, ideal_good,
            failures, produced, good, produced - good, 0, unc, bad)


# A big line: 20 h planned, 18 h running, 1 s/unit: A 0.9, E 0.9, QR 0.95 -> OEE 0.7695.
BIG = ("equipment_manufacturing", "site-a", "big", 72000.0, 64800.0, 58320.0, 55404.0, 58320, 55404)
# A small line: 1 h planned, 30 min running, 2 s/unit: A 0.5, E 0.5, QR 0.5 -> OEE 0.125.
SMALL = ("consumer_goods", "site-a", "small", 3600.0, 1800.0, 900.0, 450.0, 450, 225)


def test_site_oee_rolls_up_components_not_the_mean_of_lines(spark):
    flagged = ("equipment_manufacturing", "site-a", "broken", 100.0, 500.0, 10.0, 10.0, 10, 10)  # APT > PBT
    lines = spark.createDataFrame(
        [_line(*BIG, failures=2, bad=3), _line(*SMALL, unc=4), _line(*flagged, flags=["apt_exceeds_pbt"])],
        LINE_SCHEMA)
    got = site_oee(lines, {"site-a": 3}).collect()
    assert len(got) == 1
    r = got[0]
    line_oee = [kpi.rolled_up_oee(*BIG[3:7]), kpi.rolled_up_oee(*SMALL[3:7])]
    assert line_oee == [pytest.approx(0.7695), pytest.approx(0.125)]
    # By hand: sum PBT 75 600 s, sum APT 66 600 s, sum PRU x PQ 59 220 s, sum PRU x GQ 55 854 s.
    assert r.availability == pytest.approx(66600 / 75600, rel=1e-12)
    assert r.effectiveness == pytest.approx(59220 / 66600, rel=1e-12)
    assert r.quality_ratio == pytest.approx(55854 / 59220, rel=1e-12)
    assert r.oee == pytest.approx(55854 / 75600, rel=1e-12)  # 0.7388, fully productive time / PBT
    assert r.oee == pytest.approx(kpi.rolled_up_oee(75600, 66600, 59220, 55854), rel=1e-12)
    assert abs(r.oee - sum(line_oee) / 2) > 0.29  # the mean of the lines would say 0.447
    # The flagged line stays out of the time components, but is counted and its units kept.
    assert (r.lines, r.lines_flagged, r.lines_registered) == (3, 1, 3)
    assert (r.produced, r.good) == (58320 + 450 + 10, 55404 + 225 + 10)
    assert (r.failures, r.mtbf_s, r.bad_records_excluded, r.uncertain_records) == (2, 66600 / 2, 3, 4)
    assert r.flags == []


def test_enterprise_oee_sums_every_line_of_every_site(spark):
    other = ("equipment_manufacturing", "site-b", "big", 36000.0, 36000.0, 18000.0, 18000.0, 18000, 18000)
    lines = spark.createDataFrame([_line(*BIG), _line(*SMALL), _line(*other)], LINE_SCHEMA)
    expected = spark.createDataFrame(
        [("acme", DAY, 111600.0, 102600.0, 77220.0, 73854.0, 102600 / 111600, 77220 / 102600, 73854 / 77220,
          73854 / 111600, 2, 3)],
        "enterprise string, event_date date, pbt_s double, apt_s double, ideal_run_s double, ideal_good_s double, "
        "availability double, effectiveness double, quality_ratio double, oee double, sites long, lines long")
    got = enterprise_oee(lines).select(*expected.columns)
    assertDataFrameEqual(got, expected, rtol=1e-12)


def test_enterprise_brain_one_row_per_site_day_with_the_contract_columns(spark):
    lines = spark.createDataFrame([_line(*BIG, bad=3, unc=1), _line(*SMALL)], LINE_SCHEMA)
    f = kpi.load_energy_factors()
    tce_a = kpi.to_tce(1000, "electricity", "kWh", f)
    energy = spark.createDataFrame(
        [("acme", "site-a", DAY, 1000.0, tce_a, 0.5366, 500.0, 0.5, 0.9, 2, 5),
         ("acme", "site-e", DAY, 10.0, 0.001229, 0.005366, 5.0, 0.8, None, 0, 0)],  # meters, no production
        "enterprise string, site string, event_date date, electricity_kwh double, tce double, tco2 double, "
        "peak_demand_kw double, load_factor double, power_factor double, bad_records_excluded long, "
        "uncertain_records long")
    dq = spark.createDataFrame([("equipment_manufacturing", "site-a", DAY, 0.9), ("energy", "site-a", DAY, 0.8)],
                               "industry string, site string, event_date date, overall double")
    safety = spark.createDataFrame([("site-a", DAY, 3), ("site-a", DAY, 1)],
                                   "site string, event_date date, exceedances long")
    got = enterprise_brain(lines, energy, dq, pdm=None, safety=safety)
    assert [(f.name, f.dataType.simpleString()) for f in got.schema.fields][:len(COLUMNS)] == [
        (n, "bigint" if t == "long" else t) for n, t in COLUMNS]
    expected = spark.createDataFrame([
        ("acme", "site-a", DAY, 55854 / 75600, 66600 / 75600, 59220 / 66600, 55854 / 59220, 58770, 55629,
         1000.0, tce_a, 0.5366, 500.0, 0.85, None, 4, 3 + 2, 1 + 5, tce_a * 1000 / 58770,
         ["consumer_goods", "equipment_manufacturing"]),
        ("acme", "site-e", DAY, None, None, None, None, None, None, 10.0, 0.001229, 0.005366, 5.0, None, None, 0,
         0, 0, None, None),
    ], "enterprise string, site string, event_date date, oee double, availability double, performance double, "
       "quality_ratio double, produced_count long, good_count long, energy_kwh double, energy_tce double, "
       "co2_t double, peak_demand_kw double, dq_score double, pdm_alerts long, safety_exceedances long, "
       "records_bad long, records_uncertain long, energy_intensity_kgce_per_unit double, industries array<string>")
    assertDataFrameEqual(got.select(*expected.columns), expected, rtol=1e-12)


def test_enterprise_brain_hourly_one_row_per_site_and_hour(spark):
    """Worked example, by hand. Site site-a, hour 09:00: line x planned 3600 s, running 3000 s, 2 400 ideal
    s (2 400 units at 1 s, 2 280 good); line y planned 1800 s, running 1800 s, 1 200 ideal s (600 units at
    2 s, 540 good -> 1 080 s). OEE = fully productive time / planned busy time = (2 280 + 1 080) / (3 600 +
    1 800) = 3 360 / 5 400 = 0.6222; availability 4 800 / 5 400; performance 3 600 / 4 800; quality
    3 360 / 3 600. Hour 10:00: line x only, 1 800 s planned, all running, 900 units at 1 s, 900 good ->
    OEE 900 / 1800 = 0.5. Energy 120 kWh at 09:00, 80 kWh at 10:00. PdM alerts at 09:40 and 09:55 count in
    09:00, one at 11:05 in an hour without other data (no row: an alert alone does not make a site-hour).
    """
    from datetime import datetime

    from brain.gold.enterprise import columns

    h9, h10, h11 = datetime(2026, 11, 20, 9), datetime(2026, 11, 20, 10), datetime(2026, 11, 20, 11)
    schema = LINE_SCHEMA + ", hour_start timestamp"
    lines = spark.createDataFrame(
        [_line("consumer_goods", "site-a", "x", 3600.0, 3000.0, 2400.0, 2280.0, 2400, 2280) + (h9,),
         _line("consumer_goods", "site-a", "y", 1800.0, 1800.0, 1200.0, 1080.0, 600, 540) + (h9,),
         _line("consumer_goods", "site-a", "x", 1800.0, 1800.0, 900.0, 900.0, 900, 900) + (h10,)], schema)
    energy = spark.createDataFrame(
        [("acme", "site-a", DAY, h9, 120.0, 0.015, 0.064, 130.0, 0, 0),
         ("acme", "site-a", DAY, h10, 80.0, 0.010, 0.042, 90.0, 0, 1)],
        "enterprise string, site string, event_date date, hour_start timestamp, electricity_kwh double, tce double, "
        "tco2 double, peak_demand_kw double, bad_records_excluded long, uncertain_records long")
    energy = energy.selectExpr("*", "CAST(NULL AS double) AS load_factor", "CAST(NULL AS double) AS power_factor")
    pdm = spark.createDataFrame(
        [("site-a", DAY, datetime(2026, 11, 20, 9, 40)), ("site-a", DAY, datetime(2026, 11, 20, 9, 55)),
         ("site-a", DAY, datetime(2026, 11, 20, 11, 5))], "site string, event_date date, alert_ts timestamp")
    got = enterprise_brain(lines, energy, pdm=pdm, hourly=True)
    assert [f.name for f in got.schema.fields][:len(columns(True))] == [n for n, _ in columns(True)]
    rows = {r.hour_start: r for r in got.collect()}
    assert sorted(rows) == [h9, h10] and h11 not in rows
    nine, ten = rows[h9], rows[h10]
    assert nine.oee == pytest.approx(3360 / 5400, rel=1e-12)
    assert (nine.availability, nine.performance, nine.quality_ratio) == (
        pytest.approx(4800 / 5400), pytest.approx(3600 / 4800), pytest.approx(3360 / 3600))
    assert (nine.produced_count, nine.good_count, nine.energy_kwh, nine.pdm_alerts) == (3000, 2820, 120.0, 2)
    assert (ten.oee, ten.energy_kwh, ten.pdm_alerts, ten.records_uncertain) == (0.5, 80.0, 0, 1)
    assert (nine.dq_score, nine.safety_exceedances) == (None, None)  # daily figures only
