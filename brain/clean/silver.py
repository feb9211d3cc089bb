"""bronze rows -> silver + quarantine + counted duplicates.

``judge`` decides each record's fate with brain.clean.fate and
brain.clean.dedupe; ``write_judged`` writes a batch of them (the industry's
one pass, brain.clean.industry_pass, hands it every record type of a Kafka
micro-batch; backfill and quarantine replay one record type read from
bronze). Every write is keyed so that replaying a batch after a crash
changes nothing (brain.clean.writes):
- silver on ``event_id`` (a record resent a day later is still one row);
- quarantine and duplicates on the Kafka coordinates (topic, partition, offset).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from brain.clean.dedupe import duplicates_frame, mark_duplicates, recent_silver, split_duplicates, stored_silver
from brain.clean.fate import (
    QUARANTINE_COLUMNS,
    Limits,
    classify,
    decode,
    fate_columns,
    parse,
    silver_columns,
    to_quarantine,
    to_silver,
    undeclared_fields,
)
from brain.clean.pseudonym import load_key, personal_fields, pseudonymise, scrub_payload
from brain.clean.schema_evolution import evolve
from brain.clean.shared_tables import shared_stats_property
from brain.clean.writes import not_recorded, record_touched, streaming_target_exists, write
from brain.concurrency import run_side_by_side
from brain.config import Config
from brain.contracts.specs import RecordSpec
from brain.faults import kill_point
from brain.lake.stats_columns import stats_property
from brain.lake.tables import DUPLICATES, QUARANTINE, is_delta, table_path
from brain.lake.writers import table_lock

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

log = logging.getLogger(__name__)


@dataclass
class CleanResult:
    table: str
    bronze_rows: int = 0
    inserted: int = 0
    quarantined: int = 0
    duplicates: int = 0
    touched_days: set = field(default_factory=set)
    seconds: dict = field(default_factory=dict)  # phase -> seconds, summed over batches (the profile)
    batches: int = 0
    # Field name -> valid records that carried it though their contract does not declare it:
    # not a silver column, kept only in bronze's raw payload (brain.clean.fate.undeclared_fields).
    undeclared_fields: dict = field(default_factory=dict)

    def add(self, other: "CleanResult") -> None:
        self.bronze_rows += other.bronze_rows
        self.inserted += other.inserted
        self.quarantined += other.quarantined
        self.duplicates += other.duplicates
        self.touched_days |= other.touched_days
        self.batches += 1
        for k, v in other.undeclared_fields.items():
            self.undeclared_fields[k] = self.undeclared_fields.get(k, 0) + v
        for k, v in other.seconds.items():
            self.seconds[k] = round(self.seconds.get(k, 0.0) + v, 3)

    def as_dict(self) -> dict:
        """The plain report (an XCom, JSON): touched days as sorted ISO dates."""
        from dataclasses import asdict

        return {**asdict(self), "touched_days": sorted(str(d) for d in self.touched_days)}


def limits(cfg: Config) -> Limits:
    """The checks' limits from config, and the registered places of every configured industry
    (conf/assets.yaml): a record from anywhere else is quarantined ``unknown_asset``."""
    from brain.contracts.assets import load_registry

    registry = load_registry()
    return Limits(
        max_payload_bytes=int(cfg.get("pipeline.max_payload_bytes", 1048576)),
        future_tolerance_s=int(cfg.get("pipeline.future_tolerance_s", 300)),
        late_horizon_days=int(cfg.get("pipeline.late_horizon_days", 30)),
        assets=tuple((ind, *place) for ind in cfg.industry_names() for place in registry.locations(ind)),
        topic_prefix=str(cfg.get("kafka.topic_prefix", "") or ""),
    )


def _not_in_quarantine(spark: "SparkSession", cfg: Config, rows: "DataFrame", industry: str) -> "DataFrame":
    from pyspark.sql import functions as F

    path = table_path(cfg, QUARANTINE)
    if not is_delta(path):
        return rows
    # Only this industry's partition: a record of another industry cannot be on this topic.
    q = spark.read.format("delta").load(str(path)).where(F.col("industry") == industry).select(
        F.col("topic").alias("_q_topic"), F.col("partition").alias("_q_partition"), F.col("offset").alias("_q_offset"))
    cond = ((rows["_topic"] == q["_q_topic"]) & (rows["_partition"] == q["_q_partition"])
            & (rows["_offset"] == q["_q_offset"]))
    return rows.join(q, cond, "left_anti")


def silver_properties(cfg: Config, spec: RecordSpec) -> dict[str, str]:
    """Table properties a silver table is created with.

    Deletion vectors: moving a few failing rows to quarantine (a MERGE delete)
    marks them deleted instead of rewriting every file that holds one; at 1 M
    rows that rewrite was half of validate's time. Spark, delta-rs and so the
    no-JVM query path read them.
    """
    return {"brain.owner": cfg.get("project.owner"), "brain.industry": spec.industry,
            "brain.record_type": spec.record_type, "brain.contract_version": spec.contract_version,
            "brain.layer": "silver", "delta.enableDeletionVectors": "true",
            **stats_property(cfg, "silver", silver_columns(spec))}


@dataclass
class Judged:
    """One record type's share of a batch, its fate decided and not yet written."""
    spec: RecordSpec
    result: CleanResult
    classified: "DataFrame"
    fated: "DataFrame | None" = None  # valid rows with ``_dup``; None when the batch had no rows

    def rows(self, duplicate: bool) -> "DataFrame":
        from pyspark.sql import functions as F

        return self.fated.where(F.col("_dup") if duplicate else ~F.col("_dup")).drop("_dup")

    def release(self) -> None:
        self.classified.unpersist()
        if self.fated is not None:
            self.fated.unpersist()


