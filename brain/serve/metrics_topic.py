"""Publishing the headline KPIs to Kafka: one JSON message per site and day on ``brain.metrics``.

Other systems (MES screens, an energy-management system, a data warehouse)
subscribe instead of reading the lake. The payload is built only from the
gold.enterprise_brain row, so announcing the same day again sends the same
bytes; consumers key by (site, event_date) and keep the newest
``computed_at``. The schema is conf/contracts/metrics.schema.json.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import sys
from typing import Callable, Iterable

from brain.config import Config

SOURCE = "gold.enterprise_brain"
SCHEMA_VERSION = "1.0"
SCHEMA_ID = "https://schemas.enterprise-brain.example/contracts/metrics/1.0"
DEFAULT_TOPIC = "brain.metrics"
KPIS = ("oee", "availability", "performance", "quality_ratio", "energy_kwh", "energy_tce", "co2_t",
        "peak_demand_kw", "dq_score")
COUNTS = ("produced_count", "good_count", "pdm_alerts", "safety_exceedances", "records_bad", "records_uncertain")


def topic(cfg: Config) -> str:
    """``brain.metrics`` behind the deployment's ``kafka.topic_prefix``, as for every other topic."""
    return str(cfg.get("kafka.topic_prefix", "") or "") + str(cfg.get("analyst.metrics_topic", DEFAULT_TOPIC))


def _iso(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        return aware.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _number(value, kind: type):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return kind(value)


def message(row: dict) -> dict:
    """The payload for one gold.enterprise_brain row (pure; columns the row lacks become null)."""
    day, computed = _iso(row.get("event_date")), _iso(row.get("computed_at"))
    ident = f"{row.get('enterprise')}|{row.get('site')}|{day}|{computed}"
    return {
        "schema_version": SCHEMA_VERSION,
        "source": SOURCE,
        "granularity": "day",
        "message_id": hashlib.sha256(ident.encode()).hexdigest()[:32],
        "enterprise": row.get("enterprise"),
        "site": row.get("site"),
        "event_date": day,
        "computed_at": computed,
        "run_id": row.get("run_id") or row.get("_run_id"),
        "kpis": {k: _number(row.get(k), float) for k in KPIS},
        "counts": {k: _number(row.get(k), int) for k in COUNTS},
    }


def encode(payload: dict) -> bytes:
    """Deterministic bytes: sorted keys, no spaces (the same row always gives the same message)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _rows(cfg: Config, days: Iterable | None) -> list[dict]:
    from brain.serve import query

    if days is None:
        recent = int(cfg.get("analyst.announce_recent_days", 2))
        _, latest, _ = query.run(cfg, f"SELECT max(event_date) FROM {SOURCE}")
        if not latest or latest[0][0] is None:
            return []
        days = [latest[0][0] - dt.timedelta(days=i) for i in range(recent)]
    wanted = sorted({d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d)[:10]) for d in days})
    if not wanted:
        return []
    literals = ", ".join(f"DATE '{d.isoformat()}'" for d in wanted)
    cols, rows, _ = query.run(cfg, f"SELECT * FROM {SOURCE} WHERE event_date IN ({literals}) "
                                   "ORDER BY event_date, enterprise, site")
    return [dict(zip(cols, r)) for r in rows]


def announce(cfg: Config, days: Iterable | None = None, log: Callable[[str], None] | None = None) -> int:
    """Send one message per site and day of gold.enterprise_brain to ``brain.metrics``; returns how many.

    ``days``: dates (or ISO strings) to announce; None = the latest ``analyst.announce_recent_days``
    days in the table. No table yet -> nothing sent, 0.
    """
    from brain.ingest import kafka_io
    from brain.lake.tables import is_delta, table_path

    say = log or (lambda m: None)
    if not is_delta(table_path(cfg, SOURCE)):
        say(f"no {SOURCE} yet: nothing to announce")
        return 0
    rows = _rows(cfg, days)
    if not rows:
        say(f"{SOURCE} has no rows for the requested days: nothing to announce")
        return 0
    name = topic(cfg)
    kafka_io.create_topics(cfg, [name])
    sent = kafka_io.produce(cfg, [(name, str(r.get("site")).encode(), encode(message(r))) for r in rows])
    count = sent.get(name, 0)
    say(f"announced {count} site-day message(s) on {name}")
    return count


def add_arguments(p) -> None:
    p.add_argument("--day", action="append", metavar="YYYY-MM-DD",
                   help="a day to announce (repeatable); default: the latest analyst.announce_recent_days days")


def run_cli(args, cfg: Config) -> int:
    count = announce(cfg, args.day, log=lambda m: print(m, file=sys.stderr))
    print(json.dumps({"topic": topic(cfg), "messages": count}))
    return 0
