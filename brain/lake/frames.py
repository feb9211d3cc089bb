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
    and types as ``spark.createDataFrame(rows, ddl)``.

    Planned from one SQL expression: a ``lit`` per value costs several round trips to the JVM
    each, and the validation results of a cycle are a few thousand values."""
    if not hasattr(spark, "_jvm"):  # Spark Connect sends local rows as one Arrow relation already
        return spark.createDataFrame(rows, ddl)
    schema = _schema(spark, ddl)
    if not rows:
        return spark.createDataFrame([], schema)  # no rows, no job: no worker either
    width = len(schema.fields)
    for row in rows:
        if len(row) != width:
            raise ValueError(f"row {row!r} has {len(row)} values; the schema {ddl!r} has {width} columns")
    structs = [_struct(row, schema) for row in rows]
    # Literals are non-null, and a table created from a non-null column would refuse nulls later: an
    # all-null element makes every field nullable, and the slice leaves it out.
    structs.append(_struct((None,) * width, schema))
    return spark.range(1).selectExpr(f"inline(slice(array({', '.join(structs)}), 1, {len(rows)}))")


def _struct(row: tuple, schema: "StructType") -> str:
    from brain.lake.delta_sql import sql_string

    return "named_struct(" + ", ".join(f"{sql_string(f.name)}, {sql_literal(v, f.dataType)}"
                                       for v, f in zip(row, schema.fields)) + ")"


def sql_literal(value: Any, data_type) -> str:
    """``value`` as a Spark SQL expression of exactly ``data_type`` (pure), the way PySpark would
    convert it: a naive datetime is local time, an aware one its instant."""
    import math
    from datetime import timezone

    from pyspark.sql import types as T

    from brain.lake.delta_sql import sql_string

    type_sql = data_type.simpleString()
    if value is None:
        return f"CAST(NULL AS {type_sql})"
    if isinstance(data_type, T.StringType):
        return sql_string(str(value))
    if isinstance(data_type, T.BooleanType):
        return "true" if value else "false"
    if isinstance(data_type, (T.ByteType, T.ShortType, T.IntegerType, T.LongType)):
        return f"CAST({int(value)} AS {type_sql})"
    if isinstance(data_type, (T.DoubleType, T.FloatType)):
        v = float(value)
        text = "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity") if math.isinf(v) else repr(v)
        return f"CAST('{text}' AS {type_sql})"
    if isinstance(data_type, T.DecimalType):
        return f"CAST('{value}' AS {type_sql})"
    if isinstance(data_type, T.DateType):
        return f"DATE'{value.isoformat()}'"
    if isinstance(data_type, T.TimestampType):
        instant = (value if value.tzinfo else value.astimezone()).astimezone(timezone.utc)
        return f"TIMESTAMP'{instant.replace(tzinfo=None).isoformat(sep=' ')}+00:00'"
    if isinstance(data_type, T.TimestampNTZType):
        return f"TIMESTAMP_NTZ'{value.isoformat(sep=' ')}'"
    if isinstance(data_type, T.BinaryType):
        return f"X'{bytes(value).hex()}'"
    if isinstance(data_type, T.ArrayType):
        items = ", ".join(sql_literal(v, data_type.elementType) for v in value)
        return f"CAST(array({items}) AS {type_sql})"
    if isinstance(data_type, T.MapType):
        pairs = ", ".join(f"{sql_literal(k, data_type.keyType)}, {sql_literal(v, data_type.valueType)}"
                          for k, v in value.items())
        return f"CAST(map({pairs}) AS {type_sql})"
    if isinstance(data_type, T.StructType):
        return _struct(tuple(value), data_type)
    raise TypeError(f"no SQL literal for a {type_sql} value ({value!r})")


def _schema(spark: "SparkSession", ddl: str) -> "StructType":
    return _parsed(spark._jvm.org.apache.spark.sql.types.StructType.fromDDL(ddl).json())


@lru_cache(maxsize=64)
def _parsed(schema_json: str) -> "StructType":
    from pyspark.sql.types import _parse_datatype_json_string

    return _parse_datatype_json_string(schema_json)