def judge(spark: "SparkSession", cfg: Config, spec: RecordSpec, silver_name: str, bronze_rows: "DataFrame",
          run_id: str, known_new: bool = False) -> Judged:
    """Each bronze row's fate (silver, quarantine or counted duplicate) and the counts, nothing written.

    Materialised: the fates are defined against silver, which the writes change.
    The caller holds the silver table's lock until the writes are done.
    ``known_new``: the rows were read from Kafka for the first time (a streamed
    batch that is not a replay) and bronze received them under the same lock,
    so none of them can be in quarantine yet; the look there is skipped.
    """
    from pyspark.sql import functions as F

    result = CleanResult(silver_name)
    clock = _PhaseClock(result.seconds)
    judged = Judged(spec, result, _classified(cfg, spec, bronze_rows, narrow=True))
    # Counts and the days valid rows fall on, in one job.
    undeclared = F.col("_undeclared")
    carried = F.col("reason").isNull() & (F.size(undeclared) > 0)
    per_day = judged.classified.groupBy("event_date").agg(F.count(F.lit(1)).alias("n"),
                                                          F.count("reason").alias("bad"),
                                                          F.count(F.when(carried, 1)).alias("undeclared")).collect()
    clock.lap("classify")
    result.bronze_rows = sum(int(r["n"]) for r in per_day)
    result.quarantined = sum(int(r["bad"]) for r in per_day)
    if any(r["undeclared"] for r in per_day):  # rare: a producer ahead of its contract
        result.undeclared_fields = _undeclared(judged.classified.where(carried), undeclared, spec, silver_name)
    if result.bronze_rows == 0:
        return judged
    # Every valid row's day, not only the inserted ones: a batch replayed
    # after a crash inserts nothing but must still mark its days.
    result.touched_days = {r["event_date"] for r in per_day if int(r["n"]) > int(r["bad"])}
    existing = recent_silver(spark, str(table_path(cfg, silver_name)), result.touched_days,
                             limits(cfg).late_horizon_days)
    # A record already in quarantine (e.g. moved there by an expectation)
    # stays there when bronze is reprocessed by a backfill.
    small = result.bronze_rows <= int(cfg.get("pipeline.broadcast_batch_rows", 200000))
    fated = mark_duplicates(_valid(cfg, judged.classified, spec, run_id), existing, small)
    judged.fated = (fated if known_new else _not_in_quarantine(spark, cfg, fated, spec.industry)).localCheckpoint()
    counts = {bool(r["_dup"]): int(r["n"])
              for r in judged.fated.groupBy("_dup").agg(F.count(F.lit(1)).alias("n")).collect()}
    result.inserted, result.duplicates = counts.get(False, 0), counts.get(True, 0)
    clock.lap("dedupe")
    return judged


def _undeclared(rows: "DataFrame", undeclared: "Column", spec: RecordSpec, silver_name: str) -> dict[str, int]:
    from pyspark.sql import functions as F

    found = {r["name"]: int(r["n"]) for r in rows.select(F.explode(undeclared).alias("name"))
             .groupBy("name").agg(F.count(F.lit(1)).alias("n")).collect()}
    log.warning("%s: valid records carried fields contract %s %s does not declare, %s; silver keeps "
                "the records without them, bronze their raw payload (docs/contracts.md, Evolving a contract)",
                silver_name, spec.record_type, spec.contract_version, found)
    return found


