"""brain.gold.kpi.formulas against published worked examples (source cited in each test) and impossible inputs."""

from __future__ import annotations

import math

import pytest

from brain.gold.kpi import formulas as kpi
from brain.gold.kpi.formulas import KpiInputError

MIN = 60.0


def oee_example():
    """Vorne Industries, "Calculating OEE" (oee.com) and its "Calculating OEE
    Worksheet" (c) 2002-2005 Vorne Industries (a copy with these inputs:
    docs.google.com/spreadsheets/d/1CTm7r8-c17rija5Wu9bpF6tLE0UtdH-j3sGwo8IRZTg):
    shift 8 h = 480 min, two 15-min breaks and a 30-min meal (60 min), 47 min
    down time, ideal run rate 60 ppm, total 19,271 pieces, 423 rejects ->
    availability 88.81 %, performance 86.11 %, quality 97.80 %, OEE 74.79 %."""
    pot = 480 * MIN
    pbt = kpi.planned_busy_time(pot, 60 * MIN)
    apt = pbt - 47 * MIN
    pru = 60.0 / 60  # 60 parts per minute -> 1 s per part
    a = kpi.availability(apt, pbt)
    e = kpi.effectiveness(pru, 19271, apt)
    q = kpi.quality_ratio(19271 - 423, 19271)
    return pbt, apt, a, e, q, kpi.oee(a, e, q)


def test_oee_worked_example_vorne():
    # Source: oee.com "Calculating OEE" / Vorne OEE worksheet: planned production
    # time 420 min, operating time 373 min, good 18,848; availability 88.81 %,
    # performance 86.11 %, quality 97.80 %, OEE 74.79 % (74.8 % on oee.com).
    # (Performance here is 86.11 %, not 95.24 %: 95.24 % is 400/420 from a
    # different example with 1-minute cycles.)
    pbt, apt, a, e, q, o = oee_example()
    assert pbt == 420 * MIN and apt == 373 * MIN
    assert round(a * 100, 2) == 88.81
    assert round(e * 100, 2) == 86.11
    assert round(q * 100, 2) == 97.80
    assert round(o * 100, 2) == 74.79
    assert round(o * 100, 1) == 74.8
    assert o == pytest.approx(a * e * q)
    # exact fractions: 373/420 x 19271/22380 x 18848/19271
    assert o == pytest.approx((373 / 420) * (19271 / 22380) * (18848 / 19271), rel=1e-15)


def test_oee_is_a_product_not_an_average():
    _, _, a, e, q, o = oee_example()
    assert o != pytest.approx((a + e + q) / 3)
    assert kpi.oee(1.0, 1.0, 0.0) == 0.0


def test_scrap_rework_fpy_ratios():
    # ISO 22400-2 scrap ratio SQ/PQ, rework ratio RQ/PQ on the Vorne counts.
    assert kpi.scrap_ratio(423, 19271) == pytest.approx(423 / 19271)
    assert kpi.rework_ratio(0, 19271) == 0.0
    assert kpi.first_pass_yield(18848, 19271) == pytest.approx(0.978050, abs=1e-6)
    assert kpi.scrap_ratio(0, 0) is None  # nothing produced: undefined, not 0


def test_utilisation_is_apt_over_aubt():
    # ISO 22400-2 utilization efficiency = APT / AUBT.
    assert kpi.utilisation(373 * MIN, 400 * MIN) == pytest.approx(373 / 400)
    assert kpi.utilisation(0, 0) is None


def test_mtbf_mttr_worked_example():
    # Source: "Exercise 1" (MTBF/MTTR, scribd.com/document/403226083): a component
    # needed 24 h Monday-Friday fails Tue 05-07, Thu 16-20, Fri 08-11.
    # Downtime 9 h, uptime 5 x 24 - 9 = 111 h -> MTBF 111/3 = 37 h, MTTR 9/3 = 3 h.
    h = 3600.0
    day = 24 * h
    down = kpi.downtime_from_intervals([
        (1 * day + 5 * h, 1 * day + 7 * h),
        (3 * day + 16 * h, 3 * day + 20 * h),
        (4 * day + 8 * h, 4 * day + 11 * h),
    ])
    assert down == 9 * h
    assert kpi.mtbf(5 * day - down, 3) == 37 * h
    assert kpi.mttr(down, 3) == 3 * h
    assert kpi.mtbf(100 * h, 0) is None and kpi.mttr(0, 0) is None


def test_cpk_worked_example_cocoa_fizz():
    # Source: Heizer & Render, Operations Management, "Computing the Cpk value at
    # Cocoa Fizz": spec 16.0 +/- 0.2 oz (LSL 15.8, USL 16.2), mean 15.9, sigma 0.1
    # -> Cpk = min(0.3, 0.1) / 0.3 = 0.33.
    assert round(kpi.cpk(15.9, 0.1, 15.8, 16.2), 2) == 0.33
    assert kpi.cpk(16.0, 0.1, 15.8, 16.2) == pytest.approx(0.2 / 0.3)
    assert kpi.cpk(16.3, 0.1, 15.8, 16.2) < 0  # mean outside: a real (bad) result
    assert kpi.cpk(16.0, 0.0, 15.8, 16.2) is None


