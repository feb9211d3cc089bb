"""bronze -> silver + quarantine + counted duplicates, for one record type.

Reads bronze incrementally (a Delta streaming source with its own
checkpoint) and, per micro-batch, decides each record's fate with
brain.clean.fate. Every write is a MERGE keyed so that replaying a batch after a
crash changes nothing:
- silver on ``event_id`` (a record resent a day later is still one row);
- quarantine and duplicates on the Kafka coordinates (topic, partition, offset).
A record whose ``event_id`` is already in silver under other coordinates is a
duplicate; under the same coordinates it is this batch being replayed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from brain.clean.fate import Limits, classify, decode, parse, to_quarantine, to_silver
from brain.config import Config
from brain.contracts.specs import RecordSpec
from brain.faults import kill_point
from brain.lake.tables import QUARANTINE, checkpoint_path, is_delta, table_path
from brain.lake.writers import retry_conflicts, table_lock

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

DUPLICATES = "quality.duplicates"
TOUCHED = "quality.touched_days"


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

    def add(self, other: "CleanResult") -> None:
        self.bronze_rows += other.bronze_rows
        self.inserted += other.inserted
        self.quarantined += other.quarantined
        self.duplicates += other.duplicates
        self.touched_days |= other.touched_days
        self.batches += 1
        for k, v in other.seconds.items():
            self.seconds[k] = round(self.seconds.get(k, 0.0) + v, 3)


SHARED_TABLES = {
    QUARANTINE: ("industry string, record_type string, reason string, event_id string, payload binary, "
                 "topic string, partition int, offset long, kafka_ts timestamp, key binary, "
                 "quarantined_at timestamp", ["industry"]),
    DUPLICATES: ("industry string, record_type string, event_id string, topic string, partition int, "
                 "offset long, counted_at timestamp", ["industry"]),
    TOUCHED: ("table string, event_date date, run_id string, recorded_at timestamp", []),
}


def ensure_shared_tables(spark: "SparkSession", cfg: Config) -> None:
    """Create the tables every record type appends to, before queries run in parallel
    (two writers creating one table at once would conflict)."""
    for name, (ddl, partition_by) in SHARED_TABLES.items():
        path = table_path(cfg, name)

        def create(path=path, ddl=ddl, partition_by=partition_by):
            if not is_delta(path):  # checked again on a retry: the other creator may have won
                writer = spark.createDataFrame([], ddl).write.format("delta").mode("append")
                (writer.partitionBy(*partition_by) if partition_by else writer).save(str(path))
        retry_conflicts(create)


def limits(cfg: Config) -> Limits:
    return Limits(
        max_payload_bytes=int(cfg.get("pipeline.max_payload_bytes", 1048576)),
        future_tolerance_s=int(cfg.get("pipeline.future_tolerance_s", 300)),
        late_horizon_days=int(cfg.get("pipeline.late_horizon_days", 30)),
    )


def mark_duplicates(valid: "DataFrame", existing: "DataFrame | None") -> "DataFrame":
    """``valid`` with ``_dup`` (true: a duplicate), replays dropped. Pure given ``existing`` =
    silver's (event_id, coordinates); one pass, so a batch's fates cost one materialisation.

    Within the batch the lowest (topic, partition, offset) wins; against
    silver, a row whose event_id is stored under different coordinates is a
    duplicate, and one stored under the same coordinates is a replay (neither).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    w = Window.partitionBy("event_id").orderBy("_topic", "_partition", "_offset")
    cols = valid.columns
    ranked = valid.withColumn("_rank", F.row_number().over(w))
    if existing is None:
        return ranked.select(*cols, (F.col("_rank") > 1).alias("_dup"))
    # One stored row per event_id (silver is keyed on it), so the join never multiplies rows.
    ex = existing.select(F.col("event_id").alias("_ex_id"), F.col("_topic").alias("_ex_topic"),
                         F.col("_partition").alias("_ex_partition"), F.col("_offset").alias("_ex_offset"))
    joined = ranked.join(ex, ranked["event_id"] == ex["_ex_id"], "left")
    same = ((F.col("_ex_topic") == F.col("_topic")) & (F.col("_ex_partition") == F.col("_partition"))
            & (F.col("_ex_offset") == F.col("_offset")))
    stored = F.col("_ex_id").isNotNull()
    return (joined.where(~(stored & same))  # a replay of a stored row: neither new nor a duplicate
            .select(*cols, ((F.col("_rank") > 1) | stored).alias("_dup")))


