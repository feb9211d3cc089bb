"""The tables every record type of every industry writes to, created once up front."""

from __future__ import annotations

from typing import TYPE_CHECKING

from brain.config import Config
from brain.lake.classified import stamp_created
from brain.lake.stats_columns import stats_property
from brain.lake.tables import DUPLICATES, QUARANTINE, TOUCHED, is_delta, table_path
from brain.lake.writers import retry_conflicts

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SHARED_TABLES = {
    QUARANTINE: ("industry string, record_type string, reason string, event_id string, payload binary, "
                 "topic string, partition int, offset long, kafka_ts timestamp, key binary, "
                 "quarantined_at timestamp", ["industry"]),
    DUPLICATES: ("industry string, record_type string, event_id string, topic string, partition int, "
                 "offset long, counted_at timestamp", ["industry"]),
    TOUCHED: ("table string, event_date date, run_id string, recorded_at timestamp", []),
}
# lake.stats_columns' layer of each (the touched-days table is tiny: Delta's default)
STATS_LAYER = {QUARANTINE: "quarantine", DUPLICATES: "duplicates"}


def shared_stats_property(cfg: Config, name: str, columns) -> dict[str, str]:
    """The statistics columns of one shared table (brain.lake.stats_columns), whoever creates it:
    ``ensure_shared_tables`` up front, or a writer that finds it missing."""
    return stats_property(cfg, STATS_LAYER[name], columns) if name in STATS_LAYER else {}


def ensure_shared_tables(spark: "SparkSession", cfg: Config) -> None:
    """Create the tables every record type appends to, before queries run in parallel
    (two writers creating one table at once would conflict)."""
    for name, (ddl, partition_by) in SHARED_TABLES.items():
        path = table_path(cfg, name)

        def create(path=path, ddl=ddl, partition_by=partition_by, name=name):
            if not is_delta(path):  # checked again on a retry: the other creator may have won
                empty = spark.createDataFrame([], ddl)
                writer = empty.write.format("delta").mode("append")
                (writer.partitionBy(*partition_by) if partition_by else writer).save(str(path))
                stamp_created(spark, path, empty.columns, name,
                              also=shared_stats_property(cfg, name, empty.columns))
        retry_conflicts(create)
