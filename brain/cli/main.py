"""`brain`: the command line for operators and analysts.

Each subcommand is a thin wrapper: parse arguments, load config, call the
library, print a readable result (or JSON with --json), and exit non-zero
with a message that says what to do when something is wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Callable

from brain import __version__
from brain.config import ConfigError, load

EPILOG = """\
examples:
  brain kafka start                      start the embedded Kafka broker (KRaft) on 127.0.0.1
  brain demo                             all four industries, one cycle, a short report (= make run)
  brain spark start                      start the warm Spark Connect server on 127.0.0.1:15002
  BRAIN_ENV=cluster-local brain cluster up   3 Kafka brokers, Spark master + 2 workers, Connect (loopback)
  brain mqtt start                       start the local MQTT broker (mosquitto) for PLCs and gateways
  brain bridge mqtt                      MQTT / Sparkplug B -> Kafka (docs/edge.md)
  brain topics create                    create <industry>.<record_type> topics
  brain simulate --industry energy --records 500 --seed 1
  brain run --industry energy            ingest -> clean -> validate -> publish, once
  brain doctor                           check Java, jars, Kafka, Spark+Delta, GX, Airflow
  brain query "SELECT * FROM gold.enterprise_brain"   analyst SQL (DuckDB fast path, Spark fallback)
  brain trace --lot LOT-S1-sugar-001234  batches and shipments made from a lot
  brain lineage silver.energy_meter      topic -> bronze -> silver -> gold, from OpenLineage events
  brain explain gold.consumer_goods_oee_daily_line --where "line='L3' AND event_date='2026-11-20'"
  brain report                           offline HTML dashboard in reports/index.html