def split_duplicates(valid: "DataFrame", existing: "DataFrame | None") -> tuple["DataFrame", "DataFrame"]:
    """(new rows, duplicate rows): mark_duplicates split in two."""
    from pyspark.sql import functions as F

    marked = mark_duplicates(valid, existing)
    return marked.where(~F.col("_dup")).drop("_dup"), marked.where(F.col("_dup")).drop("_dup")


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


def _merge_insert(spark: "SparkSession", path: str, df: "DataFrame", keys: list[str],
                  partition_by: list[str], props: dict[str, str]) -> None:
    """Insert rows whose keys are not in the table yet; create the table if needed."""
    from delta.tables import DeltaTable

    if not is_delta(path):
        _append(spark, path, df, partition_by, props, None)
        return
    cond = " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys)
    # Keyed, so a retry after a lost commit race (OPTIMIZE, another industry's append to a
    # shared table) inserts exactly what is still missing.
    retry_conflicts(lambda: DeltaTable.forPath(spark, path).alias("t").merge(df.alias("s"), cond)
                    .whenNotMatchedInsertAll().execute())


def _append(spark: "SparkSession", path: str, df: "DataFrame", partition_by: list[str], props: dict[str, str],
            txn: tuple[str, int] | None) -> None:
    """Append; with ``txn`` = (app id, batch id) Delta skips a batch it already committed."""
    created = not is_delta(path)
    writer = df.write.format("delta").mode("append")
    if txn is not None:
        writer = writer.option("txnAppId", txn[0]).option("txnVersion", str(txn[1]))
    if partition_by:
        writer = writer.partitionBy(*partition_by)
    writer.save(path)
    if created and props:
        spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ({_props_sql(props)})")


def _write(spark: "SparkSession", path: str, df: "DataFrame", keys: list[str], partition_by: list[str],
           props: dict[str, str], txn: tuple[str, int] | None) -> None:
    """Streaming batches append idempotently (cheap); other callers merge on ``keys``."""
    if txn is not None:
        _append(spark, path, df, partition_by, props, txn)
    else:
        _merge_insert(spark, path, df, keys, partition_by, props)


def silver_properties(cfg: Config, spec: RecordSpec) -> dict[str, str]:
    """Table properties a silver table is created with.

    Deletion vectors: moving a few failing rows to quarantine (a MERGE delete)
    marks them deleted instead of rewriting every file that holds one; at 1 M
    rows that rewrite was half of validate's time. Spark, delta-rs and so the
    no-JVM query path read them.
    """
    return {"brain.owner": cfg.get("project.owner"), "brain.industry": spec.industry,
            "brain.record_type": spec.record_type, "brain.contract_version": spec.contract_version,
            "brain.layer": "silver", "delta.enableDeletionVectors": "true"}


def _props_sql(props: dict[str, str]) -> str:
    return ", ".join(f"'{k}' = '{str(v).replace(chr(39), '')}'" for k, v in props.items())


def _duplicates_frame(dups: "DataFrame", spec: RecordSpec) -> "DataFrame":
    from pyspark.sql import functions as F

    return dups.select(F.lit(spec.industry).alias("industry"), F.lit(spec.record_type).alias("record_type"),
                       "event_id", F.col("_topic").alias("topic"), F.col("_partition").alias("partition"),
                       F.col("_offset").alias("offset"), F.current_timestamp().alias("counted_at"))


