"""Table upkeep: delete what retention expires, compact small files (OPTIMIZE) and drop
unreferenced ones (VACUUM).

Retention (brain.lake.retention) deletes the rows older than their industry's horizon
for their layer, by partition predicate (bronze ``ingest_date``, silver and gold
``event_date``); the coordinates of every deleted bronze, silver, quarantine and
duplicates row are written to ``quality.expired`` first, so `brain reconcile` reports
them as expired, not lost. A Delta DELETE only unlinks files: they stay readable by
time travel until VACUUM removes them, ``lake.vacuum_retain_hours`` after the DELETE.

Streaming appends leave many small files; compaction keeps reads fast.
VACUUM keeps ``lake.vacuum_retain_hours`` of history (default 7 days), so
time travel and streaming readers of bronze keep working within that window.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Callable

from brain.config import Config
from brain.lake.retention import EXPIRED, horizons
from brain.lake.tables import DUPLICATES, LAYERS, QUARANTINE, is_delta
from brain.lake.writers import retry_conflicts
from brain.storage import location

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def lake_tables(cfg: Config) -> list[str]:
    root = location(cfg, "lake.root")  # local disk or the object store (brain.storage)
    names = []
    for layer in LAYERS:
        folder = root / layer
        if folder.is_dir():
            names += [f"{layer}.{p.name}" for p in sorted(folder.iterdir()) if is_delta(p)]
    return names


def maintain(spark: "SparkSession", cfg: Config, vacuum: bool = True,
             on_table: Callable[[dict], None] | None = None, expire: bool = True,
             today: date | None = None) -> list[dict]:
    """Expire (``expire``), then OPTIMIZE (and VACUUM) every table; ingest keeps writing meanwhile, so a
    lost commit race is retried on the new snapshot (brain.lake.writers.retry_conflicts). ``on_table``
    gets each table's entry as soon as it is done (a lake has dozens: `brain maintain` shows progress
    with it). ``today`` (default: the UTC date) is the day retention counts back from."""
    from brain.lake.tables import table_path

    expired = expire_all(spark, cfg, today) if expire else {}
    retain = int(cfg.get("lake.vacuum_retain_hours", 168))
    report = []
    for name in lake_tables(cfg):
        path = str(table_path(cfg, name))
        metrics = retry_conflicts(lambda p=path: spark.sql(f"OPTIMIZE delta.`{p}`").collect()[0]["metrics"])
        entry = {"table": name, "files_removed": metrics["numFilesRemoved"], "files_added": metrics["numFilesAdded"]}
        if expire:
            entry["expired_rows"] = expired.get(name, 0)
        if vacuum:
            spark.sql(f"VACUUM delta.`{path}` RETAIN {retain} HOURS")
            entry["vacuumed_retain_hours"] = retain
        report.append(entry)
        if on_table is not None:
            on_table(entry)
    return report


# --------------------------------------------------------------------------- retention

def expiry_targets(cfg: Config, today: date) -> list[dict]:
    """What retention deletes on ``today``: one entry per (table, predicate), with the Kafka
    coordinate columns of the rows (None for gold, which has none) and the industry and layer.
    Pure (config in, a plan out): the predicates are SQL over the table's own columns."""
    from brain.lake.tables import bronze_table, silver_table

    plan = []
    for ind in cfg.industry_names():
        h = horizons(cfg, ind)
        b, s = h.cutoff("bronze", today).isoformat(), h.cutoff("silver", today).isoformat()
        for rt in cfg.get(f"industries.{ind}.record_types"):
            plan.append({"table": bronze_table(ind, rt), "layer": "bronze", "industry": ind, "cutoff": b,
                         "where": f"ingest_date < DATE'{b}'", "coords": ("topic", "partition", "offset")})
            plan.append({"table": silver_table(ind, rt), "layer": "silver", "industry": ind, "cutoff": s,
                         "where": f"event_date < DATE'{s}'", "coords": ("_topic", "_partition", "_offset")})
        # The shared tables are partitioned by industry: each industry's rows by its own horizon.
        plan.append({"table": QUARANTINE, "layer": "silver", "industry": ind, "cutoff": s,
                     "where": f"industry = '{ind}' AND to_date(coalesce(kafka_ts, quarantined_at)) < DATE'{s}'",
                     "coords": ("topic", "partition", "offset")})
        plan.append({"table": DUPLICATES, "layer": "silver", "industry": ind, "cutoff": s,
                     "where": f"industry = '{ind}' AND to_date(counted_at) < DATE'{s}'",
                     "coords": ("topic", "partition", "offset")})
    return plan


