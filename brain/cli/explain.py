"""`brain explain gold.<table> --where "..."`: a KPI row back to its records (brain.serve.explain).

This layer finds which industry and record types feed the table (brain/industries ``GOLD``)
and hands them to brain.serve.explain, which sits below industries and cannot look them up.
"""

from __future__ import annotations

import json
import sys

from brain.config import Config

EXAMPLES = [
    "brain explain gold.equipment_manufacturing_oee_daily_line --where \"line='line-01' AND event_date='2026-11-20'\"",
    "brain explain gold.energy_carbon_daily_site --where \"site='site-01' AND event_date='2026-11-20'\" --json",
]


def gold_source(cfg: Config, table: str):
    """The industries and source record types of ``table`` from the industries' GOLD declarations."""
    from brain import industries
    from brain.serve.explain import ExplainError, GoldSource

    known: set[str] = set()
    found = []
    for name in cfg.industry_names():
        gold = industries.load(cfg, name).GOLD
        known |= set(gold)
        if table in gold:  # a shared table (gold.pdm_alerts) is declared by several industries
            spec = gold[table]
            sources = (spec[0],) if isinstance(spec[0], str) else tuple(spec[0])
            fn = spec[1]
            found.append(GoldSource(table, name, sources, getattr(fn, "__qualname__", str(fn)), fn.__doc__ or ""))
    if not found:
        raise ExplainError(f"{table} is not a gold table any industry declares; known: {', '.join(sorted(known))}")
    return found


def add_arguments(p) -> None:
    import argparse

    p.add_argument("table", help="a gold table, e.g. gold.consumer_goods_oee_daily_line")
    p.add_argument("--where", required=True,
                   help="the row's keys as col = 'value' terms joined by AND, e.g. \"line='L3' AND "
                        "event_date='2026-11-20'\"")
    p.add_argument("--json", action="store_true", help="machine-readable result")
    p.epilog = "examples:\n" + "\n".join("  " + e for e in EXAMPLES)
    p.formatter_class = argparse.RawDescriptionHelpFormatter


def run_cli(args, cfg: Config) -> int:
    from brain.serve.explain import ExplainError, explain
    from brain.serve.explain_text import WhereError, parse_where, render

    try:
        result = explain(cfg, gold_source(cfg, args.table), parse_where(args.where))
    except (ExplainError, WhereError) as exc:
        print(f"brain explain: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, default=str, indent=1) if args.json else render(result))
    return 0
