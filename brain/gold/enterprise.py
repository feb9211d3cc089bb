"""gold.enterprise_brain: one wide row per enterprise/site/day with the headline KPIs.

Built AFTER the per-industry gold tables, from them (not from silver):

- OEE and its components: the ISA-95 roll-up (brain.gold.rollup) of every
  industry's ``gold.<industry>_oee_daily_line`` rows at the site, summing the
  components and recomputing the ratios, never averaging them;
- energy: ``gold.energy_carbon_daily_site`` (electricity kWh, tce, tCO2, peak
  demand, load factor, power factor) and the energy intensity per unit of
  output (null where the site reports no production);
- ``dq_score``: the mean of the industries' ``overall`` score in
  ``gold.data_quality_daily`` for the site and day;
- ``pdm_alerts`` / ``safety_exceedances``: from ``gold.pdm_alerts`` and
  ``gold.raw_materials_safety_exceedances_daily`` when those tables exist
  (null when they do not, 0 when they exist with nothing for the site/day).

gold.enterprise_brain_hourly is the same row per site and UTC hour
(``hour_start``), built with the daily table for the same days from the hourly
line OEE tables, ``gold.energy_hourly_site`` and the alerts raised in the hour
(``alert_ts``); ``dq_score`` and ``safety_exceedances`` are daily figures and
null there.

Only the days whose source rows were recomputed since the last build are
rebuilt (``computed_at`` of the sources newer than the day's last build), with
a partition overwrite, so a late record changes its day's row and no other.
Each build is stamped per day in ``quality.published_days``: a day whose
sources yield no enterprise row (only quarantined records that day) is then
built once, not again in every cycle.
The column list :data:`COLUMNS` is a contract: the dashboard and the Kafka
publisher read it.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from brain.config import Config
from brain.gold.kpi import formulas as kpi
from brain.gold.kpi.columns import kpi_column
from brain.gold.rollup import rollup_components, with_ratios
from brain.lake.day_writes import replace_days
from brain.lake.tables import is_delta, table_path

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from pyspark.sql import DataFrame, SparkSession

ENTERPRISE_BRAIN = "gold.enterprise_brain"
ENTERPRISE_BRAIN_HOURLY = "gold.enterprise_brain_hourly"
ENERGY = "gold.energy_carbon_daily_site"
ENERGY_HOURLY = "gold.energy_hourly_site"
SCORECARD = "gold.data_quality_daily"
PDM_ALERTS = "gold.pdm_alerts"
SAFETY = "gold.raw_materials_safety_exceedances_daily"
KEYS = ("enterprise", "site", "event_date")
HOUR_KEYS = (*KEYS, "hour_start")

# The contract (name, Spark type), in order; extra columns follow.
COLUMNS = (("enterprise", "string"), ("site", "string"), ("event_date", "date"),
           ("oee", "double"), ("availability", "double"), ("performance", "double"), ("quality_ratio", "double"),
           ("produced_count", "long"), ("good_count", "long"),
           ("energy_kwh", "double"), ("energy_tce", "double"), ("co2_t", "double"), ("peak_demand_kw", "double"),
           ("dq_score", "double"), ("pdm_alerts", "long"), ("safety_exceedances", "long"),
           ("records_bad", "long"), ("records_uncertain", "long"), ("computed_at", "timestamp"))
EXTRA = (("energy_intensity_kgce_per_unit", "double"), ("load_factor", "double"), ("power_factor", "double"),
         ("pbt_s", "double"), ("apt_s", "double"), ("ideal_run_s", "double"), ("ideal_good_s", "double"),
         ("lines", "long"), ("lines_flagged", "long"), ("industries", "array<string>"), ("flags", "array<string>"))


def columns(hourly: bool = False) -> tuple[tuple[str, str], ...]:
    """The contract columns of gold.enterprise_brain, or of gold.enterprise_brain_hourly
    (``hour_start`` after the day)."""
    if not hourly:
        return COLUMNS
    return COLUMNS[:3] + (("hour_start", "timestamp"),) + COLUMNS[3:]


def _site_counts(df: "DataFrame | None", count_col: str | None, keys: list[str]) -> "DataFrame | None":
    """(``keys``, n): rows per key, or the sum of ``count_col`` when the table has one."""
    from pyspark.sql import functions as F

    if df is None:
        return None
    n = F.sum(F.col(count_col)) if count_col and count_col in df.columns else F.count(F.lit(1))
    return df.groupBy(*keys).agg(n.cast("long").alias("n"))


def enterprise_brain(lines: "DataFrame | None", energy: "DataFrame | None" = None, dq: "DataFrame | None" = None,
                     pdm: "DataFrame | None" = None, safety: "DataFrame | None" = None,
                     hourly: bool = False) -> "DataFrame":
    """The enterprise_brain rows from the gold frames (pure: DataFrames in, DataFrame out).

    ``lines``: union of gold.<industry>_oee_daily_line rows with an ``industry``
    column; ``energy``: gold.energy_carbon_daily_site; ``dq``: gold.data_quality_daily;
    ``pdm`` / ``safety``: None when the table does not exist. ``hourly``: the
    gold.enterprise_brain_hourly rows instead, from the ``_oee_hourly_line`` rows and
    gold.energy_hourly_site; ``pdm`` alerts count in the hour of their ``alert_ts``;
    pass no ``dq`` / ``safety`` (daily figures).
    """
    from pyspark.sql import functions as F

    if lines is None and energy is None:
        raise ValueError("enterprise_brain needs line OEE rows or site energy rows")
    keys = HOUR_KEYS if hourly else KEYS
    frames = []
    if lines is not None:
        site = with_ratios(rollup_components(lines, keys))
        ind = lines.groupBy(*keys).agg(F.array_sort(F.collect_set("industry")).alias("industries"))
        frames.append(site.join(ind, list(keys), "left").select(
            *keys, "oee", "availability", F.col("effectiveness").alias("performance"), "quality_ratio",
            F.col("produced").cast("long").alias("produced_count"), F.col("good").cast("long").alias("good_count"),
            "pbt_s", "apt_s", "ideal_run_s", "ideal_good_s", "lines", "lines_flagged", "industries", "flags",
            F.col("bad_records_excluded").alias("_bad_l"), F.col("uncertain_records").alias("_unc_l")))
    if energy is not None:
        frames.append(energy.select(
            *keys, F.col("electricity_kwh").alias("energy_kwh"), F.col("tce").alias("energy_tce"),
            F.col("tco2").alias("co2_t"), "peak_demand_kw", "load_factor", "power_factor",
            F.col("bad_records_excluded").alias("_bad_e"), F.col("uncertain_records").alias("_unc_e")))
    out = frames[0]
    for f in frames[1:]:
        out = out.join(f, list(keys), "full_outer")
    for name, typ in columns(hourly) + EXTRA + (("_bad_l", "long"), ("_unc_l", "long"), ("_bad_e", "long"),
                                        ("_unc_e", "long")):
        if name not in out.columns and name not in ("dq_score", "pdm_alerts", "safety_exceedances", "computed_at"):
            out = out.withColumn(name, F.lit(None).cast(typ))

    if dq is not None:
        score = dq.groupBy("site", "event_date").agg(F.avg("overall").alias("dq_score"))
        out = out.join(score, ["site", "event_date"], "left")
    else:
        out = out.withColumn("dq_score", F.lit(None).cast("double"))
    site_keys = list(keys[1:])
    if hourly and pdm is not None:
        pdm = pdm.withColumn("hour_start", F.date_trunc("hour", "alert_ts"))
    for name, counts in (("pdm_alerts", _site_counts(pdm, None, site_keys)),
                         ("safety_exceedances", _site_counts(safety, "exceedances", site_keys))):
        if counts is None:
            out = out.withColumn(name, F.lit(None).cast("long"))
        else:
            out = (out.join(counts, site_keys, "left")
                      .withColumn(name, F.coalesce(F.col("n"), F.lit(0)).cast("long")).drop("n"))

    zero = lambda c: F.coalesce(F.col(c), F.lit(0))  # noqa: E731
    intensity, i_flags = kpi_column(kpi.ENERGY_INTENSITY, F.col("energy_tce") * 1000, F.col("produced_count"))
    out = (out.withColumn("records_bad", (zero("_bad_l") + zero("_bad_e")).cast("long"))
              .withColumn("records_uncertain", (zero("_unc_l") + zero("_unc_e")).cast("long"))
              .withColumn("energy_intensity_kgce_per_unit", intensity)
              .withColumn("flags", F.array_sort(F.array_distinct(F.concat(
                  F.coalesce(F.col("flags"), F.array().cast("array<string>")), i_flags))))
              .withColumn("computed_at", F.current_timestamp()))
    return out.select(*[F.col(n).cast(t).alias(n) for n, t in columns(hourly) + EXTRA])


# ---------------------------------------------------------------------------
# I/O: which days to rebuild, read the sources, write the days
# ---------------------------------------------------------------------------

def line_tables(gold_tables: "Mapping[str, Iterable[str]]") -> dict[str, str]:
    """industry -> its gold line OEE table, for every industry whose gold tables include one.

    ``gold_tables``: industry -> the names of its gold tables. The caller reads
    them from the industry modules, which sit above gold (their GOLD dicts name
    gold transforms), so gold never imports them.
    """
    out = {}
    for ind, names in gold_tables.items():
        name = f"gold.{ind}_oee_daily_line"
        if name in names:
            out[ind] = name
    return out


def _read(spark: "SparkSession", cfg: Config, name: str) -> "DataFrame | None":
    path = table_path(cfg, name)
    return spark.read.format("delta").load(str(path)) if is_delta(path) else None


def pending_days(spark: "SparkSession", cfg: Config, lines: dict[str, str]) -> list[date]:
    """Days whose source gold rows were recomputed after their last enterprise build started (or never built).

    ``lines``: industry -> gold line OEE table (:func:`line_tables`)."""
    from brain.lake.ledger_reads import column_names, select

    # Read without Spark (brain.lake.ledger_reads): a Spark read of each of these tables costs about a second.
    src: dict[date, object] = {}
    for name in [*lines.values(), ENERGY, SCORECARD, PDM_ALERTS, SAFETY]:
        if {"event_date", "computed_at"} <= set(column_names(cfg, name)):
            sql = "SELECT event_date, max(computed_at) FROM _ledger GROUP BY event_date"
            for day, at in select(cfg, name, sql, scan=["event_date", "computed_at"]) or []:
                src[day] = max((t for t in (src.get(day), at) if t is not None), default=None)
    if not src:
        return []
    # Only the build stamp counts as done, not the daily table's computed_at: a build that died after
    # writing gold.enterprise_brain but before the hourly table or the announcement is redone whole.
    done = dict(_builds(cfg))
    return sorted(day for day, at in src.items() if day not in done or done[day] is None
                  or (at is not None and at > done[day]))


def _builds(cfg: Config) -> list[tuple[date, object]]:
    """(day, start of its last build) from quality.published_days."""
    from brain.gold.publish import PUBLISHED_DAYS
    from brain.lake.ledger_reads import select, sql_list

    sql = (f"SELECT event_date, max(published_at) FROM _ledger WHERE \"table\" = {sql_list([ENTERPRISE_BRAIN])} "
           f"GROUP BY event_date")
    return select(cfg, PUBLISHED_DAYS, sql) or []


def _mark_built(spark: "SparkSession", cfg: Config, days: list[date], started) -> None:
    """Stamp ``days`` with the build's start: a source recomputed while it read stays pending."""
    from brain.gold.publish import stamp_published

    stamp_published(spark, cfg, [(ENTERPRISE_BRAIN, d, "enterprise_brain", started) for d in days])


