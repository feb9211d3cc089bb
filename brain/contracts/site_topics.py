"""The site topic family: where one factory's records go when Kafka security is on.

``<kafka.topic_prefix><industry>.site.<SITE>.<record_type>`` (e.g.
``energy.site.en-hamburg.energy_meter``). A site's principal gets one PREFIXED
write ACL on ``<industry>.site.<SITE>.``: it can write its own site's topics of its
own industry and nothing else, and the topic name says which site sent a record.
The industry's topics, shared ones (``<industry>.<record_type>``) and site ones
alike, all start with ``<industry>.``: the pipeline's read ACL is one PREFIXED
rule per industry, and one subscription pattern (``industry_pattern``) covers them: the
industry's pass reads them all with it (brain.clean.industry_pass), and a record on a site
topic must name that site (``site_family_regex``; brain.clean.fate's ``site_mismatch``).
"""

from __future__ import annotations

import re

from brain.config import Config

# Site ids become topic-name segments: no dots (they would blur the prefix), Kafka's topic alphabet.
SITE_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


def _prefix(cfg: Config) -> str:
    return str(cfg.get("kafka.topic_prefix", "") or "")


def check_site_id(site: str) -> str:
    if not SITE_ID.match(site):
        raise ValueError(f"site id {site!r} cannot name a topic family: use letters, digits, '-' and '_' only")
    return site


def industry_prefix(cfg: Config, industry: str) -> str:
    """What every topic of the industry starts with (the pipeline's read ACL)."""
    return f"{_prefix(cfg)}{industry}."


def site_prefix(cfg: Config, industry: str, site: str) -> str:
    """What every topic of one site starts with (the site's write ACL); the trailing dot keeps
    site ``a`` from matching site ``ab``'s topics."""
    return f"{industry_prefix(cfg, industry)}site.{check_site_id(site)}."


def site_topic(cfg: Config, industry: str, site: str, record_type: str) -> str:
    return site_prefix(cfg, industry, site) + record_type


def site_topics(cfg: Config, industry: str, site: str) -> list[str]:
    return [site_topic(cfg, industry, site, rt)
            for rt in cfg.get(f"industries.{industry}", type_=dict).get("record_types", [])]


def industry_pattern(cfg: Config, industry: str) -> str:
    """A Java regex (Spark's subscribePattern) for all of the industry's topics, shared and per site."""
    rts = "|".join(re.escape(rt) for rt in cfg.get(f"industries.{industry}", type_=dict).get("record_types", []))
    return f"{re.escape(industry_prefix(cfg, industry))}(site\\.[A-Za-z0-9_-]+\\.)?({rts})"


def site_family_regex(topic_prefix: str, industry: str) -> str:
    """A Java (and Python) regex whose group 1 is the site of one of the industry's site topics;
    no match for a shared topic or another industry's. Takes the prefix itself, not a Config: the
    pipeline's record checks (brain.clean.fate) build it from their limits."""
    return f"^{re.escape(f'{topic_prefix}{industry}.site.')}([A-Za-z0-9_-]+)\\.[^.]+$"


def record_type_of(cfg: Config, industry: str, topic: str) -> str | None:
    """The record type a topic of the industry carries (None: not one of its topics)."""
    m = re.fullmatch(industry_pattern(cfg, industry), topic)
    return m.group(2) if m else None


def site_of(cfg: Config, industry: str, topic: str) -> str | None:
    """The site a site-family topic belongs to (None for a shared topic or another industry's)."""
    m = re.fullmatch(industry_pattern(cfg, industry), topic)
    return m.group(1)[len("site."):-1] if m and m.group(1) else None

