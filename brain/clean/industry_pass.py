"""Kafka -> bronze -> silver | quarantine | duplicates: one streaming query per industry (the hot path).

One Kafka source subscribes to every topic of the industry: one
``subscribePattern`` (brain.contracts.site_topics.industry_pattern) over the
shared topics ``<industry>.<record_type>`` and every site's family
``<industry>.site.<SITE>.<record_type>``, including site topics created after
the query started (Spark lists the matching topics at every trigger and reads
a new one from offset 0). Each row goes to its record type's lane by its
topic's record-type suffix (``route``). Each micro-batch
is materialised once and written from the same rows: raw to each record
type's bronze table, then judged into silver, quarantine and duplicates
(brain.clean.silver), the tables every record type shares written once per
batch. Every commit is idempotent: Delta's txnAppId/txnVersion carry the
query id and batch id, so a batch replayed after a crash skips each table it
already committed, and the checkpoint commit comes last. Bronze stays the
raw, replayable record: backfill and quarantine replay still go bronze ->
silver.

The checkpoint is ``<lake.checkpoints>/pass.<industry>``. A lake from before
the one pass (a checkpoint per topic and per silver table) moves over by
itself on the first run: what bronze holds and nothing accounts for yet is
cleaned from bronze, the source resumes after bronze's last offsets, and the
old checkpoints go to ``_retired/``.
"""

from __future__ import annotations

import json
import pickle
import shutil
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from brain.clean.silver import CleanResult, judge, process_batch, write_judged
from brain.clean.writes import append
from brain.concurrency import run_side_by_side
from brain.config import Config
from brain.contracts import site_topics
from brain.contracts.specs import RecordSpec
from brain.faults import kill_point
from brain.ingest import kafka_io
from brain.ingest.bronze import (
    CheckpointLost,
    IngestResult,
    caught_up,
    explain_data_loss,
    kafka_to_bronze_frame,
    recovery_offsets,
)
from brain.lake.checkpoints import read_checkpoint
from brain.lake.stats_columns import stats_property
from brain.lake.streaming import trigger_options
from brain.lake.tables import DUPLICATES, QUARANTINE, checkpoint_path, is_delta, pass_checkpoint, table_path
from brain.lake.writers import table_lock
from brain.spark import codegen_for
from brain.storage import S3Path, location

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


@dataclass(frozen=True)
class Lane:
    """One record type's way through the pass: its shared topic, bronze table, silver table and spec.
    The record type's site topics (brain.contracts.site_topics) take the same lane."""
    topic: str
    bronze: str
    silver: str
    spec: RecordSpec

    @property
    def record_type(self) -> str:
        return self.spec.record_type


class UnroutedTopic(RuntimeError):
    """A topic the industry's subscription matched but no lane takes: its records would go nowhere."""


def subscription(cfg: Config, industry: str) -> str:
    """The Kafka source's ``subscribePattern``: every topic of the industry, shared and per site."""
    return f"^{site_topics.industry_pattern(cfg, industry)}$"


def route(cfg: Config, lanes: list[Lane], topics) -> dict[str, list[str]]:
    """Record type -> the topics among ``topics`` whose records take its lane (sorted), by the
    topic's record-type suffix: ``<industry>.<rt>`` and ``<industry>.site.<SITE>.<rt>`` alike.
    A topic no lane takes raises UnroutedTopic (pure; the pattern and the lanes come from the same
    record types, so this means a lane is missing, and dropping the rows would lose them)."""
    industry = lanes[0].spec.industry if lanes else ""
    wanted = {lane.record_type for lane in lanes}
    out: dict[str, list[str]] = {}
    for topic in sorted(set(topics)):
        rt = site_topics.record_type_of(cfg, industry, topic)
        if rt not in wanted:
            raise UnroutedTopic(f"topic {topic!r} matched the {industry} subscription but no lane takes it "
                                f"(record types: {', '.join(sorted(wanted))}); its records would be lost")
        out.setdefault(rt, []).append(topic)
    return out


def lane_of(cfg: Config, lanes: list[Lane], topic: str) -> Lane | None:
    """The lane a topic's records take (None: not one of the industry's topics)."""
    rt = site_topics.record_type_of(cfg, lanes[0].spec.industry, topic) if lanes else None
    return next((lane for lane in lanes if lane.record_type == rt), None)