def hourly_line_tables(lines: dict[str, str]) -> dict[str, str]:
    """industry -> its hourly line OEE table, for the industries of ``lines`` (:func:`line_tables`)."""
    return {ind: name.replace("_oee_daily_line", "_oee_hourly_line") for ind, name in lines.items()}


def build(spark: "SparkSession", cfg: Config, days: list[date], lines: dict[str, str],
          hourly: bool = False) -> "DataFrame | None":
    """The rows of ``days`` (hourly: of gold.enterprise_brain_hourly, ``lines`` then naming the
    hourly line tables); None when no source has anything."""
    from functools import reduce

    from pyspark.sql import functions as F

    def read(name):
        df = _read(spark, cfg, name)
        return None if df is None else df.where(F.col("event_date").isin(days))

    frames = [df.withColumn("industry", F.lit(ind)) for ind, name in lines.items()
              if (df := read(name)) is not None]
    cols = ["industry", *(HOUR_KEYS if hourly else KEYS), "flags", "pbt_s", "apt_s", "ideal_run_s", "ideal_good_s",
            "pot_s", "planned_down_s", "setup_s", "unplanned_down_s", "failures", "produced", "good", "scrap", "rework",
            "uncertain_records", "bad_records_excluded"]
    # A table written before a column existed reads it as null (rollup derives ideal_good_s then).
    frames = [df.select(*[F.col(c) if c in df.columns else F.lit(None).cast("double").alias(c) for c in cols])
              for df in frames]
    line_df = reduce(lambda a, b: a.unionByName(b), frames) if frames else None
    energy = read(ENERGY_HOURLY if hourly else ENERGY)
    if line_df is None and energy is None:
        return None
    if hourly:
        return enterprise_brain(line_df, energy, pdm=read(PDM_ALERTS), hourly=True)
    return enterprise_brain(line_df, energy, read(SCORECARD), read(PDM_ALERTS), read(SAFETY))


