"""Publishing the headline KPIs to Kafka: one JSON message per site and day, and per site and hour,
on ``brain.metrics``.

Other systems (MES screens, an energy-management system, a data warehouse)
subscribe instead of reading the lake. A payload is built only from one
gold.enterprise_brain row (``granularity: day``, schema 1.0) or one
gold.enterprise_brain_hourly row (``granularity: hour`` with ``hour_start``,
schema 1.1), so announcing the same day again sends the same bytes; consumers
key by (site, granularity, event_date, hour_start) and keep the newest
``computed_at``. Day messages are exactly what they were before hours existed,
so a 1.0 consumer keeps working if it skips ``granularity: hour``. The schema
is conf/contracts/metrics.schema.json.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from typing import Callable, Iterable

from brain.config import Config

SOURCE = "gold.enterprise_brain"
SOURCE_HOURLY = "gold.enterprise_brain_hourly"
SCHEMA_VERSION = "1.0"          # day messages: unchanged since 1.0
SCHEMA_VERSION_HOURLY = "1.1"   # hour messages: granularity hour and hour_start came with 1.1
SCHEMA_ID = "https://schemas.enterprise-brain.example/contracts/metrics/1.1"
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
    """The payload for one gold.enterprise_brain row, or one gold.enterprise_brain_hourly row (it has
    ``hour_start``); pure, columns the row lacks become null."""
    day, computed = _iso(row.get("event_date")), _iso(row.get("computed_at"))
    hour = _iso(row.get("hour_start"))
    ident = f"{row.get('enterprise')}|{row.get('site')}|{hour or day}|{computed}"
    out = {
        "schema_version": SCHEMA_VERSION_HOURLY if hour else SCHEMA_VERSION,
        "source": SOURCE_HOURLY if hour else SOURCE,
        "granularity": "hour" if hour else "day",
        "message_id": hashlib.sha256(ident.encode()).hexdigest()[:32],
        "enterprise": row.get("enterprise"),
        "site": row.get("site"),
        "event_date": day,
        "computed_at": computed,
        "run_id": row.get("run_id") or row.get("_run_id"),
        "kpis": {k: _number(row.get(k), float) for k in KPIS},
        "counts": {k: _number(row.get(k), int) for k in COUNTS},
    }
    if hour:
        out["hour_start"] = hour
    return out


def encode(payload: dict) -> bytes:
    """Deterministic bytes: sorted keys, no spaces (the same row always gives the same message)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _days(cfg: Config, days: Iterable | None) -> list[dt.date]:
    from brain.serve import query

    if days is None:
        recent = int(cfg.get("analyst.announce_recent_days", 2))
        _, latest, _ = query.run(cfg, f"SELECT max(event_date) FROM {SOURCE}")
        if not latest or latest[0][0] is None:
            return []
        days = [latest[0][0] - dt.timedelta(days=i) for i in range(recent)]
    return sorted({d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d)[:10]) for d in days})


def _rows(cfg: Config, table: str, days: list[dt.date]) -> list[dict]:
    from brain.lake.tables import is_delta, table_path
    from brain.serve import query

    if not days or not is_delta(table_path(cfg, table)):
        return []
    literals = ", ".join(f"DATE '{d.isoformat()}'" for d in days)
    order = "event_date, hour_start, enterprise, site" if table == SOURCE_HOURLY else "event_date, enterprise, site"
    cols, rows, _ = query.run(cfg, f"SELECT * FROM {table} WHERE event_date IN ({literals}) ORDER BY {order}")
    return [dict(zip(cols, r)) for r in rows]


def announce(cfg: Config, days: Iterable | None = None, log: Callable[[str], None] | None = None) -> int:
    """Send one message per site and day of gold.enterprise_brain, then one per site and hour of
    gold.enterprise_brain_hourly of the same days, to ``brain.metrics``; returns how many in all.

    ``days``: dates (or ISO strings) to announce; None = the latest ``analyst.announce_recent_days``
    days in the table. No table yet -> nothing sent, 0.
    """
    from brain.ingest import kafka_io
    from brain.lake.tables import is_delta, table_path

    say = log or (lambda m: None)
    if not is_delta(table_path(cfg, SOURCE)):
        say(f"no {SOURCE} yet: nothing to announce")
        return 0
    wanted = _days(cfg, days)
    rows = _rows(cfg, SOURCE, wanted)
    if not rows:
        say(f"{SOURCE} has no rows for the requested days: nothing to announce")
        return 0
    hours = _rows(cfg, SOURCE_HOURLY, wanted)
    name = topic(cfg)
    kafka_io.create_topics(cfg, [name])
    # Keyed by site as the day messages: one partition per site keeps a site's messages in order.
    sent = kafka_io.produce(cfg, [(name, str(r.get("site")).encode(), encode(message(r))) for r in rows + hours])
    count = sent.get(name, 0)
    say(f"announced {count} message(s) on {name}: {len(rows)} site-day, {len(hours)} site-hour")
    return count


def add_arguments(p) -> None:
    p.add_argument("--day", action="append", metavar="YYYY-MM-DD",
                   help="a day to announce (repeatable); default: the latest analyst.announce_recent_days days")

