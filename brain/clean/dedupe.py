"""Which valid records are duplicates: of an earlier row in the same batch, or of one in silver.

Silver is keyed on ``event_id``, and a record's identity in the lake is its
Kafka coordinates (topic, partition, offset). A record whose ``event_id`` is
already in silver under other coordinates is a duplicate; under the same
coordinates it is the same batch being replayed, neither new nor a duplicate.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from brain.contracts.specs import RecordSpec
from brain.lake.tables import is_delta

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def mark_duplicates(valid: "DataFrame", existing: "DataFrame | None", small: bool = False) -> "DataFrame":
    """``valid`` with ``_dup`` (true: a duplicate), replays dropped. Pure given ``existing`` =
    silver's (event_id, coordinates); one pass, so a batch's fates cost one materialisation.

    Within the batch the lowest (topic, partition, offset) wins; against
    silver, a row whose event_id is stored under different coordinates is a
    duplicate, and one stored under the same coordinates is a replay (neither).

    ``small``: the batch is small enough to broadcast. Silver is then first cut to the batch's
    event_ids by a broadcast semi-join, so no silver row is shuffled; otherwise both sides are
    shuffled on event_id (sort-merge), which at a few thousand rows against a month of silver
    costs all of silver's ids.
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
    if small:
        ids = F.broadcast(valid.select(F.col("event_id").alias("_ex_id")))
        ex = F.broadcast(ex.join(ids, "_ex_id", "left_semi"))  # at most one stored row per batch row
    joined = ranked.join(ex, ranked["event_id"] == ex["_ex_id"], "left")
    same = ((F.col("_ex_topic") == F.col("_topic")) & (F.col("_ex_partition") == F.col("_partition"))
            & (F.col("_ex_offset") == F.col("_offset")))
    stored = F.col("_ex_id").isNotNull()
    return (joined.where(~(stored & same))  # a replay of a stored row: neither new nor a duplicate
            .select(*cols, ((F.col("_rank") > 1) | stored).alias("_dup")))


def split_duplicates(valid: "DataFrame", existing: "DataFrame | None",
                     small: bool = False) -> tuple["DataFrame", "DataFrame"]:
    """(new rows, duplicate rows): mark_duplicates split in two."""
    from pyspark.sql import functions as F

    marked = mark_duplicates(valid, existing, small)
    return marked.where(~F.col("_dup")).drop("_dup"), marked.where(F.col("_dup")).drop("_dup")


def stored_silver(spark: "SparkSession", silver_path: str, since=None) -> "DataFrame | None":
    """Silver's (event_id, coordinates), of the event days from ``since`` on (all without it);
    None while there is no silver table."""
    from pyspark.sql import functions as F

    if not is_delta(silver_path):
        return None
    silver = spark.read.format("delta").load(silver_path)
    if since is not None:
        silver = silver.where(F.col("event_date") >= F.lit(since))
    return silver.select("event_id", "_topic", "_partition", "_offset")


def recent_silver(spark: "SparkSession", silver_path: str, days: set, late_horizon_days: int) -> "DataFrame | None":
    """Silver's (event_id, coordinates) for the days a copy of this batch's records can be in.

    A resent record keeps its event time, so its first copy sits in the same
    ``event_date`` partition; the late horizon before the batch's oldest day is
    the margin. Reading only those partitions keeps the duplicate check's cost
    flat as silver grows, instead of scanning every event_id ever stored.
    """
    if not days:
        return None
    return stored_silver(spark, silver_path, min(days) - timedelta(days=late_horizon_days))


def duplicates_frame(dups: "DataFrame", spec: RecordSpec) -> "DataFrame":
    """Duplicate silver rows as ``quality.duplicates`` rows: counted by their coordinates."""
    from pyspark.sql import functions as F

    return dups.select(F.lit(spec.industry).alias("industry"), F.lit(spec.record_type).alias("record_type"),
                       "event_id", F.col("_topic").alias("topic"), F.col("_partition").alias("partition"),
                       F.col("_offset").alias("offset"), F.current_timestamp().alias("counted_at"))
