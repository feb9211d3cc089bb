"""Spark gold transforms for the KPIs of brain.gold.kpi.formulas, evaluated from the SAME Formula objects.

``kpi_column(formula, *cols)`` runs a brain.gold.kpi.formulas Formula on Columns: the value
(null when undefined or when any impossible-input check fires) and the flag
codes that fired, so a formula change in brain.gold.kpi.formulas changes both the pure
function and the gold table.

Record quality (the envelope's OPC UA style flag): BAD records are excluded
from every sum and counted; UNCERTAIN ones are kept and counted. A BAD
machine_state event makes the time until the next event *unknown*: it counts
in neither planned operation time nor any state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from brain.gold.intervals import by_interval, interval_hour
from brain.gold.kpi import formulas as kpi

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

LINE_KEYS = ("enterprise", "site", "line", "event_date")
SITE_KEYS = ("enterprise", "site", "event_date")
DAY_S = 86400.0
DAY_S_INT, HOUR_S_INT = 86400, 3600
DEMAND_WINDOW_S = 900  # peak demand over 15-minute windows


def kpi_column(formula: kpi.Formula, *cols: "Column") -> tuple["Column", "Column"]:
    """(value, flags) Columns of ``formula`` over ``cols``; flags is array<string>."""
    from pyspark.sql import functions as F

    flags = F.array_compact(F.array(*[F.when(c.test(*cols), F.lit(c.flag)) for c in formula.checks]))
    value = formula.value(*cols)
    if isinstance(value, tuple):  # cpk: the worse side
        value = F.least(*value)
    return F.when((F.size(flags) == 0) & formula.defined(*cols), value.cast("double")), flags


def _seconds(ts: "Column") -> "Column":
    from pyspark.sql import functions as F

    return F.unix_micros(ts) / 1e6


def state_segments(machine_state: "DataFrame", period_s: int = DAY_S_INT) -> "DataFrame":
    """One row per device, state interval and UTC period (day or hour) it overlaps, with ``seconds``.

    A device stays in a state until its next machine_state event (docs/contracts.md);
    intervals come from consecutive events per device ordered by time and are
    clipped to each period (``bucket_start``, ``day``). The last event's interval
    is closed at the end of its day. Time before the device's first known event
    is not covered (unknown). ``home``: the period the event itself lies in.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    dev = Window.partitionBy("enterprise", "site", "line", "device").orderBy("event_ts_utc", "event_id")
    day_end = lambda d: F.to_timestamp(F.date_add(d, 1))  # noqa: E731
    bucket = lambda ts: F.floor(_seconds(ts) / period_s)  # noqa: E731
    at = lambda b: F.timestamp_seconds(b * period_s)  # noqa: E731
    ev = (machine_state
          .withColumn("seg_start", F.col("event_ts_utc"))
          .withColumn("seg_end", F.coalesce(F.lead("event_ts_utc").over(dev), day_end(F.col("event_date"))))
          .withColumn("prev_state", F.lag("state").over(dev))
          .withColumn("prev_planned", F.lag("planned").over(dev))
          .withColumn("prev_quality", F.lag("quality").over(dev)))
    seg = (ev.withColumn("_b", F.explode(F.sequence(bucket(F.col("seg_start")), bucket(F.col("seg_end")))))
             .withColumn("bucket_start", at(F.col("_b")))
             .withColumn("seconds", _seconds(F.least("seg_end", at(F.col("_b") + 1)))
                         - _seconds(F.greatest("seg_start", "bucket_start")))
             .withColumn("day", F.to_date("bucket_start"))
             .withColumn("home", F.col("_b") == bucket(F.col("event_ts_utc")))
             .drop("_b"))
    return seg.where((F.col("seconds") > 0) | F.col("home"))


