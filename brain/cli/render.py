"""Readable terminal output: the cycle summary and table previews."""

from __future__ import annotations

from brain.config import Config


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e-3 and value else f"{value:,.3f}".rstrip("0").rstrip(".")
    return str(value)


def table(rows: list[dict], columns: list[str]) -> str:
    if not rows:
        return "(no rows)"
    cells = [[_fmt(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths))
    sep = "  ".join("-" * w for w in widths)
    body = "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells)
    return f"{line}\n{sep}\n{body}"


CLEAN_COLUMNS = ["industry", "silver table", "records in", "inserted", "quarantined", "duplicates", "days touched"]


def _clean_rows(industry: str, cleaned: list[dict]) -> list[dict]:
    return [{"industry": industry, "silver table": c["table"], "records in": c["bronze_rows"],
             "inserted": c["inserted"], "quarantined": c["quarantined"], "duplicates": c["duplicates"],
             "days touched": len(c["touched_days"])} for c in cleaned]


def _ingested_line(ingest: list[dict]) -> str:
    pairs = [(i["topic"], i["rows"]) for i in ingest]
    return ("Kafka -> bronze: " + ", ".join(f"{t}: {n}" for t, n in pairs)) if pairs else ""


def _totals_line(rows: list[dict]) -> str:
    n = {k: sum(r[k] for r in rows) for k in ("records in", "inserted", "quarantined", "duplicates")}
    return (f"total: {n['records in']} records in, {n['inserted']} to silver, {n['quarantined']} quarantined, "
            f"{n['duplicates']} duplicates")


def print_ingest(run_id: str, out: dict[str, dict]) -> None:
    """`brain ingest`: per silver table what the pass wrote, then the Kafka -> bronze counts."""
    rows = [r for ind, res in out.items() for r in _clean_rows(ind, res.get("clean", []))]
    print(f"ingest {run_id}")
    print(table(rows, CLEAN_COLUMNS))
    line = _ingested_line([i for res in out.values() for i in res.get("ingest", [])])
    if line:
        print("\n" + line)
    print("\n" + _totals_line(rows))


def print_backfill(run_id: str, out: dict[str, list[dict]]) -> None:
    """`brain backfill`: per silver table what was reprocessed, then each validation."""
    rows = [r for key, res in out.items() if not key.endswith(":validate") for r in _clean_rows(key, res)]
    print(f"backfill {run_id}")
    print(table(rows, CLEAN_COLUMNS))
    print()
    for key, res in out.items():
        if key.endswith(":validate"):
            for v in res:
                print(_validate_line(v))
    print("\n" + _totals_line(rows))


def _validate_line(v: dict) -> str:
    state = ("passed" if v.get("success") else "FAILED") if v.get("validated") else "skipped"
    return f"validate {v['table']}: {state} ({v.get('expectations', 0)} expectations)"


def print_cycle(report) -> None:
    print(f"run {report.run_id} finished in {report.seconds}s")
    rows = [r for ind, res in report.industries.items() for r in _clean_rows(ind, res.get("clean", []))]
    print(table(rows, CLEAN_COLUMNS))
    line = _ingested_line([i for r in report.industries.values() for i in r.get("ingest", [])])
    if line:
        print("\n" + line)
    for r in report.industries.values():
        for v in r.get("validate", []):
            print(_validate_line(v))
        for p in r.get("publish", []):
            print(f"gold {p['table']}: {p['rows']} rows for {len(p['days'])} day(s)")
    t = report.totals()
    print(f"\ntotal: {t['records_in']} records in, {t['inserted']} to silver, {t['quarantined']} quarantined, "
          f"{t['duplicates']} duplicates")


def show_table(cfg: Config, name: str, limit: int = 50, as_json: bool = False) -> None:
    import json

    from brain.lake.tables import is_delta, table_path
    from brain.spark import get_session

    path = table_path(cfg, name)
    if not is_delta(path):
        if as_json:  # the same shape as a table: a script need not special-case "not yet"
            print(json.dumps({"table": name, "exists": False, "path": str(path), "total_rows": 0,
                              "columns": [], "rows": []}, indent=2))
        else:
            print(f"{name}: no table yet at {path}")
        return
    df = get_session(cfg).read.format("delta").load(str(path))
    order = [c for c in ("event_date", "site", "carrier") if c in df.columns]
    rows = [r.asDict() for r in (df.orderBy(*order) if order else df).limit(limit).collect()]
    total = df.count()
    if as_json:
        print(json.dumps({"table": name, "exists": True, "path": str(path), "total_rows": total,
                          "columns": df.columns, "rows": rows}, indent=2, default=str))
        return
    print(f"{name} ({total} rows)")
    print(table(rows, df.columns))
