"""Process capability, gas safety exceedances, defect Pareto and energy per tonne on small hand-computed frames."""

from __future__ import annotations

import math
from datetime import date, datetime

import pytest
from pyspark.testing import assertDataFrameEqual

from brain.config import ConfigError
from brain.gold.kpi import formulas as kpi

DAY = date(2026, 11, 20)
LOC = ("acme", "rm-1", "bf-1")


def _ts(hh: int, mm: int = 0) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hh, mm)


def _telemetry(spark, sensor, unit, rows):
    return spark.createDataFrame(
        [(*LOC, dev, f"t{i}", ts, DAY, q, sensor, v, unit) for i, (dev, ts, q, v) in enumerate(rows)],
        "enterprise string, site string, line string, device string, event_id string, event_ts_utc timestamp, "
        "event_date date, quality string, sensor string, value double, unit string")


def test_cp_and_defect_share_formulas():
    # Cp = (USL - LSL) / 6 sigma; Cpk <= Cp, equal when centred (AIAG SPC manual)
    assert kpi.cp(10.0, 1480.0, 1540.0) == pytest.approx(1.0)
    assert kpi.cpk(1510.0, 10.0, 1480.0, 1540.0) == pytest.approx(kpi.cp(10.0, 1480.0, 1540.0))
    assert kpi.cp(0.0, 1.0, 2.0) is None
    with pytest.raises(kpi.KpiInputError, match="spec_limits_inverted"):
        kpi.cp(1.0, 2.0, 1.0)
    assert kpi.defect_share(3, 7) == pytest.approx(3 / 7)
    with pytest.raises(kpi.KpiInputError, match="part_exceeds_produced"):
        kpi.defect_share(8, 7)


def test_daily_capability_uses_running_readings_only(spark):
    from brain.gold.metrics.process_capability import daily_capability

    telemetry = _telemetry(spark, "furnace_temp", "degC", [
        ("furnace", _ts(1), "GOOD", 1500.0), ("furnace", _ts(2), "UNCERTAIN", 1510.0),   # UNCERTAIN: kept
        ("furnace", _ts(3), "GOOD", 1520.0), ("furnace", _ts(4), "GOOD", 1510.0),
        ("furnace", _ts(5), "BAD", 1800.0),                                              # excluded, counted
        ("furnace", _ts(7), "GOOD", 1150.0),                                             # banked: not running
        ("furnace-2", _ts(1), "GOOD", 1500.0), ("furnace-2", _ts(2), "GOOD", 1502.0),    # too few samples
    ])
    states = spark.createDataFrame(
        [(*LOC, "furnace", _ts(0), "GOOD", "RUNNING"), (*LOC, "furnace", _ts(6), "GOOD", "IDLE"),
         (*LOC, "furnace-2", _ts(0), "GOOD", "RUNNING")],
        "enterprise string, site string, line string, device string, event_ts_utc timestamp, quality string, "
        "state string")
    out = daily_capability(telemetry, states, {"furnace_temp": (1480.0, 1550.0)}, min_samples=3)
    sigma = math.sqrt(200 / 3)  # sample sd of 1500, 1510, 1520, 1510
    expected = spark.createDataFrame([
        ("furnace", 4, 1510.0, sigma, (1510 - 1480) / (3 * sigma), 70 / (6 * sigma), [], 1, 1, 1),
        ("furnace-2", 2, 1501.0, math.sqrt(2), None, None, ["too_few_samples"], 0, 0, 0),
    ], "device string, samples long, mean double, stdev double, cpk double, cp double, flags array<string>, "
       "readings_not_running long, records_uncertain long, records_bad long")
    assertDataFrameEqual(out.select(*expected.columns), expected, rtol=1e-9)
    assert {(r.lsl, r.usl, r.unit) for r in out.collect()} == {(1480.0, 1550.0, "degC")}


def test_daily_exceedances_counts_readings_above_the_limit(spark):
    from brain.gold.metrics.gas_safety import daily_exceedances

    telemetry = _telemetry(spark, "co_concentration", "ppm", [
        ("furnace", _ts(0, 30), "GOOD", 10.0), ("furnace", _ts(1, 0), "GOOD", 36.0),
        ("furnace", _ts(2, 0), "UNCERTAIN", 50.0), ("furnace", _ts(3, 0), "BAD", 80.0),
        ("furnace", _ts(4, 0), "GOOD", 35.0),                                            # at the limit: not above
        ("kiln", _ts(1, 0), "GOOD", 3.0),
    ])
    out = daily_exceedances(telemetry, {"co_concentration": 35.0})
    expected = spark.createDataFrame([
        ("rm-1", "bf-1", "furnace", "co_concentration", DAY, 2, 50.0, 35.0, _ts(1, 0), 4, 1, 1),
        ("rm-1", "bf-1", "kiln", "co_concentration", DAY, 0, 3.0, 35.0, None, 1, 0, 0),
    ], "site string, line string, device string, sensor string, event_date date, exceedances long, "
       "max_value double, threshold double, first_ts timestamp, readings long, records_uncertain long, "
       "records_bad long")
    assertDataFrameEqual(out.select(*expected.columns), expected)


