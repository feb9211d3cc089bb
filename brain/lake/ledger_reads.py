"""Small bookkeeping tables read without Spark (delta-rs + DuckDB).

The pipeline's ledgers (quality.touched_days, quality.published_days,
quality.validated_runs, ...) hold a few rows per run. Reading one through
Spark is several jobs of Delta snapshot and file filtering, ~1 s on a warm
JVM, and every stage asks several of them before it does any work. The same
Delta files read through delta-rs take milliseconds; writes stay in Spark.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from brain.config import Config
from brain.lake.tables import is_delta, table_path
from brain.storage import delta_storage_options


def read_rows(cfg: Config, name: str, columns: list[str], where: str | None = None) -> list[tuple] | None:
    """``columns`` of the table's current rows matching ``where`` (DuckDB SQL over its columns),
    timestamps as naive UTC; None when the table does not exist yet."""
    sql = f"SELECT {', '.join(_quote(c) for c in columns)} FROM _ledger" + (f" WHERE {where}" if where else "")
    return select(cfg, name, sql, scan=None if where else columns)


def select(cfg: Config, name: str, sql: str, scan: list[str] | None = None) -> list[tuple] | None:
    """Rows of a DuckDB query over the table as ``_ledger`` (only the ``scan`` columns, if given);
    None when the table does not exist yet."""
    import duckdb

    path = table_path(cfg, name)
    if not is_delta(path):
        return None
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.register("_ledger", _delta(cfg, path).scan(columns=scan))
        rows = con.execute(sql).fetchall()
    finally:
        con.close()
    return [tuple(_naive_utc(v) for v in row) for row in rows]


def load(con, alias: str, cfg: Config, name: str, columns: list[str]) -> bool:
    """Copy ``columns`` of the table's current rows into DuckDB table ``alias`` on ``con`` (a scan is a
    stream, read once); False when the table does not exist yet."""
    path = table_path(cfg, name)
    if not is_delta(path):
        return False
    con.register("_scan", _delta(cfg, path).scan(columns=columns))
    con.execute(f"CREATE TABLE {_quote(alias)} AS SELECT * FROM _scan")
    con.unregister("_scan")
    return True


def column_names(cfg: Config, name: str) -> list[str]:
    """The table's columns ([] when it does not exist yet)."""
    path = table_path(cfg, name)
    return [f.name for f in _delta(cfg, path).schema().fields] if is_delta(path) else []


def _delta(cfg: Config, path, version: int | None = None):
    """delta-rs's view of the table at ``path`` (local disk or the object store)."""
    from deltalake import DeltaTable

    return DeltaTable(str(path), version=version, storage_options=delta_storage_options(cfg, path))


def sql_list(values) -> str:
    """A SQL IN list of string literals."""
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values) or "NULL"


def naive_utc(value: dt.datetime) -> dt.datetime:
    """A datetime as naive UTC; a naive one is read as local time, as PySpark hands them back."""
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _naive_utc(value: Any) -> Any:
    return naive_utc(value) if isinstance(value, dt.datetime) else value


def _quote(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'