def industry_topics(cfg: Config, lanes: list[Lane], listed=None) -> list[str]:
    """The industry's topics the pass reads: the shared ones (whether they exist yet or not), then the
    site topics among ``listed`` (the broker's topic names; asked for when None), sorted."""
    from brain.ingest.kafka_io import list_topics

    shared = [lane.topic for lane in lanes]
    listed = list_topics(cfg) if listed is None else listed
    extra = sorted(t for t in set(listed) - set(shared) if lane_of(cfg, lanes, t) is not None)
    return shared + extra


@dataclass
class PassTotals:
    """What the pass wrote, summed over its micro-batches (filled in by the batch function).

    Over Spark Connect the batch function runs in the server's Python worker, on a copy of
    this object: it leaves each batch's counts as a file in ``inbox`` (the server runs on this
    host, brain.ops.spark_service), and ``collect`` adds them here.
    """
    rows: dict = field(default_factory=dict)      # topic -> Kafka records written to bronze
    batches: dict = field(default_factory=dict)   # topic -> batches that held any of them
    cleaned: dict = field(default_factory=dict)   # silver table -> CleanResult
    inbox: Path | None = None

    def record(self, counts: dict[str, int], results: list[CleanResult]) -> None:
        """What one batch wrote: added here, or (over Connect) left in the inbox for the client."""
        if self.inbox is None:
            self.add(counts, results)
            return
        self.inbox.mkdir(parents=True, exist_ok=True)
        tmp = self.inbox / f".{uuid.uuid4().hex}.tmp"
        tmp.write_bytes(pickle.dumps((counts, results)))
        tmp.rename(self.inbox / f"{time.time_ns()}-{uuid.uuid4().hex}.batch")  # whole, or not there

    def collect(self) -> None:
        """Add the batches the server-side batch function left in the inbox (none in-process)."""
        if self.inbox is None or not self.inbox.is_dir():
            return
        for f in sorted(self.inbox.glob("*.batch")):
            counts, results = pickle.loads(f.read_bytes())
            self.add(counts, results)
            f.unlink()

    def close(self) -> None:
        """Collect what is left and remove the inbox."""
        self.collect()
        if self.inbox is not None:
            shutil.rmtree(self.inbox, ignore_errors=True)

    def add(self, counts: dict[str, int], results: list[CleanResult]) -> None:
        for topic, n in counts.items():
            self.rows[topic] = self.rows.get(topic, 0) + n
            self.batches[topic] = self.batches.get(topic, 0) + 1
        for r in results:
            self.cleaned.setdefault(r.table, CleanResult(r.table)).add(r)


@dataclass
class PassReport:
    ingest: list[IngestResult]
    clean: list[dict]


def legacy_checkpoints(cfg: Config, lanes: list[Lane]) -> list[Path]:
    """Checkpoints of the two-query layout (one Kafka -> bronze and one bronze -> silver query per
    record type) that still exist."""
    paths = [checkpoint_path(cfg, name) for lane in lanes for name in (lane.bronze, lane.silver)]
    return [p for p in paths if p.is_dir()]


def write_batch(spark: "SparkSession", cfg: Config, lanes: list[Lane], kafka_batch: "DataFrame", run_id: str,
                txn: tuple[str, int], totals: PassTotals, replay: bool = True) -> None:
    """One micro-batch: bronze for every record type with records in it, then their fates.

    ``replay`` false says the checkpoint never planned this batch before: its
    records are new to the lake, so their fates need no look into quarantine or
    duplicates for coordinates recorded by someone else (see ``first_new_batch``).
    """
    from pyspark.sql import functions as F

    # Materialised once: bronze and silver are written from the same rows (one ingest_ts).
    bronze = kafka_to_bronze_frame(kafka_batch).localCheckpoint()
    try:
        counts = {r["topic"]: int(r["n"]) for r in bronze.groupBy("topic").agg(F.count(F.lit(1)).alias("n"))
                  .collect()}
        routes = route(cfg, lanes, counts)  # record type -> this batch's topics of it, shared and per site
        busy = [lane for lane in lanes if routes.get(lane.record_type)]
        with codegen_for(bronze.sparkSession, cfg, sum(counts.values())):
            _write_lanes(spark, cfg, busy, bronze, routes, counts, run_id, txn, totals, replay)
    finally:
        bronze.unpersist()


