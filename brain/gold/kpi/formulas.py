"""KPI formulas: each written ONCE, evaluated on floats here and on Spark Columns in brain.gold.kpi.columns.

Design (formula in one place)
-----------------------------
Every KPI is a :class:`Formula`: its ``value`` and ``defined`` (when a value
exists, e.g. a denominator > 0) and its ``checks`` (impossible inputs) are
lambdas that use only arithmetic (``+ - * /``) and comparisons joined with
``|`` / ``&``. Those operators mean the same for Python numbers and for
``pyspark.sql.Column``, so:

- :func:`evaluate` runs a formula on floats: an impossible input raises
  :class:`KpiInputError` with the flags that fired (never a silent clamp);
  an undefined KPI (nothing planned, nothing produced) returns ``None``.
- ``brain.gold.kpi.columns.kpi_column`` runs the same formula on Columns: the
  value (null when undefined OR flagged) and an ``array<string>`` of the
  same flag codes.

Changing a KPI is one edit, in the Formula below.

Standards: ISO 22400-2:2014 (Automation systems and integration - Key
performance indicators for manufacturing operations management - Part 2);
GB/T 2589-2020 (comprehensive energy consumption); process capability per
ISO 22514-2 / AIAG SPC manual.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable

from brain.config import project_root

# Flag codes (also the strings in the Spark ``flags`` column; docs/kpis.md).
NEGATIVE_DURATION = "negative_duration"
NEGATIVE_COUNT = "negative_count"
APT_EXCEEDS_PBT = "apt_exceeds_pbt"
PLANNED_DOWN_EXCEEDS_POT = "planned_down_exceeds_pot"
GOOD_EXCEEDS_PRODUCED = "good_exceeds_produced"
PART_EXCEEDS_PRODUCED = "part_exceeds_produced"
COUNTS_WITHOUT_RUN_TIME = "counts_without_run_time"
FASTER_THAN_IDEAL = "faster_than_ideal"
COMPONENT_OUT_OF_RANGE = "component_out_of_range"
OVERLAPPING_INTERVALS = "overlapping_intervals"
NOT_FINITE = "not_finite"
SPEC_LIMITS_INVERTED = "spec_limits_inverted"
NEGATIVE_STDEV = "negative_stdev"
NEGATIVE_ENERGY = "negative_energy"
PEAK_BELOW_AVERAGE = "peak_below_average"
FAILURES_WITHOUT_RUN_TIME = "failures_without_run_time"


class KpiInputError(ValueError):
    """Inputs no real plant can produce; ``flags`` are the codes that fired."""

    def __init__(self, kpi: str, flags: list[str], inputs: dict[str, Any]):
        self.kpi, self.flags, self.inputs = kpi, list(flags), dict(inputs)
        super().__init__(f"{kpi}: impossible inputs {flags}: {inputs}")


@dataclass(frozen=True)
class Check:
    flag: str
    test: Callable[..., Any]  # truthy (bool or Column) when the inputs are impossible


@dataclass(frozen=True)
class Formula:
    name: str
    args: tuple[str, ...]
    value: Callable[..., Any]
    defined: Callable[..., Any]
    checks: tuple[Check, ...] = ()


def _neg(flag: str, *idx: int) -> Check:
    """``flag`` when any of the arguments at ``idx`` is negative."""
    def test(*a):
        out = a[idx[0]] < 0
        for i in idx[1:]:
            out = out | (a[i] < 0)
        return out
    return Check(flag, test)


# ---------------------------------------------------------------------------
# ISO 22400-2 formulas. Times in seconds, quantities in counted units.
# ---------------------------------------------------------------------------

PLANNED_BUSY_TIME = Formula(
    "planned_busy_time", ("pot_s", "planned_down_s"),
    value=lambda pot, pdot: pot - pdot,
    defined=lambda pot, pdot: pot >= 0,
    checks=(_neg(NEGATIVE_DURATION, 0, 1),
            Check(PLANNED_DOWN_EXCEEDS_POT, lambda pot, pdot: pdot > pot)))

# The Formulas below share a shape on purpose: each is one KPI written out as its standard
# states it (inputs, value, where defined, which checks flag it); a factory would hide that.
AVAILABILITY = Formula(
    "availability", ("apt_s", "pbt_s"),
    value=lambda apt, pbt: apt / pbt,
    defined=lambda apt, pbt: pbt > 0,
    checks=(_neg(NEGATIVE_DURATION, 0, 1),
            Check(APT_EXCEEDS_PBT, lambda apt, pbt: apt > pbt)))

EFFECTIVENESS = Formula(
    "effectiveness", ("pru_s", "pq", "apt_s"),
    value=lambda pru, pq, apt: pru * pq / apt,
    defined=lambda pru, pq, apt: apt > 0,
    checks=(_neg(NEGATIVE_DURATION, 0, 2), _neg(NEGATIVE_COUNT, 1),
            Check(COUNTS_WITHOUT_RUN_TIME, lambda pru, pq, apt: (pq > 0) & (apt <= 0)),
            Check(FASTER_THAN_IDEAL, lambda pru, pq, apt: (apt > 0) & (pru * pq > apt))))

QUALITY_RATIO = Formula(
    "quality_ratio", ("gq", "pq"),
    value=lambda gq, pq: gq / pq,
    defined=lambda gq, pq: pq > 0,
    checks=(_neg(NEGATIVE_COUNT, 0, 1), Check(GOOD_EXCEEDS_PRODUCED, lambda gq, pq: gq > pq)))


# Roll-ups (ISA-95 line -> site -> enterprise) sum time components, never
# average ratios: E = sum(PRU x PQ) / sum(APT) and the quality ratio weighted
# by ideal time, sum(PRU x GQ) / sum(PRU x PQ), which equals GQ / PQ on one
# product and stays meaningful across products counted in different units.
EFFECTIVENESS_FROM_TIME = Formula(
    "effectiveness", ("ideal_run_s", "apt_s"),
    value=lambda ideal, apt: ideal / apt,
    defined=lambda ideal, apt: apt > 0,
    checks=(_neg(NEGATIVE_DURATION, 0, 1),
            Check(COUNTS_WITHOUT_RUN_TIME, lambda ideal, apt: (ideal > 0) & (apt <= 0)),
            Check(FASTER_THAN_IDEAL, lambda ideal, apt: (apt > 0) & (ideal > apt))))

QUALITY_FROM_TIME = Formula(
    "quality_ratio", ("ideal_good_s", "ideal_run_s"),
    value=lambda good, run: good / run,
    defined=lambda good, run: run > 0,
    checks=(_neg(NEGATIVE_DURATION, 0, 1), Check(GOOD_EXCEEDS_PRODUCED, lambda good, run: good > run)))


def _part_ratio(name: str, part: str) -> Formula:
    return Formula(
        name, (part, "pq"),
        value=lambda x, pq: x / pq,
        defined=lambda x, pq: pq > 0,
        checks=(_neg(NEGATIVE_COUNT, 0, 1), Check(PART_EXCEEDS_PRODUCED, lambda x, pq: x > pq)))


SCRAP_RATIO = _part_ratio("scrap_ratio", "sq")
REWORK_RATIO = _part_ratio("rework_ratio", "rq")
FIRST_PASS_YIELD = Formula(
    "first_pass_yield", ("good_first_pass", "inspected"),
    value=lambda g, n: g / n,
    defined=lambda g, n: n > 0,
    checks=(_neg(NEGATIVE_COUNT, 0, 1), Check(PART_EXCEEDS_PRODUCED, lambda g, n: g > n)))

UTILISATION = Formula(
    "utilisation", ("apt_s", "aubt_s"),
    value=lambda apt, aubt: apt / aubt,
    defined=lambda apt, aubt: aubt > 0,
    checks=(_neg(NEGATIVE_DURATION, 0, 1), Check(APT_EXCEEDS_PBT, lambda apt, aubt: apt > aubt)))


def _in_unit(x):
    return (x < 0) | (x > 1)


OEE = Formula(
    "oee", ("availability", "effectiveness", "quality"),
    value=lambda a, e, q: a * e * q,
    defined=lambda a, e, q: a == a,  # defined whenever its components are (null/None propagate)
    checks=(Check(COMPONENT_OUT_OF_RANGE,
                  lambda a, e, q: _in_unit(a) | _in_unit(e) | _in_unit(q)),))

MTBF = Formula(
    "mtbf", ("total_running_s", "failures"),
    value=lambda t, n: t / n,
    defined=lambda t, n: n > 0,
    checks=(_neg(NEGATIVE_DURATION, 0), _neg(NEGATIVE_COUNT, 1),
            Check(FAILURES_WITHOUT_RUN_TIME, lambda t, n: (n > 0) & (t <= 0))))

MTTR = Formula(
    "mttr", ("total_repair_s", "failures"),
    value=lambda t, n: t / n,
    defined=lambda t, n: n > 0,
    checks=(_neg(NEGATIVE_DURATION, 0), _neg(NEGATIVE_COUNT, 1)))

CPK = Formula(
    "cpk", ("mean", "stdev", "lsl", "usl"),
    # min(Cpu, Cpl): the value is the pair (Cpu, Cpl); evaluate() takes min(),
    # brain.gold.kpi.columns.kpi_column F.least() -- the only non-arithmetic step.
    value=lambda m, s, lsl, usl: ((usl - m) / (3 * s), (m - lsl) / (3 * s)),
    defined=lambda m, s, lsl, usl: s > 0,
    checks=(Check(NEGATIVE_STDEV, lambda m, s, lsl, usl: s < 0),
            Check(SPEC_LIMITS_INVERTED, lambda m, s, lsl, usl: lsl >= usl)))

LOAD_FACTOR = Formula(
    "load_factor", ("avg_kw", "peak_kw"),
    value=lambda avg, peak: avg / peak,
    defined=lambda avg, peak: peak > 0,
    checks=(_neg(NEGATIVE_ENERGY, 0, 1), Check(PEAK_BELOW_AVERAGE, lambda avg, peak: avg > peak)))

ENERGY_INTENSITY = Formula(
    "energy_intensity", ("energy", "output"),
    value=lambda e, out: e / out,
    defined=lambda e, out: out > 0,
    checks=(_neg(NEGATIVE_ENERGY, 0), _neg(NEGATIVE_COUNT, 1),
            Check(COUNTS_WITHOUT_RUN_TIME, lambda e, out: (out > 0) & (e <= 0))))


def evaluate(formula: Formula, *args: float | int | None) -> float | None:
    """A formula on plain numbers: None if any input is None or the KPI is
    undefined; :class:`KpiInputError` if any check fires or an input is NaN/inf."""
    if len(args) != len(formula.args):
        raise TypeError(f"{formula.name} takes {formula.args}, got {len(args)} values")
    if any(a is None for a in args):
        return None
    inputs = dict(zip(formula.args, args))
    if any(not math.isfinite(a) for a in args):
        raise KpiInputError(formula.name, [NOT_FINITE], inputs)
    flags = [c.flag for c in formula.checks if c.test(*args)]
    if flags:
        raise KpiInputError(formula.name, sorted(set(flags)), inputs)
    if not formula.defined(*args):
        return None
    value = formula.value(*args)
    if isinstance(value, tuple):  # cpk: the worse side
        value = min(value)
    return float(value)


# ---------------------------------------------------------------------------
# Public pure functions
# ---------------------------------------------------------------------------

def planned_busy_time(pot_s: float, planned_down_s: float) -> float | None:
    """ISO 22400-2 PBT (planned busy time) = POT (planned operation time) - PDOT
    (planned down time), seconds."""
    return evaluate(PLANNED_BUSY_TIME, pot_s, planned_down_s)


def availability(apt_s: float, pbt_s: float) -> float | None:
    """ISO 22400-2 availability A = APT / PBT (actual production time / planned
    busy time). APT > PBT is impossible (flag ``apt_exceeds_pbt``)."""
    return evaluate(AVAILABILITY, apt_s, pbt_s)


def effectiveness(pru_s: float, pq: float, apt_s: float) -> float | None:
    """ISO 22400-2 effectiveness E = PRU x PQ / APT (planned run time per unit x
    produced quantity / actual production time): the "performance" of OEE.
    Producing faster than the planned rate (E > 1) is flagged, not clamped;
    counts with no run time are flagged too."""
    return evaluate(EFFECTIVENESS, pru_s, pq, apt_s)


def quality_ratio(gq: float, pq: float) -> float | None:
    """ISO 22400-2 quality ratio QR = GQ / PQ (good quantity / produced quantity)."""
    return evaluate(QUALITY_RATIO, gq, pq)


def oee(availability: float, effectiveness: float, quality: float) -> float | None:
    """ISO 22400-2 OEE index = availability x effectiveness x quality ratio.

    The PRODUCT, never an average; each component must be within [0, 1]
    (flag ``component_out_of_range``), so OEE cannot leave [0, 1] silently."""
    return evaluate(OEE, availability, effectiveness, quality)


def rolled_up_oee(pbt_s: float, apt_s: float, ideal_run_s: float, ideal_good_s: float) -> float | None:
    """OEE of several lines (a site, an enterprise) from their summed components:
    A = sum APT / sum PBT, E = sum(PRU x PQ) / sum APT, QR = sum(PRU x GQ) / sum(PRU x PQ),
    so OEE = sum(PRU x GQ) / sum PBT (fully productive time / planned busy time),
    NOT the mean of the lines' OEE. Impossible sums raise like the line KPIs."""
    a = availability(apt_s, pbt_s)
    e = evaluate(EFFECTIVENESS_FROM_TIME, ideal_run_s, apt_s)
    q = evaluate(QUALITY_FROM_TIME, ideal_good_s, ideal_run_s)
    return oee(a, e, q) if None not in (a, e, q) else None


