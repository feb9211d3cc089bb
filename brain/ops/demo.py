"""`brain demo` (what `make run` runs): one window of every industry's data, one cycle, the facts to show.

simulate (a fresh window, brain.ops.demo_window, with a share of bad data)
-> run_cycle for every industry (Kafka -> bronze -> silver / quarantine /
duplicates -> Great Expectations -> gold -> gold.enterprise_brain) ->
reconcile -> dashboard. :func:`facts` gathers what the report shows as plain
values (the CLI prints them, or dumps them as JSON); the lake is read without
Spark (delta-rs + DuckDB), as `brain reconcile` does.
"""

from __future__ import annotations

from datetime import datetime

from brain.config import Config
from brain.ops.demo_window import Window

ENTERPRISE_COLUMNS = ("site", "oee", "energy_kwh", "co2_t", "dq_score", "pdm_alerts")


class BrokerDown(RuntimeError):
    pass


def check_broker(cfg: Config) -> None:
    from brain.ops import broker

    st = broker.status(cfg)
    if not st.reachable:
        raise BrokerDown(f"no Kafka broker at {cfg.get('kafka.bootstrap_servers')} ({st.detail}); "
                         f"start it with `brain kafka start` (`make run` does)")


def simulate(cfg: Config, window: Window) -> dict:
    """Send the window's records to Kafka; the simulator's summary as a dict."""
    from brain.simulator import run_simulation

    hours = (window.end - window.start).total_seconds() / 3600
    summary = run_simulation(cfg, industry="all", records=int(cfg.get("demo.records")), days=hours / 24,
                             start=window.start.isoformat(), seed=window.seed,
                             bad_ratio=float(cfg.get("demo.bad_ratio")))
    return summary.to_dict(timing=False)


def industry_rows(cycle) -> list[dict]:
    """Per industry: records in = silver + quarantined + duplicates (rows a `quarantine` expectation
    moved out of silver during validation count as quarantined, not silver)."""
    rows = []
    for ind, r in cycle.industries.items():
        clean = r.get("clean", [])
        moved = sum(v.get("quarantined_by_expectations", 0) for v in r.get("validate", []))
        rows.append({"industry": ind, "records_in": sum(c["bronze_rows"] for c in clean),
                     "silver": sum(c["inserted"] for c in clean) - moved,
                     "quarantined": sum(c["quarantined"] for c in clean) + moved,
                     "duplicates": sum(c["duplicates"] for c in clean)})
    return rows


def quarantine_since(cfg: Config, since: datetime) -> dict[str, int]:
    """Records quarantined since ``since`` (naive UTC), by reason kind (``missing_field:site`` counts as
    ``missing_field``; `brain quarantine list` has the detail), most first."""
    from brain.lake.ledger_reads import select
    from brain.lake.tables import QUARANTINE

    rows = select(cfg, QUARANTINE, "SELECT coalesce(split_part(reason, ':', 1), '(none)') AS r, count(*) AS n "
                                   f"FROM _ledger WHERE quarantined_at >= TIMESTAMPTZ '{since.isoformat()}+00:00' "
                                   "GROUP BY r ORDER BY n DESC, r", scan=["reason", "quarantined_at"])
    return {r: int(n) for r, n in rows or []}


def enterprise_rows(cfg: Config, day) -> list[dict]:
    """gold.enterprise_brain for ``day``, a row per site."""
    from brain.gold.enterprise import ENTERPRISE_BRAIN
    from brain.lake.ledger_reads import select

    rows = select(cfg, ENTERPRISE_BRAIN, f"SELECT {', '.join(ENTERPRISE_COLUMNS)} FROM _ledger "
                                         f"WHERE event_date = DATE '{day.isoformat()}' ORDER BY site")
    return [dict(zip(ENTERPRISE_COLUMNS, r)) for r in rows or []]


def traceable_lot(cfg: Config, window: Window) -> str | None:
    """A lot of this window whose batch was shipped (so `brain trace --lot` shows the whole chain)."""
    from brain.lake.ledger_reads import read_rows
    from brain.serve.trace import GENEALOGY

    links = read_rows(cfg, GENEALOGY, ["link_type", "parent_id", "child_id", "event_ts_utc"]) or []
    shipped = {parent for kind, parent, _, _ in links if kind == "batch_to_shipment"}
    lots = sorted((child not in shipped, lot) for kind, lot, child, ts in links
                  if kind == "lot_to_batch" and ts is not None and window.start <= ts < window.end)
    return lots[0][1] if lots else None


def facts(cfg: Config, window: Window, simulated: dict, cycle, recon, started: datetime,
          dashboard: str, sections: list) -> dict:
    """Everything the report shows, as plain values (the --json output)."""
    from pathlib import Path

    docs = next((v["data_docs"] for r in cycle.industries.values() for v in r.get("validate", [])
                 if v.get("data_docs")), None)
    if docs and docs.startswith("file:"):  # GX names the page by URI; a path is what a person opens
        from urllib.parse import unquote, urlparse

        docs = unquote(urlparse(docs).path)
    if docs is None:
        index = cfg.path("quality.data_docs_dir") / "index.html"
        docs = str(index) if index.is_file() else None
    t = recon.totals()
    return {
        "run_id": cycle.run_id, "seconds": cycle.seconds,
        "window": {"start": window.start.isoformat() + "Z", "end": window.end.isoformat() + "Z",
                   "seed": window.seed, "windows_held_before": window.held},
        "simulated": {"records": simulated["total"], "bad": simulated["total"] - simulated["kinds"].get("clean", 0),
                      "kinds": {k: n for k, n in simulated["kinds"].items() if n}},
        "industries": industry_rows(cycle),
        "quarantine_by_reason": quarantine_since(cfg, started),
        "reconcile": {"ok": recon.ok, "lost": t["lost"], "doubled": t["doubled"], "orphans": t["orphans"],
                      "gaps": t["gaps"], "pending": t["pending"]},
        "enterprise_day": window.start.date().isoformat(),
        "enterprise": enterprise_rows(cfg, window.start.date()),
        "dashboard": _relative(cfg, Path(dashboard)),
        "dashboard_sections": {s.key: s.has_data for s in sections},
        "data_docs": _relative(cfg, Path(docs)) if docs else None,
        "lot": traceable_lot(cfg, window),
    }


def _relative(cfg: Config, path) -> str:
    try:
        return str(path.resolve().relative_to(cfg.root.resolve()))
    except ValueError:
        return str(path)