def write_judged(spark: "SparkSession", cfg: Config, batch: list[Judged], run_id: str,
                 txn: tuple[str, int] | None, workers: int = 1, known_new: bool = False) -> None:
    """Write a batch's fates: each record type's silver rows, then one commit each for the rows of
    all of them in quarantine, duplicates and touched days (the tables they share).

    With ``txn`` = (query id, batch id), from a streaming query, every table is
    appended with Delta's idempotent-write options, so a batch replayed after a
    crash is skipped where it was already committed. Without ``txn``
    (backfill) every write is a MERGE on its key. ``workers`` silver tables
    are written at a time. The shared writes are timed on the batch's first
    record type, so its phases still add up. ``known_new`` (see ``judge``): no
    other writer can have recorded these coordinates in quarantine or
    duplicates, so the streamed appends skip looking for them.
    """
    batch = [j for j in batch if j.result.bronze_rows]
    seen = (lambda name, rows: rows) if known_new else (
        lambda name, rows: not_recorded(spark, cfg, name, rows, industry, txn))
    if not batch:
        return
    industries = {j.spec.industry for j in batch}
    if len(industries) != 1:
        raise ValueError(f"one batch writes one industry's records, not {sorted(industries)}")
    industry = industries.pop()
    clock = _PhaseClock(batch[0].result.seconds)
    run_side_by_side([lambda j=j: _write_silver(spark, cfg, j.spec, str(table_path(cfg, j.result.table)),
                                                j.rows(duplicate=False), txn)
                      for j in batch if j.result.inserted or not streaming_target_exists(cfg, j.result.table, txn)],
                     workers)
    clock.lap("write_silver")
    kill_point("silver.between_tables")  # fault suite: silver committed, quarantine not yet
    # An empty idempotent append is a Delta commit that changes nothing (and a
    # replay of this batch is just as empty): skip it.
    if any(j.result.quarantined for j in batch) or not streaming_target_exists(cfg, QUARANTINE, txn):
        rows = _union([quarantine_rows(cfg, j.classified, j.spec) for j in batch])
        write(spark, str(table_path(cfg, QUARANTINE)), seen(QUARANTINE, rows),
              ["topic", "partition", "offset"], ["industry"],
              {"brain.layer": "quarantine", "brain.owner": cfg.get("project.owner"),
               **shared_stats_property(cfg, QUARANTINE, QUARANTINE_COLUMNS)}, txn)
    if any(j.result.duplicates for j in batch) or not streaming_target_exists(cfg, DUPLICATES, txn):
        _write_duplicates(spark, cfg, seen(DUPLICATES, _union([duplicates_frame(j.rows(duplicate=True), j.spec)
                                                               for j in batch])), txn)
    clock.lap("write_quarantine_duplicates")
    record_touched(spark, cfg, {j.result.table: sorted(j.result.touched_days) for j in batch}, run_id, txn)
    clock.lap("write_touched_days")
    kill_point("silver.before_checkpoint_commit")  # fault suite: every table committed, the batch not


def _union(frames: list["DataFrame"]) -> "DataFrame":
    from functools import reduce

    return reduce(lambda a, b: a.unionByName(b), frames)


def process_batch(spark: "SparkSession", cfg: Config, spec: RecordSpec, silver_name: str,
                  bronze_batch: "DataFrame", run_id: str, txn: tuple[str, int] | None = None) -> CleanResult:
    """Decide and write the fate of one record type's batch of bronze rows (see write_judged)."""
    judged = judge(spark, cfg, spec, silver_name, bronze_batch, run_id)
    try:
        write_judged(spark, cfg, [judged], run_id, txn)
        return judged.result
    finally:
        judged.release()


def _classified(cfg: Config, spec: RecordSpec, bronze_rows: "DataFrame", narrow: bool = False) -> "DataFrame":
    """Every bronze row with its ``reason`` (null: valid), by today's spec and limits.

    Materialised once, lineage cut: classify's expressions are large, and every
    later job (counts, dedupe, writes) would otherwise re-optimise and re-print
    them (plan strings for each adaptive-execution update dominated batch time).
    ``narrow``: only what the fates are written from (``fate_columns``) and ``_undeclared`` (the
    undeclared keys of a valid row) are kept; without it (a quarantine replay) every column is.
    """
    from pyspark.sql import functions as F

    classified = classify(parse(decode(bronze_rows), spec), spec, limits(cfg))
    if narrow:
        classified = classified.select(
            *fate_columns(spec), F.when(F.col("reason").isNull(), undeclared_fields(spec)).alias("_undeclared"))
    return classified.localCheckpoint()


def _valid(cfg: Config, classified: "DataFrame", spec: RecordSpec, run_id: str) -> "DataFrame":
    """Silver rows: personal fields pseudonymised here, before anything is written (brain.clean.pseudonym)."""
    from pyspark.sql import functions as F

    rows = to_silver(classified, spec)
    personal = tuple(f for f in personal_fields(cfg) if f in rows.columns)
    if personal:
        rows = pseudonymise(rows, personal, load_key(cfg))
    return rows.withColumn("_run_id", F.lit(run_id))


