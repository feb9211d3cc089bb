"""Where tables live, by name.

Every table has a two-part name ``<layer>.<table>`` (``silver.energy_meter``)
and lives at ``<lake.root>/<layer>/<table>`` as a path-based Delta table, so
Spark, DuckDB and delta-rs all read the same files without a metastore.
"""

from __future__ import annotations

import re
from pathlib import Path

from brain.config import Config
from brain.storage import S3Path, as_location, location, location_uri

LAYERS = ("bronze", "silver", "gold", "quality")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class UnknownTable(ValueError):
    pass


def split_name(name: str) -> tuple[str, str]:
    layer, _, table = name.partition(".")
    if layer not in LAYERS or not _NAME.match(table):
        raise UnknownTable(f"table name {name!r} must be <layer>.<table> with layer one of "
                           f"{', '.join(LAYERS)} and a lower-case table name")
    return layer, table


def table_path(cfg: Config, name: str) -> Path | S3Path:
    """A Path on local disk, an S3Path when lake.root is s3a:// (brain.storage); str() of
    either is what Spark loads."""
    layer, table = split_name(name)
    return location(cfg, "lake.root") / layer / table


def table_uri(cfg: Config, name: str) -> str:
    """``str(table_path(cfg, name))`` without reaching the object store (no credentials needed)."""
    layer, table = split_name(name)
    return f"{location_uri(cfg, 'lake.root')}/{layer}/{table}"


def checkpoint_path(cfg: Config, query_name: str) -> Path | S3Path:
    if not _NAME.match(query_name.replace(".", "_")):
        raise ValueError(f"bad checkpoint name {query_name!r}")
    return location(cfg, "lake.checkpoints") / query_name


def pass_checkpoint(cfg: Config, industry: str) -> Path | S3Path:
    """The checkpoint of the industry's one streaming query (Kafka -> bronze -> silver)."""
    return checkpoint_path(cfg, f"pass.{industry}")


def table_base(industry: str, record_type: str) -> str:
    """``<industry>_<record_type>``, without repeating the industry (energy + energy_meter -> energy_meter)."""
    if record_type.startswith(industry + "_") or record_type == industry:
        return record_type
    return f"{industry}_{record_type}"


def bronze_table(industry: str, record_type: str) -> str:
    return f"bronze.{table_base(industry, record_type)}"


def silver_table(industry: str, record_type: str) -> str:
    return f"silver.{table_base(industry, record_type)}"


# One quarantine for every industry (partitioned by industry), so an operator
# looks in one place for every record that did not make it.
QUARANTINE = "silver.quarantine"
# One row per record counted as a duplicate (its first copy is in silver), keyed on
# Kafka coordinates: the third place a record can end, for reconcile's equation.
DUPLICATES = "quality.duplicates"
# (table, event_date) pairs that received rows, so gold recomputes exactly those days.
TOUCHED = "quality.touched_days"


_COMMIT = re.compile(r"^\d{20}\.(json|checkpoint.*\.parquet)$")


def is_delta(path: Path | S3Path | str) -> bool:
    """A Delta table with at least one commit, on local disk or in the object store.

    A ``_delta_log`` folder alone is not enough: a writer killed while creating
    the table leaves the folder without a commit, and reading it then fails.
    """
    log = as_location(path) / "_delta_log"
    if not log.is_dir():
        return False
    return any(_COMMIT.match(p.name) or p.name == "_last_checkpoint" for p in log.iterdir())
