"""`brain reconcile`, `brain quarantine list|show|replay` and `brain spark start|stop|status`
(wired into brain.cli.main).

Kept free of Spark imports at module level: building the parser must stay fast.
"""

from __future__ import annotations

import argparse
import json
import sys

RECONCILE_DESCRIPTION = """\
Prove that nothing is lost, per Kafka topic and partition:

  1. Kafka offsets consumed = bronze rows: the bronze ingest checkpoint's
     committed offsets must match the offsets bronze holds (no gap, no
     offset twice, nothing beyond what was committed);
  2. bronze = silver + quarantine + counted duplicates, matched by Kafka
     coordinates (topic, partition, offset).

A bronze record found nowhere is LOST, one found in two places DOUBLED, one
found downstream but not in bronze an ORPHAN. Bronze rows the clean stage
has not processed yet are PENDING (not an error: the next run takes them).
Quarantine counts by reason are listed per industry. It reads the lake
without Spark (delta-rs and DuckDB): seconds, and no JVM to start.

Exit status: 0 when everything reconciles, 1 on any mismatch (a table names
each topic/partition with its counts), 2 on a configuration error."""

RECONCILE_EPILOG = """\
examples:
  brain reconcile                          every industry, readable table
  brain reconcile --industry energy --json machine-readable report
  brain reconcile --all-partitions         show matching partitions too

See docs/quarantine.md for how to read the output and what to do."""

QUARANTINE_DESCRIPTION = """\
Records that failed their contract (malformed, missing fields, wrong types,
out of instrument range, unknown unit, bad or future timestamps, oversized,
...) or a `quarantine` Great Expectations expectation sit in silver.quarantine
with a reason code, the raw payload and their Kafka coordinates.

  list    counts by industry, record type and reason
  show    the records, with a safe, truncated preview of the raw payload
  replay  classify them again with today's contracts, units and limits; the
          ones now valid move to silver (or to quality.duplicates when their
          event_id is already there) and leave quarantine exactly once

Reason codes and what to do about each: docs/quarantine.md."""

QUARANTINE_EPILOG = """\
examples:
  brain quarantine list --industry energy
  brain quarantine show --reason unknown_unit --limit 5
  brain quarantine show --reason missing_field      (matches missing_field:<any field>)
  brain quarantine replay --industry energy --reason unknown_unit --dry-run
  brain quarantine replay --industry energy --reason unknown_unit"""


def _spark(cfg):
    from brain.spark import get_session

    return get_session(cfg)


# --------------------------------------------------------------------------- reconcile

def add_reconcile_arguments(p: argparse.ArgumentParser) -> None:
    p.description = RECONCILE_DESCRIPTION
    p.epilog = RECONCILE_EPILOG
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--industry", default="all", help="an industry from conf 'industries', or 'all' (default)")
    p.add_argument("--json", action="store_true", help="print the full report as JSON (same exit status)")
    p.add_argument("--all-partitions", action="store_true",
                   help="list every topic/partition, not only the mismatching ones")
    p.add_argument("--no-kafka", action="store_true",
                   help="do not ask the broker for its end offsets (the lake and checkpoints are still checked)")
    p.add_argument("--ledger", metavar="FILE",
                   help="also check a producer ledger (one JSON line per acknowledged record, as written by "
                        "the simulator's ledger option): each record exactly once in silver, quarantine or "
                        "duplicates")


