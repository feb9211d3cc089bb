"""`brain quality suites|score` (wired into brain.cli as a delegated subcommand).

- ``brain quality suites [--write] [--check]``: the expectation suites
  generated from the contracts and the asset registry (brain.quality.generate);
  without flags, prints them; ``--write`` writes ``expectations/silver.<table>.json``
  (never over a file marked ``meta.hand_tuned: true``); ``--check`` exits 1 if a
  committed, generated suite differs from what the generator makes now.
- ``brain quality score [--industry X] [--date D] [--json] [--refresh]``: the
  data-quality scorecard ``gold.data_quality_daily`` (brain.quality.scorecard).

No Spark import at module level: building the parser must stay fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from brain.config import Config

DESCRIPTION = """\
Data quality: the generated expectation suites and the DCMM scorecard.

  suites   print, --write or --check expectations/silver.<table>.json, generated
           from the record contracts and conf/assets.yaml. A suite whose
           meta.hand_tuned is true is never overwritten and not checked.
  score    print gold.data_quality_daily: completeness, timeliness, validity,
           uniqueness, consistency and overall, per industry / site / day."""

EPILOG = """\
examples:
  brain quality suites --check             CI: committed suites match the generator
  brain quality suites --write             regenerate after changing a contract or the registry
  brain quality score --industry raw_materials --date 2025-01-31
  brain quality score --refresh --json     recompute the newest day first, machine-readable

See docs/quality.md."""

SCORE_COLUMNS = ("industry", "site", "event_date", "completeness", "timeliness", "ingest_lag_p95_s",
                 "validity", "uniqueness", "consistency", "overall")


def add_quality_arguments(p: argparse.ArgumentParser) -> None:
    p.description = DESCRIPTION
    p.epilog = EPILOG
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    sub = p.add_subparsers(dest="quality_action", metavar="ACTION", required=True)
    s = sub.add_parser("suites", help="print, write or check the generated expectation suites")
    s.add_argument("--write", action="store_true", help="write expectations/silver.<table>.json (not hand-tuned ones)")
    s.add_argument("--check", action="store_true",
                   help="exit 1 if a committed generated suite differs from the generator's output")
    s.add_argument("--industry", default="all")
    c = sub.add_parser("score", help="print the data-quality scorecard gold.data_quality_daily")
    c.add_argument("--industry", default="all")
    c.add_argument("--date", help="event day YYYY-MM-DD (default: the newest day in the table)")
    c.add_argument("--json", action="store_true")
    c.add_argument("--refresh", action="store_true",
                   help="recompute the day(s) from silver before printing (needs --date or uses today)")


def run_quality(args: argparse.Namespace, cfg: Config) -> int:
    if args.quality_action == "suites":
        return _suites(args, cfg)
    return _score(args, cfg)


def _suites(args: argparse.Namespace, cfg: Config) -> int:
    from brain.quality.generate import configured_tables, generate_suite, suite_status, write_suite

    wanted = set(cfg.select_industries(args.industry))
    tables = [(i, r, t) for i, r, t in configured_tables(cfg) if i in wanted]
    if not args.write and not args.check:
        print(json.dumps([generate_suite(cfg, i, r) for i, r, _ in tables], indent=2))
        return 0
    stale = []
    for ind, rt, table in tables:
        generated = generate_suite(cfg, ind, rt)
        if args.write:
            status, path = write_suite(cfg, table, generated)
            action = {"missing": "created", "differs": "updated", "same": "unchanged",
                      "hand_tuned": "kept (hand-tuned)"}[status]
        else:
            status, path = suite_status(cfg, table, generated)
            action = {"missing": "MISSING", "differs": "DIFFERS", "same": "ok",
                      "hand_tuned": "hand-tuned (not checked)"}[status]
            if status in ("missing", "differs"):
                stale.append(table)
        print(f"{table:<50} {action:<26} {path}")
    if stale:
        print(f"brain quality suites: {len(stale)} suite(s) differ from the generator; run "
              f"`brain quality suites --write` or mark them meta.hand_tuned: true", file=sys.stderr)
        return 1
    return 0


def _score(args: argparse.Namespace, cfg: Config) -> int:
    from brain.quality.scorecard import publish_scorecard, read_scorecard
    from brain.spark import get_session

    day = date.fromisoformat(args.date) if args.date else None
    names = cfg.select_industries(args.industry)
    spark = get_session(cfg)
    if args.refresh:
        for ind in names:
            publish_scorecard(spark, cfg, ind, [day or date.today()])
    rows = [r for ind in names for r in read_scorecard(spark, cfg, ind, day)]
    if day is None and rows:
        newest = max(r["event_date"] for r in rows)
        rows = [r for r in rows if r["event_date"] == newest]
    if args.json:
        print(json.dumps(rows, default=str, indent=2))
        return 0
    if not rows:
        print("no scorecard rows (run the metrics stage, or `brain quality score --refresh --date D`)")
        return 0
    print(_table(rows))
    return 0


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def _table(rows: list[dict]) -> str:
    cells = [[_fmt(r.get(c)) for c in SCORE_COLUMNS] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(SCORE_COLUMNS)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(SCORE_COLUMNS, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)