def device_times(machine_state: "DataFrame", period_s: int = DAY_S_INT) -> "DataFrame":
    """ISO 22400 time elements per device and UTC period (``bucket_start``), in seconds."""
    from pyspark.sql import functions as F

    seg = state_segments(machine_state, period_s)
    good = F.col("quality") != "BAD"
    running = good & (F.col("state") == "RUNNING")
    stopped = good & (F.col("state") != "RUNNING")
    secs = lambda cond: F.coalesce(F.sum(F.when(cond, F.col("seconds"))), F.lit(0.0))  # noqa: E731
    unplanned_down = stopped & (F.col("state") == "DOWN") & ~F.col("planned")
    # A failure = entering unplanned DOWN (a repeated DOWN event is the same failure).
    same_as_before = ((F.col("prev_state") == "DOWN") & ~F.col("prev_planned")
                      & (F.col("prev_quality") != "BAD"))
    failure = F.col("home") & unplanned_down & ~F.coalesce(same_as_before, F.lit(False))
    return (seg.groupBy("enterprise", "site", "line", "device", F.col("day").alias("event_date"), "bucket_start")
            .agg(secs(good).alias("pot_s"),
                 secs(running).alias("apt_s"),
                 secs(stopped & F.col("planned")).alias("planned_down_s"),
                 secs(stopped & (F.col("state") == "SETUP") & ~F.col("planned")).alias("setup_s"),
                 secs(unplanned_down).alias("unplanned_down_s"),
                 secs(stopped & (F.col("state") == "IDLE") & ~F.col("planned")).alias("unplanned_idle_s"),
                 F.count_if(failure).alias("failures"),
                 F.count_if(F.col("home")).alias("state_records"),
                 F.count_if(F.col("home") & (F.col("quality") == "UNCERTAIN")).alias("state_uncertain_records"),
                 F.count_if(F.col("home") & (F.col("quality") == "BAD")).alias("state_bad_records_excluded"))
            # BAD-covered time plus time before the first known event: PERIOD - POT
            .withColumn("unknown_state_s", F.lit(float(period_s)) - F.col("pot_s")))


def line_production(production: "DataFrame", hourly: bool = False) -> "DataFrame":
    """Counts and ideal (planned) run time per line and day (or hour) the reports' intervals cover
    (brain.gold.intervals); BAD excluded, counted.

    ``ideal_good_s`` = sum(planned_cycle_time_s x good): the fully productive
    time, which the roll-ups sum across lines making different products.
    """
    from pyspark.sql import functions as F

    production = by_interval(production, "production")
    keys = [F.col(k) for k in LINE_KEYS]
    if hourly:
        keys.append(interval_hour(F.col("end_ts_utc")).alias("hour_start"))
    good = F.col("quality") != "BAD"
    total = lambda c: F.coalesce(F.sum(F.when(good, c)), F.lit(0))  # noqa: E731
    return (production.groupBy(*keys)
            .agg(total(F.col("produced")).alias("produced"), total(F.col("good")).alias("good"),
                 total(F.col("scrap")).alias("scrap"), total(F.col("rework")).alias("rework"),
                 total(F.col("planned_cycle_time_s") * F.col("produced")).cast("double").alias("ideal_run_s"),
                 total(F.col("planned_cycle_time_s") * F.col("good")).cast("double").alias("ideal_good_s"),
                 F.count_if(good).alias("production_records"),
                 F.count_if(F.col("quality") == "UNCERTAIN").alias("production_uncertain_records"),
                 F.count_if(~good).alias("production_bad_records_excluded")))


def daily_line_oee(production: "DataFrame", machine_state: "DataFrame") -> "DataFrame":
    """gold.<industry>_oee_daily_line: ISO 22400-2 OEE per enterprise/site/line/day.

    The line's time basis is the device that counts its production (end of line,
    docs/contracts.md): it is RUNNING only while the line produces (the others
    starve it). POT = time with a known state in the day; PDOT = planned stops;
    PBT = POT - PDOT; APT = RUNNING time. PRU = production-weighted planned cycle
    time, so PRU x PQ = sum(planned_cycle_time_s x produced).

    Production counts in the day its reports' intervals cover (brain.gold.intervals:
    a report ending 00:00 belongs to the day before), so ``production`` may include
    the day after the requested ones. ``machine_state`` may include the days before the requested ones: the last
    event before midnight sets the state at 00:00 (without it that time is
    ``unknown_state_s``). Rows come for every day the frames cover; callers keep
    the days they recompute.
    """
    return line_oee(production, machine_state, hourly=False)


def hourly_line_oee(production: "DataFrame", machine_state: "DataFrame") -> "DataFrame":
    """gold.<industry>_oee_hourly_line: as :func:`daily_line_oee` per UTC hour (``hour_start``).

    States are split at hour boundaries; a production report counts in the hour
    its interval ends in (brain.gold.intervals.interval_hour). A report that straddles an
    hour boundary puts all its units in the later hour, so an hour around a
    start or stop can be flagged ``faster_than_ideal`` / ``counts_without_run_time``
    (its OEE null) while the day is fine: read trends from the hourly table and
    totals from the daily one.
    """
    return line_oee(production, machine_state, hourly=True)


