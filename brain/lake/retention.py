"""Retention per industry and layer: how long Kafka, bronze, silver and gold keep data.

Days per layer come from ``retention`` in conf/defaults.yaml; an industry's
``industries.<name>.retention`` overrides any of them. Bronze holds the raw
payloads (personal data before pseudonymisation, whatever a device sent), so it
is meant to be the shortest of the three lake layers.

A day is expired when it is older than the horizon: with ``bronze_days: 30``
a ``brain maintain`` run on 2026-12-31 deletes bronze rows ingested before
2026-12-01 (``cutoff``) and keeps 2026-12-01 .. 2026-12-31.

What each layer's date is: bronze, the ingest date (its partition column);
silver record tables and gold, ``event_date`` (their partition column);
``silver.quarantine``, the day Kafka received the record (they have no trusted
event time); ``quality.duplicates``, the day the copy was counted.

The coordinates of every row retention deletes from bronze, silver,
quarantine or duplicates go to ``quality.expired`` first (one row per run of
consecutive offsets: table, layer, industry, topic, partition, first_offset,
last_offset, rows, cutoff, expired_at), so `brain reconcile` can tell expired
data from lost data.
The functions here are pure (config in, numbers out); the deletes are in
brain.lake.maintenance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from brain.config import Config, ConfigError, reject_unknown

EXPIRED = "quality.expired"
LAYER_KEYS = ("kafka_days", "bronze_days", "silver_days", "gold_days")


@dataclass(frozen=True)
class Horizons:
    """Days each layer keeps for one industry."""
    industry: str
    kafka_days: int
    bronze_days: int
    silver_days: int
    gold_days: int

    def cutoff(self, layer: str, today: date) -> date:
        """The first day ``layer`` keeps: rows dated before it are expired."""
        return today - timedelta(days=getattr(self, f"{layer}_days"))


def horizons(cfg: Config, industry: str | None) -> Horizons:
    """The global ``retention`` days overridden by ``industries.<industry>.retention`` (None: the global ones)."""
    base = dict(cfg.get("retention", {}) or {})
    over = dict(cfg.get(f"industries.{industry}.retention", {}) or {}) if industry else {}
    reject_unknown(over, LAYER_KEYS, f"industries.{industry}.retention", hint=f"; set in {cfg.source_of('industries')}")
    days = {}
    for key in LAYER_KEYS:
        value = over.get(key, base.get(key))
        where = f"industries.{industry}.retention.{key}" if key in over else f"retention.{key}"
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where} = {value!r}: retention must be a whole number of days, at least 1 "
                              f"(set it in conf/defaults.yaml or an env overlay)")
        days[key] = value
    return Horizons(industry or "", **days)


def industry_of_topic(cfg: Config, topic: str) -> str | None:
    """The industry a topic belongs to (``<prefix><industry>.<record_type>...``), None for the others
    (the metrics topic, the bridge's dead letters, ad-hoc topics)."""
    prefix = str(cfg.get("kafka.topic_prefix", "") or "")
    if prefix and not topic.startswith(prefix):
        return None
    first = topic[len(prefix):].split(".", 1)[0]
    return first if first in cfg.industry_names() else None


def topic_retention_ms(cfg: Config, topic: str) -> int:
    """Kafka's ``retention.ms`` for ``topic``: its industry's ``kafka_days`` (the global one otherwise)."""
    return horizons(cfg, industry_of_topic(cfg, topic)).kafka_days * 86_400_000
