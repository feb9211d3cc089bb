"""Which columns Delta keeps file statistics for (``delta.dataSkippingStatsColumns``).

By default Delta computes min/max/null counts for a table's first 32 columns on
every write: the raw payload, every measurement and every lineage column, most
of which no query filters on. Each layer lists in config (``lake.stats_columns``)
the columns that queries, dedupe, reconcile and trace do filter on; a table gets
those of them it has when it is created, and its writes collect nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable

from brain.config import Config

PROPERTY = "delta.dataSkippingStatsColumns"


def stats_property(cfg: Config, layer: str, columns: Iterable[str]) -> dict[str, str]:
    """``{PROPERTY: "a,b"}`` for the layer's configured columns the table has (in the configured
    order); empty when the layer lists none, so Delta's default applies."""
    wanted = cfg.get(f"lake.stats_columns.{layer}", None) or []
    have = set(columns)
    chosen = [c for c in wanted if c in have]
    return {PROPERTY: ",".join(chosen)} if chosen else {}
