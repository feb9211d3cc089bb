"""`brain demo`: what `make run` runs. Arguments, the run, and the short report's formatting.

A command of its own rather than `brain run --report`: `brain run` processes
what is already in Kafka and touches nothing else, which is what the DAGs and
operators need; the demo also produces the data (a fresh window each time)
and reads back the lake, so it is a different promise.
"""

from __future__ import annotations

import argparse
import json
import sys

from brain.cli.render import table

DESCRIPTION = """\
The main job, all of it, once: simulate a fresh window of every industry's
data (raw_materials, equipment_manufacturing, consumer_goods, energy) with a
share of bad records, send it to Kafka, run one pipeline cycle (Kafka ->
bronze -> silver / quarantine / duplicates -> Great Expectations -> gold ->
gold.enterprise_brain), prove nothing was lost (reconcile), write the
dashboard, and print a short report: records per industry, quarantine by
reason, duplicates, the reconcile verdict, the enterprise-brain row per site,
where the dashboard and Data Docs are, and what to try next.

Each run takes the newest whole window of demo.window_hours the lake does not
hold yet, with a seed derived from its start, so a rerun adds fresh data
(the same window again would only count duplicates). Sizes and the bad-data
share are under demo: in conf/defaults.yaml.

Needs the broker (`brain kafka start`). Exit status: 0 when the cycle ran and
everything reconciles, 1 on a mismatch or a failure, 2 when there is no free
window or no broker."""