def _write_lanes(spark: "SparkSession", cfg: Config, busy: list[Lane], bronze: "DataFrame",
                 routes: dict[str, list[str]], counts: dict[str, int], run_id: str, txn: tuple[str, int],
                 totals: PassTotals, replay: bool) -> None:
    """The batch's bronze appends and fates, every lane with records in it (``busy``)."""
    from pyspark.sql import functions as F

    def rows_of(lane: Lane) -> "DataFrame":
        return bronze.where(F.col("topic").isin(*routes[lane.record_type]))
    workers = int(cfg.get("pipeline.pass_writers", 2))
    with ExitStack() as held:
        # Taken before bronze is written: a backfill or a quarantine move (they take the same
        # locks) then sees this batch's bronze rows only once their fates are committed too,
        # which is what lets a new batch skip looking for them in quarantine and duplicates.
        # Sorted, so two writers that each need several of these locks cannot deadlock.
        for name in sorted(lane.silver for lane in busy):
            held.enter_context(table_lock(cfg, name))
        started = time.perf_counter()
        props = {"brain.layer": "bronze", "brain.owner": cfg.get("project.owner"),
                 **stats_property(cfg, "bronze", bronze.columns)}
        run_side_by_side([lambda lane=lane: append(spark, str(table_path(cfg, lane.bronze)),
                                                   rows_of(lane), ["ingest_date"],
                                                   props, txn) for lane in busy], workers)
        bronze_s = round(time.perf_counter() - started, 3)
        kill_point("pass.after_bronze")  # fault suite: bronze committed, nothing cleaned yet
        judged: list = []  # every Judged made, released even when another failed

        def judge_lane(lane: Lane):
            judged.append(judge(spark, cfg, lane.spec, lane.silver, rows_of(lane), run_id,
                                known_new=not replay))
            return judged[-1]

        try:
            batch = run_side_by_side([lambda lane=lane: judge_lane(lane) for lane in busy], workers)
            write_judged(spark, cfg, batch, run_id, txn, workers, known_new=not replay)
        finally:
            for j in judged:
                j.release()
    results = [j.result for j in batch]
    if results:  # bronze's write is timed on the batch's first record type, like the shared writes
        results[0].seconds["write_bronze"] = bronze_s
    totals.record(counts, results)


def start_pass(spark: "SparkSession", cfg: Config, industry: str, lanes: list[Lane], run_id: str,
               totals: PassTotals, starting_offsets: str = "earliest"):
    """Start (not await) the industry's query; each micro-batch adds what it wrote to ``totals``."""
    from brain.spark import is_connect

    checkpoint = pass_checkpoint(cfg, industry)
    query_id: list[str] = []
    first_new = first_new_batch(checkpoint)
    # Over Spark Connect the function below is pickled and run by the server's Python worker:
    # it must not hold this client's session (not picklable) but use the batch's own, and its
    # counts come back through files (PassTotals.inbox).
    session = None if is_connect(spark) else spark
    if session is None and totals.inbox is None:
        totals.inbox = cfg.path("paths.state") / "pass_inbox" / f"{industry}-{uuid.uuid4().hex}"

    def on_batch(batch_df, batch_id):
        if not query_id:  # kept in the checkpoint: stable across restarts, new if the checkpoint is lost
            query_id.append(json.loads((checkpoint / "metadata").read_text().splitlines()[0])["id"])
        write_batch(session or batch_df.sparkSession, cfg, lanes, batch_df, run_id, (query_id[0], int(batch_id)),
                    totals, replay=first_new is None or int(batch_id) < first_new)

    source = (spark.readStream.format("kafka")
              .options(**kafka_io.spark_options(cfg))  # brokers + kafka.security's login
              # Shared and site topics, those created later included (read from offset 0 when found).
              .option("subscribePattern", subscription(cfg, industry))
              .option("startingOffsets", starting_offsets)
              # Offsets lost to retention must stop the job, never be skipped.
              .option("failOnDataLoss", "true")
              .option("includeHeaders", "true")
              .option("maxOffsetsPerTrigger", str(cfg.get("pipeline.max_offsets_per_trigger", 500000)))
              .load())
    return (source.writeStream.queryName(f"pass_{industry}")
            .option("checkpointLocation", str(checkpoint))
            .foreachBatch(on_batch)
            .trigger(**trigger_options(cfg))
            .start())


