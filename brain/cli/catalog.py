"""`brain catalog [TABLE] [--json] [--stamp]`: every lake column's GB/T 43697 grade (brain.serve.catalog).

No Spark import at module level (only ``--stamp`` starts Spark): building the parser must stay fast.
"""

from __future__ import annotations

import argparse
import json
import sys

from brain.config import Config

DESCRIPTION = """\
The lake's classification and grading (GB/T 43697-2024): every column of every Delta table
with its level (general / important / core), domain, unit and whether it is personal
information, as declared once in conf/contracts/classification.yaml. "stored" says whether the
table's own property brain.classification says the same (it is written when a table is created
or gains columns; --stamp writes it into every table that differs). Exits 1 if a column has no
level. See docs/analyst-guide.md, Classification and grading."""

EXAMPLES = [
    "brain catalog                              one line per table: its highest level, personal columns",
    "brain catalog silver.consumer_goods_production   every column of one table",
    "brain catalog --json | jq '.tables[] | select(.personal != [])'   tables with personal data",
    "brain catalog --stamp                      write the declared grades into every table that differs",
]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = DESCRIPTION
    p.add_argument("table", nargs="?", help="<layer>.<table>; without it every table of the lake")
    p.add_argument("--json", action="store_true", help="machine-readable: every table with every column")
    p.add_argument("--stamp", action="store_true",
                   help="first write the declared grades into each table whose property differs (starts Spark)")
    p.epilog = "examples:\n" + "\n".join("  " + e for e in EXAMPLES)
    p.formatter_class = argparse.RawDescriptionHelpFormatter


def run_cli(args, cfg: Config) -> int:
    from brain.cli.render import table
    from brain.contracts.classification import ClassificationError
    from brain.lake.tables import UnknownTable
    from brain.serve.catalog import CatalogError, catalog, stamp_all

    try:
        if args.stamp:
            stamp_all(cfg, log=(lambda m: None) if args.json else print)
        entries = catalog(cfg, args.table)
    except (CatalogError, ClassificationError, UnknownTable) as exc:
        print(f"brain catalog: {exc}", file=sys.stderr)
        return 2
    ungraded = [f"{e.table}.{c}" for e in entries for c in e.ungraded]
    if args.json:
        print(json.dumps({"tables": [e.as_dict() for e in entries], "ungraded": ungraded}, indent=2))
    elif args.table:
        print(table(entries[0].columns, ["name", "type", "level", "domain", "unit", "personal", "stored_level"]))
    else:
        print(table([{"table": e.table, "level": e.level, "columns": len(e.columns),
                      "personal": ", ".join(e.personal), "stored": "yes" if e.stored else "no"} for e in entries],
                    ["table", "level", "columns", "personal", "stored"]))
    if ungraded:
        print(f"brain catalog: {len(ungraded)} column(s) have no level: {', '.join(ungraded)}; declare them in "
              f"conf/contracts/classification.yaml", file=sys.stderr)
        return 1
    return 0
