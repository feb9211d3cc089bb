"""`brain quality suites|score|gate` (wired into brain.cli.main as a delegated subcommand).

- ``brain quality suites [--write] [--check]``: the expectation suites
  generated from the contracts and the asset registry (brain.quality.generate);
  without flags, prints them; ``--write`` writes ``expectations/silver.<table>.json``
  (never over a file marked ``meta.hand_tuned: true``); ``--check`` exits 1 if a
  committed, generated suite differs from what the generator makes now.
- ``brain quality [score] [--industry X] [--date D] [--json] [--refresh]``: the
  data-quality scorecard ``gold.data_quality_daily`` (brain.quality.scorecard);
  the bare ``brain quality`` is the scorecard, the question most people ask.
- ``brain quality gate [--industry X] [--json]``: the quality gates (open, or
  closed by which runs and expectations); ``--industry X --release
  --quarantine-failed | --accept --reason R`` opens one (brain.quality.gate_release).

No Spark import at module level: building the parser must stay fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from brain.config import Config

DESCRIPTION = """\
Data quality: the DCMM scorecard, the generated expectation suites and the gates.
Without ACTION: the scorecard (`brain quality` = `brain quality score`).

  suites   print, --write or --check expectations/silver.<table>.json, generated
           from the record contracts and conf/assets.yaml. A suite whose
           meta.hand_tuned is true is never overwritten and not checked.
  score    print gold.data_quality_daily: completeness, timeliness, validity,
           uniqueness, consistency, accuracy and overall, per industry / site / day.
  gate     show each industry's quality gate; a failed `fail` expectation closes
           it and blocks publishing gold until --release --quarantine-failed
           (failing rows to silver.quarantine) or --release --accept --reason R."""

EPILOG = """\
examples:
  brain quality                            the scorecard of the newest day, every industry
  brain quality --json                     the same, machine-readable
  brain quality suites --check             CI: committed suites match the generator
  brain quality suites --write             regenerate after changing a contract or the registry
  brain quality score --industry raw_materials --date 2025-01-31
  brain quality score --refresh --json     recompute the newest day first, machine-readable
  brain quality gate                       which industries are blocked, by which runs
  brain quality gate --industry energy --release --quarantine-failed

