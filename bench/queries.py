"""The analyst's two query paths on the same tables: Spark SQL and the no-JVM engine (brain.serve.query)."""

from __future__ import annotations

import time

# name -> (table it reads, SQL); queries on tables the run did not fill are skipped, with the reason.
QUERIES = {
    "energy_per_site_day": ("silver.energy_meter", "SELECT site, event_date, sum(value) AS total, count(*) AS n "
                            "FROM silver.energy_meter GROUP BY site, event_date ORDER BY site, event_date"),
    "energy_electricity_rows": ("silver.energy_meter", "SELECT count(*) AS n FROM silver.energy_meter "
                                "WHERE carrier = 'electricity'"),
    "telemetry_per_sensor": ("silver.raw_materials_telemetry",
                             "SELECT site, sensor, count(*) AS n, avg(value) AS mean_value "
                             "FROM silver.raw_materials_telemetry GROUP BY site, sensor ORDER BY site, sensor"),
}


def measure(cfg, repeat: int = 3) -> dict:
    """Median seconds per query and engine, and whether both engines returned the same rows."""
    try:
        from brain.serve.query import run
    except ImportError as exc:
        return {"available": False, "reason": f"brain.serve.query.run is not there yet ({exc})"}
    from brain.lake.tables import is_delta, table_path

    out: dict = {"available": True, "queries": {}, "skipped": {}}
    for name, (table, sql) in QUERIES.items():
        if not is_delta(table_path(cfg, table)):
            out["skipped"][name] = f"{table} is not in this run's lake"
            continue
        entry: dict = {"sql": sql}
        rows_by_engine = {}
        for engine in ("spark", "duckdb"):
            try:
                times = []
                for _ in range(repeat):
                    t = time.perf_counter()
                    _cols, rows, used = run(cfg, sql, engine=engine)
                    times.append(time.perf_counter() - t)
                entry[engine] = {"median_s": round(sorted(times)[len(times) // 2], 4),
                                 "first_s": round(times[0], 4), "rows": len(rows), "engine_used": used}
                rows_by_engine[engine] = sorted(tuple(_plain(v) for v in r) for r in rows)
            except Exception as exc:  # a failing engine is a result, not a crash of the bench
                entry[engine] = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
        if len(rows_by_engine) == 2:
            entry["same_rows"] = rows_by_engine["spark"] == rows_by_engine["duckdb"]
            s, d = entry["spark"]["median_s"], entry["duckdb"]["median_s"]
            entry["spark_over_duckdb"] = round(s / d, 2) if d else None
        out["queries"][name] = entry
    return out


def _plain(v):
    return round(v, 6) if isinstance(v, float) else str(v)
