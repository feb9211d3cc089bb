"""Small DataFrames from Python rows, planned as literals in the JVM.

``SparkSession.createDataFrame(list)`` in classic PySpark parallelises
pickled rows: the job that reads them needs a Python worker, and the first
one in a process forks Python's worker daemon (seconds in every Airflow
task), then every write of a few ledger rows pays a worker round trip.
Literals become a ``LocalRelation`` the driver plans and writes alone.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType


def local_frame(spark: "SparkSession", rows: list[tuple[Any, ...]], ddl: str) -> "DataFrame":
    """``rows`` (tuples in the schema's column order) as a DataFrame of schema ``ddl``; same rows
    and types as ``spark.createDataFrame(rows, ddl)``."""
    from pyspark.sql import functions as F

    if not hasattr(spark, "_jvm"):  # Spark Connect sends local rows as one Arrow relation already
        return spark.createDataFrame(rows, ddl)
    schema = _schema(spark, ddl)
    if not rows:
        return spark.createDataFrame([], schema)  # no rows, no job: no worker either
    width = len(schema.fields)
    for row in rows:
        if len(row) != width:
            raise ValueError(f"row {row!r} has {len(row)} values; the schema {ddl!r} has {width} columns")
    structs = [F.struct(*[F.lit(v).cast(f.dataType).alias(f.name) for v, f in zip(row, schema.fields)])
               for row in rows]
    # Literals are non-null, and a table created from a non-null column would refuse nulls later: an
    # all-null element makes every field nullable, and the slice leaves it out.
    nulls = F.struct(*[F.lit(None).cast(f.dataType).alias(f.name) for f in schema.fields])
    return spark.range(1).select(F.inline(F.slice(F.array(*structs, nulls), 1, len(structs))))


def _schema(spark: "SparkSession", ddl: str) -> "StructType":
    return _parsed(spark._jvm.org.apache.spark.sql.types.StructType.fromDDL(ddl).json())


@lru_cache(maxsize=64)
def _parsed(schema_json: str) -> "StructType":
    from pyspark.sql.types import _parse_datatype_json_string

    return _parse_datatype_json_string(schema_json)
