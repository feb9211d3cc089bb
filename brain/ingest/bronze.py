"""Kafka -> bronze: raw bytes plus Kafka coordinates, the lake's replayable record.

Bronze is written by the industry's one pass (brain.clean.industry_pass): one
Kafka source per industry, each micro-batch appended to the record types'
bronze tables with Delta's idempotent-write options (query id, batch id), so
a batch replayed after a crash is not written twice. This module holds what
is Kafka's side of it: the bronze row shape, where a lost checkpoint resumes,
whether the source has anything new, and what a data-loss error means.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from brain.config import Config
from brain.lake.tables import is_delta, table_path

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


class CheckpointLost(RuntimeError):
    """Bronze has data but its checkpoint is gone: starting over would duplicate or skip."""


class KafkaDataLost(RuntimeError):
    """Offsets the checkpoint expects are gone from Kafka (retention, or a recreated topic)."""


# Phrases Spark's Kafka source uses when failOnDataLoss stops a query.
_DATA_LOSS_MARKERS = ("failOnDataLoss", "OffsetOutOfRange", "Some data may have been lost",
                      "were deleted", "data loss")


def explain_data_loss(topics: str, error: BaseException, checkpoint: str = "the checkpoint") -> KafkaDataLost | None:
    """A KafkaDataLost telling the operator what to do, if ``error`` is Spark reporting lost offsets."""
    text = str(error)
    if not any(m.lower() in text.lower() for m in _DATA_LOSS_MARKERS):
        return None
    return KafkaDataLost(
        f"records of {topics} that were never ingested are gone from Kafka (retention removed them, or the "
        f"topic was deleted and recreated). Nothing was skipped silently: ingestion stopped. "
        f"To go on, find out what was lost (`brain reconcile` shows bronze's last offsets; the factory or an "
        f"upstream archive may still have the records and can resend them with `brain produce`), then move "
        f"{checkpoint} aside and run `brain ingest --recover-from-bronze`: it resumes at the earliest "
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


def recovery_offsets(spark: "SparkSession", cfg: Config, topics_tables: list[tuple[str, str]],
                     log=print) -> dict[str, dict[str, int]]:
    """Kafka source start offsets (topic -> partition -> offset) resuming after the last offset
    bronze holds per partition, for every (topic, its bronze table) given: with a subscribePattern,
    every topic the pattern matches now, site topics included.

    Partitions bronze has never seen start at the earliest offset (-2), as
    Spark needs every partition of every subscribed topic named once specific
    offsets are given. Where Kafka no longer holds bronze's next offset
    (retention), recovery starts at the earliest it does hold and says exactly
    which offsets were lost: the operator asked for this by recovering, so the
    gap is reported, not hidden. A topic Kafka does not have gets no entry.
    Bronze is read once per table (one job), not once per topic.
    """
    from pyspark.sql import functions as F

    from brain.ingest.kafka_io import beginning_offsets

    seen: dict[str, dict[int, int]] = {}
    by_table: dict[str, list[str]] = {}
    for topic, table in topics_tables:
        by_table.setdefault(table, []).append(topic)
    for table, topics in by_table.items():
        if is_delta(table_path(cfg, table)):
            rows = (spark.read.format("delta").load(str(table_path(cfg, table))).where(F.col("topic").isin(*topics))
                    .groupBy("topic", "partition").agg(F.max("offset").alias("o")).collect())
            for r in rows:
                seen.setdefault(r["topic"], {})[int(r["partition"])] = int(r["o"]) + 1
    out = {}
    for topic, _ in topics_tables:
        earliest = beginning_offsets(cfg, topic)
        held = seen.get(topic, {})
        start = {}
        for p in sorted(earliest):
            if p not in held:
                start[str(p)] = -2
                continue
            start[str(p)] = max(held[p], earliest[p])
            if held[p] < earliest[p]:
                log(f"{topic} partition {p}: offsets {held[p]}..{earliest[p] - 1} are gone from Kafka "
                    f"({earliest[p] - held[p]} records never ingested); resuming at {earliest[p]}")
        out[topic] = start
    return out


def caught_up(cfg: Config, checkpoint: Path, topics_tables: list[tuple[str, str | None]]) -> dict[str, str]:
    """topic -> why the industry's source has nothing to read from it: the checkpoint has committed every
    offset Kafka holds, or the topic is empty or missing and was never read. Topics in any doubt are
    left out (the source must run, and Spark decides). A topic given with a bronze table is in doubt
    while that table exists and the topic is empty and unread (bronze may hold what a recreated topic
    lost); one given without (a site topic, which shares its lane's table) is not."""
    from brain.ingest.kafka_io import describe_topics
    from brain.lake.checkpoints import kafka_caught_up, kafka_offsets, read_checkpoint

    ends = {t.topic: t.end_offsets for t in describe_topics(cfg, [topic for topic, _ in topics_tables])}
    cp = read_checkpoint(checkpoint)
    out = {}
    for topic, table in topics_tables:
        end = ends.get(topic) or {}
        never_read = not kafka_offsets(cp.committed, topic) and not kafka_offsets(cp.planned, topic)
        if end and kafka_caught_up(checkpoint, topic, end):
            out[topic] = "checkpoint has every offset Kafka holds"
        elif not any(end.values()) and never_read and (table is None or not is_delta(table_path(cfg, table))):
            out[topic] = "topic is empty" if end else "topic does not exist yet"
    return out
