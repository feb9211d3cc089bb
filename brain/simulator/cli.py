"""Arguments and handlers for ``brain simulate``, ``brain produce`` and ``brain topics``.

brain.cli.main wires each pair in: ``add_<cmd>_arguments(parser)`` fills the
subcommand's parser, ``run_<cmd>(args, cfg)`` runs it and returns the exit code.
"""

from __future__ import annotations

import argparse
import json
import re
import sys

from brain.config import Config
from brain.simulator.inject import KINDS

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}

SIMULATE_HELP = """\
Simulate factories of the four industries and send their records to Kafka
(topics <industry>.<record_type>, keyed by site/line/device) or to JSON Lines
files. Machines wear and fail after vibration rises, processes drift and raise
defects, shift calendars stop lines, energy follows machine state and output.

History (default): generate as fast as possible, --records N spread over
--days D (default 1) ending at today's midnight UTC, or from --start.
Stream: --rate R records/s and/or --duration T, event time = wall clock.
The same --seed and options (including --start) give byte-identical records."""

SIMULATE_EPILOG = f"""\
bad-data kinds (--bad kind=ratio,...; --bad-ratio spreads evenly over all):
  {", ".join(KINDS)}
  alternate_unit, late_event and duplicate are valid records the pipeline must
  convert, accept late, or deduplicate; out_of_range and future_timestamp pass
  the schema but fail registry/clock checks; the rest break the contract.

examples:
  brain simulate --industry all --records 20000 --seed 7
  brain simulate --industry energy --days 7 --start 2026-11-01 --out /tmp/sim
  brain simulate --records 100000 --bad-ratio 0.05 --json
  brain simulate --rate 500 --duration 10m --bad late_event=0.01,duplicate=0.01"""


def duration_s(text: str) -> float:
    """'90', '90s', '10m', '2h', '1d' -> seconds."""
    m = _DURATION.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 90s, 10m, 2h or 1d")
    return float(m.group(1)) * _UNIT_S[m.group(2)]


def add_simulate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description, parser.epilog = SIMULATE_HELP, SIMULATE_EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    fleet = parser.add_argument_group(
        "fleet (default: as in conf/assets.yaml; larger counts clone it)",
        "Clones past the registry (rm-baotou-2, a fourth line, ...) are not registered assets:\n"
        "the pipeline quarantines their records as unknown_asset:<level> (docs/quarantine.md).\n"
        "Register them in conf/assets.yaml first to load-test the happy path.")
    fleet.add_argument("--industry", default="all",
                       help="all, or one or more of raw_materials, equipment_manufacturing, consumer_goods, "
                            "energy (comma-separated)")
    fleet.add_argument("--sites", type=int, help="sites per industry")
    fleet.add_argument("--lines", type=int, help="lines per site")
    fleet.add_argument("--devices", type=int, help="devices per line")
    amount = parser.add_argument_group("how much and when")
    amount.add_argument("--records", type=int, help="stop after exactly N records (history default: 10000)")
    amount.add_argument("--days", type=float, help="history: spread event times over this many days")
    amount.add_argument("--start", help="first event time, ISO date or date-time (UTC unless an offset is "
                                        "given), or 'now'")
    amount.add_argument("--rate", type=float, help="stream: records per second, paced to the wall clock")
    amount.add_argument("--duration", type=duration_s, help="stream: stop after this long (90s, 10m, 2h)")
    amount.add_argument("--seed", type=int, help="random seed (default: random, printed in the summary)")
    bad = parser.add_argument_group("bad data")
    bad.add_argument("--bad-ratio", type=float, default=0.0, help="share of records made bad, spread evenly "
                                                                   "over all kinds (e.g. 0.05)")
    bad.add_argument("--bad", metavar="KIND=RATIO,...", help="per-kind ratios, e.g. malformed_json=0.01,"
                                                              "duplicate=0.02 (overrides --bad-ratio per kind)")
    out = parser.add_argument_group("output")
    out.add_argument("--out", metavar="DIR", help="write <topic>.jsonl files into DIR instead of Kafka")
    out.add_argument("--dry-run", action="store_true", help="generate and count, send nothing")
    out.add_argument("--no-create-topics", dest="create_topics", action="store_false",
                     help="do not create missing topics first")
    out.add_argument("--json", action="store_true", help="print the summary as JSON")
    out.add_argument("--quiet", action="store_true", help="no progress line on stderr")