def scrap_ratio(sq: float, pq: float) -> float | None:
    """ISO 22400-2 scrap ratio = SQ / PQ (scrap quantity / produced quantity)."""
    return evaluate(SCRAP_RATIO, sq, pq)


def rework_ratio(rq: float, pq: float) -> float | None:
    """ISO 22400-2 rework ratio = RQ / PQ (rework quantity / produced quantity)."""
    return evaluate(REWORK_RATIO, rq, pq)


def first_pass_yield(good_first_pass: float, inspected: float) -> float | None:
    """ISO 22400-2:2014 first pass yield FPY = GP / IP: good parts (conforming at
    their first inspection, without rework) / inspected parts. From inspections:
    passed / inspected (brain.gold.metrics.defects). From production records the
    same ratio is good / produced, since good excludes rework and scrap
    (docs/contracts.md): every produced unit counts as inspected."""
    return evaluate(FIRST_PASS_YIELD, good_first_pass, inspected)


def utilisation(apt_s: float, aubt_s: float) -> float | None:
    """ISO 22400-2 utilization efficiency UE = APT / AUBT (actual production time /
    actual unit busy time). This is the standard's definition, implemented as is;
    NOT APT / calendar time (that ratio is sometimes called "utilisation" in TPM
    and is not an ISO 22400 KPI). AUBT here = time the unit is allocated to
    production: RUNNING + SETUP + unplanned DOWN (docs/kpis.md)."""
    return evaluate(UTILISATION, apt_s, aubt_s)