def run_reconcile(args, cfg) -> int:
    from brain.cli.progress import Reporter
    from brain.ops.reconcile import reconcile, render

    with Reporter() as rep:
        bar = rep.task("reconcile record types")

        def done(topic: str, n: int, total: int) -> None:
            rep.update(bar, completed=n, total=total, detail=topic)

        report = reconcile(cfg, cfg.select_industries(args.industry), kafka=not args.no_kafka, on_target=done)
    ledger = None
    if args.ledger:
        from dataclasses import asdict

        from brain.ops.reconcile import reconcile_ledger
        from brain.simulator.sinks import read_ledger

        ledger = reconcile_ledger(cfg, read_ledger(args.ledger))
    if args.json:
        print(json.dumps({**report.to_dict(), **({"ledger": asdict(ledger)} if ledger else {})}, indent=2,
                         default=str))
    else:
        print(render(report, everything=args.all_partitions))
        if ledger:
            print(ledger.render())
        if report.quarantine_by_reason:
            print("\nquarantine by reason:")
            for ind, reasons in report.quarantine_by_reason.items():
                for reason, n in reasons.items():
                    print(f"  {ind:<24} {reason:<40} {n:>8}")
    return 0 if report.ok and (ledger is None or ledger.ok) else 1


# --------------------------------------------------------------------------- spark

SPARK_DESCRIPTION = """\
Manage the warm Spark Connect server: one long-lived Spark driver on
127.0.0.1 (port spark_connect.port, default 15002) with the same settings as
the in-process session (Delta, the Kafka connector, spark.master, the
warehouse), so a process can attach to it instead of starting its own JVM.
Its pid and log live under <paths.state>/spark_connect.

  start   idempotent; returns once a Connect session has run a query
  stop    graceful (SIGTERM, then SIGKILL after spark_connect.stop_timeout_s), frees the port
  status  exit 0 if the server runs and its port answers, 3 if not

While it runs, brain run, ingest, validate, publish, query --engine spark and
the DAG tasks attach to it (spark.remote: auto, the default) instead of
starting a JVM each; when it does not, they start Spark in their own process
and say so. spark.remote = service requires the server (fail if it is down);
spark.remote = '' (env BRAIN__SPARK__REMOTE=) always runs in-process."""

SPARK_EPILOG = """\
examples:
  brain spark start                        start the server (or find it running) and wait until it answers
  brain spark status --json                machine-readable: running, pid, host, port, reachable, url
  brain run --industry energy              one cycle, attached to the warm server while it runs
  brain spark stop
  BRAIN__SPARK_CONNECT__PORT=15102 brain spark start   another port (e.g. a second state dir)"""


def add_spark_arguments(p: argparse.ArgumentParser) -> None:
    p.description = SPARK_DESCRIPTION
    p.epilog = SPARK_EPILOG
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("action", choices=["start", "stop", "status"],
                   help="start: idempotent, returns once the server answers queries; stop: graceful, frees the "
                        "port; status: exit 0 if running, 3 if not")
    p.add_argument("--json", action="store_true", help="print the resulting status as JSON")


def run_spark(args, cfg) -> int:
    from brain.cli.service import run_action
    from brain.ops import spark_service

    return run_action(spark_service, "spark", args.action, args.json, cfg)


# --------------------------------------------------------------------------- quarantine

def add_quarantine_arguments(p: argparse.ArgumentParser) -> None:
    p.description = QUARANTINE_DESCRIPTION
    p.epilog = QUARANTINE_EPILOG
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    ls = sub.add_parser("list", help="counts by industry, record type and reason",
                        description="Count quarantined records by industry, record type and reason.")
    ls.add_argument("--industry", help="only this industry")
    ls.add_argument("--json", action="store_true", help="machine-readable output")

    sh = sub.add_parser("show", help="quarantined records with a payload preview",
                        description="Print quarantined records (Kafka coordinates, reason, event_id) with the "
                                    "first bytes of the raw payload; invalid UTF-8 and control characters are "
                                    "escaped, long payloads cut.")
    sh.add_argument("--reason", help="a reason code; without ':' it also matches '<reason>:<field>'")
    sh.add_argument("--industry", help="only this industry")
    sh.add_argument("--limit", type=int, default=20, help="at most this many records (default 20)")
    sh.add_argument("--bytes", type=int, default=300, metavar="N",
                    help="show the first N bytes of each payload (default 300)")
    sh.add_argument("--json", action="store_true", help="machine-readable output")

    rp = sub.add_parser("replay", help="re-ingest quarantined records that today's rules accept",
                        description="Classify quarantined records again with the current contracts, units and "
                                    "limits (time checks use each record's original ingest time). "
                                    "Now-valid records go to silver (or quality.duplicates if their event_id is "
                                    "already in silver) and leave quarantine; the rest stay, with an updated "
                                    "reason if it changed. Safe to repeat, and to re-run after an interruption: "
                                    "nothing is doubled. Records quarantined by a GX expectation "
                                    "(expectation:<name>) are not replayed. The days that receive records are "
                                    "recorded, so the next publish recomputes their gold rows.")
    rp.add_argument("--industry", help="only this industry (default: all)")
    rp.add_argument("--reason", help="only this reason; without ':' it also matches '<reason>:<field>'")
    rp.add_argument("--dry-run", action="store_true", help="report what would move, change nothing")
    rp.add_argument("--json", action="store_true", help="machine-readable output")


