"""How the clean stage writes a table so that doing it twice changes nothing.

From a streaming query a batch appends with Delta's idempotent-write options
(txnAppId/txnVersion): cheap, and a batch replayed after a crash is skipped
where it was committed. Every other writer (backfill, quarantine replay, a
move to quarantine) MERGEs on the table's key and inserts only what is
missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from brain.config import Config
from brain.lake import delta_sql
from brain.lake.classified import stamp_created
from brain.lake.tables import TOUCHED, is_delta, table_path
from brain.lake.writers import retry_conflicts

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def merge_insert(spark: "SparkSession", path: str, df: "DataFrame", keys: list[str],
                 partition_by: list[str], props: dict[str, str]) -> None:
    """Insert rows whose keys are not in the table yet; create the table if needed."""
    if not is_delta(path):
        append(spark, path, df, partition_by, props, None)
        return
    cond = " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys)
    # Keyed, so a retry after a lost commit race (OPTIMIZE, another industry's append to a
    # shared table) inserts exactly what is still missing.
    retry_conflicts(lambda: delta_sql.merge(path, df, cond, ["WHEN NOT MATCHED THEN INSERT *"]))


def append(spark: "SparkSession", path: str, df: "DataFrame", partition_by: list[str], props: dict[str, str],
           txn: tuple[str, int] | None) -> None:
    """Append; with ``txn`` = (app id, batch id) Delta skips a batch it already committed."""
    created = not is_delta(path)
    writer = df.write.format("delta").mode("append")
    if txn is not None:
        writer = writer.option("txnAppId", txn[0]).option("txnVersion", str(txn[1]))
    if partition_by:
        writer = writer.partitionBy(*partition_by)
    if created:  # Delta's own properties (e.g. which columns get statistics) apply to the first files too
        for key, value in props.items():
            if key.startswith("delta."):
                writer = writer.option(key, value)
    writer.save(path)
    if created:  # every new table carries its columns' classification (brain.lake.classified)
        stamp_created(spark, path, df.columns, also=props)


def write(spark: "SparkSession", path: str, df: "DataFrame", keys: list[str], partition_by: list[str],
          props: dict[str, str], txn: tuple[str, int] | None) -> None:
    """Streaming batches append idempotently (cheap); other callers merge on ``keys``."""
    if txn is not None:
        append(spark, path, df, partition_by, props, txn)
    else:
        merge_insert(spark, path, df, keys, partition_by, props)



def not_recorded(spark: "SparkSession", cfg: Config, name: str, rows: "DataFrame", industry: str,
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


def streaming_target_exists(cfg: Config, name: str, txn: tuple[str, int] | None) -> bool:
    return txn is not None and is_delta(table_path(cfg, name))


def record_touched(spark: "SparkSession", cfg: Config, days_by_table: dict[str, list], run_id: str,
                   txn: tuple[str, int] | None = None) -> None:
    """Days that received rows, per silver table, so gold recomputes exactly those (late data included)."""
    rows = [(table, d, run_id) for table, days in days_by_table.items() for d in days]
    if not rows:
        return
    from pyspark.sql import functions as F

    from brain.lake.frames import local_frame

    df = local_frame(spark, rows, "table string, event_date date, run_id string")
    df = df.withColumn("recorded_at", F.current_timestamp())
    write(spark, str(table_path(cfg, TOUCHED)), df, ["table", "event_date", "run_id"], [], {}, txn)