def mtbf(total_running_s: float, failures: int) -> float | None:
    """ISO 22400-2 mean operating time between failures MTBF = total operating
    time between failures / number of failure events FE; None with no failure."""
    return evaluate(MTBF, total_running_s, failures)


def mttr(total_repair_s: float, failures: int) -> float | None:
    """ISO 22400-2 mean time to restoration MTTR = total time to restoration /
    number of failure events FE; None with no failure."""
    return evaluate(MTTR, total_repair_s, failures)


def cpk(mean: float, stdev: float, lsl: float, usl: float) -> float | None:
    """Process capability index Cpk = min(USL - mean, mean - LSL) / (3 sigma)
    (ISO 22514-2 / AIAG SPC; ISO 22400-2 "process capability index").
    None when sigma = 0; a negative Cpk (mean outside the limits) is a real
    result, not an error."""
    return evaluate(CPK, mean, stdev, lsl, usl)


def load_factor(avg_kw: float, peak_kw: float) -> float | None:
    """Load factor = average demand / peak demand over the same period."""
    return evaluate(LOAD_FACTOR, avg_kw, peak_kw)


def energy_intensity(energy: float, output: float) -> float | None:
    """Energy intensity = energy consumed / output (e.g. kgce per tonne,
    GB/T 2589 "unit product comprehensive energy consumption")."""
    return evaluate(ENERGY_INTENSITY, energy, output)