def test_gas_limits_need_every_gas_sensor_with_a_source_and_the_registry_unit():
    from brain import config
    from brain.gold.metrics.gas_safety import gas_limits

    assert gas_limits(config.load(environ={})) == {"co_concentration": 35.0, "h2s_concentration": 10.0}
    with pytest.raises(ConfigError, match="h2s_concentration"):
        gas_limits(config.load(environ={"BRAIN__SAFETY__GAS_LIMITS__H2S_CONCENTRATION__SOURCE": ""}))
    with pytest.raises(ConfigError, match="readings of co_concentration are in 'ppm'"):
        gas_limits(config.load(environ={"BRAIN__SAFETY__GAS_LIMITS__CO_CONCENTRATION__UNIT": "mg/m3"}))


def test_daily_pareto_ranks_codes_with_shares(spark):
    from brain.gold.metrics.defects import daily_pareto

    rows = [("bottling-1", "GOOD", ["A", "B"]), ("bottling-1", "GOOD", ["A"]), ("bottling-1", "GOOD", ["A", "C"]),
            ("bottling-1", "GOOD", ["B"]), ("bottling-1", "UNCERTAIN", ["C"]),
            ("bottling-1", "BAD", ["C", "D"]),                    # excluded, counted
            ("bottling-2", "GOOD", [])]                           # nothing found: no Pareto rows
    inspection = spark.createDataFrame(
        [("acme", "cg-1", line, f"i{i}", DAY, q, codes) for i, (line, q, codes) in enumerate(rows)],
        "enterprise string, site string, line string, event_id string, event_date date, quality string, "
        "defect_codes array<string>")
    expected = spark.createDataFrame([
        ("cg-1", "bottling-1", DAY, "A", 3, 3 / 7, 3 / 7, 1, 1, 1),
        ("cg-1", "bottling-1", DAY, "B", 2, 2 / 7, 5 / 7, 2, 1, 1),   # tie with C: by code
        ("cg-1", "bottling-1", DAY, "C", 2, 2 / 7, 1.0, 3, 1, 1),
    ], "site string, line string, event_date date, defect_code string, defects long, share double, "
       "cumulative_share double, rank int, records_uncertain long, records_bad long")
    assertDataFrameEqual(daily_pareto(inspection).select(*expected.columns), expected, rtol=1e-12)


def test_energy_per_tonne_of_good_product(spark):
    from brain.gold.metrics.energy_intensity import daily_site_energy_per_tonne

    meters = spark.createDataFrame(
        [("acme", "rm-1", DAY, _ts(1), "GOOD", "electricity", 1000.0, 100.0, 0.9),
         ("acme", "rm-1", DAY, _ts(1), "UNCERTAIN", "coal", 2.0, None, None),
         ("acme", "rm-1", DAY, _ts(2), "BAD", "electricity", 500.0, 50.0, 0.9)],
        "enterprise string, site string, event_date date, event_ts_utc timestamp, quality string, carrier string, "
        "value double, demand_kw double, power_factor double")
    production = spark.createDataFrame(
        [("acme", "rm-1", DAY, "GOOD", 100, 95, "t"), ("acme", "rm-1", DAY, "GOOD", 50, 50, "pcs"),
         ("acme", "rm-1", DAY, "BAD", 40, 40, "t")],
        "enterprise string, site string, event_date date, quality string, produced long, good long, "
        "count_unit string")
    [row] = daily_site_energy_per_tonne(meters, production).collect()
    tce = kpi.to_tce(1000.0, "electricity", "kWh") + kpi.to_tce(2.0, "coal", "t")
    assert (row.good_t, row.produced_t, row.records_not_in_tonnes) == (95.0, 100.0, 1)
    assert row.tce == pytest.approx(tce, rel=1e-12)
    assert row.kgce_per_t == pytest.approx(kpi.energy_intensity(tce * 1000, 95.0), rel=1e-12)
    assert (row.records_uncertain, row.records_bad) == (1, 2)
