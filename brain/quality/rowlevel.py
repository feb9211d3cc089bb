"""Row-level twins of GX expectations: which rows a quarantine policy removes.

GX reports *how many* rows fail; quarantine needs *which* rows. For the
expectation types below we rebuild GX's own Spark condition (read from
great_expectations 1.24's ``column_condition_partial`` Spark metrics), so the
rows moved to quarantine are exactly the ones GX counted as unexpected:

- GX ignores nulls for every column-map expectation except the null checks
  (``filter_column_isnull``): a null ``value`` is not "out of range";
- a condition that evaluates to SQL NULL counts as expected, as in GX's
  ``filter(__unexpected == True)``;
- ``_to_be_unique`` flags *every* copy of a repeated value (GX counts them all);
- ``mostly`` only decides the expectation's verdict: every row GX counted as
  unexpected is quarantined, even when ``mostly`` lets the expectation pass.

``validate_batch`` checks the per-expectation row counts against GX's
``unexpected_count`` in one aggregate pass and raises on any difference.
Other expectation types (aggregates like mean/stdev, table-level checks) can
only ``warn`` or ``fail``: a batch statistic has no failing rows to move.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

NOT_NULL = "expect_column_values_to_not_be_null"
BETWEEN = "expect_column_values_to_be_between"
IN_SET = "expect_column_values_to_be_in_set"
UNIQUE = "expect_column_values_to_be_unique"
MATCH_REGEX = "expect_column_values_to_match_regex"

# Expectation types a quarantine policy may use.
QUARANTINE_TYPES = (NOT_NULL, BETWEEN, IN_SET, UNIQUE, MATCH_REGEX)

REASON = "reason"    # the first failing quarantine expectation, in suite order
REASONS = "reasons"  # all of them (a row can break several rules)


class QuarantineMismatch(RuntimeError):
    """Our row-level condition disagrees with GX's unexpected_count (a bug, never data)."""


def unsupported_reason(exp_type: str, kwargs: Mapping[str, Any]) -> str | None:
    """Why this expectation cannot have a quarantine policy, or None if it can."""
    if exp_type not in QUARANTINE_TYPES:
        return (f"{exp_type} has no row-level twin; quarantine supports only "
                f"{', '.join(QUARANTINE_TYPES)}")
    if kwargs.get("row_condition"):
        return "row_condition is not supported with a quarantine policy"
    if not kwargs.get("column"):
        return "a column is required"
    if exp_type == BETWEEN:
        lo, hi = kwargs.get("min_value"), kwargs.get("max_value")
        if isinstance(lo, dict) or isinstance(hi, dict):
            return "suite parameters ($PARAMETER) are not supported with a quarantine policy"
        if lo is None and hi is None:
            return "min_value and max_value cannot both be null"
    if exp_type == IN_SET and isinstance(kwargs.get("value_set"), dict):
        return "suite parameters ($PARAMETER) are not supported with a quarantine policy"
    if exp_type == MATCH_REGEX and not isinstance(kwargs.get("regex"), str):
        return "regex must be a string"
    return None


def unexpected_condition(exp_type: str, kwargs: Mapping[str, Any]) -> Column:
    """The Spark condition that is true exactly for the rows GX counts as unexpected."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    why = unsupported_reason(exp_type, kwargs)
    if why:
        raise ValueError(why)
    col = F.col(kwargs["column"])
    if exp_type == NOT_NULL:
        return col.isNull()
    if exp_type == UNIQUE:
        # GX: nulls filtered out of the domain, then count(*) over (partition by col) <= 1.
        return col.isNotNull() & (F.count(F.lit(1)).over(Window.partitionBy(col)) > 1)
    if exp_type == IN_SET:
        value_set = kwargs.get("value_set")
        expected = F.lit(True) if value_set is None else col.isin(list(value_set))
    elif exp_type == MATCH_REGEX:
        expected = col.rlike(kwargs["regex"])
    else:  # BETWEEN, same branches as GX's ColumnValuesBetween._spark
        lo, hi = kwargs.get("min_value"), kwargs.get("max_value")
        strict_min, strict_max = bool(kwargs.get("strict_min")), bool(kwargs.get("strict_max"))
        parts = []
        if lo is not None:
            parts.append(col > F.lit(lo) if strict_min else col >= F.lit(lo))
        if hi is not None:
            parts.append(col < F.lit(hi) if strict_max else col <= F.lit(hi))
        expected = parts[0] if len(parts) == 1 else parts[0] & parts[1]
    return col.isNotNull() & ~expected


def flag_rows(df: DataFrame, rules: Sequence[tuple[str, Column]]) -> tuple[DataFrame, list[str]]:
    """``df`` plus one boolean column per rule and the ``reasons`` array (names, in rule order)."""
    from pyspark.sql import functions as F

    clash = {REASON, REASONS} & set(df.columns)
    if clash:
        raise ValueError(f"batch already has column(s) {sorted(clash)}, which quarantine adds")
    flags = [f"__q{i}" for i in range(len(rules))]
    flagged = df
    for flag, (_, cond) in zip(flags, rules):
        # NULL means "expected", as in GX's filter(__unexpected == True).
        flagged = flagged.withColumn(flag, F.coalesce(cond, F.lit(False)))
    names = [F.when(F.col(flag), F.lit(name)) for flag, (name, _) in zip(flags, rules)]
    reasons = F.array_compact(F.array(*names)) if names else F.array().cast("array<string>")
    return flagged.withColumn(REASONS, reasons), flags


def split(flagged: DataFrame, columns: Sequence[str]) -> tuple[DataFrame, DataFrame]:
    """(passed, quarantined) from a ``flag_rows`` frame; quarantined keeps ``columns`` + reason(s)."""
    from pyspark.sql import functions as F

    has_reason = F.size(F.col(REASONS)) > 0
    passed = flagged.where(~has_reason).select(*columns)
    quarantined = flagged.where(has_reason).select(
        # get, not [0]: with no rules the array is an empty literal, and ANSI mode's constant folding
        # would fail the plan on its first element even though the filter keeps no row.
        *columns, F.get(F.col(REASONS), 0).alias(REASON), F.col(REASONS))
    return passed, quarantined


def count_flags(flagged: DataFrame, flags: Sequence[str]) -> tuple[list[int], int]:
    """Rows per flag and rows with any flag, in one pass."""
    from pyspark.sql import functions as F

    aggs = [F.sum(F.col(f).cast("long")).alias(f) for f in flags]
    aggs.append(F.sum((F.size(F.col(REASONS)) > 0).cast("long")).alias("__any"))
    row = flagged.agg(*aggs).collect()[0]
    return [int(row[f] or 0) for f in flags], int(row["__any"] or 0)