def downtime_from_intervals(intervals: Iterable[tuple[float, float]]) -> float:
    """Total downtime, seconds, from (start_s, end_s) intervals.

    Negative intervals (end < start) and overlapping intervals are impossible
    inputs for downtime (a unit is not down twice at once): both raise
    :class:`KpiInputError` instead of being merged or double-counted."""
    spans = sorted((float(s), float(e)) for s, e in intervals)
    flags = set()
    if any(not (math.isfinite(s) and math.isfinite(e)) for s, e in spans):
        flags.add(NOT_FINITE)
    if any(e < s for s, e in spans):
        flags.add(NEGATIVE_DURATION)
    if any(nxt[0] < cur[1] for cur, nxt in zip(spans, spans[1:])):
        flags.add(OVERLAPPING_INTERVALS)
    if flags:
        raise KpiInputError("downtime_from_intervals", sorted(flags), {"intervals": spans})
    return sum(e - s for s, e in spans)


# ---------------------------------------------------------------------------
# Energy and carbon (GB/T 2589; MEE grid factor), factors in conf/energy_factors.yaml
# ---------------------------------------------------------------------------

FACTORS_PATH = project_root() / "conf" / "energy_factors.yaml"


@dataclass(frozen=True)
class CarrierFactor:
    unit: str  # standard silver unit the factors are per
    kgce_per_unit: float
    kgco2_per_unit: float
    tce_source: str
    co2_source: str