def process_batch(spark: "SparkSession", cfg: Config, spec: RecordSpec, silver_name: str,
                  bronze_batch: "DataFrame", run_id: str, txn: tuple[str, int] | None = None) -> CleanResult:
    """Decide and write the fate of one batch of bronze rows.

    From a streaming query, ``txn`` = (query id, batch id): every table is
    appended with Delta's idempotent-write options, so a batch replayed after
    a crash is skipped where it was already committed. Without ``txn``
    (backfill, replay tools) every write is a MERGE on its key.
    """
    from pyspark.sql import functions as F

    result = CleanResult(silver_name)
    clock = _PhaseClock(result.seconds)
    # Materialised once, lineage cut: classify's expressions are large, and every
    # later job (counts, dedupe, writes) would otherwise re-optimise and re-print
    # them (plan strings for each adaptive-execution update dominated batch time).
    classified = classify(parse(decode(bronze_batch), spec), spec, limits(cfg)).localCheckpoint()
    fated = None
    try:
        # Counts and the days valid rows fall on, in one job.
        per_day = classified.groupBy("event_date").agg(F.count(F.lit(1)).alias("n"),
                                                       F.count("reason").alias("bad")).collect()
        clock.lap("classify")
        result.bronze_rows = sum(int(r["n"]) for r in per_day)
        result.quarantined = sum(int(r["bad"]) for r in per_day)
        if result.bronze_rows == 0:
            return result
        silver_path = str(table_path(cfg, silver_name))
        valid = to_silver(classified, spec).withColumn("_run_id", F.lit(run_id))
        # Every valid row's day, not only the inserted ones: a batch replayed
        # after a crash inserts nothing but must still mark its days.
        result.touched_days = {r["event_date"] for r in per_day if int(r["n"]) > int(r["bad"])}
        existing = _recent_silver(spark, cfg, silver_path, result.touched_days)
        # A record already in quarantine (e.g. moved there by an expectation)
        # stays there when bronze is reprocessed by a backfill.
        # Materialised before writing: the fates are defined against silver,
        # which the write below changes.
        fated = _not_in_quarantine(spark, cfg, mark_duplicates(valid, existing), spec.industry).localCheckpoint()
        counts = {bool(r["_dup"]): int(r["n"]) for r in fated.groupBy("_dup").agg(F.count(F.lit(1)).alias("n"))
                  .collect()}
        result.inserted, result.duplicates = counts.get(False, 0), counts.get(True, 0)
        new, dups = fated.where(~F.col("_dup")).drop("_dup"), fated.where(F.col("_dup")).drop("_dup")
        clock.lap("dedupe")
        props = silver_properties(cfg, spec)
        if result.inserted or not _streaming_target_exists(cfg, silver_name, txn):
            _write(spark, silver_path, new, ["event_id"], list(spec.partition_by), props, txn)
        clock.lap("write_silver")
        kill_point("silver.between_tables")  # fault suite: silver committed, quarantine not yet
        # An empty idempotent append is a Delta commit that changes nothing (and a
        # replay of this batch is just as empty): skip it.
        if result.quarantined or not _streaming_target_exists(cfg, QUARANTINE, txn):
            _write(spark, str(table_path(cfg, QUARANTINE)),
                   _not_recorded(spark, cfg, QUARANTINE, to_quarantine(classified, spec), spec.industry, txn),
                   ["topic", "partition", "offset"], ["industry"],
                   {"brain.layer": "quarantine", "brain.owner": cfg.get("project.owner")}, txn)
        if result.duplicates or not _streaming_target_exists(cfg, DUPLICATES, txn):
            _write(spark, str(table_path(cfg, DUPLICATES)),
                   _not_recorded(spark, cfg, DUPLICATES, _duplicates_frame(dups, spec), spec.industry, txn),
                   ["topic", "partition", "offset"], ["industry"], {"brain.layer": "quality"}, txn)
        clock.lap("write_quarantine_duplicates")
        _record_touched(spark, cfg, silver_name, sorted(result.touched_days), run_id, txn)
        clock.lap("write_touched_days")
        kill_point("silver.before_checkpoint_commit")  # fault suite: every table committed, the batch not
        return result
    finally:
        classified.unpersist()
        if fated is not None:
            fated.unpersist()


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


def _not_recorded(spark: "SparkSession", cfg: Config, name: str, rows: "DataFrame", industry: str,
                  txn: tuple[str, int] | None) -> "DataFrame":
    """For a streamed append: drop rows whose Kafka coordinates the table already holds.

    Delta's txnAppId/txnVersion only skip a replay of the *same* batch; a
    backfill (keyed MERGE) may have recorded these coordinates before the
    stream reached them, and appending again would count them twice. MERGEs
    (``txn`` None) are keyed already.
    """
    from pyspark.sql import functions as F

    path = table_path(cfg, name)
    if txn is None or not is_delta(path):
        return rows
    have = (spark.read.format("delta").load(str(path)).where(F.col("industry") == industry)
            .select("topic", "partition", "offset"))
    # Materialised before the write: a write whose plan scans its own target is no longer a blind
    # append, and the clean queries of one industry append to the same partition side by side
    # (ConcurrentAppendException, seen in the week-long e2e).
    return rows.join(have, ["topic", "partition", "offset"], "left_anti").select(*rows.columns).localCheckpoint()