Configuration: conf/defaults.yaml + conf/env/$BRAIN_ENV.yaml (default local);
override any key with BRAIN__SECTION__KEY=value, e.g. BRAIN__KAFKA__EMBEDDED__PORT=19092.
"""


def _cmd_kafka(args, cfg) -> int:
    from brain.ops import broker as kb

    if args.action == "start":
        kb.start(cfg)
    elif args.action == "stop":
        kb.stop(cfg)
    st = kb.status(cfg)
    if args.action == "status":
        print(json.dumps(st.as_dict()) if args.json else f"kafka: {st.detail}")
        return 0 if st.running and st.reachable else 3
    return 0


def _cmd_run(args, cfg) -> int:
    from brain.cli.progress import Reporter
    from brain.cli.render import print_cycle
    from brain.pipeline import run_cycle
    from brain.spark import get_session

    spark = get_session(cfg)
    # The ingest pass reports batches through the streaming listener; validate and publish are batch jobs.
    with Reporter() as rep, rep.streams(spark), rep.jobs(spark, "validate/publish: spark tasks"):
        report = run_cycle(cfg, cfg.select_industries(args.industry), log=rep.log)
    if args.json:
        print(json.dumps({"run_id": report.run_id, "seconds": report.seconds, "totals": report.totals(),
                          "industries": report.industries}, default=str, indent=2))
    else:
        print_cycle(report)
    return 0


def _cmd_ingest(args, cfg) -> int:
    import os

    from brain import pipeline
    from brain.cli.progress import Reporter
    from brain.cli.render import print_ingest
    from brain.config import load
    from brain.spark import get_session

    names = cfg.select_industries(args.industry)
    if args.continuous:
        cfg = load(env=args.env, environ={**os.environ, "BRAIN__PIPELINE__TRIGGER": "continuous"})
        with Reporter() as rep, rep.streams(get_session(cfg)):
            pipeline.stream(cfg, names, pipeline.new_run_id(), log=rep.log)
        return 0
    run_id = pipeline.new_run_id()
    with Reporter() as rep, rep.streams(get_session(cfg)):
        out = {ind: pipeline.ingest(cfg, ind, run_id, recover=args.recover_from_bronze, log=rep.log)
               for ind in names}
    if args.json:
        print(json.dumps(out, indent=2, default=str))
    else:
        print_ingest(run_id, out)
    return 0


def _cmd_backfill(args, cfg) -> int:
    from brain import pipeline
    from brain.cli.progress import Reporter
    from brain.cli.render import print_backfill
    from brain.spark import get_session

    run_id = pipeline.new_run_id()
    out = {}
    names = cfg.select_industries(args.industry)
    with Reporter() as rep, rep.jobs(get_session(cfg)):
        steps = rep.task("backfill industries", total=len(names))
        for i, ind in enumerate(names):
            rep.log(f"[{ind}] backfill bronze -> silver for ingest dates {args.start}..{args.end}")
            out[ind] = pipeline.backfill(cfg, ind, args.start, args.end, run_id)
            rep.log(f"[{ind}] validate: Great Expectations on the backfilled rows")
            out[ind + ":validate"] = pipeline.validate(cfg, ind, run_id)
            rep.update(steps, completed=i + 1)
    if args.json:
        print(json.dumps({"run_id": run_id, "industries": out}, indent=2, default=str))
    else:
        print_backfill(run_id, out)
    return 0


def _cmd_maintain(args, cfg) -> int:
    from brain.cli.progress import Reporter
    from brain.cli.render import table
    from brain.lake.maintenance import lake_tables, maintain
    from brain.spark import get_session

    spark = get_session(cfg)
    with Reporter() as rep:
        steps = ([] if args.no_expire else ["retention"]) + ["OPTIMIZE"] + ([] if args.no_vacuum else ["VACUUM"])
        bar = rep.task(" + ".join(steps), total=len(lake_tables(cfg)))
        entries = []

        def done(entry: dict) -> None:
            entries.append(entry)
            rep.update(bar, advance=1, detail=entry["table"])
            rep.note(f"maintained {entry['table']}")

        maintain(spark, cfg, vacuum=not args.no_vacuum, on_table=done, expire=not args.no_expire)
    if args.json:  # JSON lines, as `brain maintain` printed before --json existed
        for entry in entries:
            print(json.dumps(entry))
        return 0
    rows = [{"table": e["table"], "expired rows": e.get("expired_rows", "skipped"),
             "files removed": e["files_removed"], "files added": e["files_added"],
             "vacuum": f"retain {e['vacuumed_retain_hours']} h" if "vacuumed_retain_hours" in e else "skipped"}
            for e in entries]
    print(table(rows, ["table", "expired rows", "files removed", "files added", "vacuum"]))
    print(f"\n{len(entries)} table(s) maintained")
    return 0


# One _add_<command> per subcommand, alike in shape by design: each reads as that command's --help.
def _add_ops(sub) -> None:
    p = sub.add_parser("ingest", help="Kafka -> bronze -> silver, once or continuously",
                       description="Drain the industry's topics into bronze and clean them into silver, "
                                   "quarantine and duplicates in the same pass (available-now: one streaming "
                                   "query per industry), or with --continuous keep doing so on a "
                                   "processing-time trigger (pipeline.processing_time) until Ctrl-C. "
                                   "Validation and gold stay with the scheduled DAGs (or `brain run`).")
    p.add_argument("--industry", default="all")
    p.add_argument("--continuous", action="store_true", help="run until stopped (processing-time trigger)")
    p.add_argument("--recover-from-bronze", action="store_true",
                   help="after a lost checkpoint: clean what bronze holds that nothing accounts for, then "
                        "resume each partition after the last offset bronze holds")
    p.add_argument("--json", action="store_true", help="print the per-topic and per-table report as JSON")
    p.set_defaults(func=_cmd_ingest)

    p = sub.add_parser("backfill", help="reprocess bronze -> silver for an ingest-date range",
                       description="Reprocess the bronze rows ingested between --start and --end (inclusive) "
                                   "with today's rules, then validate. Keyed writes: nothing already in "
                                   "silver, quarantine or duplicates is doubled. `brain_metrics` (or `brain "
                                   "run`) then recomputes the touched days.")
    p.add_argument("--industry", default="all")
    p.add_argument("--start", required=True, help="first ingest date, YYYY-MM-DD")
    p.add_argument("--end", required=True, help="last ingest date, YYYY-MM-DD")
    p.add_argument("--json", action="store_true", help="print the per-table and validation report as JSON")
    p.set_defaults(func=_cmd_backfill)

    p = sub.add_parser("maintain", help="delete expired rows, OPTIMIZE and VACUUM every lake table",
                       description="Delete the rows older than their industry's retention for their layer "
                                   "(retention.* and industries.<name>.retention: bronze by ingest date, "
                                   "silver and gold by event date; the deleted coordinates go to "
                                   "quality.expired so `brain reconcile` reports them as expired, not lost), "
                                   "compact small files and remove unreferenced ones older than "
                                   "lake.vacuum_retain_hours (what the brain_maintenance DAG runs daily).")
    p.add_argument("--no-expire", action="store_true", help="keep expired rows (only compact and vacuum)")
    p.add_argument("--no-vacuum", action="store_true", help="only compact")
    p.add_argument("--json", action="store_true", help="one JSON object per line, one line per table")
    p.set_defaults(func=_cmd_maintain)


def _cmd_doctor(args, cfg) -> int:
    from brain.ops.doctor import print_checks, run_checks

    checks = run_checks(cfg, skip=set(args.skip or []))
    if args.json:
        print(json.dumps({"ok": all(c.ok for c in checks), "checks": [c.as_dict() for c in checks]}, indent=2))
    else:
        print_checks(checks)
    return 0 if all(c.ok for c in checks) else 1


def _cmd_show(args, cfg) -> int:
    from brain.cli.render import show_table

    show_table(cfg, args.table, limit=args.limit, as_json=args.json)
    return 0


def _cmd_airflow_env(args, cfg) -> int:
    import shlex

    from brain.orchestration.airflow_env import airflow_env

    for key, value in airflow_env(cfg).items():
        print(f"export {key}={shlex.quote(value)}")
    return 0


def _add_airflow_env(sub) -> None:
    p = sub.add_parser("airflow-env", help="print the environment Airflow needs for this project",
                       description="Print `export` lines (AIRFLOW_HOME, DAGs folder, ...) so that "
                                   "`eval \"$(brain airflow-env)\"; airflow standalone` runs our DAGs.")
    p.set_defaults(func=_cmd_airflow_env)


def _add_kafka(sub) -> None:
    p = sub.add_parser("kafka", help="start/stop/status of the embedded Kafka broker",
                       description="Manage the embedded single-node Apache Kafka broker (KRaft mode, "
                                   "broker+controller in one JVM) run from the Maven-resolved jars. "
                                   "Data and logs live under <paths.state>/kafka.")
    p.add_argument("action", choices=["start", "stop", "status"],
                   help="start: idempotent, returns once the broker serves requests; stop: graceful, "
                        "frees the port; status: exit 0 if running, 3 if not")
    p.add_argument("--json", action="store_true", help="machine-readable status")
    p.set_defaults(func=_cmd_kafka)


def _add_run(sub) -> None:
    p = sub.add_parser("run", help="one full pipeline cycle without the scheduler",
                       description="Run ingest (Kafka -> bronze), clean (bronze -> silver, quarantine, "
                                   "duplicates), validate (Great Expectations on this run's rows) and "
                                   "publish (gold) for one industry or all, through the same functions "
                                   "the Airflow DAGs call. Prints records in, quarantined and tables written.")
    p.add_argument("--industry", default="all", help="an industry from conf 'industries', or 'all' (default)")
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.set_defaults(func=_cmd_run)


def _add_doctor(sub) -> None:
    p = sub.add_parser("doctor", help="check that every part of the stack works",
                       description="Checks Java, the JVM jars, the Kafka broker (reachable, and a produce/"
                                   "consume round-trip), Spark with Delta (write/read/time travel), Great "
                                   "Expectations, the optional Spark Connect server (`brain spark start`; not "
                                   "running is only a warning) and that every DAG imports. Exits 1 naming what "
                                   "is broken and how to fix it.")
    p.add_argument("--json", action="store_true", help="machine-readable result")
    p.add_argument("--skip", action="append", metavar="CHECK",
                   help="skip a check by name (repeatable), e.g. --skip airflow")
    p.set_defaults(func=_cmd_doctor)


def _add_show(sub) -> None:
    p = sub.add_parser("show", help="print a table from the lake",
                       description="Print the rows of one lake table, e.g. `brain show gold.energy_daily_site_kwh`.")
    p.add_argument("table", help="<layer>.<table>, e.g. silver.energy_meter")
    p.add_argument("--limit", type=int, default=50, help="at most this many rows (default 50)")
    p.add_argument("--json", action="store_true", help="the rows as JSON (with the total row count and columns)")
    p.set_defaults(func=_cmd_show)


def _add_delegated(sub) -> None:
    """Subcommands whose arguments and behaviour live with their module."""
    from brain.cli import catalog as catalog_cli
    from brain.cli import cluster, demo, edge, ops, users
    from brain.cli import explain as explain_cli
    from brain.cli import quality as qcli
    from brain.serve import dashboard, lineage, metrics_topic, query, trace
    from brain.simulator import cli as sim

    specs: list[tuple[str, str, Callable, Callable]] = [
        ("demo", "the main job once (make run): fresh data for every industry, one cycle, a short report",
         demo.add_arguments, demo.run),
        ("simulate", "stream realistic factory records into Kafka (or JSON Lines)",
         sim.add_simulate_arguments, sim.run_simulate),
        ("produce", "load a JSON Lines or CSV file into a Kafka topic", sim.add_produce_arguments, sim.run_produce),
        ("topics", "create or list the <industry>.<record_type> topics", sim.add_topics_arguments, sim.run_topics),
        ("quality", "generated expectation suites and the data-quality scorecard",
         qcli.add_quality_arguments, qcli.run_quality),
        ("reconcile", "prove every Kafka record is in bronze and in exactly one of silver/quarantine/duplicates",
         ops.add_reconcile_arguments, ops.run_reconcile),
        ("quarantine", "list, show and replay quarantined records", ops.add_quarantine_arguments,
         ops.run_quarantine),
        ("spark", "start/stop/status of the warm Spark Connect server (127.0.0.1)", ops.add_spark_arguments,
         ops.run_spark),
        ("cluster", "up/down/status of the loopback cluster: 3 Kafka brokers, Spark master + workers, "
                    "Connect, s3proxy, Airflow on PostgreSQL",
         cluster.add_arguments, cluster.run),
        ("users", "Kafka logins and ACLs (kafka.security sasl_ssl): add-factory SITE, remove SITE, list",
         users.add_arguments, users.run),
        ("mqtt", "start/stop/status of the local MQTT broker (mosquitto, 127.0.0.1)", edge.add_mqtt_arguments,
         edge.run_mqtt),
        ("bridge", "MQTT / Sparkplug B -> Kafka (bridge mqtt), and its ledger (bridge status)",
         edge.add_bridge_arguments, edge.run_bridge),
        ("query", "read-only SQL over every lake table by name, with Delta time travel",
         query.add_arguments, query.run_cli),
        ("trace", "material genealogy: a lot forward to batches and shipments, a shipment back to lots",
         trace.add_arguments, trace.run_cli),
        ("lineage", "where a table's rows came from and went: Kafka topics and tables, from OpenLineage events",
         lineage.add_arguments, lineage.run_cli),
        ("explain", "a gold KPI row back to its silver rows, Kafka offsets, quarantine and duplicates, with its "
                    "formula", explain_cli.add_arguments, explain_cli.run_cli),
        ("catalog", "every lake column's classification level (GB/T 43697), domain, unit and personal-data flag",
         catalog_cli.add_arguments, catalog_cli.run_cli),
        ("report", "write the offline HTML dashboard (reports/index.html)", dashboard.add_arguments,
         dashboard.run_cli),
        ("announce", "send gold.enterprise_brain to Kafka topic brain.metrics, per site-day then per site-hour",
         _announce_arguments(metrics_topic.add_arguments), _cmd_announce),
    ]
    for name, help_, add, run in specs:
        p = sub.add_parser(name, help=help_, description=help_)
        add(p)
        p.set_defaults(func=run)


def _announce_arguments(add: Callable) -> Callable:
    def add_all(p) -> None:
        add(p)
        p.add_argument("--json", action="store_true", help='print {"topic": ..., "messages": N} as JSON')
    return add_all


def _cmd_announce(args, cfg) -> int:
    from brain.serve import metrics_topic

    lines: list[str] = []
    count = metrics_topic.announce(cfg, args.day, log=lines.append)
    if args.json:
        for line in lines:
            print(line, file=sys.stderr)
        print(json.dumps({"topic": metrics_topic.topic(cfg), "messages": count}))
    else:
        # announce() says what it did (or why it sent nothing) in one line: that is the readable answer.
        print("\n".join(lines) or f"announced {count} site-day message(s) on {metrics_topic.topic(cfg)}")
    return 0


# `brain <command> --help` ends with these, for the commands whose module has no examples of its own.
EXAMPLES = {
    "kafka": ["brain kafka start                        start the broker (or find it running)",
              "brain kafka status --json                running, reachable, pid, port",
              "brain kafka stop"],
    "topics": ["brain topics create                      every <industry>.<record_type> topic",
               "brain topics list                        topics and their end offsets"],
    "run": ["brain run --industry energy              one cycle for one industry",
            "brain run                                every industry",
            "brain run --json > cycle.json            the full report, machine-readable"],
    "ingest": ["brain ingest                             drain every industry's topics once",
               "brain ingest --industry energy --json   one industry, machine-readable",
               "brain ingest --continuous               keep streaming until Ctrl-C",
               "brain ingest --recover-from-bronze      after a lost checkpoint (docs/fault-tolerance.md)"],
    "backfill": ["brain backfill --industry energy --start 2026-11-01 --end 2026-11-07",
                 "brain backfill --start 2026-11-01 --end 2026-11-01 --json"],
    "maintain": ["brain maintain                           retention deletes, OPTIMIZE + VACUUM every table",
                 "brain maintain --no-expire               keep expired rows, only compact and vacuum",
                 "brain maintain --no-vacuum --json        only compact; one JSON line per table"],
    "show": ["brain show silver.quarantine",
             "brain show gold.enterprise_brain --limit 10",
             "brain show gold.data_quality_daily --json | jq '.rows[0]'"],
    "doctor": ["brain doctor                             every check, readable",
               "brain doctor --skip airflow --json      machine-readable, without the DAG import check"],
    "query": ['brain query "SELECT site, event_date, oee FROM gold.enterprise_brain ORDER BY event_date"',
              "brain query --format json \"SELECT * FROM gold.data_quality_daily\"   machine-readable rows",
              "brain query \"SELECT count(*) FROM gold.enterprise_brain VERSION AS OF 0\"   Delta time travel",
              "brain query --tables                     every table you can query"],
    "trace": ["brain trace --lot LOT-S1-sugar-001234    batches and shipments made from a lot",
              "brain trace --shipment SHP-1             back from a shipment to its lots"],
    "lineage": ["brain lineage silver.energy_meter              its bronze table and Kafka topic up, gold down",
                "brain lineage gold.enterprise_brain --upstream  every table and topic it came from",
                "brain lineage energy.energy_meter --downstream --json   a topic's tables, machine-readable"],
    "announce": ["brain announce                           the latest days of gold.enterprise_brain",
                 "brain announce --day 2026-11-03 --json  one day again, machine-readable"],
    "airflow-env": ['eval "$(brain airflow-env)"; airflow standalone'],
}


def _add_examples(sub) -> None:
    for name, parser in sub.choices.items():
        if parser.epilog or name not in EXAMPLES:
            continue
        parser.epilog = "examples:\n" + "\n".join("  " + line for line in EXAMPLES[name])
        if parser.formatter_class is argparse.HelpFormatter:
            parser.formatter_class = argparse.RawDescriptionHelpFormatter


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="brain", description="Enterprise Brain: industrial data lakehouse (Kafka -> Spark -> Delta Lake).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"brain {__version__}")
    parser.add_argument("--env", help="config environment (conf/env/<env>.yaml); default $BRAIN_ENV or local")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_kafka(sub)
    _add_delegated(sub)
    _add_run(sub)
    _add_ops(sub)
    _add_show(sub)
    _add_doctor(sub)
    _add_airflow_env(sub)
    _add_examples(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        cfg = load(env=args.env)
        return int(args.func(args, cfg) or 0)
    except ConfigError as exc:
        print(f"brain: config error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence: say what broke
        from brain.errors import explain

        print(f"brain {args.command}: {explain(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