@dataclass(frozen=True)
class EnergyFactors:
    carriers: dict[str, CarrierFactor]
    standard_coal_kj_per_kgce: float

    def with_grid_factor(self, kgco2_per_kwh: float) -> "EnergyFactors":
        """The same factors with another electricity emission factor
        (a regional, provincial or market-based one)."""
        if not (math.isfinite(kgco2_per_kwh) and kgco2_per_kwh >= 0):
            raise ValueError(f"grid emission factor must be >= 0, got {kgco2_per_kwh}")
        el = self.carriers["electricity"]
        carriers = dict(self.carriers)
        carriers["electricity"] = CarrierFactor(el.unit, el.kgce_per_unit, kgco2_per_kwh,
                                                el.tce_source, "configured grid factor")
        return EnergyFactors(carriers, self.standard_coal_kj_per_kgce)


@lru_cache(maxsize=4)
def load_energy_factors(path: str | None = None) -> EnergyFactors:
    import yaml

    data = yaml.safe_load(Path(path or FACTORS_PATH).read_text())
    carriers = {}
    for name, c in data["carriers"].items():
        carriers[name] = CarrierFactor(str(c["unit"]), float(c["kgce_per_unit"]), float(c["kgco2_per_unit"]),
                                       " ".join(str(c["tce_source"]).split()),
                                       " ".join(str(c["co2_source"]).split()))
        if carriers[name].kgce_per_unit < 0 or carriers[name].kgco2_per_unit < 0:
            raise ValueError(f"{path or FACTORS_PATH}: negative factor for {name}")
    return EnergyFactors(carriers, float(data["standard_coal_kj_per_kgce"]))


