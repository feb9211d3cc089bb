"""Topic names: ``<industry>.<record_type>`` (e.g. ``energy.energy_meter``) behind ``kafka.topic_prefix``.

Part of the contract a factory sends to, so it lives here, below every stage.
"""

from __future__ import annotations

from typing import Iterable

from brain.config import Config


def topic_name(industry: str, record_type: str) -> str:
    return f"{industry}.{record_type}"


def topic_for(cfg: Config, industry: str, record_type: str) -> str:
    """The topic in this deployment: ``kafka.topic_prefix`` (default empty) + name.

    A prefix lets several environments, or test runs, share one cluster.
    """
    return str(cfg.get("kafka.topic_prefix", "") or "") + topic_name(industry, record_type)


def industry_topics(cfg: Config, industry: str) -> list[str]:
    spec = cfg.get(f"industries.{industry}", type_=dict)
    return [topic_for(cfg, industry, rt) for rt in spec.get("record_types", [])]


def all_topics(cfg: Config, industries: Iterable[str] | None = None) -> list[str]:
    names = list(industries) if industries else cfg.industry_names()
    return [t for ind in names for t in industry_topics(cfg, ind)]
