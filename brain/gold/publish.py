"""silver -> gold: recompute exactly the days that new or late data touched.

brain.clean.silver records every (table, event_date) that received rows in
``quality.touched_days``; publishing recomputes those days of each gold table
with a partition overwrite (``replaceWhere``), so running it twice gives the
same table, and a late record for an old day changes that day and no other,
except the neighbour its record type reaches (:func:`gold_days`: the next day
for state changes, the day before for an interval record stamped 00:00).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import reduce
from typing import TYPE_CHECKING

from brain.concurrency import run_side_by_side
from brain.config import Config
from brain.lake.day_writes import replace_days
from brain.lake.frames import local_frame
from brain.lake.tables import TOUCHED, is_delta, table_path

PUBLISHED_DAYS = "quality.published_days"

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


@dataclass(frozen=True)
class PublishResult:
    table: str
    days: tuple[date, ...]
    rows: int


def pending_days(spark: "SparkSession", cfg: Config, silver_name: str) -> list[date]:
    """Days with silver rows recorded after their last publish.

    Keyed by (table, day, run) *and* time: a continuous stream keeps one run
    id for hours, and each of its batches that touches an already-published
    day makes that day pending again.
    """
    return sorted({day for day, _ in pending_runs(cfg, silver_name)})


def pending_runs(cfg: Config, silver_name: str, before=None) -> set[tuple[date, str]]:
    """(day, run id) pairs of ``silver_name`` recorded since their last publish (and, with ``before``,
    recorded before that time)."""
    from brain.lake.ledger_reads import naive_utc, read_rows, sql_list

    where = f"\"table\" = {sql_list([silver_name])}"
    touched = read_rows(cfg, TOUCHED, ["event_date", "run_id", "recorded_at"], where) or []
    last: dict[tuple[date, str], object] = {}
    for day, run, at in read_rows(cfg, PUBLISHED_DAYS, ["event_date", "run_id", "published_at"], where) or []:
        last[(day, run)] = max(at, last.get((day, run), at))
    cutoff = naive_utc(before) if before is not None else None
    return {(day, run) for day, run, at in touched
            if ((day, run) not in last or at >= last[(day, run)]) and (cutoff is None or at < cutoff)}


def published_marks(cfg: Config, silver_name: str, days: list[date], started) -> list[tuple]:
    """quality.published_days rows for the days, stamped with the publish's *start*: rows
    recorded after it (while the publish read silver) stay pending for the next publish."""
    wanted = set(days)
    return sorted((silver_name, day, run, started) for day, run in pending_runs(cfg, silver_name, before=started)
                  if day in wanted)


def stamp_published(spark: "SparkSession", cfg: Config, marks: list[tuple]) -> None:
    """Append (table, event_date, run_id, published_at) rows to quality.published_days."""
    if marks:
        (local_frame(spark, marks, "table string, event_date date, run_id string, published_at timestamp")
         .write.format("delta").mode("append").save(str(table_path(cfg, PUBLISHED_DAYS))))


def _sources(spec) -> tuple[str, ...]:
    record_types = spec[0]
    return record_types if isinstance(record_types, tuple) else (record_types,)


# Record types whose rows describe the time until the next event (state
# changes): a late event also changes the next day, and computing a day needs
# the previous day's last state.
SPANS_DAYS = frozenset({"machine_state"})


def source_days(record_type: str, days) -> set[date]:
    """The silver days a gold day of ``record_type`` is computed from."""
    from datetime import timedelta

    from brain.gold.intervals import INTERVAL_END

    wanted = set(days)
    if record_type in SPANS_DAYS:
        wanted |= {d - timedelta(days=1) for d in days}
    if record_type in INTERVAL_END:  # the day's last interval is stamped 00:00 the day after
        wanted |= {d + timedelta(days=1) for d in days}
    return wanted


def gold_days(record_type: str, silver_days, earlier=()) -> set[date]:
    """The gold days that new silver rows of ``record_type`` on ``silver_days`` change: those days,
    the next day for state changes (a state lasts into it), and ``earlier``: the days before
    that new interval records cover (:func:`earlier_days`; a 00:00 stamp closes the day before)."""
    from datetime import timedelta

    out = set(silver_days) | set(earlier)
    if record_type in SPANS_DAYS:
        out |= {d + timedelta(days=1) for d in silver_days}
    return out


def earlier_days(spark: "SparkSession", cfg: Config, record_type: str, silver_name: str,
                 runs: set[tuple[date, str]]) -> set[date]:
    """Days before their silver day that the pending rows (``runs``: (day, run id) pairs,
    :func:`pending_runs`) of an interval record type cover; empty for other record types.

    Only the rows of the pending runs count: a day's 00:00 reading, already published with
    the day before, does not republish it with every later batch of the day.
    """
    from pyspark.sql import functions as F

    from brain.gold.intervals import INTERVAL_END, days_before

    path = table_path(cfg, silver_name)
    if record_type not in INTERVAL_END or not runs or not is_delta(path):
        return set()
    df = spark.read.format("delta").load(str(path)).where(F.col("event_date").isin(sorted({d for d, _ in runs})))
    # A silver table from before rows carried their run id: every row of the days counts.
    if "_run_id" in df.columns:
        by_day: dict[date, set[str]] = {}
        for day, run in runs:
            by_day.setdefault(day, set()).add(run)
        cond = [(F.col("event_date") == F.lit(d)) & F.col("_run_id").isin(sorted(rs)) for d, rs in by_day.items()]
        df = df.where(reduce(lambda a, b: a | b, cond))
    return {r["event_date"] for r in days_before(df, record_type).collect()}


def publish(spark: "SparkSession", cfg: Config, gold_name: str, sources: dict[str, str], transform,
            days: list[date], scope: dict[str, str] | None = None,
            silver: dict[str, "DataFrame"] | None = None, rows_of=None,
            kept: dict[str, "DataFrame"] | None = None) -> PublishResult:
    """Recompute ``days`` of one gold table from its silver sources (record type -> table).

    ``scope`` (column -> value, e.g. {"industry": "raw_materials"}) is for a table
    several industries write: only the rows of these days with those values are
    replaced. The scope columns are partition columns too, so writers of
    different scopes never conflict. ``silver`` (table -> rows) are sources
    already read (``read_sources``): they must hold every day this table needs.
    ``rows_of`` = (rows of another gold table for exactly these days, a
    transform over them) replaces ``transform`` over silver (a roll-up of a
    table just computed). ``kept`` receives the computed rows under the
    table's name, for roll-ups of it.
    """
    from pyspark.sql import functions as F

    if not days:
        return PublishResult(gold_name, (), 0)
    if rows_of is not None:
        base, over = rows_of
        computed = over(base.drop("computed_at"))
    else:
        frames = []
        for record_type, silver_name in sources.items():
            wanted = sorted(source_days(record_type, days))
            if silver is not None and silver_name in silver:
                frames.append(silver[silver_name].where(F.col("event_date").isin(wanted)))
                continue
            path = table_path(cfg, silver_name)
            if not is_delta(path):
                return PublishResult(gold_name, (), 0)  # a source has no data yet
            frames.append(spark.read.format("delta").load(str(path)).where(F.col("event_date").isin(wanted)))
        computed = transform(*frames)
    out = computed.where(F.col("event_date").isin(days)).withColumn("computed_at", F.current_timestamp())
    if kept is not None:  # a roll-up reads these rows after the table is overwritten
        out = out.localCheckpoint()
        kept[gold_name] = out
    # mergeSchema: a KPI column added in a new release lands in an existing table
    # (older partitions read it as null until their days are recomputed).
    rows = replace_days(out, table_path(cfg, gold_name), days, ["event_date", *(scope or {})], scope,
                        merge_schema="always", grades_as=gold_name)
    return PublishResult(gold_name, tuple(days), rows)


def read_sources(spark: "SparkSession", cfg: Config, wanted: dict[str, set[date]]) -> dict[str, "DataFrame"]:
    """Each silver table's rows of the wanted days, read once and materialised.

    An industry's gold tables and scorecard share a handful of silver tables;
    every Delta read of a table is several Spark jobs (snapshot, file
    filtering) before any row moves, so each table is read once per publish
    and the transforms filter the materialised rows. Tables without data are
    left out.
    """
    from pyspark.sql import functions as F

    out = {}
    for name, days in wanted.items():
        path = table_path(cfg, name)
        if days and is_delta(path):
            out[name] = (spark.read.format("delta").load(str(path))
                         .where(F.col("event_date").isin(sorted(days))).localCheckpoint())
    return out


def _options(options: dict) -> dict:
    """A GOLD entry's options that ``publish`` takes as they are (``rows_of`` is resolved by the caller)."""
    return {k: v for k, v in options.items() if k != "rows_of"}


