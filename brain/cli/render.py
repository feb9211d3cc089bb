"""Readable terminal output: the cycle summary and table previews."""

from __future__ import annotations

from brain.config import Config


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e-3 and value else f"{value:,.3f}".rstrip("0").rstrip(".")
    return str(value)


def _table(rows: list[dict], columns: list[str]) -> str:
    if not rows:
        return "(no rows)"
    cells = [[_fmt(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths))
    sep = "  ".join("-" * w for w in widths)
    body = "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells)
    return f"{line}\n{sep}\n{body}"


def print_cycle(report) -> None:
    print(f"run {report.run_id} finished in {report.seconds}s")
    rows = []
    for ind, r in report.industries.items():
        for c in r.get("clean", []):
            rows.append({"industry": ind, "silver table": c["table"], "records in": c["bronze_rows"],
                         "inserted": c["inserted"], "quarantined": c["quarantined"],
                         "duplicates": c["duplicates"], "days touched": len(c["touched_days"])})
    print(_table(rows, ["industry", "silver table", "records in", "inserted", "quarantined", "duplicates",
                        "days touched"]))
    ingested = [(i["topic"], i["rows"]) for r in report.industries.values() for i in r.get("ingest", [])]
    if ingested:
        print("\nKafka -> bronze: " + ", ".join(f"{t}: {n}" for t, n in ingested))
    for r in report.industries.values():
        for v in r.get("validate", []):
            state = ("passed" if v.get("success") else "FAILED") if v.get("validated") else "skipped"
            print(f"validate {v['table']}: {state} ({v.get('expectations', 0)} expectations)")
        for p in r.get("publish", []):
            print(f"gold {p['table']}: {p['rows']} rows for {len(p['days'])} day(s)")
    t = report.totals()
    print(f"\ntotal: {t['records_in']} records in, {t['inserted']} to silver, {t['quarantined']} quarantined, "
          f"{t['duplicates']} duplicates")


def show_table(cfg: Config, name: str, limit: int = 50) -> None:
    from brain.lake.tables import is_delta, table_path
    from brain.spark import get_session

    path = table_path(cfg, name)
    if not is_delta(path):
        print(f"{name}: no table yet at {path}")
        return
    df = get_session(cfg).read.format("delta").load(str(path))
    order = [c for c in ("event_date", "site", "carrier") if c in df.columns]
    rows = [r.asDict() for r in (df.orderBy(*order) if order else df).limit(limit).collect()]
    print(f"{name} ({df.count()} rows)")
    print(_table(rows, df.columns))