def _standard_amount(amount: float, carrier: str, unit: str, factors: EnergyFactors) -> float:
    from brain.contracts.units import to_standard

    if carrier not in factors.carriers:
        raise KeyError(f"no energy factors for carrier {carrier!r}")
    if amount is None or not math.isfinite(amount):
        raise KpiInputError("energy", [NOT_FINITE], {"amount": amount})
    if amount < 0:
        raise KpiInputError("energy", [NEGATIVE_ENERGY], {"amount": amount, "carrier": carrier})
    value, std = to_standard(amount, unit)
    want = factors.carriers[carrier].unit
    if std != want:
        raise ValueError(f"{carrier}: unit {unit!r} is not a {want} quantity")
    return value


def tce_per_unit(carrier: str, factors: EnergyFactors) -> float:
    """Tonnes of standard coal per standard unit of ``carrier``."""
    return factors.carriers[carrier].kgce_per_unit / 1000.0


def tco2_per_unit(carrier: str, factors: EnergyFactors) -> float:
    return factors.carriers[carrier].kgco2_per_unit / 1000.0


def to_tce(amount: float, carrier: str, unit: str, factors: EnergyFactors | None = None) -> float:
    """Tonnes of standard coal equivalent (tce) of ``amount`` ``unit`` of ``carrier``,
    with the GB/T 2589-2020 Appendix A reference coefficients (electricity at its
    equivalent value 0.1229 kgce/kWh), conf/energy_factors.yaml."""
    factors = factors or load_energy_factors()
    return _standard_amount(amount, carrier, unit, factors) * tce_per_unit(carrier, factors)


def to_tco2(amount: float, carrier: str, unit: str, factors: EnergyFactors | None = None) -> float:
    """Tonnes of CO2 of ``amount`` ``unit`` of ``carrier``: electricity at the
    configured grid factor (default MEE/NBS 2023 national average 0.5306
    kgCO2/kWh), fuels at their NCV x carbon content x oxidation defaults."""
    factors = factors or load_energy_factors()
    return _standard_amount(amount, carrier, unit, factors) * tco2_per_unit(carrier, factors)


# ---------------------------------------------------------------------------
# Process capability and defects (docs/maintenance-and-quality-kpis.md)
# ---------------------------------------------------------------------------

CP = Formula(
    "cp", ("stdev", "lsl", "usl"),
    value=lambda s, lsl, usl: (usl - lsl) / (6 * s),
    defined=lambda s, lsl, usl: s > 0,
    checks=(Check(NEGATIVE_STDEV, lambda s, lsl, usl: s < 0),
            Check(SPEC_LIMITS_INVERTED, lambda s, lsl, usl: lsl >= usl)))

DEFECT_SHARE = Formula(
    "defect_share", ("defects", "total_defects"),
    value=lambda n, total: n / total,
    defined=lambda n, total: total > 0,
    checks=(_neg(NEGATIVE_COUNT, 0, 1), Check(PART_EXCEEDS_PRODUCED, lambda n, total: n > total)))


def cp(stdev: float, lsl: float, usl: float) -> float | None:
    """Process potential index Cp = (USL - LSL) / (6 sigma) (ISO 22514-2 / AIAG SPC
    manual): the capability the process would have if centred; Cpk <= Cp always."""
    return evaluate(CP, stdev, lsl, usl)


def defect_share(defects: float, total_defects: float) -> float | None:
    """Share of one defect category in all defects of the period: the bar of a
    Pareto chart (Juran's Pareto principle; ASQ "Pareto chart" quality tool)."""
    return evaluate(DEFECT_SHARE, defects, total_defects)