def first_new_batch(checkpoint: Path | S3Path) -> int | None:
    """The first batch id the query has never planned, or None for a checkpoint that planned none.

    Spark re-runs only a batch whose offsets it wrote and whose commit it did
    not (a crash mid-batch); its records may already sit in bronze, and a
    backfill may have recorded their fates. A batch from here on reads
    offsets no batch read before. A new checkpoint vouches for nothing: it
    may be a lost one replaced (the lake then holds fates of the records the
    query reads again), so all its batches are treated as replays until it
    has a history.
    """
    offsets = checkpoint / "offsets"
    ids = [int(p.name) for p in offsets.iterdir() if p.name.isdigit()] if offsets.is_dir() else []
    return max(ids) + 1 if ids else None


@dataclass
class Start:
    """How the industry's query starts: from its checkpoint, or (recovering) after bronze's offsets."""
    offsets: str = "earliest"
    topics: list = field(default_factory=list)     # the industry's topics now: shared, then site topics
    idle: dict = field(default_factory=dict)       # topic -> why there is nothing to read
    caught_up: list = field(default_factory=list)  # CleanResults of bronze rows cleaned before starting
    retire: list = field(default_factory=list)     # old-layout checkpoints to move aside once it ran

    @property
    def must_run(self) -> bool:
        """Some topic may hold records the lake has not read (or the start is in doubt)."""
        return not self.topics or any(t not in self.idle for t in self.topics)


def prepare(spark: "SparkSession", cfg: Config, industry: str, lanes: list[Lane], run_id: str,
            recover: bool = False, log=print) -> Start:
    """Decide where the query starts; refuse (CheckpointLost) rather than guess.

    Without a checkpoint but with bronze (recovering, or moving a lake of the
    old layout over), bronze rows that nothing accounts for yet are cleaned
    first, keyed, and the source resumes after the last offset bronze holds
    per partition.
    """
    checkpoint = pass_checkpoint(cfg, industry)
    started = (checkpoint / "offsets").is_dir()
    start = Start(topics=industry_topics(cfg, lanes))
    if started or not any(is_delta(table_path(cfg, lane.bronze)) for lane in lanes):
        # The checkpoint decides (a batch that died mid-way is replayed from it); recovering, always start.
        if not recover:
            cp = read_checkpoint(checkpoint)
            # A topic the checkpoint read that the broker no longer lists must reach Spark (data loss).
            read = {t for o in (cp.committed, cp.planned) if isinstance(o, dict) for t in o
                    if lane_of(cfg, lanes, t) is not None}
            start.topics += sorted(read - set(start.topics))
            shared = {lane.topic: lane.bronze for lane in lanes}
            # A site topic the checkpoint never read and Kafka holds nothing of has nothing to read;
            # a shared one is in doubt while its bronze table exists (brain.ingest.bronze.caught_up).
            start.idle = caught_up(cfg, checkpoint, [(t, shared.get(t)) for t in start.topics])
        return start
    if not recover:
        start.retire = legacy_checkpoints(cfg, lanes)
        if not start.retire:
            raise CheckpointLost(
                f"the bronze tables of {industry} already hold data but the checkpoint {checkpoint} is "
                f"missing. Starting again would re-read the topics from the beginning and double the data, or "
                f"skip records if it started from 'latest'. Restore the checkpoint from backup, or run "
                f"`brain ingest --recover-from-bronze` to resume from the last offsets bronze holds.")
        log(f"[{industry}] moving to one query per industry: cleaning what bronze holds that nothing accounts "
            f"for, then resuming after bronze's last offsets; old checkpoints go to {_retired(cfg)}")
    start.caught_up = clean_unaccounted(spark, cfg, lanes, run_id)
    # Spark needs every partition of every topic the pattern matches named once offsets are given: the
    # broker's topics now (a site topic bronze never saw starts at its earliest offset).
    offsets = recovery_offsets(spark, cfg, [(t, lane_of(cfg, lanes, t).bronze) for t in start.topics], log)
    start.offsets = json.dumps({t: o for t, o in offsets.items() if o})
    return start