def publish_industry(spark: "SparkSession", cfg: Config, industry: str, module) -> list[PublishResult]:
    """Recompute every gold table of the industry, and its data-quality scorecard,
    for the days its new silver data touched."""
    from brain.lake.tables import silver_table
    from brain.quality.scorecard import SCORECARD, publish_scorecard, scorecard_days

    tables = {rt: silver_table(industry, rt) for rt in cfg.get(f"industries.{industry}.record_types")}
    started = spark.sql("SELECT current_timestamp() AS t").first()["t"]  # before any silver read
    runs = {rt: pending_runs(cfg, name) for rt, name in tables.items()}
    pending = {rt: sorted({day for day, _ in runs[rt]}) for rt in tables}
    earlier = {rt: earlier_days(spark, cfg, rt, name, runs[rt]) for rt, name in tables.items()}
    plan = []
    for gold_name, spec in module.GOLD.items():
        days: set[date] = set()
        for rt in _sources(spec):
            days |= gold_days(rt, pending[rt], earlier[rt])
        options = spec[2] if len(spec) > 2 else {}  # e.g. {"scope": {...}} for a shared table
        plan.append((gold_name, {rt: tables[rt] for rt in _sources(spec)}, spec[1], sorted(days), options))
    # The scorecard covers every record type, gold sources or not (telemetry too).
    all_days = sorted(set().union(*pending.values()))
    wanted: dict[str, set[date]] = {name: scorecard_days(rt, all_days) if all_days else set()
                                    for rt, name in tables.items()}
    for _, sources, _, days, _ in plan:
        for rt, name in sources.items():
            wanted[name] |= source_days(rt, days)
    silver = read_sources(spark, cfg, wanted)
    # Roll-ups whose base table is published too, over the same days, are computed from its rows
    # afterwards; any other table (and a roll-up whose base is not) from silver, side by side.
    days_of = {g: d for g, _, _, d, _ in plan}
    rolled = {g for g, _, _, d, o in plan if "rows_of" in o and days_of.get(o["rows_of"][0]) == d}
    bases = {o["rows_of"][0] for g, _, _, _, o in plan if g in rolled}
    kept: dict[str, "DataFrame"] = {}
    workers = int(cfg.get("pipeline.gold_writers", 1))

    def job(g, s, t, d, o):
        if g not in rolled:
            return lambda: publish(spark, cfg, g, s, t, d, silver=silver, kept=kept if g in bases else None,
                                   **_options(o))
        base, over = o["rows_of"]
        return lambda: publish(spark, cfg, g, s, t, d, silver=silver, **_options(o),
                               rows_of=(kept[base], over) if base in kept else None)

    try:
        first = [job(*p) for p in plan if p[0] not in rolled]
        if all_days:  # first: the longest write (it reads quarantine and duplicates too) starts first
            first.insert(0, lambda: PublishResult(SCORECARD, tuple(all_days),
                                                  publish_scorecard(spark, cfg, industry, all_days, silver=silver)))
        done = run_side_by_side(first, workers)
        done += run_side_by_side([job(*p) for p in plan if p[0] in rolled], workers)
        by_table = {r.table: r for r in done}
        # Reported in the GOLD order, the scorecard last, as before.
        results = [by_table[g] for g, *_ in plan] + ([by_table[SCORECARD]] if all_days else [])
    finally:
        for df in [*silver.values(), *kept.values()]:
            df.unpersist()
    # One commit for every table of the industry: each is a Delta commit's fixed cost.
    stamp_published(spark, cfg, [m for rt, name in tables.items() if pending[rt]
                                 for m in published_marks(cfg, name, pending[rt], started)])
    return results
