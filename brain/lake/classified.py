"""Writing each table's classification (brain.contracts.classification) into the Delta table itself.

The grades live in the table property ``brain.classification`` (compact JSON,
column -> [level, domain, unit, personal]), set in the same ALTER that gives a
new table its other properties, again when a table gains columns, and by
``brain catalog --stamp`` for tables written elsewhere (``stamp_grades``; a table the
caller has just created gets them from the columns it wrote: ``stamp_created``). A table property, not
column metadata: Delta changes column metadata only by rewriting the schema,
while a property is one small commit that appends never conflict with
logically (they are retried like any other commit race).
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from brain.contracts.classification import PROPERTY, property_value

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def name_of(path) -> str:
    """``<layer>.<table>`` from a table's path (``.../<layer>/<table>``, local or a URI)."""
    parts = PurePosixPath(str(path).rstrip("/")).parts
    return f"{parts[-2]}.{parts[-1]}"


def stamp_created(spark: "SparkSession", path, columns: list[str], name: str | None = None,
                  also: dict[str, str] | None = None) -> None:
    """The grades of a table the caller has just created, from the columns it wrote, with ``also``'s
    properties in the same commit.

    ``stamp_grades`` would read the columns and properties back: each read rebuilds the snapshot of a
    table one commit old, a Spark job or two per new table (most of a cold cycle's extra jobs).
    """
    _set_properties(spark, path, {**(also or {}), PROPERTY: property_value(name or name_of(path), list(columns))})


def _set_properties(spark: "SparkSession", path, props: dict[str, str]) -> None:
    """One ALTER for ``props`` (single quotes dropped from values), retried when a writer wins the commit."""
    from brain.lake.writers import retry_conflicts

    listed = ", ".join(f"'{k}' = '{str(v).replace(chr(39), '')}'" for k, v in props.items())
    retry_conflicts(lambda: spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ({listed})"))


def stamp_grades(spark: "SparkSession", path, name: str | None = None) -> bool:
    """Set the table's ``brain.classification`` to its columns' grades; False when it already says that."""
    from brain.lake import delta_sql

    value = property_value(name or name_of(path), delta_sql.schema(spark, path).fieldNames())
    if delta_sql.properties(spark, path).get(PROPERTY) == value:
        return False
    _set_properties(spark, path, {PROPERTY: value})
    return True