def with_oee_kpis(df: "DataFrame", effectiveness: tuple["Column", "Column"], quality: tuple["Column", "Column"],
                  *more_flags: "Column") -> "DataFrame":
    """Adds availability, effectiveness, quality_ratio, utilisation, mtbf_s, mttr_s, oee and ``flags``
    (sorted, distinct; with ``more_flags``) to ``df`` of ISO 22400 time components
    (apt_s, pbt_s, setup_s, unplanned_down_s, failures).

    Shared by a line and the roll-ups so OEE is the same product of the same
    checked components at every level. They differ only in where E and QR come
    from: ``effectiveness`` and ``quality`` are :func:`kpi_column` pairs (a line
    has its PRU and counts, a roll-up only summed ideal times).
    """
    from pyspark.sql import functions as F

    col = F.col
    a, a_flags = kpi_column(kpi.AVAILABILITY, col("apt_s"), col("pbt_s"))
    (e, e_flags), (q, q_flags) = effectiveness, quality
    aubt = col("apt_s") + col("setup_s") + col("unplanned_down_s")
    u, u_flags = kpi_column(kpi.UTILISATION, col("apt_s"), aubt)
    mtbf, mtbf_flags = kpi_column(kpi.MTBF, col("apt_s"), col("failures"))
    mttr, mttr_flags = kpi_column(kpi.MTTR, col("unplanned_down_s"), col("failures"))
    # withColumns, not a withColumn each: every call re-analyses the whole plan.
    df = df.withColumns({"availability": a, "effectiveness": e, "quality_ratio": q,
                         "utilisation": u, "mtbf_s": mtbf, "mttr_s": mttr})
    o, o_flags = kpi_column(kpi.OEE, col("availability"), col("effectiveness"), col("quality_ratio"))
    flags = F.concat(a_flags, e_flags, q_flags, u_flags, mtbf_flags, mttr_flags, o_flags, *more_flags)
    return df.withColumns({"oee": o, "flags": F.array_sort(F.array_distinct(flags))})


def line_oee(production: "DataFrame", machine_state: "DataFrame", hourly: bool = False) -> "DataFrame":
    from pyspark.sql import functions as F

    keys = list(LINE_KEYS) + (["hour_start"] if hourly else [])
    prod = line_production(production, hourly)
    counting = (production.where(F.col("quality") != "BAD")
                .select("enterprise", "site", "line", "device").distinct())
    times = (device_times(machine_state, HOUR_S_INT if hourly else DAY_S_INT)
             .withColumnRenamed("bucket_start", "hour_start")
             .join(counting, ["enterprise", "site", "line", "device"], "left_semi"))
    if not hourly:
        times = times.drop("hour_start")
    sum_cols = ["pot_s", "unknown_state_s", "apt_s", "planned_down_s", "setup_s", "unplanned_down_s",
                "unplanned_idle_s", "failures", "state_records", "state_uncertain_records",
                "state_bad_records_excluded"]
    times = times.groupBy(*keys).agg(*[F.sum(c).alias(c) for c in sum_cols],
                                     F.collect_set("device").alias("time_basis_devices"))
    df = prod.join(times, keys, "full_outer")
    zero = {c: 0 for c in sum_cols + ["produced", "good", "scrap", "rework", "ideal_run_s", "ideal_good_s",
                                      "production_records", "production_uncertain_records",
                                      "production_bad_records_excluded"]}
    df = df.fillna(zero).withColumn("time_basis_devices",
                                    F.coalesce("time_basis_devices", F.array().cast("array<string>")))

    col = F.col
    pbt, pbt_flags = kpi_column(kpi.PLANNED_BUSY_TIME, col("pot_s"), col("planned_down_s"))
    df = df.withColumns({
        "pbt_s": pbt,
        "pru_s": F.when(col("produced") > 0, col("ideal_run_s") / col("produced")).otherwise(F.lit(0.0))})
    s, s_flags = kpi_column(kpi.SCRAP_RATIO, col("scrap"), col("produced"))
    r, r_flags = kpi_column(kpi.REWORK_RATIO, col("rework"), col("produced"))
    fpy, fpy_flags = kpi_column(kpi.FIRST_PASS_YIELD, col("good"), col("produced"))
    # first_pass_yield from good / produced: good excludes scrap and rework (contract)
    df = df.withColumns({"scrap_ratio": s, "rework_ratio": r, "first_pass_yield": fpy})
    no_state = F.when((col("produced") > 0) & (col("state_records") == 0) & (col("pot_s") == 0),
                      F.array(F.lit("no_state_for_counting_device"))).otherwise(F.array().cast("array<string>"))
    df = with_oee_kpis(df, kpi_column(kpi.EFFECTIVENESS, col("pru_s"), col("produced"), col("apt_s")),
                       kpi_column(kpi.QUALITY_RATIO, col("good"), col("produced")),
                       pbt_flags, s_flags, r_flags, fpy_flags, no_state)
    return (df.withColumns({
                "uncertain_records": col("production_uncertain_records") + col("state_uncertain_records"),
                "bad_records_excluded": col("production_bad_records_excluded") + col("state_bad_records_excluded")})
              .select(*keys, "pot_s", "planned_down_s", "pbt_s", "apt_s", "setup_s", "unplanned_down_s",
                      "unplanned_idle_s", "unknown_state_s", "failures", "produced", "good", "scrap", "rework",
                      "ideal_run_s", "ideal_good_s", "availability", "effectiveness", "quality_ratio", "oee",
                      "scrap_ratio", "rework_ratio", "first_pass_yield", "utilisation", "mtbf_s", "mttr_s", "flags",
                      "time_basis_devices", "production_records", "state_records", "uncertain_records",
                      "bad_records_excluded", "production_uncertain_records", "production_bad_records_excluded",
                      "state_uncertain_records", "state_bad_records_excluded"))


