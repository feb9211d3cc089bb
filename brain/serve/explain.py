"""From a KPI back to its records: ``brain explain gold.<table> --where "line='L3' AND event_date='...'"``.

For each gold row the filter names, this reads (through delta-rs + DuckDB, no
JVM) the silver rows of the same keys (enterprise/site/line/device, as far as
the gold table has them) and the day (the day an interval covers, for interval
records: brain.gold.intervals), and answers: how many, their event times, the
Kafka topic/partition/offset ranges they came from, the runs that wrote them,
how many records of the same keys and day were quarantined and how many copies
of them were counted as duplicates. OEE rows also get their formula written
out with the row's numbers and the state intervals of the line's counting
device; energy rows their tce/tCO2 sums and load factor.

Which industry and record types feed a gold table is declared in
brain/industries (``GOLD``); serve sits below industries, so the caller passes
them in as a :class:`GoldSource` (brain.cli.explain does).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from brain.config import Config
from brain.gold.intervals import INTERVAL_END
from brain.gold.publish import SPANS_DAYS, source_days
from brain.lake.tables import DUPLICATES, QUARANTINE, is_delta, silver_table, table_path
from brain.serve.explain_text import coordinates, energy_lines, formula_lines, sql_literal, state_intervals
from brain.storage import delta_storage_options

KEY_COLUMNS = ("enterprise", "site", "line", "device")
MAX_ROWS = 20          # gold rows explained at once: a filter matching more is too loose to read
MAX_REPORTS = 50       # production reports listed per row


class ExplainError(Exception):
    """A question the lake cannot answer, with a message for the analyst."""


@dataclass(frozen=True)
class GoldSource:
    table: str
    industry: str
    record_types: tuple[str, ...]
    transform: str = ""
    doc: str = ""


def _naive(v: Any) -> Any:
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        return v.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return v


class _Lake:
    """One DuckDB connection and the lake rows it needs, read through delta-rs.

    ``DeltaTable.scan`` (not ``to_pyarrow_dataset``) because the pipeline's tables have
    deletion vectors, which only the scan reads; its ``predicate`` keeps to the partitions
    and rows asked for, and DuckDB then does the exact selection."""

    def __init__(self, cfg: Config):
        import duckdb

        self.cfg, self.con, self.loaded = cfg, duckdb.connect(), 0
        self.con.execute("SET TimeZone = 'UTC'")

    def view(self, name: str, predicate: str | None = None) -> str | None:
        """A DuckDB table of ``name``'s rows matching ``predicate`` (DataFusion SQL); None when
        the table is not in the lake."""
        from deltalake import DeltaTable

        path = table_path(self.cfg, name)
        if not is_delta(path):
            return None
        self.loaded += 1
        local = f"t{self.loaded}"
        options = delta_storage_options(self.cfg, path)
        self.con.register("_scan", DeltaTable(str(path), storage_options=options).scan(predicate=predicate))
        self.con.execute(f"CREATE TEMP TABLE {local} AS SELECT * FROM _scan")
        self.con.unregister("_scan")
        return local

    def columns(self, view: str) -> list[str]:
        return [d[0] for d in self.con.execute(f"SELECT * FROM {view} LIMIT 0").description]

    def rows(self, sql: str) -> tuple[list[str], list[tuple]]:
        cur = self.con.execute(sql)
        cols = [d[0] for d in cur.description]
        return cols, [tuple(_naive(v) for v in r) for r in cur.fetchall()]

    def close(self) -> None:
        self.con.close()


def explain(cfg: Config, declared: GoldSource | list[GoldSource], where: dict[str, Any]) -> dict:
    """Every gold row of the table matching ``where`` (column -> value), with its records.

    ``declared``: the table's declaration, or one per industry when several declare it
    (gold.pdm_alerts); a row with an ``industry`` column is then explained from its own."""
    declared = [declared] if isinstance(declared, GoldSource) else list(declared)
    source = declared[0]
    lake = _Lake(cfg)
    try:
        gold = lake.view(source.table)
        if gold is None:
            raise ExplainError(f"no table {source.table} in the lake yet (lake.root = {cfg.path('lake.root')})")
        have = lake.columns(gold)
        unknown = [c for c in where if c not in have]
        if unknown:
            raise ExplainError(f"{source.table} has no column {', '.join(unknown)}; its columns: {', '.join(have)}")
        cond = " AND ".join(f'"{c}" = {sql_literal(v)}' for c, v in where.items()) or "TRUE"
        cols, rows = lake.rows(f"SELECT * FROM {gold} WHERE {cond} LIMIT {MAX_ROWS + 1}")
        if not rows:
            raise ExplainError(f"no row of {source.table} where {cond}")
        if len(rows) > MAX_ROWS:
            raise ExplainError(f"more than {MAX_ROWS} rows of {source.table} match; name the row by more keys "
                               f"(e.g. {', '.join(c for c in (*KEY_COLUMNS, 'event_date') if c in have)})")
        explained = []
        for r in rows:
            row = dict(zip(cols, r))
            for src in [d for d in declared if row.get("industry", d.industry) == d.industry] or declared:
                explained.append(_explain_row(lake, src, row))
        return {"table": source.table, "industry": ", ".join(d.industry for d in declared), "where": cond,
                "transform": source.transform, "record_types": sorted({t for d in declared for t in d.record_types}),
                "rows": explained}
    finally:
        lake.close()


def _explain_row(lake: _Lake, source: GoldSource, row: dict) -> dict:
    keys = {k: row[k] for k in (*KEY_COLUMNS, "event_date", "hour_start") if row.get(k) is not None}
    out = {"industry": source.industry, "keys": keys, "row": row,
           "formula": formula_lines(row) + energy_lines(row, _energy_factors()),
           "how": [line.strip() for line in source.doc.strip().splitlines() if line.strip()][:12],
           "sources": [_source(lake, source.industry, rt, keys) for rt in source.record_types]}
    devices = row.get("time_basis_devices")
    if "machine_state" in source.record_types and devices and "event_date" in keys:
        out["state_intervals"] = {d: _states(lake, source.industry, keys, d) for d in sorted(devices)}
    return out


def _energy_factors() -> dict[str, tuple[str, float, float]]:
    from brain.gold.kpi import formulas as kpi

    f = kpi.load_energy_factors()
    return {c: (f"{c}_{f.carriers[c].unit}".lower(), kpi.tce_per_unit(c, f), kpi.tco2_per_unit(c, f))
            for c in f.carriers}


def _day_filter(record_type: str, keys: dict) -> tuple[str, str]:
    """SQL for the silver rows a gold day (or hour) is computed from, and how it was chosen."""
    if "event_date" not in keys:
        return "TRUE", "every day"
    day = keys["event_date"]
    if record_type in INTERVAL_END:
        last = f"({INTERVAL_END[record_type]} - INTERVAL 1 MICROSECOND)"
        sql, how = f"CAST({last} AS DATE) = DATE '{day}'", f"intervals ending in {day} (brain.gold.intervals)"
        if "hour_start" in keys:
            sql += f" AND date_trunc('hour', {last}) = TIMESTAMP '{keys['hour_start']}'"
            how = f"intervals ending in the hour from {keys['hour_start']}"
        return sql, how
    sql, how = f"event_date = DATE '{day}'", f"event_date {day}"
    if "hour_start" in keys:
        sql += f" AND date_trunc('hour', event_ts_utc) = TIMESTAMP '{keys['hour_start']}'"
        how = f"events in the hour from {keys['hour_start']}"
    return sql, how


def _prefilter(match: dict, days) -> str | None:
    """The scan predicate: the keys, and the silver days that can hold the rows."""
    terms = [f'"{k}" = {sql_literal(v)}' for k, v in match.items()]
    if days:
        terms.append("event_date IN (" + ", ".join(f"CAST('{d}' AS DATE)" for d in sorted(days)) + ")")
    return " AND ".join(terms) or None


def _source(lake: _Lake, industry: str, record_type: str, keys: dict) -> dict:
    name = silver_table(industry, record_type)
    match = {k: v for k, v in keys.items() if k in KEY_COLUMNS}
    days = source_days(record_type, [keys["event_date"]]) if "event_date" in keys else None
    view = lake.view(name, _prefilter(match, days))
    if view is None:
        return {"table": name, "record_type": record_type, "missing": True, "selected_by": "-"}
    day_sql, how = _day_filter(record_type, keys)
    cond = " AND ".join([f'"{k}" = {sql_literal(v)}' for k, v in match.items()] + [day_sql])
    lake.con.execute(f"CREATE OR REPLACE TEMP TABLE sel AS SELECT * FROM {view} WHERE {cond}")
    _, ((count, first, last),) = lake.rows("SELECT count(*), min(event_ts_utc), max(event_ts_utc) FROM sel")
    _, kafka = lake.rows("SELECT _topic, _partition, _offset FROM sel")
    _, runs = lake.rows("SELECT DISTINCT _run_id FROM sel ORDER BY 1")
    out = {"table": name, "record_type": record_type,
           "selected_by": ", ".join([f"{k}={v}" for k, v in match.items()] + [how]),
           "silver_rows": count, "first_event": first, "last_event": last, "kafka": coordinates(kafka),
           "run_ids": [r[0] for r in runs if r[0] is not None],
           "duplicates": _duplicates(lake, industry, record_type),
           "quarantined": _quarantined(lake, industry, record_type, match, keys)}
    if record_type == "production":
        cols, rows = lake.rows("SELECT device, start_ts_utc, end_ts_utc, produced, good, planned_cycle_time_s, "
                               f"quality FROM sel ORDER BY end_ts_utc, event_id LIMIT {MAX_REPORTS}")
        out["reports"] = [dict(zip(cols, r)) for r in rows]
    if record_type == "energy_meter":  # the inputs of every energy sum: silver amounts are in standard units
        cols, rows = lake.rows("SELECT carrier, unit, count(*) FILTER (WHERE quality <> 'BAD') AS readings, "
                               "sum(value) FILTER (WHERE quality <> 'BAD') AS total, "
                               "count(*) FILTER (WHERE quality = 'BAD') AS bad_excluded FROM sel "
                               "GROUP BY 1, 2 ORDER BY 1, 2")
        out["amounts"] = [dict(zip(cols, r)) for r in rows]
    return out


def _duplicates(lake: _Lake, industry: str, record_type: str) -> int:
    """Copies counted as duplicates of the selected rows: quality.duplicates keeps only Kafka
    coordinates and the event_id, and its first copy is the silver row, so event_id is the link."""
    dup = lake.view(DUPLICATES, f"industry = {sql_literal(industry)} AND record_type = {sql_literal(record_type)}")
    if dup is None:
        return 0
    _, ((n,),) = lake.rows(f"SELECT count(*) FROM {dup} WHERE event_id IN (SELECT event_id FROM sel)")
    return n


def _payload_day(record: dict, record_type: str) -> dt.date | None:
    """The UTC day a quarantined record would have counted in, from its raw payload."""
    field = "end_ts" if record_type == "production" else "event_ts"  # the silver columns INTERVAL_END names
    try:
        ts = dt.datetime.fromisoformat(str(record[field]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return None
    ts = ts.astimezone(dt.timezone.utc).replace(tzinfo=None) if ts.tzinfo else ts
    if record_type in INTERVAL_END:
        ts -= dt.timedelta(microseconds=1)
    return ts.date()


def _quarantined(lake: _Lake, industry: str, record_type: str, match: dict, keys: dict) -> dict:
    """Quarantined records of the same keys and day. Quarantine keeps the raw payload, so keys
    and day are read from it; a payload that is not JSON or lacks them cannot be attributed and
    is counted by topic and Kafka day instead."""
    out = {"matched": 0, "reasons": {}, "unattributed": 0, "unattributed_by_topic_day": {}}
    q = lake.view(QUARANTINE, f"industry = {sql_literal(industry)} AND record_type = {sql_literal(record_type)}")
    if q is None:
        return out
    _, rows = lake.rows(f"SELECT reason, payload, topic, kafka_ts FROM {q}")
    day = keys.get("event_date")
    for reason, payload, topic, kafka_ts in rows:
        try:
            record = json.loads(bytes(payload))
            if not isinstance(record, dict):
                raise ValueError
        except (ValueError, TypeError):
            record = None
        pday = _payload_day(record, record_type) if record else None
        if record is None or pday is None or any(k not in record for k in match):
            slot = f"{topic} {kafka_ts.date() if kafka_ts else '?'}"
            out["unattributed"] += 1
            out["unattributed_by_topic_day"][slot] = out["unattributed_by_topic_day"].get(slot, 0) + 1
        elif all(str(record[k]) == str(v) for k, v in match.items()) and (day is None or pday == day):
            out["matched"] += 1
            out["reasons"][reason] = out["reasons"].get(reason, 0) + 1
    return out


def _states(lake: _Lake, industry: str, keys: dict, device: str) -> list[dict]:
    """The device's state intervals in the row's day, from machine_state silver rows of that day
    and the day before (its last event sets the state at 00:00, as gold reads it)."""
    day = keys["event_date"]
    days = [day] + ([day - dt.timedelta(days=1)] if "machine_state" in SPANS_DAYS else [])
    match = {k: v for k, v in keys.items() if k in ("enterprise", "site", "line")} | {"device": device}
    view = lake.view(silver_table(industry, "machine_state"), _prefilter(match, days))
    if view is None:
        return []
    _, rows = lake.rows(
        f"SELECT event_ts_utc, event_id, state, planned, quality, reason_code FROM {view} ORDER BY 1, 2")
    return state_intervals(rows, day)