def _streaming_target_exists(cfg: Config, name: str, txn: tuple[str, int] | None) -> bool:
    return txn is not None and is_delta(table_path(cfg, name))


def _recent_silver(spark: "SparkSession", cfg: Config, silver_path: str, days: set) -> "DataFrame | None":
    """Silver's (event_id, coordinates) for the days a copy of this batch's records can be in.

    A resent record keeps its event time, so its first copy sits in the same
    ``event_date`` partition; the late horizon before the batch's oldest day is
    the margin. Reading only those partitions keeps the duplicate check's cost
    flat as silver grows, instead of scanning every event_id ever stored.
    """
    from datetime import timedelta

    from pyspark.sql import functions as F

    if not days or not is_delta(silver_path):
        return None
    oldest = min(days) - timedelta(days=limits(cfg).late_horizon_days)
    return (spark.read.format("delta").load(silver_path).where(F.col("event_date") >= F.lit(oldest))
            .select("event_id", "_topic", "_partition", "_offset"))


def _record_touched(spark: "SparkSession", cfg: Config, table: str, days: list, run_id: str,
                    txn: tuple[str, int] | None = None) -> None:
    """Days that received rows, so gold recomputes exactly those (late data included)."""
    if not days:
        return
    from pyspark.sql import functions as F

    df = spark.createDataFrame([(table, d, run_id) for d in days], "table string, event_date date, run_id string")
    df = df.withColumn("recorded_at", F.current_timestamp())
    _write(spark, str(table_path(cfg, TOUCHED)), df, ["table", "event_date", "run_id"], [], {}, txn)


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


def _query_id(checkpoint) -> str:
    """The streaming query's id, kept in its checkpoint: stable across restarts, new
    if the checkpoint is lost (so Delta's idempotent-write ids never collide)."""
    import json

    return json.loads((checkpoint / "metadata").read_text().splitlines()[0])["id"]


def _checkpoint_lost(spark: "SparkSession", cfg: Config, spec: RecordSpec, checkpoint, silver_name: str) -> bool:
    """The clean query has no checkpoint but already wrote results (silver, or quarantine rows)."""
    from pyspark.sql import functions as F

    if (checkpoint / "offsets").is_dir():
        return False
    if is_delta(table_path(cfg, silver_name)):
        return True
    quarantine = table_path(cfg, QUARANTINE)
    return is_delta(quarantine) and spark.read.format("delta").load(str(quarantine)).where(
        (F.col("industry") == spec.industry) & (F.col("record_type") == spec.record_type)).limit(1).count() > 0


def start_clean(spark: "SparkSession", cfg: Config, spec: RecordSpec, bronze_name: str, silver_name: str,
                run_id: str, total: CleanResult):
    """Start the bronze -> silver query; each micro-batch adds its counts to ``total``."""
    from brain.ingest.bronze import trigger_options

    checkpoint = checkpoint_path(cfg, silver_name)
    # A lost checkpoint restarts the stream at bronze's first row under a new query id, so
    # idempotent appends would write quarantine and duplicates a second time: write keyed instead.
    keyed = _checkpoint_lost(spark, cfg, spec, checkpoint, silver_name)

    def on_batch(batch_df, batch_id):
        txn = None if keyed else (f"{_query_id(checkpoint)}:{silver_name}", int(batch_id))
        with table_lock(cfg, silver_name):  # a backfill or quarantine move must not commit mid-batch
            total.add(process_batch(spark, cfg, spec, silver_name, batch_df, run_id, txn))

    return (spark.readStream.format("delta")
            .option("maxBytesPerTrigger", str(cfg.get("pipeline.max_bytes_per_batch", "256m")))
            .load(str(table_path(cfg, bronze_name)))
            .writeStream.queryName(f"silver_{silver_name.split('.', 1)[1]}")
            .option("checkpointLocation", str(checkpoint))
            .foreachBatch(on_batch)
            .trigger(**trigger_options(cfg))
            .start())


