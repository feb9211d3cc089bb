"""Replacing whole days of a derived Delta table (gold tables, the scorecard, the enterprise brain).

A day of a derived table is recomputed from its sources and written over what
the table held for it (``replaceWhere``), so running a publish twice gives the
same table. The rows written are counted while the write runs (an
``Observation``), not by materialising them first and counting after: on a
small cycle those were two more Spark jobs per table, each a fixed cost.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING

from brain.lake.classified import stamp_created
from brain.lake.tables import is_delta

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

log = logging.getLogger(__name__)

MERGE_SCHEMA = ("always", "overwrite", "never")


def replace_where(days: Iterable[date], scope: dict[str, str] | None = None) -> str:
    """The predicate naming exactly ``days`` (and ``scope``'s column values) (pure)."""
    scope = scope or {}
    if any("'" in str(v) or "\\" in str(v) for v in scope.values()):
        raise ValueError(f"scope values must not contain quotes or backslashes: {scope}")
    in_list = ", ".join(f"DATE'{d.isoformat()}'" for d in sorted(set(days)))
    return f"event_date IN ({in_list})" + "".join(f" AND {k} = '{v}'" for k, v in scope.items())


def replace_days(df: "DataFrame", path, days: Iterable[date], partition_by: list[str],
                 scope: dict[str, str] | None = None, merge_schema: str = "never",
                 grades_as: str | None = None) -> int:
    """Write ``df`` over ``days`` (and ``scope``) of the table at ``path``; returns the rows written.

    A table that does not exist yet is created by an append. ``merge_schema``: ``always``, ``overwrite``
    (only when the table exists: a column added in a new release lands in it) or ``never``.
    ``grades_as``: stamp a table this call creates with the grades of that table name
    (brain.lake.classified); None leaves a new table unstamped.
    """
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    if merge_schema not in MERGE_SCHEMA:
        raise ValueError(f"merge_schema must be one of {', '.join(MERGE_SCHEMA)}, not {merge_schema!r}")
    where = replace_where(days, scope)  # refuses a bad scope before anything is written
    seen = Observation(f"rows_written_{uuid.uuid4().hex}")
    counted = df.observe(seen, F.count(F.lit(1)).alias("rows"))
    writer = counted.write.format("delta").partitionBy(*partition_by)
    created = not is_delta(path)
    if merge_schema == "always" or (merge_schema == "overwrite" and not created):
        writer = writer.option("mergeSchema", "true")
    if created:
        writer = writer.mode("append")
    else:
        writer = writer.mode("overwrite").option("replaceWhere", where)
    writer.save(str(path))
    if created and grades_as is not None:
        stamp_created(df.sparkSession, path, df.columns, grades_as)
    got = seen.get
    if "rows" not in got:
        # Over Spark Connect the metrics come back with the write's response; should a server not
        # send them, count again rather than report 0 rows for a table that has some.
        log.warning("the row count of the write to %s did not come back with it; counting again", path)
        return df.count()
    return int(got["rows"])