def test_tce_gb_t_2589_coefficients():
    # GB/T 2589-2020 Appendix A: electricity (equivalent value) 0.1229 kgce/kWh,
    # gas-field natural gas 1.2143 kgce/m3, raw coal 0.7143 kgce/kg.
    f = kpi.load_energy_factors()
    assert kpi.to_tce(10_000, "electricity", "kWh", f) == pytest.approx(1.229)
    assert kpi.to_tce(10, "electricity", "MWh", f) == pytest.approx(1.229)
    assert kpi.to_tce(1_000, "natural_gas", "m3", f) == pytest.approx(1.2143)
    assert kpi.to_tce(1, "coal", "t", f) == pytest.approx(0.7143)
    assert kpi.to_tce(1_000, "coal", "kg", f) == pytest.approx(0.7143)
    assert kpi.to_tce(1, "steam", "t", f) == pytest.approx(0.1286)
    # The coefficients are calorific value / 29 307.6 kJ per kgce (GB/T 2589 §3):
    kj = f.standard_coal_kj_per_kgce
    assert round(860 / 7000, 4) == 0.1229  # 3 600 kJ/kWh tabulated as 860 kcal/kWh; 1 kgce = 7 000 kcal
    assert round(8500 * 4.1868 / kj, 4) == 1.2143
    assert round(5000 * 4.1868 / kj, 4) == 0.7143
    assert round(900 * 4.1868 / kj, 4) == 0.1286


def test_tco2_factors_and_configurable_grid():
    f = kpi.load_energy_factors()
    # MEE/NBS 2023 national average grid factor, 0.5306 kgCO2/kWh (announcement on
    # the 2023 electricity CO2 emission factors; Guangming Daily, China Electric Power
    # News 2026-01-15: "0.5306 kgCO2/kWh, down 1.1 % from 2022's 0.5366").
    assert kpi.to_tco2(1_000, "electricity", "kWh", f) == pytest.approx(0.5306)
    assert round((0.5366 - 0.5306) / 0.5366 * 100, 1) == 1.1
    assert kpi.to_tco2(1_000, "electricity", "kWh", f.with_grid_factor(0.6776)) == pytest.approx(0.6776)
    # NDRC guideline defaults: NCV x carbon content x oxidation x 44/12.
    gas = 389.31 / 10_000 * 15.3e-3 * 0.99 * 44 / 12  # tCO2 per m3
    coal = 20.908 * 26.37e-3 * 0.94 * 44 / 12  # tCO2 per t
    assert kpi.to_tco2(1, "natural_gas", "m3", f) == pytest.approx(gas, rel=1e-4)
    assert kpi.to_tco2(1, "coal", "t", f) == pytest.approx(coal, rel=1e-4)
    for c in f.carriers.values():
        assert c.tce_source and c.co2_source
    with pytest.raises(ValueError):
        f.with_grid_factor(-0.1)


def test_energy_rejects_impossible_or_mismatched_inputs():
    with pytest.raises(KpiInputError) as e:
        kpi.to_tce(-1, "electricity", "kWh")
    assert e.value.flags == [kpi.NEGATIVE_ENERGY]
    with pytest.raises(ValueError):
        kpi.to_tce(1, "electricity", "m3")  # a volume is no electricity
    with pytest.raises(KeyError):
        kpi.to_tce(1, "diesel", "t")


def test_load_factor_worked_examples():
    # Source: bettercostcontrol.com/what-is-load-factor: 65,000 kWh in a 30-day
    # billing period with a 125 kW peak -> 65,000 / (125 x 30 x 24) = 72.2 %.
    hours = 30 * 24
    assert round(kpi.load_factor(65_000 / hours, 125) * 100, 1) == 72.2
    # Source: electricrateselect.com/load-factor: 20,000 kWh, 70 kW peak, 30 days -> 39.68 %.
    assert round(kpi.load_factor(20_000 / hours, 70) * 100, 2) == 39.68


def test_tce_worked_example_ier_stuttgart():
    # Source: IER, University of Stuttgart, energy unit converter
    # (ier.uni-stuttgart.de/online_tools/umrechner): 300 kWh x 0.123 = 36.9 kg
    # coal equivalent. With the GB/T 2589-2020 coefficient 0.1229 kgce/kWh the
    # same 300 kWh are 36.87 kgce, 36.9 kgce to the published precision.
    tce = kpi.to_tce(300, "electricity", "kWh")
    assert tce == pytest.approx(0.03687, rel=1e-12)
    assert round(tce * 1000, 1) == 36.9