def quarantine_rows(cfg: Config, classified: "DataFrame", spec: RecordSpec) -> "DataFrame":
    """Quarantine rows with personal fields pseudonymised inside their payload (brain.clean.pseudonym)."""
    return scrub_payload(to_quarantine(classified, spec), personal_fields(cfg), load_key(cfg))


def _write_silver(spark: "SparkSession", cfg: Config, spec: RecordSpec, silver_path: str, new: "DataFrame",
                  txn: tuple[str, int] | None) -> None:
    # A new minor contract's optional columns reach the table before its rows do.
    evolve(spark, silver_path, new.schema, spec.contract_version)
    write(spark, silver_path, new, ["event_id"], list(spec.partition_by), silver_properties(cfg, spec), txn)


def _write_duplicates(spark: "SparkSession", cfg: Config, rows: "DataFrame", txn: tuple[str, int] | None) -> None:
    """``quality.duplicates`` rows (brain.clean.dedupe.duplicates_frame) appended or merged; a streamed
    append's rows already cleared of coordinates the table holds (``not_recorded``)."""
    write(spark, str(table_path(cfg, DUPLICATES)), rows, ["topic", "partition", "offset"], ["industry"],
          {"brain.layer": "quality", **shared_stats_property(cfg, DUPLICATES, rows.columns)}, txn)


@dataclass
class Reclassified:
    """What ``reclassify`` found (and, unless told not to, wrote)."""
    classified: "DataFrame"  # every input row, its columns kept, with ``reason`` (null: valid now)
    inserted: int = 0        # valid rows new to silver
    duplicates: int = 0      # valid rows whose event_id silver holds under other coordinates
    touched_days: list = field(default_factory=list)  # event days of the inserted rows, ascending


def reclassify(spark: "SparkSession", cfg: Config, spec: RecordSpec, silver_name: str, bronze_rows: "DataFrame",
               run_id: str, write_rows: bool = True) -> Reclassified:
    """Judge bronze-shaped rows again with today's spec and limits; insert the ones now valid.

    For records taken back out of quarantine (brain.ops.quarantine_tools):
    the same classification, dedupe and keyed writes as ``process_batch``,
    but nothing is written to quarantine (the rows come from there; the
    caller removes or relabels them once they are provably in silver or
    duplicates), duplicates are looked for in all of silver, and only the
    days of inserted rows are marked touched. Every write is a MERGE on its
    key, so a retry after a crash finds the rows and inserts nothing twice.
    With ``write_rows`` false nothing is written: a dry run's counts.
    """
    silver_path = str(table_path(cfg, silver_name))
    classified = _classified(cfg, spec, bronze_rows)
    new, dups = split_duplicates(_valid(cfg, classified, spec, run_id), stored_silver(spark, silver_path))
    # Materialised: the counts below and the caller's delete are defined against silver, which this changes.
    new, dups = new.localCheckpoint(), dups.localCheckpoint()
    found = Reclassified(classified, new.count(), dups.count(),
                         sorted({r["event_date"] for r in new.select("event_date").distinct().collect()}))
    if write_rows:
        if found.inserted:
            _write_silver(spark, cfg, spec, silver_path, new, None)
        if found.duplicates:
            _write_duplicates(spark, cfg, duplicates_frame(dups, spec), None)
        record_touched(spark, cfg, {silver_name: found.touched_days}, run_id)
    return found


class _PhaseClock:
    """Adds the seconds since the last lap to ``into[phase]``: where a batch's time goes."""

    def __init__(self, into: dict):
        import time

        self._into, self._now = into, time.perf_counter
        self._last = self._now()

    def lap(self, phase: str) -> None:
        now = self._now()
        self._into[phase] = round(self._into.get(phase, 0.0) + now - self._last, 3)
        self._last = now


def backfill(spark: "SparkSession", cfg: Config, spec: RecordSpec, bronze_name: str, silver_name: str,
             run_id: str, start, end) -> CleanResult:
    """Reprocess the bronze rows ingested between ``start`` and ``end`` (dates, inclusive).

    Every write is keyed, so rows already in silver, quarantine or duplicates
    are left alone: a backfill restores what is missing (a lost or repaired
    silver table) and never doubles what is there.
    """
    from pyspark.sql import functions as F

    path = table_path(cfg, bronze_name)
    if not is_delta(path):
        return CleanResult(silver_name)
    rows = (spark.read.format("delta").load(str(path))
            .where(F.col("ingest_date").between(F.lit(start), F.lit(end))))
    with table_lock(cfg, silver_name):  # the stream's batches wait (see brain.lake.writers)
        return process_batch(spark, cfg, spec, silver_name, rows, run_id)
