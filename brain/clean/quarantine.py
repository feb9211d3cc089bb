"""Moving silver rows that failed a ``quarantine`` expectation into the quarantine table.

The contract checks (brain.clean.fate) quarantine a record before it reaches
silver; an expectation (brain.quality) judges it once it is there, so the
move goes the other way: silver -> quarantine, with the payload taken back
from bronze (personal fields pseudonymised in it, as for every quarantine row).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from brain.clean.pseudonym import PseudonymKey, load_key, personal_fields, scrub_payload
from brain.clean.writes import merge_insert
from brain.config import Config
from brain.contracts.specs import RecordSpec
from brain.lake import delta_sql
from brain.lake.tables import QUARANTINE, table_path
from brain.lake.writers import retry_conflicts, table_lock

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def move_to_quarantine(spark: "SparkSession", cfg: Config, spec: RecordSpec, silver_name: str,
                       rows: "DataFrame", bronze_name: str) -> int:
    """Move silver rows that failed a `quarantine` expectation into the quarantine table.

    ``rows`` carry silver columns plus ``reason`` (the expectation's name).
    The raw payload comes back from bronze by Kafka coordinates. Quarantine is
    written first, keyed on coordinates, then the rows leave silver: a retry
    after a crash between the two finishes the move without doubling it.
    """
    from pyspark.sql import functions as F

    # Partition columns, where the rows have them, let both lookups below skip what cannot match.
    extra = [c for c in ("event_date", "_ingest_ts") if c in rows.columns]
    rows = rows.select("event_id", "_topic", "_partition", "_offset", "reason", *extra).localCheckpoint()
    literal_max = int(cfg.get("quality.move_by_coordinates_max", 10000))
    found_rows = _located(rows, extra, literal_max)
    n = found_rows.count
    if n == 0:
        return 0
    bronze = spark.read.format("delta").load(str(table_path(cfg, bronze_name)))
    key, personal = load_key(cfg), personal_fields(cfg)  # the payload leaves bronze pseudonymised
    days = found_rows.ingest_days
    quarantine = _with_payload(rows, bronze.where(F.col("ingest_date").isin(days)) if days else bronze, spec,
                               personal, key)
    found = quarantine.count()
    if found != n and days:  # an ingest day that does not match bronze's: look in all of it
        quarantine = _with_payload(rows, bronze, spec, personal, key)
        found = quarantine.count()
    if found != n:
        raise RuntimeError(f"{n - found} of {n} {silver_name} rows to move to quarantine have no bronze row "
                           f"({bronze_name}) to take their payload from; nothing was moved. `brain reconcile` "
                           f"shows which coordinates are missing.")
    in_days = ""
    if found_rows.event_days and "event_date" in spec.partition_by:  # only the partitions holding the rows
        in_days = "event_date IN (" + ", ".join(f"DATE'{d}'" for d in found_rows.event_days) + ")"
    silver = table_path(cfg, silver_name)
    with table_lock(cfg, silver_name):  # a stream batch deciding "new" against silver waits
        merge_insert(spark, str(table_path(cfg, QUARANTINE)), quarantine, ["topic", "partition", "offset"],
                     ["industry"], {})
        if found_rows.coordinates is not None:
            # A few rows: a DELETE whose condition names them finds them in one scan of the days' files;
            # a MERGE joins silver with them, then reads the files it touched again to mark the rows.
            where = " AND ".join(c for c in (in_days, coordinates_condition(found_rows.coordinates)) if c)
            retry_conflicts(lambda: delta_sql.delete(spark, silver, where))
        else:
            on = ("t.event_id = s.event_id AND t._topic = s._topic AND t._partition = s._partition "
                  "AND t._offset = s._offset" + (f" AND t.{in_days}" if in_days else ""))
            # Broadcast: adaptive execution is off by default, and without the hint the planner cannot
            # tell that the materialised rows are small, so it would shuffle all of silver to join them.
            retry_conflicts(lambda: delta_sql.merge(silver, F.broadcast(rows), on, ["WHEN MATCHED THEN DELETE"]))
    quarantine.unpersist()
    return n


@dataclass(frozen=True)
class _Located:
    count: int
    ingest_days: list      # the rows' ingest days (bronze's partitions); empty when unknown
    event_days: list       # their event days as ISO strings (silver's partitions); empty when unknown
    coordinates: list | None  # (topic, partition, offset) of each row; None past the literal limit


def _located(rows: "DataFrame", extra: list[str], literal_max: int) -> _Located:
    """What the move needs to know about the materialised ``rows`` up front."""
    from pyspark.sql import functions as F

    row = rows.agg(F.count(F.lit(1)).alias("n"),
                   F.collect_set(F.to_date("_ingest_ts") if "_ingest_ts" in extra else F.lit(None)).alias("ingest"),
                   F.collect_set(F.col("event_date") if "event_date" in extra else F.lit(None)).alias("event"),
                   ).collect()[0]
    n = int(row["n"])
    coordinates = None
    if 0 < n <= literal_max:
        coordinates = [(r[0], int(r[1]), int(r[2])) for r in rows.select("_topic", "_partition", "_offset").collect()]
    return _Located(n, sorted(d for d in row["ingest"] if d is not None),
                    sorted(str(d) for d in row["event"] if d is not None), coordinates)


def coordinates_condition(coordinates: list[tuple[str, int, int]]) -> str:
    """A silver SQL condition true exactly for the rows at these Kafka coordinates (pure): per topic
    and partition, its offsets as one IN list (a hash set lookup per row)."""
    if not coordinates:
        return "false"
    grouped: dict[tuple[str, int], set[int]] = {}
    for topic, partition, offset in coordinates:
        grouped.setdefault((topic, partition), set()).add(offset)
    parts = [f"(_topic = {delta_sql.sql_string(t)} AND _partition = {p} "
             f"AND _offset IN ({', '.join(map(str, sorted(o)))}))" for (t, p), o in sorted(grouped.items())]
    return "(" + " OR ".join(parts) + ")"


def _with_payload(rows: "DataFrame", bronze: "DataFrame", spec: RecordSpec, personal: tuple[str, ...],
                  key: PseudonymKey) -> "DataFrame":
    """Quarantine rows for ``rows`` with their payload from ``bronze``, by Kafka coordinates, personal
    fields pseudonymised in it (materialised: the silver delete that follows must not change what was
    found)."""
    from pyspark.sql import functions as F

    small = F.broadcast(rows)  # a few failing rows against all of bronze: no shuffle of bronze
    found = (small.join(bronze, (small["_topic"] == bronze["topic"]) & (small["_partition"] == bronze["partition"])
                        & (small["_offset"] == bronze["offset"]))
             .select(F.lit(spec.industry).alias("industry"), F.lit(spec.record_type).alias("record_type"),
                     F.concat(F.lit("expectation:"), F.col("reason")).alias("reason"), "event_id", "payload",
                     "topic", "partition", "offset", "kafka_ts", "key",
                     F.current_timestamp().alias("quarantined_at")))
    return scrub_payload(found, personal, key).localCheckpoint()
