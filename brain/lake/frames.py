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

from brain.lake.delta_sql import sql_string

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
    return "named_struct(" + ", ".join(f"{sql_string(f.name)}, {sql_literal(v, f.dataType)}"
                                       for v, f in zip(row, schema.fields)) + ")"


def sql_literal(value: Any, data_type) -> str:
    """``value`` as a Spark SQL expression of exactly ``data_type`` (pure), the way PySpark would
    convert it: a naive datetime is local time, an aware one its instant."""
    if value is None:
        return f"CAST(NULL AS {data_type.simpleString()})"
    for kinds, render in _renderers():
        if isinstance(data_type, kinds):
            return render(value, data_type)
    raise TypeError(f"no SQL literal for a {data_type.simpleString()} value ({value!r})")


@lru_cache(maxsize=1)
def _renderers() -> tuple:
    """(data type classes, value -> SQL text) in the order they are tried."""
    from pyspark.sql import types as T

    def cast(text: str, t) -> str:
        return f"CAST({text} AS {t.simpleString()})"

    return (
        (T.StringType, lambda v, t: sql_string(str(v))),
        (T.BooleanType, lambda v, t: "true" if v else "false"),
        ((T.ByteType, T.ShortType, T.IntegerType, T.LongType), lambda v, t: cast(str(int(v)), t)),
        ((T.DoubleType, T.FloatType), lambda v, t: cast(f"'{_float_text(float(v))}'", t)),
        (T.DecimalType, lambda v, t: cast(f"'{v}'", t)),
        (T.DateType, lambda v, t: f"DATE'{v.isoformat()}'"),
        (T.TimestampType, lambda v, t: f"TIMESTAMP'{_utc_text(v)}+00:00'"),
        (T.TimestampNTZType, lambda v, t: f"TIMESTAMP_NTZ'{v.isoformat(sep=' ')}'"),
        (T.BinaryType, lambda v, t: f"X'{bytes(v).hex()}'"),
        (T.ArrayType, lambda v, t: cast(f"array({', '.join(sql_literal(x, t.elementType) for x in v)})", t)),
        (T.MapType, lambda v, t: cast("map(" + ", ".join(
            f"{sql_literal(k, t.keyType)}, {sql_literal(x, t.valueType)}" for k, x in v.items()) + ")", t)),
        (T.StructType, lambda v, t: _struct(tuple(v), t)),
    )


def _float_text(v: float) -> str:
    import math

    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return repr(v)


def _utc_text(value) -> str:
    from datetime import timezone

    instant = (value if value.tzinfo else value.astimezone()).astimezone(timezone.utc)
    return instant.replace(tzinfo=None).isoformat(sep=" ")


def _schema(spark: "SparkSession", ddl: str) -> "StructType":
    return _parsed(spark._jvm.org.apache.spark.sql.types.StructType.fromDDL(ddl).json())


@lru_cache(maxsize=64)
def _parsed(schema_json: str) -> "StructType":
    from pyspark.sql.types import _parse_datatype_json_string

    return _parse_datatype_json_string(schema_json)