def publish_enterprise(spark: "SparkSession", cfg: Config, lines: dict[str, str],
                       days: list[date] | None = None,
                       after_write: "Callable[[list[str]], object] | None" = None) -> dict:
    """Rebuild gold.enterprise_brain and gold.enterprise_brain_hourly for ``days`` (default: the
    pending ones) from the industries' line OEE tables ``lines`` (:func:`line_tables`); returns a report.

    ``after_write(days)`` (e.g. the brain.metrics announcement) runs after both tables are written and
    before the days are stamped built: if anything up to it fails, a retry rebuilds the same days (both
    tables are overwritten per day, so that repeats nothing but the announcement: at least once)."""
    started = spark.sql("SELECT current_timestamp() AS t").first()["t"]  # before any source read
    days = sorted(set(days)) if days is not None else pending_days(spark, cfg, lines)
    if not days:
        return {"table": ENTERPRISE_BRAIN, "days": [], "rows": 0}
    df = build(spark, cfg, days, lines)
    if df is None:
        _mark_built(spark, cfg, days, started)
        return {"table": ENTERPRISE_BRAIN, "days": [], "rows": 0}
    rows = _write_days(cfg, ENTERPRISE_BRAIN, df, days)
    hourly = build(spark, cfg, days, hourly_line_tables(lines), hourly=True)
    hourly_rows = _write_days(cfg, ENTERPRISE_BRAIN_HOURLY, hourly, days) if hourly is not None else 0
    report = {"table": ENTERPRISE_BRAIN, "days": [d.isoformat() for d in days], "rows": rows,
              "hourly_table": ENTERPRISE_BRAIN_HOURLY, "hourly_rows": hourly_rows}
    if after_write is not None:
        report["after_write"] = after_write(report["days"])
    _mark_built(spark, cfg, days, started)
    return report


def _write_days(cfg: Config, name: str, df: "DataFrame", days: list[date]) -> int:
    """Replace ``days`` of table ``name`` with ``df``'s rows; returns how many."""
    return replace_days(df, table_path(cfg, name), days, ["event_date"], grades_as=name)
