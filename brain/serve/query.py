"""Analyst SQL over every lake table by name: ``brain query "SELECT ... FROM gold.x"``.

Two engines read the same Delta files. DuckDB, fed by the ``deltalake``
package (delta-rs, no JVM), answers small queries in well under a second;
Spark answers anything, at the cost of starting a JVM. DuckDB's own ``delta``
extension would need a download from extensions.duckdb.org, which deployments
without internet cannot make, so delta-rs does the Delta part here.

Table names are ``<layer>.<table>`` in both engines; ``VERSION AS OF n`` and
``TIMESTAMP AS OF '...'`` after a name read an older snapshot (Delta time
travel). ``auto`` runs DuckDB when the tables are small enough
(``analyst.fast_path_max_mb``) and falls back to Spark when DuckDB cannot run
the statement (e.g. a Spark-only function).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable
from urllib.parse import unquote, urlparse

from brain.config import Config
from brain.lake.tables import LAYERS, is_delta, table_path
from brain.serve.sql_names import SqlError, TableRef, check_read_only, find_tables, rewrite
from brain.storage import S3Path, delta_storage_options, location

ENGINES = ("auto", "spark", "duckdb")
FORMATS = ("table", "csv", "json")
DEFAULT_FAST_PATH_MB = 512


class QueryError(Exception):
    """A query that cannot be answered, with a message for the analyst."""


Result = tuple[list[str], list[tuple], str]


def run(cfg: Config, sql: str, engine: str = "auto", log: Callable[[str], None] | None = None) -> Result:
    """Run one read-only statement; returns (columns, rows, engine used: 'duckdb' or 'spark').

    Values are plain Python: dates, naive UTC datetimes, ints, floats, Decimals, strings.
    """
    if engine not in ENGINES:
        raise QueryError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    try:
        body = check_read_only(sql)
        refs = find_tables(body)
    except SqlError as exc:
        raise QueryError(str(exc)) from exc
    paths = {r.name: table_path(cfg, r.name) for r in refs}
    missing = sorted({n for n, p in paths.items() if not is_delta(p)})
    if missing:
        raise QueryError(f"no table {', '.join(missing)} in the lake yet (lake.root = {cfg.path('lake.root')}); "
                         f"tables there: {', '.join(list_tables(cfg)) or 'none'}")
    if engine == "spark":
        return _spark(cfg, body, refs, paths)
    if engine == "duckdb":
        return _duckdb(body, refs, paths)
    limit_mb = float(cfg.get("analyst.fast_path_max_mb", DEFAULT_FAST_PATH_MB))
    size_mb = sum(_table_bytes(p) for p in paths.values()) / 2**20
    if size_mb > limit_mb:
        _say(log, f"tables hold {size_mb:.0f} MB (> analyst.fast_path_max_mb = {limit_mb:g}): using Spark")
        return _spark(cfg, body, refs, paths)
    try:
        return _duckdb(body, refs, paths)
    except Exception as fast_exc:  # noqa: BLE001 - any DuckDB/delta-rs failure: Spark gets its chance
        _say(log, f"DuckDB could not run it ({_first_line(fast_exc)}): falling back to Spark")
        try:
            return _spark(cfg, body, refs, paths)
        except Exception as exc:  # noqa: BLE001
            raise QueryError(f"{_first_line(exc)} (DuckDB said: {_first_line(fast_exc)})") from exc


def list_tables(cfg: Config) -> list[str]:
    """Every Delta table in the lake, as ``<layer>.<table>``."""
    root = location(cfg, "lake.root")
    return [f"{layer}.{p.name}" for layer in LAYERS if (root / layer).is_dir()
            for p in sorted((root / layer).iterdir()) if is_delta(p)]


def _say(log, msg: str) -> None:
    if log:
        log(msg)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def _table_bytes(path: Path | S3Path) -> int:
    from deltalake import DeltaTable

    table = DeltaTable(str(path), storage_options=delta_storage_options(None, path))
    if isinstance(path, S3Path):
        import pyarrow as pa
        import pyarrow.compute as pc

        sizes = pa.table(table.get_add_actions(flatten=True)).column("size_bytes")
        return int(pc.sum(sizes).as_py() or 0)
    return sum(os.path.getsize(unquote(urlparse(u).path)) for u in table.file_uris())


def _as_of(text: str) -> dt.datetime:
    """A TIMESTAMP AS OF literal as an aware datetime; naive means UTC, as in Spark with session time zone UTC."""
    try:
        ts = dt.datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise QueryError(f"TIMESTAMP AS OF '{text}' is not a timestamp; write e.g. '2026-01-31 12:00:00'") from exc
    return ts if ts.tzinfo else ts.replace(tzinfo=dt.timezone.utc)


def _snapshot(path: Path, ref: TableRef):
    from deltalake import DeltaTable

    table = DeltaTable(str(path), version=ref.version, storage_options=delta_storage_options(None, path))
    if ref.timestamp is not None:
        table.load_as_version(_as_of(ref.timestamp))
    return table


def _duckdb(sql: str, refs: list[TableRef], paths: dict[str, Path]) -> Result:
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        for layer in LAYERS:
            con.execute(f"CREATE SCHEMA {layer}")
        names: dict[tuple, str] = {}
        for i, ref in enumerate({r.key: r for r in refs}.values()):
            layer, table = ref.name.split(".")
            # Time-travel snapshots get their own table next to the current one.
            local = f'{layer}."{table}"' if ref.key[1:] == (None, None) else f'{layer}."{table}@{i}"'
            reader = _snapshot(paths[ref.name], ref).scan()
            con.register("_brain_scan", reader)
            con.execute(f"CREATE TABLE {local} AS SELECT * FROM _brain_scan")
            con.unregister("_brain_scan")
            names[ref.key] = local
        cur = con.execute(rewrite(sql, refs, names))
        columns = [d[0] for d in cur.description or []]
        rows = [tuple(_plain(v) for v in row) for row in cur.fetchall()]
        return columns, rows, "duckdb"
    finally:
        con.close()


def _spark(cfg: Config, sql: str, refs: list[TableRef], paths: dict[str, Path]) -> Result:
    from brain.spark import codegen_for, get_session

    def delta_ref(ref: TableRef) -> str:
        text = "delta.`" + str(paths[ref.name]).replace("`", "``") + "`"
        if ref.version is not None:
            return f"{text} VERSION AS OF {ref.version}"
        if ref.timestamp is not None:
            return f"{text} TIMESTAMP AS OF '{_as_of(ref.timestamp).strftime('%Y-%m-%d %H:%M:%S.%f')}'"
        return text

    spark = get_session(cfg)
    with codegen_for(spark, cfg, None):  # an analyst's query may scan whole tables: compiled
        df = spark.sql(rewrite(sql, refs, {r.key: delta_ref(r) for r in refs}))
        rows = [tuple(_plain(v) for v in row) for row in df.collect()]
    return list(df.columns), rows, "spark"


def _plain(value: Any) -> Any:
    """One representation for both engines: naive UTC datetimes, dicts for structs."""
    if isinstance(value, bytearray):
        return bytes(value)  # Spark's binary; DuckDB already gives bytes
    if isinstance(value, dt.datetime):
        # Spark hands back naive local time, DuckDB aware UTC; astimezone() reads naive as local.
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    if hasattr(value, "asDict"):
        return {k: _plain(v) for k, v in value.asDict().items()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# ---- output -----------------------------------------------------------------

def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")  # raw Kafka payloads are (nearly always) UTF-8 JSON
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return _text(value)
    return value


def format_result(columns: list[str], rows: list[tuple], fmt: str = "table") -> str:
    if fmt == "json":
        return json.dumps([{c: _json_value(v) for c, v in zip(columns, row)} for row in rows], default=str, indent=1)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_text(v) for v in row] for row in rows])
        return buf.getvalue().rstrip("\n")
    cells = [[_text(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip(), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in cells]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)


def add_arguments(p) -> None:
    p.add_argument("sql", nargs="?", help='one read-only statement, e.g. "SELECT * FROM gold.enterprise_brain"')
    p.add_argument("--format", choices=FORMATS, default="table")
    p.add_argument("--engine", choices=ENGINES, default="auto",
                   help="auto: DuckDB (no JVM) when it can, else Spark")
    p.add_argument("--tables", action="store_true", help="list the tables you can query and exit")


def run_cli(args, cfg: Config) -> int:
    import sys

    if args.tables or not args.sql:
        names = list_tables(cfg)
        print("\n".join(names) if names else f"no tables yet under {cfg.path('lake.root')}")
        return 0 if args.tables else 2
    try:
        columns, rows, used = run(cfg, args.sql, args.engine, log=lambda m: print(m, file=sys.stderr))
    except QueryError as exc:
        print(f"brain query: {exc}", file=sys.stderr)
        return 2
    print(f"engine: {used}", file=sys.stderr)
    print(format_result(columns, rows, args.format))
    return 0