def run_pass(spark: "SparkSession", cfg: Config, industry: str, lanes: list[Lane], run_id: str,
             recover: bool = False, log=print) -> PassReport:
    """Drain every topic of the industry into the lake (available-now); what it wrote, per topic and table.

    Not started when the checkpoint holds every offset Kafka has (a query's
    start and stop cost more than a no-data cycle's whole work).
    """
    start = prepare(spark, cfg, industry, lanes, run_id, recover, log)
    totals = PassTotals()
    for r in start.caught_up:
        if r.bronze_rows:
            totals.add({}, [r])
    if start.must_run:
        attempts = max(1, int(cfg.get("spark_connect.worker_start_attempts", 5)))
        try:
            for attempt in range(1, attempts + 1):
                try:  # over Connect, start() itself fails when the server's worker does not start
                    start_pass(spark, cfg, industry, lanes, run_id, totals, start.offsets).awaitTermination()
                    break
                except Exception as exc:
                    if attempt < attempts and worker_start_failed(exc):
                        log(f"[{industry}] the Spark Connect server's Python worker for the pass did not start "
                            f"in time (a busy machine?); starting the pass again ({attempt} of {attempts})")
                        time.sleep(2.0 * attempt)
                        continue
                    named = ", ".join(lane.topic for lane in lanes)
                    lost = explain_data_loss(f"the {industry} topics ({named}, and its sites' topics: "
                                             f"{subscription(cfg, industry)})",
                                             exc, f"the checkpoint {pass_checkpoint(cfg, industry)}")
                    if lost is not None:
                        raise lost from exc
                    raise
        finally:
            totals.close()
    retire(cfg, start.retire)
    return report(cfg, lanes, totals, start.idle, start.topics)


def worker_start_failed(exc: BaseException) -> bool:
    """The Spark Connect server could not start the Python worker that runs the pass's batch function:
    Spark gives it a fixed 10 s to connect back (PythonWorkerFactory), which a loaded machine can miss.
    The query fails before its first batch ran, so starting it again is safe (the checkpoint decides)."""
    return "Python worker failed to connect back" in str(exc) or \
        "waiting for the Python worker to connect back" in str(exc)


def report(cfg: Config, lanes: list[Lane], totals: PassTotals, idle: dict, topics: list[str] = ()) -> PassReport:
    """Per topic (the shared ones first, in lane order, then the site topics) and per silver table."""
    shared = [lane.topic for lane in lanes]
    names = shared + sorted((set(topics) | set(totals.rows)) - set(shared))
    ingest = [IngestResult(t, lane_of(cfg, lanes, t).bronze, totals.rows.get(t, 0), totals.batches.get(t, 0),
                           idle.get(t, "")) for t in names]
    clean = []
    for lane in lanes:
        total = totals.cleaned.get(lane.silver, CleanResult(lane.silver))
        clean.append({**total.as_dict(), "skipped": "" if total.batches else "nothing new in Kafka"})
    return PassReport(ingest, clean)


def _retired(cfg: Config) -> Path | S3Path:
    return location(cfg, "lake.checkpoints") / "_retired"


def retire(cfg: Config, paths: list[Path | S3Path]) -> None:
    """Move old-layout checkpoints aside (kept, not deleted: an operator may want to look at them)."""
    for p in paths:
        target = _retired(cfg) / p.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            taken = sum(1 for q in target.parent.iterdir() if q.name.startswith(p.name))
            target = target.parent / f"{p.name}.{taken}"
        if isinstance(p, S3Path):
            p.rename(target)  # copy + delete: S3 has no rename
        else:
            shutil.move(str(p), str(target))


def clean_unaccounted(spark: "SparkSession", cfg: Config, lanes: list[Lane], run_id: str) -> list[CleanResult]:
    """Clean the bronze rows found in none of silver, quarantine and duplicates (keyed writes).

    After a lost checkpoint or a move from the old layout, these are the rows
    bronze received in a batch whose cleaning never committed: the source
    resumes after bronze's offsets and would not read them again.
    """
    from pyspark.sql import functions as F

    out = []
    for lane in lanes:
        path = table_path(cfg, lane.bronze)
        if not is_delta(path):
            continue
        coords = ["topic", "partition", "offset"]
        seen = []
        silver = table_path(cfg, lane.silver)
        if is_delta(silver):
            seen.append(spark.read.format("delta").load(str(silver))
                        .select(F.col("_topic").alias("topic"), F.col("_partition").alias("partition"),
                                F.col("_offset").alias("offset")))
        for shared in (QUARANTINE, DUPLICATES):
            if is_delta(table_path(cfg, shared)):
                seen.append(spark.read.format("delta").load(str(table_path(cfg, shared)))
                            .where(F.col("industry") == lane.spec.industry).select(*coords))
        rows = spark.read.format("delta").load(str(path))  # the lane's topics, shared and per site
        for s in seen:
            rows = rows.join(s, coords, "left_anti")
        with table_lock(cfg, lane.silver):
            out.append(process_batch(spark, cfg, lane.spec, lane.silver, rows, run_id))
    return out
