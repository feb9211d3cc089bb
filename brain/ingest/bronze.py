"""Kafka -> bronze: raw bytes plus Kafka coordinates, appended exactly once.

One Structured Streaming query per topic, each with its own checkpoint. The
Delta sink commits each micro-batch with the query id and batch id, so a
batch replayed after a crash is not written twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from brain.config import Config
from brain.lake.streaming import trigger_options
from brain.lake.tables import checkpoint_path, is_delta, table_path

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


class CheckpointLost(RuntimeError):
    """Bronze has data but its checkpoint is gone: starting over would duplicate or skip."""


class KafkaDataLost(RuntimeError):
    """Offsets the checkpoint expects are gone from Kafka (retention, or a recreated topic)."""


# Phrases Spark's Kafka source uses when failOnDataLoss stops a query.
_DATA_LOSS_MARKERS = ("failOnDataLoss", "OffsetOutOfRange", "Some data may have been lost",
                      "were deleted", "data loss")


def explain_data_loss(topic: str, error: BaseException) -> KafkaDataLost | None:
    """A KafkaDataLost telling the operator what to do, if ``error`` is Spark reporting lost offsets."""
    text = str(error)
    if not any(m.lower() in text.lower() for m in _DATA_LOSS_MARKERS):
        return None
    return KafkaDataLost(
        f"records of {topic} that were never ingested are gone from Kafka (retention removed them, or the "
        f"topic was deleted and recreated). Nothing was skipped silently: ingestion of {topic} stopped. "
        f"To go on, find out what was lost (`brain reconcile` shows bronze's last offsets; the factory or an "
        f"upstream archive may still have the records and can resend them with `brain produce`), then move the "
        f"topic's checkpoint aside and run `brain ingest --recover-from-bronze`: it resumes at the earliest "
        f"offset Kafka holds and prints the exact offsets that were lost. "
        f"Spark said: {text.splitlines()[0][:300]}")


@dataclass(frozen=True)
class IngestResult:
    topic: str
    table: str
    rows: int
    batches: int
    skipped: str = ""  # why no query was started (nothing new in Kafka)


def kafka_to_bronze_frame(kafka_df: "DataFrame") -> "DataFrame":
    """The bronze row shape (pure)."""
    from pyspark.sql import functions as F

    return kafka_df.select(
        F.col("value").alias("payload"),
        "key", "topic", "partition", "offset",
        F.col("timestamp").alias("kafka_ts"),
        "headers",
        F.current_timestamp().alias("ingest_ts"),
    ).withColumn("ingest_date", F.to_date("ingest_ts"))


def _guard_checkpoint(cfg: Config, table: str, checkpoint) -> None:
    path = table_path(cfg, table)
    if is_delta(path) and not (checkpoint / "offsets").is_dir():
        raise CheckpointLost(
            f"{table} at {path} already holds data but its checkpoint {checkpoint} is missing. "
            f"Starting again would re-read the topic from the beginning and double the data, or skip "
            f"records if it started from 'latest'. Restore the checkpoint from backup, or run "
            f"`brain ingest --recover-from-bronze` to resume from the last offsets bronze holds."
        )


def start_query(spark: "SparkSession", cfg: Config, topic: str, table: str,
                starting_offsets: str = "earliest"):
    """Start (not await) the ingest query for one topic."""
    checkpoint = checkpoint_path(cfg, f"bronze.{table.split('.', 1)[1]}")
    if starting_offsets == "earliest":
        _guard_checkpoint(cfg, table, checkpoint)
    source = (spark.readStream.format("kafka")
              .option("kafka.bootstrap.servers", cfg.get("kafka.bootstrap_servers"))
              .option("subscribe", topic)
              .option("startingOffsets", starting_offsets)
              # Offsets lost to retention must stop the job, never be skipped.
              .option("failOnDataLoss", "true")
              .option("includeHeaders", "true")
              .option("maxOffsetsPerTrigger", str(cfg.get("pipeline.max_offsets_per_trigger", 500000)))
              .load())
    return (kafka_to_bronze_frame(source).writeStream.format("delta")
            .queryName(f"bronze_{table.split('.', 1)[1]}")
            .option("checkpointLocation", str(checkpoint))
            .partitionBy("ingest_date")
            .outputMode("append")
            .trigger(**trigger_options(cfg))
            .start(str(table_path(cfg, table))))


def rows_written(query) -> tuple[int, int]:
    """(rows, batches) the query processed, from its progress reports."""
    progress = [p for p in query.recentProgress if p]
    return sum(int(p.get("numInputRows", 0)) for p in progress), sum(
        1 for p in progress if int(p.get("numInputRows", 0)) > 0)


def recovery_offsets(spark: "SparkSession", cfg: Config, topic: str, table: str, log=print) -> str:
    """startingOffsets JSON resuming after the last offset bronze holds per partition.

    Partitions bronze has never seen start at the earliest offset (-2), as
    Spark needs every partition named once specific offsets are given. Where
    Kafka no longer holds bronze's next offset (retention), recovery starts at
    the earliest it does hold and says exactly which offsets were lost: the
    operator asked for this by recovering, so the gap is reported, not hidden.
    """
    import json

    from pyspark.sql import functions as F

    from brain.ingest.kafka_io import beginning_offsets

    rows = (spark.read.format("delta").load(str(table_path(cfg, table)))
            .where(F.col("topic") == topic).groupBy("partition").agg(F.max("offset").alias("o")).collect())
    seen = {int(r["partition"]): int(r["o"]) + 1 for r in rows}
    earliest = beginning_offsets(cfg, topic)
    start = {}
    for p in sorted(earliest):
        if p not in seen:
            start[str(p)] = -2
            continue
        start[str(p)] = max(seen[p], earliest[p])
        if seen[p] < earliest[p]:
            log(f"{topic} partition {p}: offsets {seen[p]}..{earliest[p] - 1} are gone from Kafka "
                f"({earliest[p] - seen[p]} records never ingested); resuming at {earliest[p]}")
    return json.dumps({topic: start})


def start_all(spark: "SparkSession", cfg: Config, topics_tables: list[tuple[str, str]],
              recover: bool = False) -> list[tuple[str, str, object]]:
    """Start one ingest query per topic; returns (topic, table, query)."""
    queries = []
    for topic, table in topics_tables:
        offsets = "earliest"
        if recover and is_delta(table_path(cfg, table)):
            offsets = recovery_offsets(spark, cfg, topic, table)
        queries.append((topic, table, start_query(spark, cfg, topic, table, offsets)))
    return queries


def caught_up(cfg: Config, topics_tables: list[tuple[str, str]]) -> dict[str, str]:
    """topic -> why its ingest query has nothing to read (its checkpoint has committed every offset
    Kafka holds, or the topic is empty and was never read); topics in any doubt are left out."""
    from brain.ingest.kafka_io import describe_topics
    from brain.lake.checkpoints import kafka_caught_up

    ends = {t.topic: t.end_offsets for t in describe_topics(cfg, [topic for topic, _ in topics_tables])}
    out = {}
    for topic, table in topics_tables:
        end = ends.get(topic) or {}
        checkpoint = checkpoint_path(cfg, f"bronze.{table.split('.', 1)[1]}")
        if end and kafka_caught_up(checkpoint, topic, end):
            out[topic] = "checkpoint has every offset Kafka holds"
        elif end and not any(end.values()) and not (checkpoint / "offsets").is_dir() \
                and not is_delta(table_path(cfg, table)):
            out[topic] = "topic is empty"
    return out


def ingest(spark: "SparkSession", cfg: Config, topics_tables: list[tuple[str, str]],
           recover: bool = False) -> list[IngestResult]:
    """Drain each topic into its bronze table and return what each query wrote.

    Topics with nothing new are not started (a query's start and stop cost more than a
    no-data cycle's whole work); ``recover`` always starts every query.
    """
    idle = {} if recover else caught_up(cfg, topics_tables)
    results = {topic: IngestResult(topic, table, 0, 0, idle[topic]) for topic, table in topics_tables
               if topic in idle}
    busy = [(topic, table) for topic, table in topics_tables if topic not in idle]
    for topic, table, q in start_all(spark, cfg, busy, recover):
        try:
            q.awaitTermination()
        except Exception as exc:
            lost = explain_data_loss(topic, exc)
            if lost is not None:
                raise lost from exc
            raise
        rows, batches = rows_written(q)
        results[topic] = IngestResult(topic, table, rows, batches)
    return [results[topic] for topic, _ in topics_tables]  # in the order asked for