def daily_site_energy_carbon(energy: "DataFrame", factors: kpi.EnergyFactors | None = None) -> "DataFrame":
    """gold.energy_carbon_daily_site: per enterprise/site/day, consumption per carrier
    (``<carrier>_<unit>``, silver standard units), tce (GB/T 2589) and tCO2. A reading
    counts in the day its interval covers (brain.gold.intervals: 00:00 closes the day before).

    Peak demand = the largest 15-minute site demand (sum of the meters' demand_kw
    in that window; a reading stamped at 08:15 is the 08:00-08:15 window); load
    factor = mean / peak of those windows; power factor = the kWh-weighted mean
    of the meters' power factor. BAD readings are excluded and counted;
    UNCERTAIN ones kept and counted.
    """
    return site_energy_carbon(energy, factors, hourly=False)


def hourly_site_energy_carbon(energy: "DataFrame", factors: kpi.EnergyFactors | None = None) -> "DataFrame":
    """gold.energy_hourly_site: :func:`daily_site_energy_carbon` per UTC hour (``hour_start``);
    a reading counts in the hour its interval ends in (brain.gold.intervals.interval_hour)."""
    return site_energy_carbon(energy, factors, hourly=True)


def site_energy_carbon(energy: "DataFrame", factors: kpi.EnergyFactors | None = None,
                       hourly: bool = False) -> "DataFrame":
    from pyspark.sql import functions as F

    factors = factors or kpi.load_energy_factors()
    keys = list(SITE_KEYS) + (["hour_start"] if hourly else [])
    energy = by_interval(energy, "energy_meter")
    if hourly:
        energy = energy.withColumn("hour_start", interval_hour(F.col("event_ts_utc")))
    good = F.col("quality") != "BAD"
    carriers = sorted(factors.carriers)
    col_of = {c: f"{c}_{factors.carriers[c].unit}".lower() for c in carriers}
    per_carrier = [F.coalesce(F.sum(F.when(good & (F.col("carrier") == c), F.col("value"))), F.lit(0.0))
                   .alias(col_of[c]) for c in carriers]
    known = F.col("carrier").isin(*carriers)
    totals = (energy.groupBy(*keys)
              .agg(*per_carrier,
                   F.count_if(good).alias("readings"),
                   F.count_if(F.col("quality") == "UNCERTAIN").alias("uncertain_records"),
                   F.count_if(~good).alias("bad_records_excluded"),
                   F.count_if(good & ~known).alias("readings_without_factor")))
    tce = sum((F.col(col_of[c]) * F.lit(kpi.tce_per_unit(c, factors)) for c in carriers), F.lit(0.0))
    tco2 = sum((F.col(col_of[c]) * F.lit(kpi.tco2_per_unit(c, factors)) for c in carriers), F.lit(0.0))
    totals = totals.withColumn("tce", tce).withColumn("tco2", tco2)

    # Interval-ending stamps: 08:15 closes the 08:00-08:15 window.
    window = F.floor((_seconds(F.col("event_ts_utc")) - 1e-6) / DEMAND_WINDOW_S)
    electric = energy.where(good & (F.col("carrier") == "electricity"))
    demand = (electric.where(F.col("demand_kw").isNotNull())
              .groupBy(*keys, window.alias("_w")).agg(F.sum("demand_kw").alias("_kw"))
              .groupBy(*keys).agg(F.max("_kw").alias("peak_demand_kw"), F.avg("_kw").alias("avg_demand_kw")))
    pf = (electric.where(F.col("power_factor").isNotNull())
          .groupBy(*keys)
          .agg((F.sum(F.col("power_factor") * F.col("value")) / F.sum("value")).alias("power_factor")))
    out = totals.join(demand, keys, "left").join(pf, keys, "left")
    lf, lf_flags = kpi_column(kpi.LOAD_FACTOR, F.col("avg_demand_kw"), F.col("peak_demand_kw"))
    return out.withColumn("load_factor", lf).withColumn("flags", lf_flags)