def clean(spark: "SparkSession", cfg: Config, spec: RecordSpec, bronze_name: str, silver_name: str,
          run_id: str) -> CleanResult:
    """Process every bronze row not yet processed (available-now), batch by batch."""
    total = CleanResult(silver_name)
    if not is_delta(table_path(cfg, bronze_name)):
        return total
    start_clean(spark, cfg, spec, bronze_name, silver_name, run_id, total).awaitTermination()
    return total


def move_to_quarantine(spark: "SparkSession", cfg: Config, spec: RecordSpec, silver_name: str,
                       rows: "DataFrame", bronze_name: str) -> int:
    """Move silver rows that failed a `quarantine` expectation into the quarantine table.

    ``rows`` carry silver columns plus ``reason`` (the expectation's name).
    The raw payload comes back from bronze by Kafka coordinates. Quarantine is
    written first, keyed on coordinates, then the rows leave silver: a retry
    after a crash between the two finishes the move without doubling it.
    """
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    # Partition columns, where the rows have them, let both lookups below skip what cannot match.
    extra = [c for c in ("event_date", "_ingest_ts") if c in rows.columns]
    rows = rows.select("event_id", "_topic", "_partition", "_offset", "reason", *extra).localCheckpoint()
    n = rows.count()
    if n == 0:
        return 0
    bronze = spark.read.format("delta").load(str(table_path(cfg, bronze_name)))
    days = ([r[0] for r in rows.select(F.to_date("_ingest_ts")).distinct().collect() if r[0] is not None]
            if "_ingest_ts" in extra else [])
    quarantine = _with_payload(rows, bronze.where(F.col("ingest_date").isin(days)) if days else bronze, spec)
    found = quarantine.count()
    if found != n and days:  # an ingest day that does not match bronze's: look in all of it
        quarantine = _with_payload(rows, bronze, spec)
        found = quarantine.count()
    if found != n:
        raise RuntimeError(f"{n - found} of {n} {silver_name} rows to move to quarantine have no bronze row "
                           f"({bronze_name}) to take their payload from; nothing was moved. `brain reconcile` "
                           f"shows which coordinates are missing.")
    delete_cond = ("t.event_id = s.event_id AND t._topic = s._topic AND t._partition = s._partition "
                   "AND t._offset = s._offset")
    event_days = ([str(r[0]) for r in rows.select("event_date").distinct().collect() if r[0] is not None]
                  if "event_date" in extra else [])
    if event_days and "event_date" in spec.partition_by:  # rewrite only the partitions holding the rows
        delete_cond += " AND t.event_date IN (" + ", ".join(f"DATE'{d}'" for d in event_days) + ")"
    with table_lock(cfg, silver_name):  # a stream batch deciding "new" against silver waits
        _merge_insert(spark, str(table_path(cfg, QUARANTINE)), quarantine, ["topic", "partition", "offset"],
                      ["industry"], {})
        retry_conflicts(lambda: DeltaTable.forPath(spark, str(table_path(cfg, silver_name))).alias("t")
                        .merge(rows.alias("s"), delete_cond).whenMatchedDelete().execute())
    quarantine.unpersist()
    return n


def _with_payload(rows: "DataFrame", bronze: "DataFrame", spec: RecordSpec) -> "DataFrame":
    """Quarantine rows for ``rows`` with their raw payload from ``bronze``, by Kafka coordinates
    (materialised: the silver delete that follows must not change what was found)."""
    from pyspark.sql import functions as F

    small = F.broadcast(rows)  # a few failing rows against all of bronze: no shuffle of bronze
    return (small.join(bronze, (small["_topic"] == bronze["topic"]) & (small["_partition"] == bronze["partition"])
                       & (small["_offset"] == bronze["offset"]))
            .select(F.lit(spec.industry).alias("industry"), F.lit(spec.record_type).alias("record_type"),
                    F.concat(F.lit("expectation:"), F.col("reason")).alias("reason"), "event_id", "payload",
                    "topic", "partition", "offset", "kafka_ts", "key",
                    F.current_timestamp().alias("quarantined_at"))
            .localCheckpoint())
