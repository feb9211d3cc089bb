"""Table upkeep: compact small files (OPTIMIZE) and drop unreferenced ones (VACUUM).

Streaming appends leave many small files; compaction keeps reads fast.
VACUUM keeps ``lake.vacuum_retain_hours`` of history (default 7 days), so
time travel and streaming readers of bronze keep working within that window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from brain.config import Config
from brain.lake.tables import LAYERS, is_delta
from brain.lake.writers import retry_conflicts
from brain.storage import location

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def lake_tables(cfg: Config) -> list[str]:
    root = location(cfg, "lake.root")  # local disk or the object store (brain.storage)
    names = []
    for layer in LAYERS:
        folder = root / layer
        if folder.is_dir():
            names += [f"{layer}.{p.name}" for p in sorted(folder.iterdir()) if is_delta(p)]
    return names


def maintain(spark: "SparkSession", cfg: Config, vacuum: bool = True,
             on_table: Callable[[dict], None] | None = None) -> list[dict]:
    """OPTIMIZE (and VACUUM) every table; ingest keeps writing meanwhile, so a lost commit race is
    retried on the new snapshot (brain.lake.writers.retry_conflicts). ``on_table`` gets each table's
    entry as soon as it is done (a lake has dozens: `brain maintain` shows progress with it)."""
    from brain.lake.tables import table_path

    retain = int(cfg.get("lake.vacuum_retain_hours", 168))
    report = []
    for name in lake_tables(cfg):
        path = str(table_path(cfg, name))
        metrics = retry_conflicts(lambda p=path: spark.sql(f"OPTIMIZE delta.`{p}`").collect()[0]["metrics"])
        entry = {"table": name, "files_removed": metrics["numFilesRemoved"], "files_added": metrics["numFilesAdded"]}
        if vacuum:
            spark.sql(f"VACUUM delta.`{path}` RETAIN {retain} HOURS")
            entry["vacuumed_retain_hours"] = retain
        report.append(entry)
        if on_table is not None:
            on_table(entry)
    return report