See docs/quality.md."""

SCORE_COLUMNS = ("industry", "site", "event_date", "completeness", "timeliness", "ingest_lag_p95_s",
                 "validity", "uniqueness", "consistency", "accuracy", "overall")


def add_quality_arguments(p: argparse.ArgumentParser) -> None:
    p.description = DESCRIPTION
    p.epilog = EPILOG
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    # Bare `brain quality` is the scorecard: its options live on this parser too, and the
    # score action's copies default to SUPPRESS so they never overwrite what was given here.
    _score_options(p, suppress=False)
    p.set_defaults(quality_action="score")
    # One block per action, alike in shape by design: each reads as that action's --help.
    sub = p.add_subparsers(dest="quality_action", metavar="[ACTION]")
    s = sub.add_parser("suites", help="print, write or check the generated expectation suites")
    s.add_argument("--write", action="store_true", help="write expectations/silver.<table>.json (not hand-tuned ones)")
    s.add_argument("--check", action="store_true",
                   help="exit 1 if a committed generated suite differs from the generator's output")
    s.add_argument("--industry", default="all")
    s.add_argument("--gold", action="store_true",
                   help="gold tables' suites instead, from their schemas in the lake (needs the tables)")
    c = sub.add_parser("score", help="print the data-quality scorecard gold.data_quality_daily (the default)")
    _score_options(c, suppress=True)
    g = sub.add_parser("gate", help="show or release the quality gates that block publishing")
    g.add_argument("--industry", default="all")
    g.add_argument("--json", action="store_true")
    g.add_argument("--release", action="store_true", help="open the industry's closed gate (needs --industry)")
    how = g.add_mutually_exclusive_group()
    how.add_argument("--quarantine-failed", action="store_true",
                     help="with --release: move the rows that failed to silver.quarantine first")
    how.add_argument("--accept", action="store_true", help="with --release: publish the rows as they are")
    g.add_argument("--reason", help="why (required with --accept; kept in quality.gate_state)")
    g.add_argument("--by", help="who releases (default: the login name)")


def _score_options(p: argparse.ArgumentParser, suppress: bool) -> None:
    kw = {"default": argparse.SUPPRESS} if suppress else {}
    p.add_argument("--industry", help="an industry from conf 'industries', or 'all' (default)",
                   **(kw or {"default": "all"}))
    p.add_argument("--date", help="event day YYYY-MM-DD (default: the newest day in the table)", **kw)
    p.add_argument("--json", action="store_true", help="machine-readable rows", **kw)
    p.add_argument("--refresh", action="store_true",
                   help="recompute the day(s) from silver before printing (needs --date or uses today)", **kw)


def run_quality(args: argparse.Namespace, cfg: Config) -> int:
    if args.quality_action == "suites":
        return _suites(args, cfg)
    if args.quality_action == "gate":
        return _gate(args, cfg)
    return _score(args, cfg)


def _suites(args: argparse.Namespace, cfg: Config) -> int:
    from brain.quality.generate import configured_tables, generate_suite, suite_status, write_suite

    if args.gold:
        return _gold_suites(args, cfg)
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


def _gold_suites(args: argparse.Namespace, cfg: Config) -> int:
    from brain import industries
    from brain.quality.generate import suite_status, write_suite
    from brain.quality.gold_suites import delta_fields, gold_suite
    from brain.quality.scorecard import SCORECARD
    from brain.spark import get_session

    spark = get_session(cfg)
    tables = [t for ind in cfg.select_industries(args.industry) for t in industries.load(cfg, ind).GOLD]
    out, stale = [], []
    for table in [*tables, SCORECARD]:
        fields = delta_fields(spark, cfg, table)
        if fields is None:
            print(f"{table:<50} no table in the lake yet; skipped", file=sys.stderr)
            continue
        suite = gold_suite(table, fields)
        if not args.write and not args.check:
            out.append(suite)
            continue
        status, path = (write_suite if args.write else suite_status)(cfg, table, suite)
        if args.check and status in ("missing", "differs"):
            stale.append(table)
        print(f"{table:<50} {status:<12} {path}")
    if out:
        print(json.dumps(out, indent=2))
    return 1 if stale else 0


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


def _gate(args: argparse.Namespace, cfg: Config) -> int:
    import getpass

    from brain.quality.gate import read_state
    from brain.quality.gate_release import GateReleaseError, release
    from brain.spark import get_session

    if args.release:
        if not args.industry or args.industry == "all":
            print("brain quality gate --release needs --industry X", file=sys.stderr)
            return 2
        cfg.select_industries(args.industry)  # a typo fails here, naming the configured ones
        try:
            done = release(get_session(cfg), cfg, args.industry, quarantine_failed=args.quarantine_failed,
                           accept=args.accept, actor=args.by or getpass.getuser(), reason=args.reason)
        except GateReleaseError as exc:
            print(f"brain quality gate: {exc}", file=sys.stderr)
            return 2
        if args.json:
            print(json.dumps(done, default=str, indent=2))
        elif done["was_open"]:
            print(f"{args.industry}: the gate is already open; nothing to do")
        else:
            moved = "; ".join(f"{t}: " + ", ".join(f"{n} {c} rows" for n, c in m.items())
                              for t, m in done["moved"].items() if m)
            print(f"{args.industry}: gate opened" + (f" after moving to silver.quarantine: {moved}" if moved else "")
                  + ". The next metrics run publishes the pending days.")
        return 0
    spark = get_session(cfg)
    states = [read_state(spark, cfg, ind) for ind in cfg.select_industries(args.industry)]
    if args.json:
        print(json.dumps([{"industry": s.industry, "open": s.is_open, "closures": list(s.closures),
                           "last_opened": s.last_opened} for s in states], default=str, indent=2))
    else:
        print("\n".join(s.describe() for s in states))
    return 1 if any(not s.is_open for s in states) else 0


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def _cell(row: dict, column: str) -> str:
    # Timeliness does not judge history loaded after the fact (docs/quality.md): say so, not "-".
    if column == "timeliness" and row.get(column) is None and row.get("historical_rows"):
        return "historical load"
    return _fmt(row.get(column))


def _table(rows: list[dict]) -> str:
    cells = [[_cell(r, c) for c in SCORE_COLUMNS] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(SCORE_COLUMNS)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(SCORE_COLUMNS, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)
