"""Delta MERGE and table details through SQL: the same code on an in-process and a Spark Connect session.

delta-spark's Python ``DeltaTable`` API drives the JVM through py4j; over
Spark Connect it needs Delta's Connect plugin on the server (another jar and
two server settings). ``MERGE INTO delta.`<path>``` with the source as a
temporary view needs only Delta's SQL extension, which every session of ours
has (brain.spark.session_conf), so one code path serves both.

The view lives in the source frame's own session: inside a classic
``foreachBatch`` that is the stream's cloned session, not the one that
started the query, and a view registered in one is invisible to the other.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType


def table_ref(path) -> str:
    """``delta.`<path>``` for SQL, a backtick in the path doubled (pure)."""
    return "delta.`" + str(path).replace("`", "``") + "`"


def sql_string(value: str) -> str:
    """A Spark SQL string literal (backslash escapes are on by default)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def merge_sql(path, view: str, on: str, clauses: list[str]) -> str:
    """The MERGE statement: target ``t``, source ``s`` (pure)."""
    if not clauses:
        raise ValueError("a MERGE needs at least one WHEN clause")
    return f"MERGE INTO {table_ref(path)} AS t USING `{view}` AS s ON {on} " + " ".join(clauses)


def merge(path, source: "DataFrame", on: str, clauses: list[str]) -> None:
    """``MERGE INTO`` the Delta table at ``path`` from ``source`` (aliased ``s``; the table is ``t``)."""
    session = source.sparkSession
    view = f"_brain_merge_{uuid.uuid4().hex}"
    source.createOrReplaceTempView(view)
    try:
        session.sql(merge_sql(path, view, on, clauses))  # a command: runs here, on both kinds of session
    finally:
        session.catalog.dropTempView(view)


def delete(spark: "SparkSession", path, where: str) -> None:
    """``DELETE FROM`` the Delta table at ``path`` the rows where the SQL condition ``where`` holds."""
    spark.sql(f"DELETE FROM {table_ref(path)} WHERE {where}")  # a command: runs here


def properties(spark: "SparkSession", path) -> dict[str, str]:
    """The table's properties (``DESCRIBE DETAIL``)."""
    row = spark.sql(f"DESCRIBE DETAIL {table_ref(path)}").first()
    return dict(row["properties"] or {}) if row is not None else {}


def schema(spark: "SparkSession", path) -> "StructType":
    """The table's current schema (a read plan only: no job)."""
    return spark.read.format("delta").load(str(path)).schema