def test_rolled_up_oee_weights_lines_by_time_not_by_count():
    # Two lines of one site (hand-computed): a big one (PBT 72,000 s, APT 64,800 s,
    # PRU x PQ 58,320 s, PRU x GQ 55,404 s: OEE 0.7695) and a small one (3,600,
    # 1,800, 900, 450: OEE 0.125). The site is 55,854 / 75,600 = 0.7388 of its
    # planned busy time fully productive, not their mean 0.447.
    big, small = (72000, 64800, 58320, 55404), (3600, 1800, 900, 450)
    assert kpi.rolled_up_oee(*big) == pytest.approx(0.9 * 0.9 * 0.95, rel=1e-12)
    assert kpi.rolled_up_oee(*small) == pytest.approx(0.125, rel=1e-12)
    site = kpi.rolled_up_oee(*(b + s for b, s in zip(big, small)))
    assert site == pytest.approx(55854 / 75600, rel=1e-12)
    assert round(site, 4) == 0.7388
    assert kpi.rolled_up_oee(0, 0, 0, 0) is None
    with pytest.raises(KpiInputError, match=kpi.FASTER_THAN_IDEAL):
        kpi.rolled_up_oee(100, 50, 60, 60)


def test_load_factor_and_energy_intensity():
    assert kpi.load_factor(600, 800) == 0.75
    assert kpi.energy_intensity(1.229, 10) == pytest.approx(0.1229)
    assert kpi.energy_intensity(5, 0) is None
    with pytest.raises(KpiInputError, match=kpi.PEAK_BELOW_AVERAGE):
        kpi.load_factor(900, 800)


@pytest.mark.parametrize(("fn", "args", "flag"), [
    (kpi.availability, (-1, 100), kpi.NEGATIVE_DURATION),
    (kpi.availability, (120, 100), kpi.APT_EXCEEDS_PBT),
    (kpi.planned_busy_time, (100, 120), kpi.PLANNED_DOWN_EXCEEDS_POT),
    (kpi.planned_busy_time, (100, -5), kpi.NEGATIVE_DURATION),
    (kpi.quality_ratio, (101, 100), kpi.GOOD_EXCEEDS_PRODUCED),
    (kpi.quality_ratio, (-1, 100), kpi.NEGATIVE_COUNT),
    (kpi.effectiveness, (1.0, 50, 0), kpi.COUNTS_WITHOUT_RUN_TIME),
    (kpi.effectiveness, (1.0, 200, 100), kpi.FASTER_THAN_IDEAL),
    (kpi.effectiveness, (1.0, 10, -100), kpi.NEGATIVE_DURATION),
    (kpi.scrap_ratio, (11, 10), kpi.PART_EXCEEDS_PRODUCED),
    (kpi.mtbf, (0, 2), kpi.FAILURES_WITHOUT_RUN_TIME),
    (kpi.mttr, (-1, 2), kpi.NEGATIVE_DURATION),
    (kpi.cpk, (1.0, -0.1, 0.0, 2.0), kpi.NEGATIVE_STDEV),
    (kpi.cpk, (1.0, 0.1, 2.0, 0.0), kpi.SPEC_LIMITS_INVERTED),
    (kpi.oee, (1.2, 0.9, 0.9), kpi.COMPONENT_OUT_OF_RANGE),
    (kpi.oee, (0.9, -0.1, 0.9), kpi.COMPONENT_OUT_OF_RANGE),
    (kpi.availability, (math.nan, 100), kpi.NOT_FINITE),
    (kpi.availability, (100, math.inf), kpi.NOT_FINITE),
])
def test_impossible_inputs_raise_with_flag(fn, args, flag):
    with pytest.raises(KpiInputError) as e:
        fn(*args)
    assert flag in e.value.flags
    assert e.value.kpi == fn.__name__


def test_oee_cannot_leave_unit_interval_silently():
    # Every route to OEE > 1 or < 0 goes through a flagged component.
    for a, e, q in [(1.01, 1, 1), (1, 1.01, 1), (1, 1, 1.01), (-0.01, 1, 1)]:
        with pytest.raises(KpiInputError):
            kpi.oee(a, e, q)
    assert kpi.oee(1.0, 1.0, 1.0) == 1.0


def test_counts_without_run_time_and_undefined():
    assert kpi.effectiveness(1.0, 0, 0) is None  # nothing ran, nothing counted: undefined
    assert kpi.effectiveness(1.0, 0, 100) == 0.0
    assert kpi.availability(0, 0) is None
    assert kpi.availability(None, 100) is None


def test_overlapping_downtime_intervals_detected():
    with pytest.raises(KpiInputError) as e:
        kpi.downtime_from_intervals([(0, 100), (50, 150)])
    assert e.value.flags == [kpi.OVERLAPPING_INTERVALS]
    with pytest.raises(KpiInputError) as e:
        kpi.downtime_from_intervals([(100, 50)])
    assert kpi.NEGATIVE_DURATION in e.value.flags
    # touching is not overlapping; order does not matter
    assert kpi.downtime_from_intervals([(100, 150), (0, 100)]) == 150
    assert kpi.downtime_from_intervals([]) == 0


def test_formula_defined_once():
    # The public functions are thin wrappers over the Formula objects that
    # brain.gold.kpi.columns evaluates on Columns: one definition per KPI.
    assert kpi.OEE.value(0.5, 0.5, 0.5) == 0.125
    assert kpi.AVAILABILITY.args == ("apt_s", "pbt_s")
    with pytest.raises(TypeError):
        kpi.evaluate(kpi.AVAILABILITY, 1.0)


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
