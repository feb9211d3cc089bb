"""Suites for gold tables, and validating the days a publish just wrote.

A gold table's suite follows from its columns (``gold_suite``): its keys
(the ISA-95 levels and the day it has) not null and unique together, KPI
components and scores within [0, 1], counts and durations not negative.
``brain quality suites --gold --write`` writes them from the tables' Delta
schemas as ``expectations/gold.<table>.json`` for review; edit one and mark
it ``meta.hand_tuned``. Every expectation is `warn` unless config
``quality.policies`` says otherwise: gold is already written when it is
checked, so a finding is for the people reading the numbers, not a gate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from brain.config import Config
from brain.lake.tables import is_delta, table_path
from brain.quality.policy import WARN

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

KEY_COLUMNS = ("industry", "enterprise", "site", "area", "line", "carrier", "event_date", "event_hour", "hour")
# Ratios by definition (ISO 22400 KPI components, GB/T 36344 scores, electrical factors).
UNIT_INTERVAL = ("availability", "effectiveness", "quality_ratio", "oee", "scrap_ratio", "rework_ratio",
                 "first_pass_yield", "utilisation", "completeness", "timeliness", "validity", "uniqueness",
                 "consistency", "accuracy", "overall", "power_factor", "load_factor")
# Amounts that cannot be negative besides integer counts: durations and quantities.
_AMOUNT_SUFFIXES = ("_s", "_kwh", "_kw", "_t", "_m3", "consumption", "tce", "tco2", "readings_expected")
_COUNT_TYPES = ("long", "integer", "int", "bigint", "short")


def gold_suite(table: str, fields: Sequence[tuple[str, str]]) -> dict:
    """The suite of gold table ``table`` with columns ``fields`` [(name, Spark type name)]."""
    names = [n for n, _ in fields]
    keys = [c for c in KEY_COLUMNS if c in names]
    exps = [_exp("expect_column_values_to_not_be_null", {"column": k}, "a gold row without its key cannot be "
                 "joined or compared") for k in keys]
    if keys:
        exps.append(_exp("expect_compound_columns_to_be_unique", {"column_list": keys},
                         "one row per key: a second row would double every sum over it"))
    for name, type_ in fields:
        if name in UNIT_INTERVAL:
            exps.append(_exp("expect_column_values_to_be_between", {"column": name, "min_value": 0, "max_value": 1},
                             "a ratio by definition; outside [0, 1] means a wrong input (e.g. ideal cycle time)"))
        elif type_ in _COUNT_TYPES or (type_ == "double" and name.endswith(_AMOUNT_SUFFIXES)):
            exps.append(_exp("expect_column_values_to_be_between", {"column": name, "min_value": 0},
                             "counts, durations and quantities are never negative"))
    return {"name": table,
            "meta": {"generated_by": "brain.quality.gold_suites", "hand_tuned": False,
                     "description": f"Days of {table} just published, checked after each publish (warn)."},
            "expectations": exps}


def _exp(type_: str, kwargs: dict, why: str) -> dict:
    return {"type": type_, "kwargs": kwargs, "meta": {"policy": WARN, "why": why}}


def delta_fields(spark: SparkSession, cfg: Config, table: str) -> list[tuple[str, str]] | None:
    path = table_path(cfg, table)
    if not is_delta(path):
        return None
    return [(f.name, f.dataType.simpleString()) for f in spark.read.format("delta").load(str(path)).schema.fields]


def validate_gold(spark: SparkSession, cfg: Config, table: str, days: Iterable[dt.date],
                  run_id: str | None = None) -> dict:
    """Validate the ``days`` of gold ``table`` with its suite; results go to quality.validation_results.

    Call after publishing those days. Returns a report; raises
    QualityGateFailed only if an operator set a `fail` policy for a gold
    expectation (the days are written either way).
    """
    from pyspark.sql import functions as F

    from brain.quality.gate import enforce
    from brain.quality.results import record_results
    from brain.quality.suites import suite_path
    from brain.quality.validate import validate_batch

    days = sorted(set(days))
    if not suite_path(cfg, table).is_file():
        return {"table": table, "validated": False, "reason": f"no suite {suite_path(cfg, table)}"}
    if not days or not is_delta(table_path(cfg, table)):
        return {"table": table, "validated": False, "reason": "no days published"}
    run_id = run_id or dt.datetime.now(dt.UTC).strftime("gold_%Y%m%dT%H%M%S%fZ")
    rows = spark.read.format("delta").load(str(table_path(cfg, table))).where(F.col("event_date").isin(days))
    outcome = validate_batch(spark, rows, table, run_id, cfg)
    try:
        record_results(spark, outcome, cfg)
    finally:
        outcome.release()
    enforce(outcome)
    return {"table": table, "validated": True, "run_id": run_id, "days": [str(d) for d in days],
            "rows": outcome.row_count, "success": outcome.success,
            "failed": [r.name for r in outcome.results if not r.success]}
