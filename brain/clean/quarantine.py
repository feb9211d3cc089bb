"""Moving silver rows that failed a ``quarantine`` expectation into the quarantine table.

The contract checks (brain.clean.fate) quarantine a record before it reaches
silver; an expectation (brain.quality) judges it once it is there, so the
move goes the other way: silver -> quarantine, with the payload taken back
from bronze (personal fields pseudonymised in it, as for every quarantine row).
"""

from __future__ import annotations

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
    n = rows.count()
    if n == 0:
        return 0
    bronze = spark.read.format("delta").load(str(table_path(cfg, bronze_name)))
    days = ([r[0] for r in rows.select(F.to_date("_ingest_ts")).distinct().collect() if r[0] is not None]
            if "_ingest_ts" in extra else [])
    key, personal = load_key(cfg), personal_fields(cfg)  # the payload leaves bronze pseudonymised
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
    delete_cond = ("t.event_id = s.event_id AND t._topic = s._topic AND t._partition = s._partition "
                   "AND t._offset = s._offset")
    event_days = ([str(r[0]) for r in rows.select("event_date").distinct().collect() if r[0] is not None]
                  if "event_date" in extra else [])
    if event_days and "event_date" in spec.partition_by:  # rewrite only the partitions holding the rows
        delete_cond += " AND t.event_date IN (" + ", ".join(f"DATE'{d}'" for d in event_days) + ")"
    with table_lock(cfg, silver_name):  # a stream batch deciding "new" against silver waits
        merge_insert(spark, str(table_path(cfg, QUARANTINE)), quarantine, ["topic", "partition", "offset"],
                     ["industry"], {})
        retry_conflicts(lambda: delta_sql.merge(table_path(cfg, silver_name), rows, delete_cond,
                                                ["WHEN MATCHED THEN DELETE"]))
    quarantine.unpersist()
    return n


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