def gold_targets(cfg: Config, today: date, tables: dict[str, list[str]]) -> list[dict]:
    """Gold deletes by ``event_date``: a table with an ``industry`` column by each industry's horizon,
    one named ``gold.<industry>_...`` (the industry modules' tables) by that industry's, any other
    (the enterprise roll-ups) by the global ``retention.gold_days``. ``tables``: gold table -> its columns."""
    industries = sorted(cfg.industry_names(), key=len, reverse=True)  # the longest name that prefixes it
    plan = []
    for name, columns in sorted(tables.items()):
        if "event_date" not in columns:
            continue
        if "industry" in columns:
            for ind in cfg.industry_names():
                c = horizons(cfg, ind).cutoff("gold", today).isoformat()
                plan.append({"table": name, "layer": "gold", "industry": ind, "cutoff": c, "coords": None,
                             "where": f"industry = '{ind}' AND event_date < DATE'{c}'"})
        else:
            ind = next((i for i in industries if name.startswith(f"gold.{i}_")), None)
            c = horizons(cfg, ind).cutoff("gold", today).isoformat()
            plan.append({"table": name, "layer": "gold", "industry": ind or "", "cutoff": c, "coords": None,
                         "where": f"event_date < DATE'{c}'"})
    return plan


def expire_all(spark: "SparkSession", cfg: Config, today: date | None = None) -> dict[str, int]:
    """Delete every expired row of the lake; returns table -> rows deleted (tables with none left out)."""
    from datetime import datetime, timezone

    from brain.lake.tables import table_path

    today = today or datetime.now(timezone.utc).date()
    gold = {}
    for name in lake_tables(cfg):
        if name.startswith("gold."):
            gold[name] = spark.read.format("delta").load(str(table_path(cfg, name))).columns
    deleted: dict[str, int] = {}
    for target in expiry_targets(cfg, today) + gold_targets(cfg, today, gold):
        n = expire_table(spark, cfg, target)
        if n:
            deleted[target["table"]] = deleted.get(target["table"], 0) + n
    return deleted


def expire_table(spark: "SparkSession", cfg: Config, target: dict) -> int:
    """Record the coordinates of ``target``'s expired rows in quality.expired, then DELETE them;
    returns the rows deleted.

    Recorded first: a crash in between leaves ledger entries for rows still there, which reconcile
    ignores (a row present is present). A writer that adds an expired row between the snapshot
    recorded and the DELETE (a late event into an old silver partition) is caught by recording
    again from the snapshot just before the DELETE's commit."""
    from brain.lake.tables import table_path

    path = str(table_path(cfg, target["table"]))
    if not is_delta(path):
        return 0
    version = _version(spark, path)
    doomed = spark.read.format("delta").option("versionAsOf", version).load(path).where(target["where"])
    if doomed.isEmpty():
        return 0
    if target["coords"]:
        _record(spark, cfg, target, doomed)
    deleted = retry_conflicts(lambda: spark.sql(f"DELETE FROM delta.`{path}` WHERE {target['where']}")
                              .collect()[0][0])
    if target["coords"]:
        before = _delete_version(spark, path) - 1
        if before != version:
            _record(spark, cfg, target, spark.read.format("delta").option("versionAsOf", before).load(path)
                    .where(target["where"]))
    return int(deleted or 0)


def offset_runs(rows: "DataFrame", coords: tuple[str, str, str]) -> "DataFrame":
    """(topic, partition, first_offset, last_offset, rows): the distinct coordinates of ``rows`` as runs
    of consecutive offsets (gaps and islands: offset - its rank is constant along a run). Pure."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    t, p, o = coords
    distinct = rows.select(F.col(t).alias("topic"), F.col(p).cast("int").alias("partition"),
                           F.col(o).cast("long").alias("offset")).where(F.col("offset").isNotNull()).distinct()
    rank = F.row_number().over(Window.partitionBy("topic", "partition").orderBy("offset"))
    return (distinct.withColumn("_run", F.col("offset") - rank)
            .groupBy("topic", "partition", "_run")
            .agg(F.min("offset").alias("first_offset"), F.max("offset").alias("last_offset"),
                 F.count("*").alias("rows"))
            .drop("_run"))


def _record(spark: "SparkSession", cfg: Config, target: dict, doomed: "DataFrame") -> None:
    from pyspark.sql import functions as F

    from brain.lake.tables import table_path

    runs = offset_runs(doomed, target["coords"]).select(
        F.lit(target["table"]).alias("table"), F.lit(target["layer"]).alias("layer"),
        F.lit(target["industry"]).alias("industry"), "topic", "partition", "first_offset", "last_offset",
        "rows", F.lit(target["cutoff"]).cast("date").alias("cutoff"), F.current_timestamp().alias("expired_at"))
    path = str(table_path(cfg, EXPIRED))
    # A blind append (the first one creates the table): a commit race lost wrote nothing, so it is retried.
    retry_conflicts(lambda: runs.write.format("delta").mode("append").save(path))


def _version(spark: "SparkSession", path: str) -> int:
    return int(spark.sql(f"DESCRIBE HISTORY delta.`{path}` LIMIT 1").collect()[0]["version"])


def _delete_version(spark: "SparkSession", path: str) -> int:
    """The version of the newest DELETE commit of the table (ours: the caller just ran it)."""
    rows = spark.sql(f"DESCRIBE HISTORY delta.`{path}` LIMIT 20").where("operation = 'DELETE'").collect()
    return max(int(r["version"]) for r in rows)