EXAMPLES = """\
examples:
  brain kafka start && brain demo           what `make run` does
  brain demo --json | jq .enterprise        the report, machine-readable
  BRAIN__DEMO__RECORDS=500 brain demo       a smaller window"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description, p.epilog = DESCRIPTION, EXAMPLES
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--json", action="store_true", help="print the report as JSON (progress stays on stderr)")


def run(args, cfg) -> int:
    from datetime import UTC, datetime

    from brain.cli.progress import Reporter
    from brain.ops import demo, demo_window
    from brain.ops.reconcile import reconcile
    from brain.pipeline import run_cycle
    from brain.serve.dashboard import build_report
    from brain.spark import get_session

    try:
        demo.check_broker(cfg)
        window = demo_window.choose(cfg)
    except (demo.BrokerDown, demo_window.NoFreeWindow) as exc:
        print(f"brain demo: {exc}", file=sys.stderr)
        return 2
    started = datetime.now(UTC).replace(tzinfo=None)
    names = cfg.industry_names()
    with Reporter() as rep:
        rep.log(f"demo: simulating {window.label()} (seed {window.seed}) for {', '.join(names)}")
        simulated = demo.simulate(cfg, window)
        spark = get_session(cfg)
        with rep.streams(spark), rep.jobs(spark, "validate/publish: spark tasks"):
            cycle = run_cycle(cfg, names, log=rep.log)
        rep.log("demo: reconcile, dashboard")
        recon = reconcile(cfg, names)
        page, sections = build_report(cfg)
    facts = demo.facts(cfg, window, simulated, cycle, recon, started, str(page), sections)
    try:
        facts["next_window"] = demo_window.choose(cfg).label()
    except demo_window.NoFreeWindow:
        facts["next_window"] = None
    print(json.dumps(facts, indent=2, default=str) if args.json else render(facts))
    return 0 if recon.ok else 1


# --------------------------------------------------------------------------- the report

def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.1f} %"


def _num(v, digits: int = 0) -> str:
    return "-" if v is None else f"{v:,.{digits}f}"


def window_lines(f: dict) -> list[str]:
    w, s = f["window"], f["simulated"]
    start, end = w["start"].replace("T", " ")[:16], w["end"][11:16]
    held = f"; {w['windows_held_before']} other window(s) already there" if w["windows_held_before"] else ""
    kinds = ", ".join(f"{k} {n}" for k, n in s["kinds"].items() if k != "clean")
    return [f"demo window {start}-{end} UTC (seed {w['seed']}): the newest whole window not yet in the lake{held}",
            f"simulated {s['records']:,} records for {len(f['industries'])} industries, "
            f"{s['bad']:,} with an injected fault ({kinds})",
            f"run {f['run_id']} finished in {f['seconds']}s"]


def industry_table(rows: list[dict]) -> str:
    cols = ["industry", "records in", "silver", "quarantined", "duplicates"]
    keys = ["industry", "records_in", "silver", "quarantined", "duplicates"]
    total = {"industry": "total", **{k: sum(r[k] for r in rows) for k in keys[1:]}}
    return table([dict(zip(cols, (r[k] for k in keys))) for r in [*rows, total]], cols)


def quarantine_table(by_reason: dict[str, int]) -> str:
    return table([{"reason": r, "records": n} for r, n in by_reason.items()], ["reason", "records"])


def reconcile_line(r: dict) -> str:
    verdict = "ok" if r["ok"] else "MISMATCH"
    extra = "".join(f", {r[k]} {k}" for k in ("orphans", "gaps", "pending") if r[k])
    hint = "" if r["ok"] else " - `brain reconcile` names each topic and partition"
    return f"reconcile: {verdict} ({r['lost']} lost, {r['doubled']} doubled{extra}){hint}"


def enterprise_table(rows: list[dict]) -> str:
    cols = ["site", "OEE", "energy kWh", "tCO2", "DQ score", "PdM alerts"]
    return table([{"site": r["site"], "OEE": _pct(r["oee"]), "energy kWh": _num(r["energy_kwh"]),
                   "tCO2": _num(r["co2_t"], 2), "DQ score": _pct(r["dq_score"]), "PdM alerts": _num(r["pdm_alerts"])}
                  for r in rows], cols)


def next_lines(f: dict) -> list[str]:
    reason = next(iter(f["quarantine_by_reason"]), None)
    lines = ["  make airflow                     the DAGs in the Airflow UI (http://127.0.0.1:8080)",
             '  .venv/bin/brain query "SELECT site, event_date, oee, energy_kwh, dq_score FROM '
             'gold.enterprise_brain ORDER BY event_date, site"']
    if f.get("lot"):
        lines.append(f"  .venv/bin/brain trace --lot {f['lot']}   the batches and shipments made from it")
    if reason:
        lines.append(f"  .venv/bin/brain quarantine show --reason {reason.split(':', 1)[0]} --limit 3")
    lines.append("  make run                         again: " + (f"adds the window {f['next_window']}"
                                                                  if f.get("next_window") else
                                                                  "every window of demo.lookback_days is held"))
    return lines


def render(f: dict) -> str:
    with_data = sum(f["dashboard_sections"].values())
    dup = sum(r["duplicates"] for r in f["industries"])
    out = [*window_lines(f), "",
           "records per industry", industry_table(f["industries"]), "",
           "quarantine by reason (this run)", quarantine_table(f["quarantine_by_reason"]), "",
           f"duplicates: {dup} (counted in quality.duplicates, not in silver)",
           reconcile_line(f["reconcile"]), "",
           f"enterprise brain {f['enterprise_day']} (gold.enterprise_brain, the whole day so far)",
           enterprise_table(f["enterprise"]), "",
           f"dashboard: {f['dashboard']} ({with_data} of {len(f['dashboard_sections'])} sections with data)",
           f"data docs: {f['data_docs'] or 'not built (quality.data_docs_enabled is off)'}", "",
           "next:", *next_lines(f)]
    return "\n".join(line.rstrip() for part in out for line in part.splitlines() or [""])


def shape(text: str) -> list[str]:
    """The report's layout without its values: one key per line (its leading words up to the first
    number), a table as its header and one "rows" entry, blank lines kept. README's sample and a
    real run must have the same shape (tests/integration/test_demo.py)."""
    lines = text.strip("\n").splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if i + 1 < len(lines) and lines[i + 1].strip() and set(lines[i + 1].strip()) <= {"-", " "}:
            out += ["table: " + " ".join(line.split()), "rows"]
            i += 2
            while i < len(lines) and lines[i].strip():
                i += 1
            continue
        out.append(_key(line))
        i += 1
    return out


def _key(line: str) -> str:
    words: list[str] = []
    for w in line.split():
        if any(ch.isdigit() for ch in w) or len(words) == 3:
            break
        words.append(w)
        if w.endswith(":"):
            break
    return ("  " if line.startswith(" ") else "") + " ".join(words)