def run_quarantine(args, cfg) -> int:
    from brain.ops import quarantine_tools as qt

    if getattr(args, "industry", None):
        cfg.select_industries(args.industry)  # a typo fails naming the configured industries
    spark = _spark(cfg)
    if args.action == "list":
        rows = qt.list_reasons(spark, cfg, industry=args.industry)
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            print(_table(rows, ["industry", "record_type", "reason", "count"]) if rows
                  else "quarantine is empty")
            if rows:
                print(f"\ntotal: {sum(r['count'] for r in rows)} record(s)")
        return 0
    if args.action == "show":
        rows = qt.show(spark, cfg, reason=args.reason, industry=args.industry, limit=args.limit,
                       preview_bytes=args.bytes)
        if args.json:
            print(json.dumps(rows, indent=2, default=str))
            return 0
        if not rows:
            print("no quarantined records match")
        for r in rows:
            print(f"{r['industry']}/{r['record_type']}  {r['reason']}  {r['topic']}[{r['partition']}]@{r['offset']}  "
                  f"event_id={r['event_id']}  kafka_ts={r['kafka_ts']}  {r['payload_bytes']:,} bytes")
            print(f"    {r['payload_preview']}")
        return 0
    if args.action == "replay":
        from brain.cli.progress import Reporter

        with Reporter() as rep, rep.jobs(spark, "replay: spark tasks"):
            res = qt.replay(spark, cfg, industry=args.industry, reason=args.reason, dry_run=args.dry_run)
        if args.json:
            print(json.dumps(res.as_dict(), indent=2, default=str))
        else:
            print(_replay_text(res))
        return 0
    print(f"brain quarantine: unknown action {args.action!r}", file=sys.stderr)
    return 2


def _replay_text(res) -> str:
    head = "dry run, nothing changed: " if res.dry_run else f"replay {res.run_id}: "
    lines = [head + f"{res.examined} examined, {res.released} valid now ({res.to_silver} to silver, "
             f"{res.to_duplicates} duplicates, {res.already_in_silver} already in silver), {res.still_invalid} "
             f"still invalid ({res.reason_changed} with a new reason)"]
    if not res.dry_run:
        lines.append(f"left quarantine: {res.left_quarantine}")
    if res.skipped_expectation:
        lines.append(f"skipped {res.skipped_expectation} record(s) quarantined by an expectation (not replayable "
                     f"here; see docs/quarantine.md)")
    if res.transitions:
        lines.append("")
        lines.append(_table([{"reason -> now": k, "records": v} for k, v in sorted(res.transitions.items())],
                            ["reason -> now", "records"]))
    if res.touched_days and not res.dry_run:
        lines.append(f"\ndays recorded for gold recompute: {', '.join(res.touched_days)}")
    lines += [f"note: {n}" for n in res.notes]
    return "\n".join(lines)


def _table(rows: list[dict], columns: list[str]) -> str:
    from brain.ops.reconcile import _table as table

    return table(rows, columns)