def run_simulate(args: argparse.Namespace, cfg: Config) -> int:
    from brain.simulator import BadRatioError, OptionsError, run_simulation

    options = {k: getattr(args, k) for k in ("industry", "sites", "lines", "devices", "records", "days",
                                             "start", "rate", "duration", "seed", "bad_ratio", "bad", "out",
                                             "dry_run", "create_topics")}
    try:
        summary = run_simulation(cfg, progress=not args.quiet, **options)
    except (OptionsError, BadRatioError) as exc:
        print(f"brain simulate: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary.to_dict(), indent=2) if args.json else summary.table())
    return 130 if summary.interrupted else 0


def add_produce_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Send a file of records to a Kafka topic with the simulator's producer settings "
                          "(acks=all, idempotent). JSON Lines lines are sent as they are; CSV rows become "
                          "JSON objects typed by the record's contract (header = field names; arrays as "
                          "a;b or JSON). Records are keyed by site/line/device.")
    parser.epilog = ("examples:\n  brain produce meters.jsonl --topic energy.energy_meter\n"
                     "  brain produce shift.csv --topic consumer_goods.production --check")
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("file", help="a .jsonl/.json (one record per line) or .csv file")
    parser.add_argument("--topic", required=True, help="target topic, e.g. energy.energy_meter")
    parser.add_argument("--format", choices=("jsonl", "csv"), help="override the format guessed from the "
                                                                    "file extension")
    parser.add_argument("--check", action="store_true", help="also count records that break their contract "
                                                             "(they are sent anyway)")
    parser.add_argument("--json", action="store_true", help="print counts as JSON")


def run_produce(args: argparse.Namespace, cfg: Config) -> int:
    from brain.simulator import ProduceError, produce_file

    try:
        counts = produce_file(cfg, args.file, args.topic, file_format=args.format, check=args.check)
    except ProduceError as exc:
        print(f"brain produce: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(counts, indent=2))
    else:
        extra = f", {counts['invalid']:,} break their contract" if "invalid" in counts else ""
        print(f"sent {counts['sent']:,} records from {counts['file']} to {counts['topic']} "
              f"({counts['not_json']:,} not JSON{extra})")
    return 0


def add_topics_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Topics are named <industry>.<record_type> (with kafka.topic_prefix in front, if "
                          "set) for every record type configured under industries: in conf/defaults.yaml.")
    sub = parser.add_subparsers(dest="topics_command", metavar="{create,list}")
    create = sub.add_parser("create", help="create the missing topics with kafka.topic_partitions partitions",
                            description="Create every configured topic that does not exist yet.")
    create.add_argument("--industry", default="all", help="all, or comma-separated industries")
    create.add_argument("--partitions", type=int, help="partitions per new topic (default kafka.topic_partitions)")
    lst = sub.add_parser("list", help="show topics with partitions and end offsets (records written)",
                         description="Show the configured topics (or --all broker topics) with their partition "
                                     "count and end offsets. Default subcommand.")
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    lst.add_argument("--all", action="store_true", help="every topic on the broker, not just configured ones")


def run_topics(args: argparse.Namespace, cfg: Config) -> int:
    from brain.contracts import topic_names
    from brain.ingest import kafka_io
    from brain.simulator.run import OptionsError, selected_industries

    if getattr(args, "topics_command", None) == "create":
        try:
            industries = selected_industries(cfg, args.industry)
        except OptionsError as exc:
            print(f"brain topics: {exc}", file=sys.stderr)
            return 2
        wanted = topic_names.all_topics(cfg, industries)
        created = kafka_io.create_topics(cfg, wanted, partitions=args.partitions)
        for t in wanted:
            print(f"{'created' if t in created else 'exists '}  {t}")
        return 0
    as_json, every = getattr(args, "json", False), getattr(args, "all", False)
    infos = kafka_io.describe_topics(cfg, None if every else topic_names.all_topics(cfg))
    rows = [{"topic": i.topic, "partitions": i.partitions, "exists": i.partitions > 0,
             "end_offsets": {str(p): o for p, o in i.end_offsets.items()}, "records": i.total} for i in infos]
    if as_json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max([len(r["topic"]) for r in rows] + [5])
    print(f"{'topic':<{width}}  {'partitions':>10}  {'end offsets (sum)':>17}")
    for r in rows:
        count = f"{r['records']:,}" if r["exists"] else "missing"
        print(f"{r['topic']:<{width}}  {r['partitions']:>10}  {count:>17}")
    return 0
